//! Wrapping and unwrapping keys by mechanism (`Hsm::export_wrapped_as`,
//! `Hsm::import_wrapped_as`): each mechanism round trips, private keys
//! travel as PKCS#8 under AES-KWP only, the refusals (not extractable, not
//! wrappable, a wrong KEK) create nothing, the audit records, the key's
//! provenance (`KeyInfo::local`) and its survival across a reopened store,
//! and interoperability with Python `cryptography` (pyca) both ways.
//!
//! coffer-core's own tests hold the RFC 3394 / RFC 5649 known-answer
//! vectors; here the other party is pyca, with keys known to both sides:
//! the KEK and the RSA key are imported into the HSM (`import_plain`), the
//! HSM wraps and pyca unwraps, and pyca wraps and the HSM unwraps a key
//! whose HMAC then matches pyca's. Without python3 and `cryptography` those
//! tests print one SKIPPED line, and fail under `CI=true`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic
)]

use std::process::Command;

use coffer_core::rng::OsRng;
use coffer_hsm::audit::{AuditEvent, Operation, Refusal};
use coffer_hsm::keystore::{KeySource, MasterKey};
use coffer_hsm::record_store::MemoryStore;
use coffer_hsm::{
    Clock, Config, Error, Handle, Hsm, KeyAttributes, KeyInfo, KeyType, Role, SessionId, Usage, WrapMechanism,
};

struct FixedClock;
impl Clock for FixedClock {
    fn now(&self) -> u64 {
        1_790_000_000
    }
}

const SO_PIN: &[u8] = b"so-pin-123456";
const USER_PIN: &[u8] = b"user-pin-123456";
const AUDITOR_PIN: &[u8] = b"auditor-pin-1234";
const MESSAGE: &[u8] = b"t=1790000000.{\"paid\":true}";

fn config() -> Config {
    // Plaintext import on: the interop tests import keys known to pyca.
    Config { pin_iterations: 1_000, allow_plain_import: true, ..Config::default() }
}

/// Initializes slot 0 of `hsm`: tenant acme, the user "user" and the auditor "auditor".
fn init(hsm: &mut Hsm) {
    hsm.init_token(&mut OsRng, 0, "wrapping", SO_PIN).unwrap();
    let so = hsm.login_so(0, SO_PIN).unwrap();
    hsm.create_tenant(&mut OsRng, so, "acme").unwrap();
    hsm.create_user(&mut OsRng, so, "user", Role::User, &["acme"], USER_PIN).unwrap();
    hsm.create_user(&mut OsRng, so, "auditor", Role::Auditor, &[], AUDITOR_PIN).unwrap();
    hsm.logout(so).unwrap();
}

/// An HSM in memory with the user logged in.
fn hsm() -> (Hsm, SessionId) {
    let mut hsm = Hsm::new(1, config(), Box::new(FixedClock)).unwrap();
    init(&mut hsm);
    let s = hsm.login(0, "user", USER_PIN, Some("acme")).unwrap();
    (hsm, s)
}

fn attrs(key_id: &str, usage: Usage, extractable: bool) -> KeyAttributes {
    KeyAttributes {
        label: format!("acme/{key_id}"),
        tenant: "acme".into(),
        key_id: key_id.into(),
        usage,
        extractable,
        active: true,
    }
}

fn wrapping() -> Usage {
    Usage::WRAP | Usage::UNWRAP
}

fn mac() -> Usage {
    Usage::SIGN | Usage::VERIFY
}

fn aes_kek(hsm: &mut Hsm, s: SessionId, key_id: &str) -> Handle {
    hsm.generate(&mut OsRng, s, KeyType::Aes256, attrs(key_id, wrapping(), false)).unwrap()
}

fn rsa_kek(hsm: &mut Hsm, s: SessionId, key_id: &str) -> Handle {
    hsm.generate(&mut OsRng, s, KeyType::Rsa2048, attrs(key_id, wrapping(), false)).unwrap()
}

/// An extractable HMAC key.
fn movable_hmac(hsm: &mut Hsm, s: SessionId, key_id: &str) -> Handle {
    hsm.generate(&mut OsRng, s, KeyType::HmacSha256, attrs(key_id, mac(), true)).unwrap()
}

