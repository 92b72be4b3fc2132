//! The device token's whole life on a Cortex-M4 without a heap, under QEMU
//! (`mps2-an386`): published vectors of each primitive (ECDH included); init, PINs and
//! lockout; an AES KEK, an HMAC key and a P-256 key made on the device;
//! envelope seal and open, sign and verify, AES-KW/KWP wrap and unwrap;
//! the sealed state saved to flash-like storage and loaded again; the
//! server's golden envelopes opened here, and an envelope and an audit
//! segment written here for the server to read (as `device-envelope:` and
//! `device-audit:` lines of hex in the log).
//!
//! Logs are defmt frames over semihosting; the exit status (semihosting) is
//! success only if every check passed. Run from `embedded/`:
//! `cargo run --release -p coffer-fw-token | defmt-print -e target/thumbv7em-none-eabihf/release/token`
#![no_std]
#![no_main]

use coffer_core::aead::{Aes256GcmSivKey, Nonce};
use coffer_core::envelope::{self, EncryptionContext, Limits, Recipient, UnlockKey};
use coffer_core::keywrap::Kek;
use coffer_core::mac::HmacSha256Key;
use coffer_core::p256::{P256PublicKey, P256SecretKey};
use coffer_hsm::device::{DeviceConfig, DeviceKeyType, DeviceToken};
use coffer_hsm::keystore::MasterKey;
use coffer_hsm::{Clock, Error, FixedStorage, Role, Usage};
use cortex_m_rt::entry;
use defmt_semihosting as _;

#[path = "../../common.rs"]
mod common;
use common::{Failed, check, finish, log_hex, ok};

mod inputs {
    include!(concat!(env!("OUT_DIR"), "/inputs.rs"));
}

/// The device's master key. A real device keeps it in its secure element or
/// derives it from a hardware unique key; the host test knows this one so
/// that it can check the device's audit segment.
const MASTER: [u8; 32] = [0x42; 32];
const SO_PIN: &[u8] = b"so-pin-1234";
const USER_PIN: &[u8] = b"user-pin-1234";
const AUDITOR_PIN: &[u8] = b"auditor-pin-1234";

/// 4 keys, 48 audit records.
type Token = DeviceToken<Rtc, 4, 48>;
const SEALED: usize = Token::SEALED_MAX_LEN;

/// A fixed time: QEMU's board has no battery-backed RTC.
#[derive(Clone, Copy)]
struct Rtc;
impl Clock for Rtc {
    fn now(&self) -> u64 {
        1_790_000_000
    }
}

const fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => panic!("not hex"),
    }
}

/// Hex text to bytes, at compile time.
const fn hex<const N: usize>(s: &str) -> [u8; N] {
    let s = s.as_bytes();
    assert!(s.len() == 2 * N, "hex length");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = nibble(s[2 * i]) << 4 | nibble(s[2 * i + 1]);
        i += 1;
    }
    out
}

