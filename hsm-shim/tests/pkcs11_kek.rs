//! Envelope KEKs in a PKCS#11 HSM (issue 19 part 3), against SoftHSMv2.
//!
//! PKCS#11 modules are process-wide and SoftHSM reads `SOFTHSM2_CONF` once,
//! at `C_Initialize` (and this workspace forbids the `unsafe` that setting
//! the environment in-process takes in edition 2024): so each test makes
//! its own token in a temporary directory, then runs its body in a child
//! process of this test binary with `SOFTHSM2_CONF` pointing there. The
//! restart test runs two children, one after the other, on one token.
//!
//! Without SoftHSM a test prints `SKIPPED: <test>: softhsm2 not installed`
//! and passes, except under `CI=true`, where it fails (`tests/support/softhsm.rs`).
#![cfg(feature = "pkcs11-kek")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Command;

use coffer_core::envelope::{self, EncryptionContext, KekHolder, Recipient, UnlockKey};
use coffer_core::keywrap::Kek;
use coffer_core::rng::OsRng;
use coffer_hsm::{Pkcs11Kek, Pkcs11KekConfig, Pkcs11KekError, Pkcs11Uri};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use zeroize::Zeroizing;

#[path = "../../tests/support/softhsm.rs"]
mod softhsm;

use softhsm::{MODULE, PIN};

const TOKEN: &str = "coffer-kek";
/// Set in the child: the test's directory.
const CHILD: &str = "COFFER_PKCS11_KEK_DIR";
/// Set in the child: which phase of a multi-process test to run.
const PHASE: &str = "COFFER_PKCS11_KEK_PHASE";