fn ids(keys: &[KeyInfo]) -> Vec<&str> {
    keys.iter().map(|k| k.attributes.key_id.as_str()).collect()
}

// ------------------------------------------------------------ round trips

#[test]
fn each_mechanism_round_trips_a_secret_key_into_a_new_key_with_the_same_mac() {
    let (mut hsm, s) = hsm();
    let aes = aes_kek(&mut hsm, s, "aes-kek");
    let rsa = rsa_kek(&mut hsm, s, "rsa-kek");
    let hooks = movable_hmac(&mut hsm, s, "hooks");
    let tag = hsm.hmac_sign(s, hooks, &[MESSAGE]).unwrap();
    let cases = [
        ("kw", aes, WrapMechanism::AesKw, 40),
        ("kwp", aes, WrapMechanism::AesKwp, 40),
        ("oaep", rsa, WrapMechanism::RsaOaep { label: b"" }, 256),
        ("oaep-label", rsa, WrapMechanism::RsaOaep { label: b"acme hooks" }, 256),
    ];
    for (name, kek, mechanism, len) in cases {
        let wrapped = hsm.export_wrapped_as(&mut OsRng, s, kek, hooks, mechanism).unwrap();
        assert_eq!(wrapped.len(), len, "{name}");
        let copy = hsm
            .import_wrapped_as(
                &mut OsRng,
                s,
                kek,
                mechanism,
                KeyType::HmacSha256,
                attrs(name, mac(), false),
                &wrapped,
            )
            .unwrap();
        assert_eq!(hsm.hmac_sign(s, copy, &[MESSAGE]).unwrap(), tag, "{name}");
        assert!(!hsm.info(s, copy).unwrap().local, "{name}: an unwrapped key is not local");
    }
    assert!(hsm.info(s, hooks).unwrap().local, "the generated original stays local");
}

#[test]
fn an_aes_key_moved_under_kw_to_another_token_opens_the_envelopes_sealed_with_it() {
    // Two tokens sharing one KEK (imported in both): the envelope names its
    // key id, so the copy keeps the id "data" in the other token.
    let (mut a, s) = hsm();
    let (mut b, t) = hsm();
    let kek_a = a.import_plain(s, KeyType::Aes256, attrs("kek", wrapping(), false), &KNOWN_KEK).unwrap();
    let kek_b = b.import_plain(t, KeyType::Aes256, attrs("kek", wrapping(), false), &KNOWN_KEK).unwrap();
    let seal = Usage::ENCRYPT | Usage::DECRYPT;
    let data = a.generate(&mut OsRng, s, KeyType::Aes256, attrs("data", seal, true)).unwrap();
    let ctx = coffer_core::envelope::EncryptionContext::new();
    let sealed = a.seal_envelope(&mut OsRng, s, data, &ctx, b"payroll").unwrap();
    let wrapped = a.export_wrapped_as(&mut OsRng, s, kek_a, data, WrapMechanism::AesKw).unwrap();
    let copy = b
        .import_wrapped_as(
            &mut OsRng,
            t,
            kek_b,
            WrapMechanism::AesKw,
            KeyType::Aes256,
            attrs("data", seal, false),
            &wrapped,
        )
        .unwrap();
    assert_eq!(&b.open_envelope(&mut OsRng, t, copy, &ctx, &sealed).unwrap()[..], b"payroll");
}