/// One published vector of each primitive.
fn published_vectors() -> Result<(), Failed> {
    // RFC 8452 appendix C.2, AEAD_AES_256_GCM_SIV, the 8-byte plaintext.
    let key = Aes256GcmSivKey::from_bytes(hex::<32>(
        "0100000000000000000000000000000000000000000000000000000000000000",
    ));
    let nonce = Nonce::from_bytes(hex::<12>("030000000000000000000000"));
    let mut buf = [0u8; 24];
    buf[..8].copy_from_slice(&hex::<8>("0100000000000000"));
    let n = ok(key.seal_in_place(&nonce, b"", &mut buf, 8), "gcm-siv seal")?;
    check(buf[..n] == hex::<24>("c2ef328e5c71c83b843122130f7364b761e0b97427e3df28"), "RFC 8452 C.2")?;
    let opened = ok(key.open_in_place(&nonce, b"", &mut buf), "gcm-siv open")?;
    check(opened == hex::<8>("0100000000000000"), "RFC 8452 C.2 open")?;

    // RFC 3394 section 4.6: a 256-bit key wrapped with a 256-bit KEK.
    let kek = ok(
        Kek::from_slice(&hex::<32>("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")),
        "kw kek",
    )?;
    let data = hex::<32>("00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f");
    let mut wrapped = [0u8; 40];
    ok(kek.wrap(&data, &mut wrapped), "kw wrap")?;
    check(
        wrapped
            == hex::<40>("28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21"),
        "RFC 3394 4.6",
    )?;
    let mut back = [0u8; 32];
    ok(kek.unwrap(&wrapped, &mut back), "kw unwrap")?;
    check(back == data, "RFC 3394 4.6 unwrap")?;

    // RFC 5649 section 6: 20 bytes wrapped with padding under a 192-bit KEK.
    let kek = ok(Kek::from_slice(&hex::<24>("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8")), "kwp kek")?;
    let data = hex::<20>("c37b7e6492584340bed12207808941155068f738");
    let mut wrapped = [0u8; 32];
    ok(kek.wrap_padded(&data, &mut wrapped), "kwp wrap")?;
    check(
        wrapped == hex::<32>("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a"),
        "RFC 5649",
    )?;
    let mut back = [0u8; 32];
    let n = ok(kek.unwrap_padded(&wrapped, &mut back), "kwp unwrap")?;
    check(back[..n] == data, "RFC 5649 unwrap")?;

    // FIPS 180-2 appendix B.1: SHA-256("abc").
    check(
        coffer_core::hash::sha256(b"abc")
            == hex::<32>("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        "FIPS 180-2 B.1",
    )?;

    // RFC 4231 test case 2: HMAC-SHA-256 with key "Jefe".
    let mac = ok(HmacSha256Key::new(b"Jefe"), "hmac key")?;
    check(
        mac.sign(b"what do ya want for nothing?")
            == hex::<32>("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        "RFC 4231 TC2",
    )?;

    // RFC 5869 test case 1: HKDF-SHA-256.
    let mut okm = [0u8; 42];
    ok(
        coffer_core::kdf::hkdf_sha256(
            Some(&hex::<13>("000102030405060708090a0b0c")),
            &[0x0b; 22],
            &hex::<10>("f0f1f2f3f4f5f6f7f8f9"),
            &mut okm,
        ),
        "hkdf",
    )?;
    check(
        okm == hex::<42>(
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
        ),
        "RFC 5869 TC1",
    )?;

    // RFC 6979 appendix A.2.5: the ECDSA P-256/SHA-256 signature of "sample".
    let mut point = [0u8; 65];
    point[0] = 4;
    point[1..33]
        .copy_from_slice(&hex::<32>("60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"));
    point[33..]
        .copy_from_slice(&hex::<32>("7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299"));
    let public = ok(P256PublicKey::from_sec1_bytes(&point), "rfc6979 key")?;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&hex::<32>("efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"));
    sig[32..].copy_from_slice(&hex::<32>("f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8"));
    ok(public.verify_fixed(b"sample", &sig), "RFC 6979 A.2.5")?;
    check(public.verify_fixed(b"samplf", &sig).is_err(), "RFC 6979 A.2.5, changed message")?;

    // RFC 5903 section 8.1: ECDH on P-256 (the initiator's key pair, the
    // responder's public key, the shared x-coordinate).
    let i = ok(
        P256SecretKey::from_bytes(&hex::<32>(
            "c88f01f510d9ac3f70a292daa2316de544e9aab8afe84049c62a9c57862d1433",
        )),
        "RFC 5903 key",
    )?;
    let gi = i.public_key().to_uncompressed();
    check(
        gi[1..33] == hex::<32>("dad0b65394221cf9b051e1feca5787d098dfe637fc90b9ef945d0c3772581180"),
        "RFC 5903 gix",
    )?;
    check(
        gi[33..] == hex::<32>("5271a0461cdb8252d61f1c456fa3e59ab1f45b33accf5f58389e0577b8990bb3"),
        "RFC 5903 giy",
    )?;
    point[1..33]
        .copy_from_slice(&hex::<32>("d12dfb5289c8d4f81208b70270398c342296970a0bccb74c736fc7554494bf63"));
    point[33..]
        .copy_from_slice(&hex::<32>("56fbf3ca366cc23e8157854c13c58d6aac23f046ada30f8353e74f33039872ab"));
    let gr = ok(P256PublicKey::from_sec1_bytes(&point), "RFC 5903 responder")?;
    check(
        i.diffie_hellman(&gr).as_bytes()
            == &hex::<32>("d6840f6b42f6edafd13116e0e12565202fef8e9ece7dce03812464d04b9442de"),
        "RFC 5903 shared secret",
    )?;
    defmt::info!(
        "published vectors: RFC 8452, RFC 3394, RFC 5649, FIPS 180-2, RFC 4231, RFC 5869, RFC 6979, RFC 5903 pass"
    );
    Ok(())
}

fn context<'a>(key: &'a [u8], value: &'a [u8]) -> Result<EncryptionContext<'a>, Failed> {
    let mut ctx = EncryptionContext::new();
    ok(ctx.insert(key, value), "context")?;
    Ok(ctx)
}

/// The server's golden envelopes open on the device (coffer-core alone).
fn server_envelopes<R: rand_core::TryCryptoRng>(rng: &mut R) -> Result<(), Failed> {
    use inputs::*;
    let kek = ok(Kek::from_slice(KEK_SECRET), "golden kek")?;
    let ctx = context(KEK_CTX_KEY, KEK_CTX_VALUE)?;
    let mut buf = [0u8; 1024];
    let sealed = buf.get_mut(..KEK_ENVELOPE.len()).ok_or(Failed("golden kek size"))?;
    sealed.copy_from_slice(KEK_ENVELOPE);
    let unlock = [UnlockKey::Kek { key_id: KEK_KEY_ID, version: KEK_VERSION, kek: &kek }];
    let plain = ok(envelope::open_in_place(rng, &unlock, &ctx, sealed, &Limits::DEFAULT), "golden kek open")?;
    check(plain == KEK_PLAINTEXT, "golden kek plaintext")?;

    let secret = ok(P256SecretKey::from_pkcs8_der(P256_SECRET), "golden p256 key")?;
    let ctx = context(P256_CTX_KEY, P256_CTX_VALUE)?;
    let sealed = buf.get_mut(..P256_ENVELOPE.len()).ok_or(Failed("golden p256 size"))?;
    sealed.copy_from_slice(P256_ENVELOPE);
    let unlock = [UnlockKey::P256 { key_id: P256_KEY_ID, version: P256_VERSION, secret_key: &secret }];
    let plain =
        ok(envelope::open_in_place(rng, &unlock, &ctx, sealed, &Limits::DEFAULT), "golden p256 open")?;
    check(plain == P256_PLAINTEXT, "golden p256 plaintext")?;

    // And one for the server: sealed here to the same P-256 key's public half.
    let public = secret.public_key();
    let to = [Recipient::P256 { key_id: P256_KEY_ID, version: P256_VERSION, public_key: &public }];
    let n = ok(
        envelope::seal_into(rng, &to, &ctx, b"sealed on a cortex-m4", 256, &mut buf),
        "device envelope seal",
    )?;
    log_hex("device-envelope", &buf[..n]);
    defmt::info!("server envelopes (KEK, P-256) open on the device; one sealed here for the server");
    Ok(())
}

/// The token's life: PINs, keys, operations, storage, audit.
fn token_life<R: rand_core::TryCryptoRng>(rng: &mut R) -> Result<(), Failed> {
    let master = MasterKey::from_bytes(MASTER);
    let config = DeviceConfig { pin_iterations: 1_000, ..DeviceConfig::default() };
    let mut t = ok(Token::init(rng, &master, config, SO_PIN, Rtc), "init")?;
    ok(t.login(Role::SecurityOfficer, SO_PIN), "so login")?;
    ok(t.set_pin(rng, Role::User, USER_PIN), "user pin")?;
    ok(t.set_pin(rng, Role::Auditor, AUDITOR_PIN), "auditor pin")?;
    ok(t.logout(), "logout")?;

    // Lockout: four wrong PINs are refused, the fifth locks the role, and
    // then even the right PIN is refused until the security officer resets it.
    for _ in 0..4 {
        check(t.login(Role::User, b"wrong-pin!") == Err(Error::PinIncorrect), "wrong pin refused")?;
    }
    check(t.login(Role::User, b"wrong-pin!") == Err(Error::PinLocked), "fifth wrong pin locks")?;
    check(t.login(Role::User, USER_PIN) == Err(Error::PinLocked), "locked role refuses the right pin")?;
    ok(t.login(Role::SecurityOfficer, SO_PIN), "so login")?;
    ok(t.set_pin(rng, Role::User, USER_PIN), "user pin reset")?;
    ok(t.logout(), "logout")?;
    defmt::info!("PINs: 5 wrong ones lock the user role; the security officer unblocks it");

    ok(t.login(Role::User, USER_PIN), "user login")?;
    let kek_usage = Usage::ENCRYPT | Usage::DECRYPT | Usage::WRAP | Usage::UNWRAP;
    let kek = ok(t.generate(rng, DeviceKeyType::Aes256, "telemetry", kek_usage, false), "kek")?;
    let signer = ok(t.generate(rng, DeviceKeyType::P256, "id", Usage::SIGN | Usage::VERIFY, false), "p256")?;
    let hook =
        ok(t.generate(rng, DeviceKeyType::HmacSha256, "hook", Usage::SIGN | Usage::VERIFY, true), "hmac")?;

    let ctx = context(b"device", b"sensor-12")?;
    let mut env = [0u8; 512];
    let n = ok(t.seal_envelope(rng, kek, &ctx, b"reading 21.5 C", &mut env), "token seal")?;
    let mut copy = env;
    let plain = ok(t.open_envelope(rng, kek, &ctx, &mut copy[..n]), "token open")?;
    check(plain == b"reading 21.5 C", "token open plaintext")?;
    let other = context(b"device", b"sensor-13")?;
    let mut copy = env;
    check(t.open_envelope(rng, kek, &other, &mut copy[..n]).is_err(), "another context does not open")?;

    let sig = ok(t.sign(signer, b"boot measurement"), "sign")?;
    ok(t.verify(signer, b"boot measurement", &sig), "verify")?;
    check(t.verify(signer, b"boot measurement!", &sig).is_err(), "verify of another message fails")?;
    let public = ok(t.public_key(signer), "public key")?;
    let public = ok(P256PublicKey::from_sec1_bytes(&public), "public key parse")?;
    ok(public.verify_fixed(b"boot measurement", &sig), "verify outside the token")?;
    let tag = ok(t.hmac_sign(hook, b"body"), "hmac sign")?;
    ok(t.hmac_verify(hook, b"body", &tag), "hmac verify")?;

    // Key wrapping: the extractable HMAC key leaves only wrapped (AES-KWP)
    // and comes back as the same key; a non-extractable one does not leave.
    let mut wrapped = [0u8; 64];
    let w = ok(t.export_wrapped(hook, kek, &mut wrapped), "export wrapped")?;
    let again = ok(
        t.import_wrapped(kek, DeviceKeyType::HmacSha256, "hook-2", Usage::SIGN, false, &wrapped[..w]),
        "import wrapped",
    )?;
    check(
        ok(t.hmac_sign(again, b"m"), "hmac 2")? == ok(t.hmac_sign(hook, b"m"), "hmac 1")?,
        "same key back",
    )?;
    check(t.export_wrapped(signer, kek, &mut wrapped) == Err(Error::NotExtractable), "non-extractable")?;
    ok(t.logout(), "logout")?;
    defmt::info!("keys: envelope, ECDSA, HMAC, wrapped export and import pass");

    // The sealed state to flash-like storage and back.
    let mut flash = FixedStorage::<SEALED>::new();
    let mut scratch = [0u8; SEALED];
    let counter = ok(t.save(rng, &mut flash, &master, &mut scratch), "save")?;
    let mut loaded = ok(Token::load(&mut flash, &master, Some(counter), Rtc, &mut scratch), "load")?;
    ok(loaded.login(Role::User, USER_PIN), "login after load")?;
    let kek2 = ok(loaded.find("telemetry"), "find after load")?;
    let mut copy = env;
    let plain = ok(loaded.open_envelope(rng, kek2, &ctx, &mut copy[..n]), "open after load")?;
    check(plain == b"reading 21.5 C", "open after load plaintext")?;
    ok(loaded.logout(), "logout")?;
    let wrong = MasterKey::from_bytes([0x43; 32]);
    check(Token::load(&mut flash, &wrong, None, Rtc, &mut scratch).is_err(), "wrong master key refused")?;
    defmt::info!("sealed state: {=usize} bytes saved (counter {=u64}) and loaded", SEALED, counter);

    // The auditor checks the chain and exports it for the server.
    ok(loaded.login(Role::Auditor, AUDITOR_PIN), "auditor login")?;
    ok(loaded.audit_verify(), "audit verify")?;
    let mut segment = [0u8; 4096];
    let records = loaded.audit_len();
    let s = ok(loaded.audit_export(records, &mut segment), "audit export")?;
    log_hex("device-audit", &segment[..s]);
    defmt::info!("audit: {=usize} records verified on the device and exported", records);
    Ok(())
}

#[entry]
fn main() -> ! {
    defmt::info!("coffer token firmware on {=str}", "cortex-m4 (qemu mps2-an386)");
    let mut rng = common::drbg(inputs::DRBG_SEED);
    finish(published_vectors().and_then(|()| server_envelopes(&mut rng)).and_then(|()| token_life(&mut rng)))
}