/// Runs `body` in a child process against a fresh SoftHSM token (one child
/// per entry of `phases`, in order, on the same token); in the child, runs it.
fn in_softhsm(test: &str, phases: &[&str], body: fn(&Path, &str)) {
    if let Ok(dir) = std::env::var(CHILD) {
        body(Path::new(&dir), &std::env::var(PHASE).unwrap_or_default());
        return;
    }
    if !softhsm::installed(test) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("coffer-pkcs11-kek-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let conf = softhsm::token(&dir, TOKEN);
    for phase in phases {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([test, "--exact", "--nocapture", "--test-threads=1"])
            .env("SOFTHSM2_CONF", &conf)
            .env(CHILD, &dir)
            .env(PHASE, phase)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{test} ({phase}) failed in its SoftHSM child:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn config(label: &str) -> Pkcs11KekConfig {
    Pkcs11KekConfig {
        module: MODULE.into(),
        token_label: TOKEN.into(),
        pin: Zeroizing::new(PIN.into()),
        key_label: label.into(),
        key_id: None,
    }
}

/// A second, raw cryptoki view of the same module and token (the module is
/// already initialized in this process, or gets initialized here and shared).
fn raw_session() -> Session {
    let pkcs11 = Pkcs11::new(MODULE).unwrap();
    match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => panic!("C_Initialize: {e}"),
    }
    let slot = pkcs11.get_slots_with_token().unwrap()[0];
    let session = pkcs11.open_rw_session(slot).unwrap();
    match session.login(UserType::User, Some(&AuthPin::new(PIN.into()))) {
        Ok(()) | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {}
        Err(e) => panic!("C_Login: {e}"),
    }
    session
}

/// Imports `bytes` as a token AES key: sensitive, never extractable, wrap/unwrap.
fn import_kek(session: &Session, label: &str, bytes: &[u8], wrap: bool, unwrap: bool) {
    session
        .create_object(&[
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Value(bytes.to_vec()),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Wrap(wrap),
            Attribute::Unwrap(unwrap),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .unwrap();
}

/// Session objects this process sees on the token (the data keys' copies).
fn session_objects(session: &Session) -> usize {
    session.find_objects(&[Attribute::Token(false)]).unwrap().len()
}

fn ctx(tenant: &[u8]) -> EncryptionContext<'_> {
    let mut c = EncryptionContext::new();
    c.insert(b"tenant", tenant).unwrap();
    c
}

#[test]
fn a_generated_kek_is_sensitive_never_extractable_and_its_value_cannot_be_read() {
    in_softhsm(
        "a_generated_kek_is_sensitive_never_extractable_and_its_value_cannot_be_read",
        &[""],
        |_, _| {
            let kek = Pkcs11Kek::generate_kek(&config("records")).unwrap();
            assert_eq!(kek.label(), "records");
            let raw = raw_session();
            let found = raw.find_objects(&[Attribute::Label(b"records".to_vec())]).unwrap();
            assert_eq!(found.len(), 1);
            let attrs = raw
                .get_attributes(
                    found[0],
                    &[
                        AttributeType::Token,
                        AttributeType::Sensitive,
                        AttributeType::Extractable,
                        AttributeType::NeverExtractable,
                        AttributeType::Wrap,
                        AttributeType::Unwrap,
                        AttributeType::ValueLen,
                        AttributeType::Value,
                    ],
                )
                .unwrap();
            let has = |want: &Attribute| attrs.iter().any(|a| a == want);
            assert!(has(&Attribute::Token(true)), "{attrs:?}");
            assert!(has(&Attribute::Sensitive(true)), "{attrs:?}");
            assert!(has(&Attribute::Extractable(false)), "{attrs:?}");
            assert!(has(&Attribute::NeverExtractable(true)), "{attrs:?}");
            assert!(has(&Attribute::Wrap(true)) && has(&Attribute::Unwrap(true)), "{attrs:?}");
            assert!(has(&Attribute::ValueLen(32u64.into())), "{attrs:?}");
            // CKA_VALUE of a sensitive key: C_GetAttributeValue answers
            // CKR_ATTRIBUTE_SENSITIVE, and cryptoki leaves the attribute out.
            assert!(!attrs.iter().any(|a| matches!(a, Attribute::Value(_))), "the KEK's value was readable");
            // And the token will not export it under another key either.
            let wrapper = Pkcs11Kek::generate_kek(&config("wrapper")).unwrap();
            drop(wrapper);
            let wrapper = raw.find_objects(&[Attribute::Label(b"wrapper".to_vec())]).unwrap()[0];
            let exported = raw.wrap_key(&cryptoki::mechanism::Mechanism::AesKeyWrap, wrapper, found[0]);
            assert!(exported.is_err(), "a non-extractable KEK was wrapped out");
            // A second KEK with the same label is refused.
            assert_eq!(
                Pkcs11Kek::generate_kek(&config("records")).unwrap_err(),
                Pkcs11KekError::KeyExists { label: "records".into() }
            );
        },
    );
}

#[test]
fn an_envelope_sealed_through_softhsm_opens_through_it_and_not_with_another_context_or_kek() {
    in_softhsm(
        "an_envelope_sealed_through_softhsm_opens_through_it_and_not_with_another_context_or_kek",
        &[""],
        |_, _| {
            let kek = Pkcs11Kek::generate_kek(&config("records")).unwrap();
            let other = Pkcs11Kek::generate_kek(&config("other")).unwrap();
            let env =
                envelope::seal(&mut OsRng, &[kek.recipient()], &ctx(b"acme"), b"quarterly numbers").unwrap();
            let header = envelope::HeaderRef::parse(&env).unwrap();
            let rec = header.recipients().next().unwrap();
            assert_eq!((rec.key_id, rec.key_version, rec.body.len()), (&b"records"[..], 1, 40));

            let pt = envelope::open(&mut OsRng, &[kek.unlock_key()], &ctx(b"acme"), &env).unwrap();
            assert_eq!(&pt[..], b"quarterly numbers");
            // A reopened handle on the same token key opens it too.
            let again = Pkcs11Kek::open(&config("records")).unwrap();
            assert_eq!(
                &envelope::open(&mut OsRng, &[again.unlock_key()], &ctx(b"acme"), &env).unwrap()[..],
                b"quarterly numbers"
            );

            let wrong_ctx = envelope::open(&mut OsRng, &[kek.unlock_key()], &ctx(b"globex"), &env);
            assert_eq!(wrong_ctx.unwrap_err(), coffer_core::Error::Decrypt);
            // The other KEK by its own label does not match the recipient...
            let by_label = envelope::open(&mut OsRng, &[other.unlock_key()], &ctx(b"acme"), &env);
            assert_eq!(by_label.unwrap_err(), coffer_core::Error::Decrypt);
            // ...and under this recipient's key id the token refuses the unwrap.
            let forged = UnlockKey::Held { key_id: b"records", version: 1, holder: &other };
            assert_eq!(
                envelope::open(&mut OsRng, &[forged], &ctx(b"acme"), &env).unwrap_err(),
                coffer_core::Error::Decrypt
            );
            assert!(
                matches!(other.last_error(), Some(Pkcs11KekError::Device { ref function, .. }) if function.contains("UnwrapKey")),
                "{:?}",
                other.last_error()
            );
            // A tampered body is refused as well.
            let mut bad = env.clone();
            let at = header.as_bytes().len() - 1;
            bad[at] ^= 1;
            assert!(envelope::open(&mut OsRng, &[kek.unlock_key()], &ctx(b"acme"), &bad).is_err());
        },
    );
}

#[test]
fn no_data_key_is_left_on_the_token_after_a_wrap_or_unwrap() {
    in_softhsm("no_data_key_is_left_on_the_token_after_a_wrap_or_unwrap", &[""], |_, _| {
        let kek = Pkcs11Kek::generate_kek(&config("records")).unwrap();
        let raw = raw_session();
        assert_eq!(session_objects(&raw), 0);
        let dek = [0x42u8; 32];
        let wrapped = kek.wrap_dek(&dek).unwrap();
        assert_eq!(session_objects(&raw), 0, "wrap left the DEK's session object");
        assert_eq!(*kek.unwrap_dek(&wrapped).unwrap(), dek);
        assert_eq!(session_objects(&raw), 0, "unwrap left the DEK's session object");
        let mut bad = wrapped;
        bad[0] ^= 1;
        assert!(kek.unwrap_dek(&bad).is_err());
        assert_eq!(session_objects(&raw), 0, "a failed unwrap left an object");
        let env = envelope::seal(&mut OsRng, &[kek.recipient()], &ctx(b"acme"), b"x").unwrap();
        envelope::open(&mut OsRng, &[kek.unlock_key()], &ctx(b"acme"), &env).unwrap();
        assert_eq!(session_objects(&raw), 0);
    });
}

#[test]
fn softhsm_computes_exactly_the_envelope_kek_record_of_format_md() {
    in_softhsm("softhsm_computes_exactly_the_envelope_kek_record_of_format_md", &[""], |_, _| {
        let known: [u8; 32] =
            core::array::from_fn(|i| u8::try_from(i).unwrap().wrapping_mul(7).wrapping_add(3));
        import_kek(&raw_session(), "imported", &known, true, true);
        let held = Pkcs11Kek::open(&config("imported")).unwrap();
        let memory = Kek::from_slice(&known).unwrap();

        // The same DEK wraps to the same 40 bytes inside SoftHSM and in memory.
        let dek = [0x5au8; 32];
        assert_eq!(held.wrap_dek(&dek).unwrap(), memory.wrap_dek(&dek).unwrap());

        let in_memory = [Recipient::Kek { key_id: b"imported", version: 1, kek: &memory }];
        let env = envelope::seal(&mut OsRng, &in_memory, &ctx(b"acme"), b"sealed in memory").unwrap();
        let pt = envelope::open(&mut OsRng, &[held.unlock_key()], &ctx(b"acme"), &env).unwrap();
        assert_eq!(&pt[..], b"sealed in memory");

        let env =
            envelope::seal(&mut OsRng, &[held.recipient()], &ctx(b"acme"), b"sealed in SoftHSM").unwrap();
        let key = UnlockKey::Kek { key_id: b"imported", version: 1, kek: &memory };
        let pt = envelope::open(&mut OsRng, &[key], &ctx(b"acme"), &env).unwrap();
        assert_eq!(&pt[..], b"sealed in SoftHSM");
    });
}

#[test]
fn an_envelope_sealed_through_softhsm_opens_after_a_process_restart() {
    in_softhsm(
        "an_envelope_sealed_through_softhsm_opens_after_a_process_restart",
        &["seal", "open"],
        |dir, phase| {
            let uri = format!(
                "pkcs11:token={TOKEN};object=restart%20kek;type=secret-key?module-path={MODULE}&pin-source=file:{}",
                dir.join("pin").display()
            );
            let config = Pkcs11Uri::parse(&uri).unwrap().to_config().unwrap();
            let path = dir.join("sealed.cfr");
            match phase {
                "seal" => {
                    let kek = Pkcs11Kek::generate_kek(&config).unwrap();
                    let env =
                        envelope::seal(&mut OsRng, &[kek.recipient()], &ctx(b"acme"), b"survives a restart")
                            .unwrap();
                    std::fs::write(&path, env).unwrap();
                }
                "open" => {
                    let kek = Pkcs11Kek::open(&config).unwrap();
                    let env = std::fs::read(&path).unwrap();
                    let pt = envelope::open(&mut OsRng, &[kek.unlock_key()], &ctx(b"acme"), &env).unwrap();
                    assert_eq!(&pt[..], b"survives a restart");
                }
                other => panic!("unknown phase {other}"),
            }
        },
    );
}

#[test]
fn opening_names_what_is_wrong() {
    in_softhsm("opening_names_what_is_wrong", &[""], |dir, _| {
        // First, while nothing in this process is logged in: PKCS#11 login
        // state is per process, and a token already logged in does not
        // check a PIN again (CKR_USER_ALREADY_LOGGED_IN).
        let wrong_pin = Pkcs11KekConfig { pin: Zeroizing::new("00000000".into()), ..config("records") };
        assert_eq!(Pkcs11Kek::open(&wrong_pin).unwrap_err(), Pkcs11KekError::PinIncorrect);
        assert!(!Pkcs11KekError::PinIncorrect.to_string().contains("00000000"));
        Pkcs11Kek::generate_kek(&config("records")).unwrap();
        let raw = raw_session();
        import_kek(&raw, "twice", &[1; 32], true, true);
        import_kek(&raw, "twice", &[2; 32], true, true);
        import_kek(&raw, "no-unwrap", &[3; 32], true, false);
        import_kek(&raw, "aes-128", &[4; 16], true, true);

        let no_token = Pkcs11KekConfig { token_label: "nope".into(), ..config("records") };
        assert_eq!(
            Pkcs11Kek::open(&no_token).unwrap_err(),
            Pkcs11KekError::TokenNotFound { label: "nope".into() }
        );
        assert_eq!(
            Pkcs11Kek::open(&config("nope")).unwrap_err(),
            Pkcs11KekError::KeyNotFound { label: "nope".into() }
        );
        assert_eq!(
            Pkcs11Kek::open(&config("twice")).unwrap_err(),
            Pkcs11KekError::KeyAmbiguous { label: "twice".into(), count: 2 }
        );
        assert!(matches!(
            Pkcs11Kek::open(&config("no-unwrap")).unwrap_err(),
            Pkcs11KekError::KeyNotUsable { reason, .. } if reason.contains("CKA_UNWRAP")
        ));
        assert!(matches!(
            Pkcs11Kek::open(&config("aes-128")).unwrap_err(),
            Pkcs11KekError::KeyNotUsable { reason, .. } if reason.contains("AES-256")
        ));
        assert!(matches!(Pkcs11Kek::open(&config("")).unwrap_err(), Pkcs11KekError::InvalidInput { .. }));
        let no_module =
            Pkcs11KekConfig { module: PathBuf::from("/nonexistent/libnope.so"), ..config("records") };
        assert!(matches!(Pkcs11Kek::open(&no_module).unwrap_err(), Pkcs11KekError::Module { .. }));
        // A PIN file that does not exist is named.
        let uri = format!(
            "pkcs11:token={TOKEN};object=records?module-path={MODULE}&pin-source=file:{}",
            dir.join("none").display()
        );
        assert!(matches!(
            Pkcs11Uri::parse(&uri).unwrap().to_config().unwrap_err(),
            Pkcs11KekError::PinSource { .. }
        ));
    });
}