#[test]
fn private_keys_travel_as_pkcs8_under_aes_kwp_and_come_back_with_the_same_public_key() {
    let (mut hsm, s) = hsm();
    let kek = aes_kek(&mut hsm, s, "kek");
    for (key_type, id) in [(KeyType::P256, "p256"), (KeyType::Rsa2048, "rsa")] {
        let key = hsm.generate(&mut OsRng, s, key_type, attrs(id, mac(), true)).unwrap();
        let wrapped = hsm.export_wrapped_as(&mut OsRng, s, kek, key, WrapMechanism::AesKwp).unwrap();
        let material = hsm.unwrap_key(s, kek, &wrapped).unwrap();
        // PKCS#8 PrivateKeyInfo: a DER SEQUENCE that coffer-core reads as that key type.
        assert_eq!(material[0], 0x30, "{id}: a DER SEQUENCE");
        match key_type {
            KeyType::P256 => drop(coffer_core::p256::P256SecretKey::from_pkcs8_der(&material).unwrap()),
            _ => drop(coffer_core::rsa::RsaPrivateKey::from_pkcs8_der(&material).unwrap()),
        }
        let copy_id = format!("{id}-copy");
        // Any RSA type asks for an RSA key: the copy gets its own size's type.
        let asked = if key_type == KeyType::P256 { key_type } else { KeyType::Rsa4096 };
        let copy = hsm
            .import_wrapped_as(
                &mut OsRng,
                s,
                kek,
                WrapMechanism::AesKwp,
                asked,
                attrs(&copy_id, mac(), false),
                &wrapped,
            )
            .unwrap();
        assert_eq!(hsm.public_key_der(s, copy).unwrap(), hsm.public_key_der(s, key).unwrap(), "{id}");
        assert_eq!(hsm.info(s, copy).unwrap().key_type, key_type, "{id}");
        let sig = hsm.sign(&mut OsRng, s, copy, MESSAGE).unwrap();
        hsm.verify(s, key, MESSAGE, &sig).unwrap();
    }
}

#[test]
fn the_existing_export_wrapped_keeps_coffers_own_form_for_p256() {
    let (mut hsm, s) = hsm();
    let kek = aes_kek(&mut hsm, s, "kek");
    let key = hsm.generate(&mut OsRng, s, KeyType::P256, attrs("p256", mac(), true)).unwrap();
    let wrapped = hsm.export_wrapped(s, kek, key).unwrap();
    assert_eq!(hsm.unwrap_key(s, kek, &wrapped).unwrap().len(), 32, "the 32-byte scalar, not PKCS#8");
    let copy = hsm.import_wrapped(s, kek, KeyType::P256, attrs("copy", mac(), false), &wrapped).unwrap();
    assert_eq!(hsm.public_key_der(s, copy).unwrap(), hsm.public_key_der(s, key).unwrap());
    assert!(!hsm.info(s, copy).unwrap().local);
}

// ------------------------------------------------------------ refusals

#[test]
fn private_keys_and_certificates_are_not_wrappable_under_kw_or_oaep() {
    let (mut hsm, s) = hsm();
    let aes = aes_kek(&mut hsm, s, "aes-kek");
    let rsa = rsa_kek(&mut hsm, s, "rsa-kek");
    let p256 = hsm.generate(&mut OsRng, s, KeyType::P256, attrs("p256", mac(), true)).unwrap();
    let oaep = WrapMechanism::RsaOaep { label: b"" };
    for (kek, mechanism) in [(aes, WrapMechanism::AesKw), (rsa, oaep)] {
        let err = hsm.export_wrapped_as(&mut OsRng, s, kek, p256, mechanism).unwrap_err();
        assert_eq!(err, Error::NotWrappable, "{mechanism:?}");
    }
    assert!(!WrapMechanism::AesKwp.wraps(KeyType::Certificate));
    assert!(WrapMechanism::AesKwp.wraps(KeyType::Rsa4096));
}

#[test]
fn wrapping_a_non_extractable_key_is_refused_and_the_refusal_is_audited() {
    let (mut hsm, s) = hsm();
    let kek = aes_kek(&mut hsm, s, "kek");
    let secret = hsm.generate(&mut OsRng, s, KeyType::HmacSha256, attrs("secret", mac(), false)).unwrap();
    for mechanism in [WrapMechanism::AesKw, WrapMechanism::AesKwp] {
        let err = hsm.export_wrapped_as(&mut OsRng, s, kek, secret, mechanism).unwrap_err();
        assert_eq!(err, Error::NotExtractable);
    }
    let auditor = hsm.login(0, "auditor", AUDITOR_PIN, None).unwrap();
    let records = hsm.audit_records(auditor).unwrap();
    let refusals: Vec<_> = records
        .iter()
        .filter_map(|r| match &r.event {
            AuditEvent::Refused { key: Some(k), attempted, reason, .. } => {
                Some((k.key_id.clone(), *attempted, *reason))
            }
            _ => None,
        })
        .collect();
    let expected = ("secret".to_string(), Operation::Export, Refusal::UsageNotAllowed);
    assert_eq!(refusals, vec![expected.clone(), expected]);
    assert!(!records.iter().any(|r| matches!(r.event, AuditEvent::KeyExported { .. })));
}

