//! OpenSC's `pkcs11-tool` loading the built `libcoffer_pkcs11.so`: library,
//! slot and mechanism info, a login with a random draw, a SHA-256 of a
//! file compared with `sha256sum`, key generation (EC, RSA, AES), the
//! object list, and signatures made and verified by `pkcs11-tool` and
//! checked by OpenSSL against the exported public key. The token is a
//! keystore this test makes in a temporary directory.
//!
//! `pkcs11-tool` comes with Debian's `opensc` (`.ci/run` installs it).
//! Without it the tests print one SKIPPED line each, except under
//! `CI=true`, where they fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "tests")]

mod common;

use std::process::Command;

use common::tool::{Tool, openssl_verifies, str_of};
use common::{LABEL, USER_PIN};

#[test]
fn pkcs11_tool_shows_the_library_the_slot_and_the_token() {
    let Some(t) = Tool::new("pkcs11_tool_shows_the_library_the_slot_and_the_token") else { return };
    let info = t.ok(&["--show-info"]);
    assert!(info.contains("Cryptoki version 2.40"), "{info}");
    assert!(info.contains("Manufacturer     coffer"), "{info}");
    assert!(info.contains("coffer software HSM"), "{info}");

    let slots = t.ok(&["--list-slots"]);
    assert!(slots.contains("Slot 0 (0x0): coffer software HSM slot"), "{slots}");
    assert!(slots.contains(&format!("token label        : {LABEL}")), "{slots}");
    assert!(slots.contains("token manufacturer : coffer"), "{slots}");
    let flags = slots.lines().find(|l| l.contains("token flags")).unwrap_or_else(|| panic!("{slots}"));
    for flag in ["login required", "rng", "token initialized", "PIN initialized"] {
        assert!(flags.contains(flag), "{flags}");
    }
}

#[test]
fn pkcs11_tool_lists_the_implemented_mechanisms() {
    let Some(t) = Tool::new("pkcs11_tool_lists_the_implemented_mechanisms") else { return };
    let mechanisms = t.ok(&["--list-mechanisms"]);
    let listed: Vec<&str> = mechanisms.lines().filter(|l| l.starts_with("  ")).map(str::trim_start).collect();
    let expected = [
        ("SHA256", "digest"),
        ("AES-KEY-GEN", "generate"),
        ("GENERIC-SECRET-KEY-GEN", "generate"),
        ("ECDSA-KEY-PAIR-GEN", "generate_key_pair"),
        ("RSA-PKCS-KEY-PAIR-GEN", "generate_key_pair"),
        ("ECDSA", "sign, verify"),
        ("ECDSA-SHA256", "sign, verify"),
        ("SHA256-RSA-PKCS", "sign, verify"),
        ("SHA256-RSA-PKCS-PSS", "sign, verify"),
        ("SHA256-HMAC", "sign, verify"),
        ("AES-GCM", "encrypt, decrypt"),
        ("RSA-PKCS-OAEP", "encrypt, decrypt, wrap, unwrap"),
        ("AES-KEY-WRAP", "wrap, unwrap"),
        // OpenSC 0.23 has no name for CKM_AES_KEY_WRAP_KWP.
        ("mechtype-0x210B", "wrap, unwrap"),
    ];
    assert_eq!(listed.len(), expected.len(), "{mechanisms}");
    for ((name, flags), line) in expected.iter().zip(&listed) {
        assert!(
            line.starts_with(&format!("{name},")) && line.contains(flags),
            "{name}: {line}\n{mechanisms}"
        );
    }
}

#[test]
fn pkcs11_tool_logs_in_and_generates_random_bytes() {
    let Some(t) = Tool::new("pkcs11_tool_logs_in_and_generates_random_bytes") else { return };
    let pin = std::str::from_utf8(USER_PIN).unwrap();
    let out = t.path("random.bin");
    t.ok(&["--login", "--pin", pin, "--generate-random", "32", "--output-file", str_of(&out)]);
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(bytes.len(), 32);
    assert_ne!(bytes, vec![0u8; 32]);

    let wrong = t.run(&["--login", "--pin", "wrong-pin", "--generate-random", "32"]);
    assert!(!wrong.status.success());
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(stderr.contains("CKR_PIN_INCORRECT"), "{stderr}");
}

