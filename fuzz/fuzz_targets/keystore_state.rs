//! The HSM's parsers on arbitrary bytes: a sealed keystore file, an audit
//! segment, and (sealed under a known key so that they get past
//! authentication) the server and device state decoders. None may panic;
//! whatever they accept must re-encode and load again.
#![no_main]

use coffer_core::rng::OsRng;
use coffer_hsm::audit::AuditSegment;
use coffer_hsm::device::DeviceToken;
use coffer_hsm::keystore::{self, KeySource, MasterKey};
use coffer_hsm::{Clock, FixedStorage, Hsm, MemoryStorage, Storage};
use libfuzzer_sys::fuzz_target;

#[derive(Clone, Copy)]
struct Fixed;
impl Clock for Fixed {
    fn now(&self) -> u64 {
        1_790_000_000
    }
}

type Device = DeviceToken<Fixed, 4, 16>;

fuzz_target!(|data: &[u8]| {
    let master = MasterKey::from_bytes([9; 32]);
    let source = KeySource::MasterKey(&master);

    let _ = keystore::open(&source, data, None);
    if let Ok(segment) = AuditSegment::decode(data) {
        assert_eq!(AuditSegment::decode(&segment.encode()).as_ref(), Ok(&segment));
    }

    // Arbitrary plaintext states, sealed so that the state decoders see them.
    let Ok(sealed) = keystore::seal(&mut OsRng, &source, 1, data) else { return };
    let mut storage = MemoryStorage::new();
    storage.write(&sealed).expect("memory storage");
    let _ = Hsm::load(&mut storage, &source, None, Box::new(Fixed));

    let mut device_storage = FixedStorage::<{ Device::SEALED_MAX_LEN }>::new();
    if device_storage.write(&sealed).is_ok() {
        let mut scratch = vec![0u8; Device::SEALED_MAX_LEN];
        if let Ok(mut token) = Device::load(&mut device_storage, &master, None, Fixed, &mut scratch) {
            // An accepted state that saves (a full audit log refuses) loads again.
            if token.save(&mut OsRng, &mut device_storage, &master, &mut scratch).is_ok() {
                Device::load(&mut device_storage, &master, None, Fixed, &mut scratch).expect("reload");
            }
        }
    }
});