#[test]
fn unwrapping_under_a_wrong_key_or_tampered_bytes_creates_no_key() {
    let (mut hsm, s) = hsm();
    let aes = aes_kek(&mut hsm, s, "aes-kek");
    let other_aes = aes_kek(&mut hsm, s, "other-aes-kek");
    let rsa = rsa_kek(&mut hsm, s, "rsa-kek");
    let other_rsa = rsa_kek(&mut hsm, s, "other-rsa-kek");
    let hooks = movable_hmac(&mut hsm, s, "hooks");
    let oaep = WrapMechanism::RsaOaep { label: b"l" };
    let before = hsm.list(s).unwrap();
    let decrypt = Error::Crypto(coffer_core::Error::Decrypt);
    for (kek, wrong, mechanism) in [
        (aes, other_aes, WrapMechanism::AesKw),
        (aes, other_aes, WrapMechanism::AesKwp),
        (rsa, other_rsa, oaep),
    ] {
        let wrapped = hsm.export_wrapped_as(&mut OsRng, s, kek, hooks, mechanism).unwrap();
        let mut tampered = wrapped.clone();
        *tampered.last_mut().unwrap() ^= 0x01;
        let tries: [(Handle, WrapMechanism<'_>, &[u8]); 4] = [
            (wrong, mechanism, &wrapped),
            (kek, mechanism, &tampered),
            (kek, mechanism, &wrapped[..wrapped.len() - 8]),
            // The right key, the wrong label (or the other AES mode).
            (kek, other_mode(mechanism), &wrapped),
        ];
        for (key, m, bytes) in tries {
            let err = hsm
                .import_wrapped_as(
                    &mut OsRng,
                    s,
                    key,
                    m,
                    KeyType::HmacSha256,
                    attrs("copy", mac(), false),
                    bytes,
                )
                .unwrap_err();
            assert_eq!(err, decrypt, "{mechanism:?} under {key:?} as {m:?}");
        }
    }
    assert_eq!(ids(&hsm.list(s).unwrap()), ids(&before), "no key was created");
    assert_eq!(hsm.find(s, "copy").unwrap_err(), Error::NotFound);
    // The key type of the unwrapping key must fit the mechanism.
    let wrapped = hsm.export_wrapped_as(&mut OsRng, s, aes, hooks, WrapMechanism::AesKw).unwrap();
    let err = hsm
        .import_wrapped_as(
            &mut OsRng,
            s,
            rsa,
            WrapMechanism::AesKw,
            KeyType::HmacSha256,
            attrs("x", mac(), false),
            &wrapped,
        )
        .unwrap_err();
    assert_eq!(err, Error::InvalidInput);
}

fn other_mode(mechanism: WrapMechanism<'_>) -> WrapMechanism<'static> {
    match mechanism {
        WrapMechanism::AesKw => WrapMechanism::AesKwp,
        WrapMechanism::AesKwp => WrapMechanism::AesKw,
        _ => WrapMechanism::RsaOaep { label: b"another label" },
    }
}

#[test]
fn unwrapped_material_of_the_wrong_key_type_is_an_invalid_key_and_creates_nothing() {
    let (mut hsm, s) = hsm();
    let kek = aes_kek(&mut hsm, s, "kek");
    let hooks = movable_hmac(&mut hsm, s, "hooks");
    let wrapped = hsm.export_wrapped_as(&mut OsRng, s, kek, hooks, WrapMechanism::AesKwp).unwrap();
    // 32 random bytes are no PKCS#8 P-256 or RSA key.
    for key_type in [KeyType::P256, KeyType::Rsa2048] {
        let err = hsm
            .import_wrapped_as(
                &mut OsRng,
                s,
                kek,
                WrapMechanism::AesKwp,
                key_type,
                attrs("copy", mac(), false),
                &wrapped,
            )
            .unwrap_err();
        assert_eq!(err, Error::Crypto(coffer_core::Error::InvalidKey), "{key_type:?}");
    }
    assert_eq!(hsm.find(s, "copy").unwrap_err(), Error::NotFound);
}

// ------------------------------------------------------------ audit and provenance

#[test]
fn a_wrap_is_audited_as_a_use_of_the_kek_and_an_export_and_an_unwrap_as_a_use_and_an_import() {
    let (mut hsm, s) = hsm();
    let kek = aes_kek(&mut hsm, s, "kek");
    let hooks = movable_hmac(&mut hsm, s, "hooks");
    let wrapped = hsm.export_wrapped_as(&mut OsRng, s, kek, hooks, WrapMechanism::AesKw).unwrap();
    hsm.import_wrapped_as(
        &mut OsRng,
        s,
        kek,
        WrapMechanism::AesKw,
        KeyType::HmacSha256,
        attrs("copy", mac(), false),
        &wrapped,
    )
    .unwrap();
    let auditor = hsm.login(0, "auditor", AUDITOR_PIN, None).unwrap();
    let events: Vec<String> = hsm
        .audit_records(auditor)
        .unwrap()
        .iter()
        .filter_map(|r| match &r.event {
            AuditEvent::KeyCreated { key } => Some(format!("created {}", key.key_id)),
            AuditEvent::KeyImported { key } => Some(format!("imported {}", key.key_id)),
            AuditEvent::KeyExported { key } => Some(format!("exported {}", key.key_id)),
            AuditEvent::KeyUsed { key, operation } => Some(format!("used {} {operation:?}", key.key_id)),
            _ => None,
        })
        .collect();
    assert_eq!(
        events,
        [
            "created kek",
            "created hooks",
            "used kek Wrap",
            "exported hooks",
            "used kek Unwrap",
            "imported copy"
        ]
    );
}

#[test]
fn plaintext_and_wrapped_imports_are_not_local_and_a_rotation_does_not_make_them_local() {
    let (mut hsm, s) = hsm();
    let kek = aes_kek(&mut hsm, s, "kek");
    let plain = hsm.import_plain(s, KeyType::HmacSha256, attrs("plain", mac(), false), &[7; 32]).unwrap();
    let wrapped = hsm.wrap_key(s, kek, &[8; 32]).unwrap();
    let unwrapped =
        hsm.import_wrapped(s, kek, KeyType::HmacSha256, attrs("unwrapped", mac(), false), &wrapped).unwrap();
    for key in [plain, unwrapped] {
        assert!(!hsm.info(s, key).unwrap().local);
        hsm.rotate(&mut OsRng, s, key).unwrap();
        assert!(!hsm.info(s, key).unwrap().local, "version 1 still came from outside");
    }
    assert!(hsm.info(s, kek).unwrap().local);
}

#[test]
fn an_unwrapped_key_stays_not_local_after_the_store_is_reopened() {
    let master = MasterKey::from_bytes([0x24; 32]);
    let source = KeySource::MasterKey(&master);
    let mut hsm =
        Hsm::create(&mut OsRng, Box::new(MemoryStore::new()), &source, 1, config(), Box::new(FixedClock))
            .unwrap();
    init(&mut hsm);
    let s = hsm.login(0, "user", USER_PIN, Some("acme")).unwrap();
    let kek = aes_kek(&mut hsm, s, "kek");
    let hooks = movable_hmac(&mut hsm, s, "hooks");
    let wrapped = hsm.export_wrapped_as(&mut OsRng, s, kek, hooks, WrapMechanism::AesKwp).unwrap();
    // Extractable and imported: the stored flags byte is 03.
    hsm.import_wrapped_as(
        &mut OsRng,
        s,
        kek,
        WrapMechanism::AesKwp,
        KeyType::HmacSha256,
        attrs("copy", mac(), true),
        &wrapped,
    )
    .unwrap();

    let mut hsm = Hsm::open(&mut OsRng, hsm.into_store(), &source, Box::new(FixedClock)).unwrap();
    let s = hsm.login(0, "user", USER_PIN, Some("acme")).unwrap();
    let local: Vec<(String, bool, bool)> = hsm
        .list(s)
        .unwrap()
        .into_iter()
        .map(|k| (k.attributes.key_id, k.local, k.attributes.extractable))
        .collect();
    assert_eq!(
        local,
        [("copy".into(), false, true), ("hooks".into(), true, true), ("kek".into(), true, false)]
    );
    // And through a version-1 snapshot (the same key encoding, §3.1).
    let so = hsm.login_so(0, SO_PIN).unwrap();
    let mut file = coffer_hsm::MemoryStorage::new();
    hsm.save(&mut OsRng, so, &mut file, &source).unwrap();
    let mut loaded = Hsm::load(&mut file, &source, None, Box::new(FixedClock)).unwrap();
    let s = loaded.login(0, "user", USER_PIN, Some("acme")).unwrap();
    let copy = loaded.find(s, "copy").unwrap();
    assert!(!loaded.info(s, copy).unwrap().local);
}

// ------------------------------------------------------------ pyca interop

/// The Python side: `python3 -c SCRIPT <command> <hex args...>` prints hex.
const PYCA: &str = r#"
import sys
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.keywrap import (
    aes_key_unwrap, aes_key_unwrap_with_padding, aes_key_wrap, aes_key_wrap_with_padding)

cmd, args = sys.argv[1], [bytes.fromhex(a) for a in sys.argv[2:]]
def oaep(label):
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label or None)
if cmd == "kw-unwrap":
    out = aes_key_unwrap(args[0], args[1])
elif cmd == "kwp-unwrap":
    out = aes_key_unwrap_with_padding(args[0], args[1])
elif cmd == "kw-wrap":
    out = aes_key_wrap(args[0], args[1])
elif cmd == "kwp-wrap":
    out = aes_key_wrap_with_padding(args[0], args[1])
elif cmd == "rsa-new":
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    out = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
elif cmd == "oaep-decrypt":
    out = serialization.load_der_private_key(args[0], None).decrypt(args[1], oaep(args[2]))
elif cmd == "oaep-encrypt":
    out = serialization.load_der_private_key(args[0], None).public_key().encrypt(args[1], oaep(args[2]))
elif cmd == "hmac":
    h = hmac.HMAC(args[0], hashes.SHA256())
    h.update(args[1])
    out = h.finalize()
elif cmd == "p256-scalar":
    out = serialization.load_der_private_key(args[0], None).private_numbers().private_value.to_bytes(32, "big")
else:
    sys.exit("unknown command " + cmd)
print(out.hex())
"#;

/// Whether python3 with `cryptography` is here: absent, one SKIPPED line,
/// or under `CI=true` a failure saying what to install.
fn pyca_ready(test: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import cryptography.hazmat.primitives.keywrap"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{test}: python3 with cryptography is needed under CI=true (pip install cryptography)");
        }
        println!("SKIPPED: python3 cryptography (pip install cryptography)");
    }
    ok
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

