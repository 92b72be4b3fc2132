//! Keystore version 2's record decoders (KEYSTORE.md §12) on arbitrary
//! records: the input is a list of (key, plaintext) records, sealed under a
//! known master key so that they get past authentication (the meta record
//! may also come raw), put into a store, and then the HSM is opened and
//! driven through logins, the security officer's listings of tenants and
//! credentials (which decode every user and tenant record) and creation of
//! a tenant, a user and an auditor, the user's lookups, listings and seal
//! by handle, the audit reads, an archive and a version-1 export. Nothing
//! may panic; a store that exports must load again.
//!
//! Credential records (kind 0x16) sit under a blinded user name that the
//! input cannot reach, so the flags supply the security officer's role PIN
//! record (kind 0x11), which opening the store converts into the
//! credential `so` (KEYSTORE.md §13.5), and the security officer makes the
//! others through the HSM.
#![no_main]

use coffer_core::envelope::EncryptionContext;
use coffer_core::rng::OsRng;
use coffer_hsm::fuzzing::{meta_record, pin_record, seal_record};
use coffer_hsm::keystore::{KeySource, MasterKey};
use coffer_hsm::{Clock, Handle, Hsm, MemoryStorage, Role};
use coffer_store::{MemoryStore, RecordStore};
use libfuzzer_sys::fuzz_target;

#[derive(Clone, Copy)]
struct Fixed;
impl Clock for Fixed {
    fn now(&self) -> u64 {
        1_790_000_000
    }
}

/// A valid config record: 5 failures, 1,000 PIN iterations, no plain
/// import, 1,000 audit records with 10 in reserve, one slot.
const CONFIG: [u8; 15] = [5, 0, 0, 3, 0xe8, 0, 0, 0, 3, 0xe8, 0, 0, 0, 10, 1];

fn take<'a>(data: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, rest) = data.split_at_checked(n)?;
    *data = rest;
    Some(head)
}

fuzz_target!(|input: &[u8]| {
    let master = MasterKey::from_bytes([9; 32]);
    let mut data = input;
    let Some(&[flags]) = take(&mut data, 1) else { return };
    let mut rows: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    if flags & 1 != 0 {
        rows.push((vec![0x00], meta_record(&master).expect("meta")));
    }
    if flags & 2 != 0 {
        rows.push((vec![0x01], seal_record(&master, &[0x01], &CONFIG).expect("seal")));
    }
    if flags & 4 != 0 {
        let key = [0x11, 0, 1]; // the security officer's PIN record of slot 0
        let record = pin_record(&mut OsRng, b"so-pin-1", 1_000).expect("pin");
        rows.push((key.to_vec(), seal_record(&master, &key, &record).expect("seal")));
    }
    // Then: kind, id length, id, value length (u16), value; kind 0 is stored raw.
    while let Some(&[kind, id_len]) = take(&mut data, 2) {
        let Some(id) = take(&mut data, usize::from(id_len)) else { break };
        let Some(len) = take(&mut data, 2) else { break };
        let Some(value) = take(&mut data, usize::from(u16::from_be_bytes([len[0], len[1]]))) else { break };
        let mut key = vec![kind];
        key.extend_from_slice(id);
        let stored =
            if kind == 0 { value.to_vec() } else { seal_record(&master, &key, value).expect("seal") };
        rows.push((key, stored));
    }
    let mut store = MemoryStore::new();
    {
        let mut tx = store.begin().expect("memory store");
        for (k, v) in &rows {
            if tx.put(k, v).is_err() {
                return;
            }
        }
        tx.commit().expect("memory store");
    }
    let source = KeySource::MasterKey(&master);
    let Ok(mut hsm) = Hsm::open(&mut OsRng, Box::new(store), &source, Box::new(Fixed)) else { return };
    let _ = hsm.token_label(0);
    let _ = hsm.current_generation();
    if let Ok(so) = hsm.login_so(0, b"so-pin-1") {
        let _ = hsm.tenants(so);
        let _ = hsm.users(so);
        let _ = hsm.create_tenant(&mut OsRng, so, "acme");
        let _ = hsm.create_user(&mut OsRng, so, "user", Role::User, &["acme"], b"user-pin");
        let _ = hsm.create_user(&mut OsRng, so, "auditor", Role::Auditor, &[], b"audit-pin");
        let _ = hsm.users(so);
        let _ = hsm.logout(so);
    }
    if let Ok(s) = hsm.login(0, "user", b"user-pin", Some("acme")) {
        let _ = hsm.list(s);
        let _ = hsm.find(s, "k");
        for h in 1..4 {
            let handle = Handle::from_raw(h);
            let _ = hsm.info(s, handle);
            let _ = hsm.seal_envelope(&mut OsRng, s, handle, &EncryptionContext::new(), b"fuzz");
            let _ = hsm.public_key_der(s, handle);
        }
        let _ = hsm.sweep_expired(s);
    }
    if let Ok(a) = hsm.login(0, "auditor", b"audit-pin", None) {
        let _ = hsm.audit_records(a);
        let _ = hsm.audit_verify(a);
        let _ = hsm.audit_archive(a, 1);
    }
    let mut file = MemoryStorage::new();
    if let Ok(so) = hsm.login_so(0, b"so-pin-1")
        && hsm.save(&mut OsRng, so, &mut file, &source).is_ok()
    {
        Hsm::load(&mut file, &source, None, Box::new(Fixed)).expect("an exported store loads again");
    }
});