#[test]
fn pkcs11_tool_hashes_a_file_as_sha256sum_does() {
    let Some(t) = Tool::new("pkcs11_tool_hashes_a_file_as_sha256sum_does") else { return };
    let input = t.path("input.bin");
    // Several digest updates' worth of data, not a multiple of any block size.
    let data: Vec<u8> = (0..300_007u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    std::fs::write(&input, &data).unwrap();
    let output = t.path("digest.bin");
    t.ok(&[
        "--hash",
        "--mechanism",
        "SHA256",
        "--input-file",
        str_of(&input),
        "--output-file",
        str_of(&output),
    ]);
    let ours = hex::encode(std::fs::read(&output).unwrap());

    let sum = Command::new("sha256sum").arg(&input).output().unwrap_or_else(|e| panic!("sha256sum: {e}"));
    assert!(sum.status.success());
    let theirs = String::from_utf8(sum.stdout).unwrap();
    assert_eq!(ours, theirs.split_whitespace().next().unwrap());
}

#[test]
fn pkcs11_tool_generates_keys_and_lists_them() {
    let Some(t) = Tool::new("pkcs11_tool_generates_keys_and_lists_them") else { return };
    let pin = std::str::from_utf8(USER_PIN).unwrap();
    let ec = t.ok(&[
        "--login",
        "--pin",
        pin,
        "--keypairgen",
        "--key-type",
        "EC:prime256v1",
        "--label",
        "x",
        "--id",
        "01",
    ]);
    assert!(ec.contains("Private Key Object; EC"), "{ec}");
    assert!(ec.contains("Public Key Object; EC"), "{ec}");
    let rsa = t.ok(&[
        "--login",
        "--pin",
        pin,
        "--keypairgen",
        "--key-type",
        "rsa:2048",
        "--label",
        "r",
        "--id",
        "02",
    ]);
    assert!(rsa.contains("Private Key Object; RSA"), "{rsa}");
    assert!(rsa.contains("Public Key Object; RSA 2048 bits"), "{rsa}");
    // pkcs11-tool's secret-key template asks for a key that is not
    // sensitive and not private unless told: coffer makes neither.
    let plain =
        t.run(&["--login", "--pin", pin, "--keygen", "--key-type", "AES:32", "--label", "k", "--id", "03"]);
    assert!(String::from_utf8_lossy(&plain.stderr).contains("CKR_ATTRIBUTE_VALUE_INVALID"), "{plain:?}");
    let aes_args =
        ["--keygen", "--key-type", "AES:32", "--sensitive", "--private", "--label", "k", "--id", "03"];
    let aes = t.ok(&[&["--login", "--pin", pin][..], &aes_args].concat());
    assert!(aes.contains("Secret Key Object; AES length 32"), "{aes}");
    assert!(aes.contains("Access:     sensitive, always sensitive, never extractable"), "{aes}");
    // Another curve is refused.
    let p384 = t.run(&["--login", "--pin", pin, "--keypairgen", "--key-type", "EC:secp384r1", "--id", "04"]);
    assert!(!p384.status.success());

    let list = t.ok(&["--login", "--pin", pin, "--list-objects"]);
    assert_eq!(list.matches("Private Key Object").count(), 2, "{list}");
    assert_eq!(list.matches("Public Key Object").count(), 2, "{list}");
    assert_eq!(list.matches("Secret Key Object").count(), 1, "{list}");
    assert!(list.contains("label:      x"), "{list}");
    assert!(list.contains("ID:         01"), "{list}");
    // Without a login there is nothing to list.
    let public = t.ok(&["--list-objects"]);
    assert!(!public.contains("Key Object"), "{public}");
}

#[test]
fn pkcs11_tool_signs_and_verifies_and_openssl_agrees() {
    let Some(t) = Tool::new("pkcs11_tool_signs_and_verifies_and_openssl_agrees") else { return };
    let pin = std::str::from_utf8(USER_PIN).unwrap();
    t.ok(&[
        "--login",
        "--pin",
        pin,
        "--keypairgen",
        "--key-type",
        "EC:prime256v1",
        "--label",
        "x",
        "--id",
        "01",
    ]);
    t.ok(&["--login", "--pin", pin, "--keypairgen", "--key-type", "rsa:2048", "--label", "r", "--id", "02"]);
    let data = t.path("data.bin");
    std::fs::write(&data, b"release 1.2 of the ledger").unwrap();

    for (id, mechanism, openssl_format) in [("01", "ECDSA-SHA256", true), ("02", "SHA256-RSA-PKCS", false)] {
        let sig = t.path(&format!("{id}.sig"));
        let mut sign = vec!["--login", "--pin", pin, "--sign", "--id", id, "--mechanism", mechanism];
        sign.extend(["--input-file", str_of(&data), "--output-file", str_of(&sig)]);
        t.ok(&sign);
        let verify = [
            "--login",
            "--pin",
            pin,
            "--verify",
            "--id",
            id,
            "--mechanism",
            mechanism,
            "--input-file",
            str_of(&data),
            "--signature-file",
            str_of(&sig),
        ];
        let verified = t.ok(&verify);
        assert!(verified.contains("Signature is valid"), "{verified}");

        // A changed message is refused.
        let changed = t.path("changed.bin");
        std::fs::write(&changed, b"release 1.3 of the ledger").unwrap();
        let mut verify_changed = verify;
        verify_changed[9] = str_of(&changed);
        let refused = t.run(&verify_changed);
        let out =
            String::from_utf8_lossy(&refused.stdout).into_owned() + &String::from_utf8_lossy(&refused.stderr);
        assert!(out.contains("CKR_SIGNATURE_INVALID") || out.contains("Invalid signature"), "{out}");

        // OpenSSL verifies with the exported public key (DER SPKI).
        let public = t.path(&format!("{id}.pub.der"));
        t.ok(&[
            "--login",
            "--pin",
            pin,
            "--read-object",
            "--type",
            "pubkey",
            "--id",
            id,
            "--output-file",
            str_of(&public),
        ]);
        let openssl_sig = if openssl_format {
            let der = t.path(&format!("{id}.sig.der"));
            let mut sign = vec!["--login", "--pin", pin, "--sign", "--id", id, "--mechanism", mechanism];
            sign.extend([
                "--signature-format",
                "openssl",
                "--input-file",
                str_of(&data),
                "--output-file",
                str_of(&der),
            ]);
            t.ok(&sign);
            der
        } else {
            sig.clone()
        };
        openssl_verifies(&public, &openssl_sig, &data, mechanism);
    }
}

/// `pkcs11-tool --init-token`, `--init-pin` and `--change-pin` on a slot
/// the keystore has no token in yet; the user then logs in with the PIN it
/// was given, and a second `--init-token` is refused.
#[test]
fn pkcs11_tool_initializes_a_token_and_sets_its_pins() {
    let test = "pkcs11_tool_initializes_a_token_and_sets_its_pins";
    let Some(tool) = common::tool::pkcs11_tool(test) else { return };
    let dir = common::TempDir::new(&format!("tool-{test}"));
    let store = common::make_keystore(&dir.0, 2);
    let conf = common::write_config(&dir.0, &store, 1);
    let t = Tool { tool, module: common::tool::module_path(), conf, dir };

    let slots = t.ok(&["--list-slots"]);
    assert!(slots.contains("token state:   uninitialized") || !slots.contains("token label"), "{slots}");
    let init = ["--slot", "1", "--init-token", "--label", "fresh token", "--so-pin", "new-so-pin"];
    let out = t.ok(&init);
    assert!(out.contains("Token successfully initialized"), "{out}");
    let slots = t.ok(&["--list-slots"]);
    assert!(slots.contains("fresh token"), "{slots}");
    let again = t.run(&init);
    assert!(!again.status.success(), "an initialized token is not reinitialized");

    let out = t.ok(&[
        "--slot",
        "1",
        "--init-pin",
        "--login",
        "--login-type",
        "so",
        "--so-pin",
        "new-so-pin",
        "--pin",
        "first-pin",
    ]);
    assert!(out.contains("User PIN successfully initialized"), "{out}");
    t.ok(&["--slot", "1", "--login", "--pin", "first-pin", "--generate-random", "8"]);
    let out =
        t.ok(&["--slot", "1", "--change-pin", "--login", "--pin", "first-pin", "--new-pin", "second-pin"]);
    assert!(out.contains("PIN successfully changed"), "{out}");
    assert!(
        !t.run(&["--slot", "1", "--login", "--pin", "first-pin", "--generate-random", "8"]).status.success()
    );
    t.ok(&["--slot", "1", "--login", "--pin", "second-pin", "--generate-random", "8"]);
}

/// `pkcs11-tool -m ECDSA` signs a SHA-256 digest made outside the token;
/// the signature verifies there and, in OpenSSL's format, with `openssl
/// dgst -sha256` over the original data.
#[test]
fn pkcs11_tool_signs_a_digest_with_raw_ecdsa() {
    let Some(t) = Tool::new("pkcs11_tool_signs_a_digest_with_raw_ecdsa") else { return };
    let pin = std::str::from_utf8(USER_PIN).unwrap();
    t.ok(&["--login", "--pin", pin, "--keypairgen", "--key-type", "EC:prime256v1", "--id", "01"]);
    let data = t.path("data.bin");
    std::fs::write(&data, b"release 1.2 of the ledger").unwrap();
    let digest = t.path("digest.bin");
    std::fs::write(&digest, coffer_core::hash::sha256(b"release 1.2 of the ledger")).unwrap();
    let (sig, der, public) = (t.path("sig"), t.path("sig.der"), t.path("pub.der"));
    let base =
        ["--login", "--pin", pin, "--id", "01", "--mechanism", "ECDSA", "--input-file", str_of(&digest)];
    t.ok(&[&base[..], &["--sign", "--output-file", str_of(&sig)]].concat());
    let verified = t.ok(&[&base[..], &["--verify", "--signature-file", str_of(&sig)]].concat());
    assert!(verified.contains("Signature is valid"), "{verified}");
    t.ok(&[&base[..], &["--sign", "--signature-format", "openssl", "--output-file", str_of(&der)]].concat());
    t.ok(&[
        "--login",
        "--pin",
        pin,
        "--read-object",
        "--type",
        "pubkey",
        "--id",
        "01",
        "--output-file",
        str_of(&public),
    ]);
    openssl_verifies(&public, &der, &data, "CKM_ECDSA");
}

/// OpenSC's own self-test (`pkcs11-tool --test`) over a token holding a
/// P-256, an RSA and an AES key: random bytes, the digests, RSA
/// verification and RSA-OAEP decryption (with and without a label) must
/// pass with no error. (Its signature part runs only for mechanisms that
/// declare `CKF_HW`, which a software token does not: it reports "not
/// implemented", as it does for SoftHSMv2; `--sign`/`--verify` are tested
/// above.)
#[test]
fn pkcs11_tool_self_test_finds_no_errors() {
    let Some(t) = Tool::new("pkcs11_tool_self_test_finds_no_errors") else { return };
    let pin = std::str::from_utf8(USER_PIN).unwrap();
    let login = ["--login", "--pin", pin];
    t.ok(&[&login[..], &["--keypairgen", "--key-type", "EC:prime256v1", "--id", "01", "--label", "ec"]]
        .concat());
    t.ok(&[&login[..], &["--keypairgen", "--key-type", "rsa:2048", "--id", "02", "--label", "rsa"]].concat());
    t.ok(&[&login[..], &["--keygen", "--key-type", "AES:32", "--id", "03", "--sensitive", "--private"]]
        .concat());
    let out = t.ok(&[&login[..], &["--test"]].concat());
    assert!(out.contains("SHA256: OK"), "{out}");
    assert!(out.contains("testing key 1 (rsa) with 1 mechanism"), "{out}");
    assert_eq!(out.matches("\nOK\n").count(), 2, "both OAEP decryptions: {out}");
    assert!(out.trim_end().ends_with("No errors"), "{out}");
}