/// Runs a pyca command with byte arguments; its output bytes.
fn pyca(command: &str, args: &[&[u8]]) -> Vec<u8> {
    let out = Command::new("python3")
        .args(["-c", PYCA, command])
        .args(args.iter().map(|a| hex(a)))
        .output()
        .expect("running python3");
    assert!(out.status.success(), "pyca {command}: {}", String::from_utf8_lossy(&out.stderr));
    unhex(String::from_utf8(out.stdout).unwrap().trim())
}

const KNOWN_KEK: [u8; 32] = [0x6b; 32];
const KNOWN_HMAC: [u8; 32] = *b"a webhook key known to both side";

#[test]
fn the_hsm_wraps_under_a_known_kek_and_pyca_unwraps_kw_and_kwp() {
    if !pyca_ready("the_hsm_wraps_under_a_known_kek_and_pyca_unwraps_kw_and_kwp") {
        return;
    }
    let (mut hsm, s) = hsm();
    let kek = hsm.import_plain(s, KeyType::Aes256, attrs("kek", wrapping(), false), &KNOWN_KEK).unwrap();
    let hooks = hsm.import_plain(s, KeyType::HmacSha256, attrs("hooks", mac(), true), &KNOWN_HMAC).unwrap();
    let kw = hsm.export_wrapped_as(&mut OsRng, s, kek, hooks, WrapMechanism::AesKw).unwrap();
    assert_eq!(pyca("kw-unwrap", &[&KNOWN_KEK, &kw]), KNOWN_HMAC);
    let kwp = hsm.export_wrapped_as(&mut OsRng, s, kek, hooks, WrapMechanism::AesKwp).unwrap();
    assert_eq!(pyca("kwp-unwrap", &[&KNOWN_KEK, &kwp]), KNOWN_HMAC);
    // A P-256 key leaves as PKCS#8 that pyca reads: the same scalar.
    let scalar = [0x11; 32];
    let p256 = hsm.import_plain(s, KeyType::P256, attrs("p256", mac(), true), &scalar).unwrap();
    let wrapped = hsm.export_wrapped_as(&mut OsRng, s, kek, p256, WrapMechanism::AesKwp).unwrap();
    let pkcs8 = pyca("kwp-unwrap", &[&KNOWN_KEK, &wrapped]);
    assert_eq!(pyca("p256-scalar", &[&pkcs8]), scalar);
}

