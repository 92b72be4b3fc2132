//! The device token (coffer-hsm without features): init, login, a KEK
//! generated, an envelope sealed and opened by handle, the sealed state saved
//! to flash-like storage. 4 keys, 48 audit records, PINs hashed with 1,000
//! PBKDF2 iterations (the default is 10,000).
#![no_std]
#![no_main]

use coffer_core::envelope::EncryptionContext;
use coffer_hsm::device::{DeviceConfig, DeviceKeyType, DeviceToken};
use coffer_hsm::keystore::MasterKey;
use coffer_hsm::{Clock, FixedStorage, Role, Usage};
use common::{check, ok};
use measure::{measure, report};

#[path = "../../../common.rs"]
mod common;
#[path = "../../measure.rs"]
mod measure;
mod inputs {
    include!(concat!(env!("OUT_DIR"), "/inputs.rs"));
}

#[derive(Clone, Copy)]
struct Rtc;
impl Clock for Rtc {
    fn now(&self) -> u64 {
        1_790_000_000
    }
}

type Token = DeviceToken<Rtc, 4, 48>;

fn run(syst: &mut cortex_m::peripheral::SYST) -> Result<(), common::Failed> {
    let mut rng = common::drbg(inputs::DRBG_SEED);
    let master = MasterKey::from_bytes([0x42; 32]);
    let config = DeviceConfig { pin_iterations: 1_000, ..DeviceConfig::default() };
    let (t, cost) = measure(syst, || Token::init(&mut rng, &master, config, b"so-pin-1234", Rtc));
    report("token init (security officer PIN hashed)", &cost);
    let mut t = ok(t, "init")?;
    ok(t.login(Role::SecurityOfficer, b"so-pin-1234"), "so login")?;
    ok(t.set_pin(&mut rng, Role::User, b"user-pin-1234"), "user pin")?;
    ok(t.logout(), "logout")?;
    let (r, cost) = measure(syst, || t.login(Role::User, b"user-pin-1234"));
    report("token login (PBKDF2, 1,000 iterations)", &cost);
    ok(r, "login")?;
    let usage = Usage::ENCRYPT | Usage::DECRYPT;
    let (kek, cost) =
        measure(syst, || t.generate(&mut rng, DeviceKeyType::Aes256, "telemetry", usage, false));
    report("token generate AES-256 KEK", &cost);
    let kek = ok(kek, "generate")?;
    let mut ctx = EncryptionContext::new();
    ok(ctx.insert(b"device", b"sensor-12"), "context")?;
    let mut env = [0u8; 512];
    let (n, cost) = measure(syst, || t.seal_envelope(&mut rng, kek, &ctx, &[0x5a; 256], &mut env));
    report("token seal envelope by handle, 256 bytes", &cost);
    let n = ok(n, "seal")?;
    let (opened, cost) =
        measure(syst, || t.open_envelope(&mut rng, kek, &ctx, &mut env[..n]).map(|p| p.len()));
    report("token open envelope by handle, 256 bytes", &cost);
    check(ok(opened, "open")? == 256, "open length")?;
    ok(t.logout(), "logout")?;
    let mut flash = FixedStorage::<{ Token::SEALED_MAX_LEN }>::new();
    let mut scratch = [0u8; Token::SEALED_MAX_LEN];
    let (saved, cost) = measure(syst, || t.save(&mut rng, &mut flash, &master, &mut scratch));
    report("token save sealed state (5,632 bytes)", &cost);
    ok(saved, "save").map(|_| ())
}

measure::footprint_main!(run);