#[test]
fn pyca_wraps_under_a_known_kek_and_the_hsms_copy_macs_as_pyca_does() {
    if !pyca_ready("pyca_wraps_under_a_known_kek_and_the_hsms_copy_macs_as_pyca_does") {
        return;
    }
    let (mut hsm, s) = hsm();
    let kek = hsm.import_plain(s, KeyType::Aes256, attrs("kek", wrapping(), false), &KNOWN_KEK).unwrap();
    let expected = pyca("hmac", &[&KNOWN_HMAC, MESSAGE]);
    for (command, mechanism) in [("kw-wrap", WrapMechanism::AesKw), ("kwp-wrap", WrapMechanism::AesKwp)] {
        let wrapped = pyca(command, &[&KNOWN_KEK, &KNOWN_HMAC]);
        let copy = hsm
            .import_wrapped_as(
                &mut OsRng,
                s,
                kek,
                mechanism,
                KeyType::HmacSha256,
                attrs(command, mac(), false),
                &wrapped,
            )
            .unwrap();
        assert_eq!(hsm.hmac_sign(s, copy, &[MESSAGE]).unwrap().to_vec(), expected, "{command}");
    }
}

#[test]
fn rsa_oaep_interoperates_with_pyca_both_ways_with_and_without_a_label() {
    if !pyca_ready("rsa_oaep_interoperates_with_pyca_both_ways_with_and_without_a_label") {
        return;
    }
    let (mut hsm, s) = hsm();
    let pkcs8 = pyca("rsa-new", &[]);
    let rsa = hsm.import_plain(s, KeyType::Rsa2048, attrs("rsa", wrapping(), false), &pkcs8).unwrap();
    let hooks = hsm.import_plain(s, KeyType::HmacSha256, attrs("hooks", mac(), true), &KNOWN_HMAC).unwrap();
    let expected = pyca("hmac", &[&KNOWN_HMAC, MESSAGE]);
    for label in [&b""[..], b"acme hooks"] {
        let mechanism = WrapMechanism::RsaOaep { label };
        let wrapped = hsm.export_wrapped_as(&mut OsRng, s, rsa, hooks, mechanism).unwrap();
        assert_eq!(pyca("oaep-decrypt", &[&pkcs8, &wrapped, label]), KNOWN_HMAC, "label {label:?}");

        let from_pyca = pyca("oaep-encrypt", &[&pkcs8, &KNOWN_HMAC, label]);
        let id = format!("copy-{}", label.len());
        let copy = hsm
            .import_wrapped_as(
                &mut OsRng,
                s,
                rsa,
                mechanism,
                KeyType::HmacSha256,
                attrs(&id, mac(), false),
                &from_pyca,
            )
            .unwrap();
        assert_eq!(hsm.hmac_sign(s, copy, &[MESSAGE]).unwrap().to_vec(), expected, "label {label:?}");
    }
}
