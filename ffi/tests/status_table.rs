//! One status code per condition: a test per row of the table on
//! `coffer_status` (ffi/src/status.rs, copied into coffer.h), each calling
//! the C functions that can meet its condition through the rlib, as C
//! calls them, and asserting the row's code from every one.
//! `every_row_of_the_status_table_has_its_test` keeps the table and the
//! tests in step: a row without a `row_<name>` test here fails it.
// miri: most rows call the keystore (SQLite, C code miri cannot run) or sign with RSA and P-256 keys.
#![cfg(not(miri))]
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    reason = "a failed call is a test failure, reported by panic"
)]

use std::path::{Path, PathBuf};
use std::ptr::{null, null_mut};

use coffer::cert::*;
use coffer::cert_path::*;
use coffer::crl::*;
use coffer::envelope::*;
use coffer::keypair::*;
use coffer::keystore::*;
use coffer::keywrap::*;
use coffer::signature::*;
use coffer::status::*;
use coffer::stream::*;
use coffer::webhook::*;

mod common;
use common::{Bytes, KIND_KEK, kv, recipient, unlock};

const P256_PKCS8: &[u8] = include_bytes!("../../core/tests/data/p256.pkcs8.der");
const P256_SPKI: &[u8] = include_bytes!("../../core/tests/data/p256.spki.der");
const RSA2048_PKCS8: &[u8] = include_bytes!("../../core/tests/data/rsa2048.pkcs8.der");
const RSA2048_SPKI: &[u8] = include_bytes!("../../core/tests/data/rsa2048.spki.der");
const RSA1024_PKCS8: &[u8] = include_bytes!("../../core/tests/data/rsa1024.pkcs8.der");
const RSA1024_SPKI: &[u8] = include_bytes!("../../core/tests/data/rsa1024.spki.der");
const RSA2048_E3_SPKI: &[u8] = include_bytes!("../../core/tests/data/rsa2048_e3.spki.der");

const KEK1: [u8; 32] = [0x11; 32];
const KEK2: [u8; 32] = [0x22; 32];
const ECDSA: u32 = coffer_signature_scheme::COFFER_SIG_ECDSA_P256_SHA256 as u32;
const PSS: u32 = coffer_signature_scheme::COFFER_SIG_RSA_PSS_SHA256 as u32;
const PKCS1: u32 = coffer_signature_scheme::COFFER_SIG_RSA_PKCS1_SHA256 as u32;
const DEFAULT: u32 = COFFER_SIG_KEY_DEFAULT;
const MASTER: u32 = coffer_keystore_secret::COFFER_KEYSTORE_MASTER_KEY as u32;
const PASSPHRASE: u32 = coffer_keystore_secret::COFFER_KEYSTORE_PASSPHRASE as u32;
const SECRET: &[u8] = b"whsec: a shared webhook secret";
const NOW: u64 = 1_700_000_000;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The context tenant=acme that [`sealed`] uses.
fn acme() -> Vec<coffer_kv> {
    vec![kv(b"tenant", b"acme")]
}

/// An envelope of `msg` for KEK1 as key id "k" version 1, with context tenant=acme.
fn sealed(msg: &[u8]) -> Vec<u8> {
    let to = [recipient(b"k", 1, &KEK1)];
    let ctx = [kv(b"tenant", b"acme")];
    let mut env = Bytes::new();
    let s = coffer_envelope_seal(to.as_ptr(), 1, ctx.as_ptr(), 1, msg.as_ptr(), msg.len(), env.out());
    assert_eq!(s, COFFER_OK);
    env.to_vec()
}

fn open(keys: &[coffer_unlock_key], ctx: &[coffer_kv], env: &[u8]) -> coffer_status {
    let mut pt = Bytes::new();
    let s = coffer_envelope_open(
        keys.as_ptr(),
        keys.len(),
        ctx.as_ptr(),
        ctx.len(),
        env.as_ptr(),
        env.len(),
        pt.out(),
    );
    assert!(s == COFFER_OK || pt.0.data.is_null(), "an output was written on failure");
    s
}

fn open_into(keys: &[coffer_unlock_key], ctx: &[coffer_kv], env: &[u8]) -> coffer_status {
    let mut buf = vec![0u8; env.len()];
    let mut len = buf.len();
    coffer_envelope_open_into(
        keys.as_ptr(),
        keys.len(),
        ctx.as_ptr(),
        ctx.len(),
        env.as_ptr(),
        env.len(),
        buf.as_mut_ptr(),
        &mut len,
    )
}

/// Opens `env` through a streaming opener: header, every chunk, finish;
/// the first failure.
fn open_streaming(keys: &[coffer_unlock_key], ctx: &[coffer_kv], env: &[u8]) -> coffer_status {
    let mut header_len = 0;
    let s = coffer_envelope_header_len(env.as_ptr(), env.len().min(10), &mut header_len);
    if s != COFFER_OK {
        return s;
    }
    let header = &env[..header_len.min(env.len())];
    let mut opener = null_mut();
    let s = coffer_opener_new(
        keys.as_ptr(),
        keys.len(),
        ctx.as_ptr(),
        ctx.len(),
        header.as_ptr(),
        header.len(),
        &mut opener,
    );
    if s != COFFER_OK {
        assert!(opener.is_null());
        return s;
    }
    let mut sealed_chunk = 0;
    assert_eq!(coffer_opener_sealed_chunk_size(opener, &mut sealed_chunk), COFFER_OK);
    let payload = &env[header.len()..];
    let chunks: Vec<&[u8]> = payload.chunks(sealed_chunk).collect();
    let mut status = COFFER_OK;
    let mut out = vec![0u8; sealed_chunk];
    for (i, chunk) in chunks.iter().enumerate() {
        let mut len = out.len();
        let last = i + 1 == chunks.len();
        status =
            coffer_opener_open_chunk(opener, chunk.as_ptr(), chunk.len(), last, out.as_mut_ptr(), &mut len);
        if status != COFFER_OK {
            break;
        }
    }
    if status == COFFER_OK {
        status = coffer_opener_finish(opener);
    }
    coffer_opener_free(opener);
    status
}

fn keypair(pkcs8: &[u8]) -> *mut coffer_keypair {
    let mut kp = null_mut();
    assert_eq!(coffer_keypair_from_pkcs8_der(pkcs8.as_ptr(), pkcs8.len(), &mut kp), COFFER_OK);
    kp
}

fn sign(kp: *const coffer_keypair, scheme: u32, msg: &[u8]) -> Vec<u8> {
    let mut sig = Bytes::new();
    assert_eq!(coffer_keypair_sign(kp, scheme, msg.as_ptr(), msg.len(), sig.out()), COFFER_OK);
    sig.to_vec()
}

/// A self-signed CA certificate for `kp`.
fn certificate(kp: *const coffer_keypair) -> *mut coffer_certificate {
    let subject = b"CN=Status Table CA";
    let mut cert = null_mut();
    let s = coffer_certificate_self_signed_ca(kp, subject.as_ptr(), subject.len(), 30, 0, &mut cert);
    assert_eq!(s, COFFER_OK);
    cert
}

fn webhook_header(secret: &[u8], timestamp: u64, body: &[u8]) -> Vec<u8> {
    let mut header = Bytes::new();
    let s = coffer_webhook_sign(
        secret.as_ptr(),
        secret.len(),
        timestamp,
        body.as_ptr(),
        body.len(),
        header.out(),
    );
    assert_eq!(s, COFFER_OK);
    header.to_vec()
}

fn webhook_verify(secret: &[u8], body: &[u8], header: &[u8], now: u64) -> coffer_status {
    coffer_webhook_verify(
        secret.as_ptr(),
        secret.len(),
        body.as_ptr(),
        body.len(),
        header.as_ptr(),
        header.len(),
        now,
        COFFER_WEBHOOK_DEFAULT_TOLERANCE_SECS,
    )
}

/// A fresh scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("coffer-status-table-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn create(path: &str, out: &mut *mut coffer_keystore) -> coffer_status {
    coffer_keystore_create(path.as_ptr(), path.len(), MASTER, KEK1.as_ptr(), 32, 1, out)
}

fn open_store(path: &str, out: &mut *mut coffer_keystore) -> coffer_status {
    coffer_keystore_open(path.as_ptr(), path.len(), MASTER, KEK1.as_ptr(), 32, 0, out)
}

const SO_PIN: &[u8] = b"so-pin-0001";
const USER_PIN: &[u8] = b"user-pin-01";
const USAGE_ALL: u32 = COFFER_USAGE_ENCRYPT
    | COFFER_USAGE_DECRYPT
    | COFFER_USAGE_WRAP
    | COFFER_USAGE_UNWRAP
    | COFFER_USAGE_SIGN
    | COFFER_USAGE_VERIFY;

/// A keystore in a scratch directory with a token, the tenant "acme", the
/// user "alice" logged in, an AES-256 key "kek", an HMAC key "mac" and a
/// P-256 key "sig".
struct Keystore {
    ks: *mut coffer_keystore,
    so: u64,
    user: u64,
    kek: u64,
    mac: u64,
    sig: u64,
    scratch: Scratch,
}

impl Keystore {
    fn new(name: &str) -> Self {
        let scratch = Scratch::new(name);
        let mut ks = null_mut();
        assert_eq!(create(&scratch.path("ks.db"), &mut ks), COFFER_OK);
        assert_eq!(
            coffer_keystore_init_token(ks, 0, b"t".as_ptr(), 1, SO_PIN.as_ptr(), SO_PIN.len()),
            COFFER_OK
        );
        let mut so = 0;
        assert_eq!(coffer_keystore_login_so(ks, 0, SO_PIN.as_ptr(), SO_PIN.len(), &mut so), COFFER_OK);
        assert_eq!(coffer_keystore_tenant_create(ks, so, b"acme".as_ptr(), 4), COFFER_OK);
        let user_role = coffer_role::COFFER_ROLE_USER as u32;
        let s = coffer_keystore_user_create(
            ks,
            so,
            b"alice".as_ptr(),
            5,
            user_role,
            b"acme".as_ptr(),
            4,
            USER_PIN.as_ptr(),
            USER_PIN.len(),
        );
        assert_eq!(s, COFFER_OK);
        let mut user = 0;
        let s = coffer_keystore_login_user(
            ks,
            0,
            b"alice".as_ptr(),
            5,
            USER_PIN.as_ptr(),
            USER_PIN.len(),
            null(),
            0,
            &mut user,
        );
        assert_eq!(s, COFFER_OK);
        let mut store = Keystore { ks, so, user, kek: 0, mac: 0, sig: 0, scratch };
        store.kek = store.generate(coffer_key_type::COFFER_KEY_TYPE_AES256, b"kek");
        store.mac = store.generate(coffer_key_type::COFFER_KEY_TYPE_HMAC_SHA256, b"mac");
        store.sig = store.generate(coffer_key_type::COFFER_KEY_TYPE_P256, b"sig");
        store
    }

    fn generate(&self, key_type: coffer_key_type, key_id: &[u8]) -> u64 {
        let attrs = attributes(key_id);
        let mut handle = 0;
        assert_eq!(
            coffer_keystore_generate(self.ks, self.user, key_type as u32, &attrs, &mut handle),
            COFFER_OK
        );
        handle
    }

    fn seal(&self, msg: &[u8]) -> Vec<u8> {
        let mut env = Bytes::new();
        let s = coffer_keystore_seal_envelope(
            self.ks,
            self.user,
            self.kek,
            null(),
            0,
            msg.as_ptr(),
            msg.len(),
            env.out(),
        );
        assert_eq!(s, COFFER_OK);
        env.to_vec()
    }

    fn open_envelope(&self, ctx: &[coffer_kv], env: &[u8]) -> coffer_status {
        let mut pt = Bytes::new();
        coffer_keystore_open_envelope(
            self.ks,
            self.user,
            self.kek,
            ctx.as_ptr(),
            ctx.len(),
            env.as_ptr(),
            env.len(),
            pt.out(),
        )
    }

    fn rewrap(&self, env: &[u8]) -> coffer_status {
        let mut out = Bytes::new();
        coffer_keystore_rewrap_envelope(self.ks, self.user, self.kek, env.as_ptr(), env.len(), out.out())
    }

    fn webhook_verify(&self, body: &[u8], header: &[u8], now: u64) -> coffer_status {
        coffer_keystore_webhook_verify(
            self.ks,
            self.user,
            self.mac,
            body.as_ptr(),
            body.len(),
            header.as_ptr(),
            header.len(),
            now,
            COFFER_WEBHOOK_DEFAULT_TOLERANCE_SECS,
        )
    }

    fn webhook_sign(&self, timestamp: u64, body: &[u8]) -> Vec<u8> {
        let mut header = Bytes::new();
        let s = coffer_keystore_webhook_sign(
            self.ks,
            self.user,
            self.mac,
            timestamp,
            body.as_ptr(),
            body.len(),
            header.out(),
        );
        assert_eq!(s, COFFER_OK);
        header.to_vec()
    }

    fn import(&self, key_type: coffer_key_type, key_id: &[u8], wrapped: &[u8]) -> coffer_status {
        let attrs = attributes(key_id);
        let mut handle = 0;
        coffer_keystore_import_wrapped(
            self.ks,
            self.user,
            self.kek,
            key_type as u32,
            &attrs,
            wrapped.as_ptr(),
            wrapped.len(),
            &mut handle,
        )
    }

    fn wrap(&self, material: &[u8]) -> (coffer_status, Vec<u8>) {
        let mut out = Bytes::new();
        let s = coffer_keystore_wrap_key(
            self.ks,
            self.user,
            self.kek,
            material.as_ptr(),
            material.len(),
            out.out(),
        );
        (s, out.to_vec())
    }
}

/// The keystore's certificate functions (a CA whose key stays in the
/// keystore), each checked to write no output on failure.
impl Keystore {
    /// A self-signed CA certificate for the key `handle`, signed in the
    /// keystore: the status, and the certificate on success.
    fn ca_certificate(
        &self,
        session: u64,
        handle: u64,
        scheme: u32,
        subject: &[u8],
        days: u32,
    ) -> (coffer_status, *mut coffer_certificate) {
        let mut cert = null_mut();
        let s = coffer_keystore_ca_certificate(
            self.ks,
            session,
            handle,
            scheme,
            subject.as_ptr(),
            subject.len(),
            days,
            0,
            &mut cert,
        );
        assert!(s == COFFER_OK || cert.is_null(), "an output was written on failure");
        (s, cert)
    }

    /// The status of a request for the key `handle` itself.
    fn certificate_request(
        &self,
        handle: u64,
        scheme: u32,
        subject: &[u8],
        sans: &[coffer_san],
    ) -> coffer_status {
        let mut csr = null_mut();
        let s = coffer_keystore_certificate_request(
            self.ks,
            self.user,
            handle,
            scheme,
            subject.as_ptr(),
            subject.len(),
            sans.as_ptr(),
            sans.len(),
            &mut csr,
        );
        assert!(s == COFFER_OK || csr.is_null(), "an output was written on failure");
        coffer_csr_free(csr);
        s
    }

    /// The status of issuing from `csr` under `ca` with the key `sig`.
    fn issue_certificate(
        &self,
        scheme: u32,
        ca: *const coffer_certificate,
        csr: *const coffer_csr,
        usage: u32,
    ) -> coffer_status {
        let mut cert = null_mut();
        let s = coffer_keystore_issue_certificate(
            self.ks,
            self.user,
            self.sig,
            scheme,
            ca,
            csr,
            usage,
            30,
            null(),
            0,
            &mut cert,
        );
        assert!(s == COFFER_OK || cert.is_null(), "an output was written on failure");
        coffer_certificate_free(cert);
        s
    }
}

impl Drop for Keystore {
    fn drop(&mut self) {
        coffer_keystore_free(self.ks);
    }
}

fn attributes(key_id: &[u8]) -> coffer_key_attributes {
    coffer_key_attributes {
        label: b"label".as_ptr(),
        label_len: 5,
        key_id: key_id.as_ptr(),
        key_id_len: key_id.len(),
        usage: USAGE_ALL,
        extractable: true,
        active: true,
    }
}

// ---------------------------------------------------------------------------
// The table itself
// ---------------------------------------------------------------------------

/// The row names of the table on `coffer_status`, in order.
fn table_rows() -> Vec<String> {
    let source = include_str!("../src/status.rs");
    source
        .lines()
        .filter_map(|line| line.trim().strip_prefix("/// | `"))
        .filter_map(|rest| rest.split_once('`').map(|(name, _)| name.to_owned()))
        .collect()
}

#[test]
fn every_row_of_the_status_table_has_its_test() {
    let rows = table_rows();
    assert!(rows.len() >= 20, "the table on coffer_status went missing: {rows:?}");
    let tests = include_str!("status_table.rs");
    for row in &rows {
        let name = format!("fn row_{}()", row.replace('-', "_"));
        assert!(tests.contains(&name), "the status table row `{row}` has no test `{name}` here");
    }
    let header = include_str!("../include/coffer.h");
    for row in &rows {
        assert!(header.contains(&format!("| `{row}` |")), "coffer.h lacks the row `{row}`: regenerate it");
    }
}

#[test]
fn the_malformed_message_names_no_single_structure() {
    let message = coffer::coffer_status_message(COFFER_ERR_MALFORMED as u32);
    // SAFETY: a static NUL-terminated string (the function's contract).
    let text = unsafe { std::ffi::CStr::from_ptr(message) }.to_str().unwrap();
    for subject in ["envelope", "certificate", "webhook"] {
        assert!(text.contains(subject), "{text}");
    }
}

// ---------------------------------------------------------------------------
// One test per row
// ---------------------------------------------------------------------------

#[test]
fn row_null_pointer() {
    let msg = b"m";
    let mut out = Bytes::new();
    let to = [recipient(b"k", 1, &KEK1)];
    assert_eq!(
        coffer_envelope_seal(null(), 1, null(), 0, msg.as_ptr(), 1, out.out()),
        COFFER_ERR_NULL_POINTER
    );
    assert_eq!(
        coffer_envelope_seal(to.as_ptr(), 1, null(), 0, null(), 1, out.out()),
        COFFER_ERR_NULL_POINTER
    );
    assert_eq!(
        coffer_envelope_seal(to.as_ptr(), 1, null(), 0, msg.as_ptr(), 1, null_mut()),
        COFFER_ERR_NULL_POINTER
    );
    let (mut buf, mut len) = ([0u8; 48], 48usize);
    assert_eq!(
        coffer_kw_wrap(null(), 32, KEK2.as_ptr(), 32, buf.as_mut_ptr(), &mut len),
        COFFER_ERR_NULL_POINTER
    );
    assert_eq!(
        coffer_kw_wrap(KEK1.as_ptr(), 32, KEK2.as_ptr(), 32, buf.as_mut_ptr(), null_mut()),
        COFFER_ERR_NULL_POINTER
    );
    let kp = keypair(P256_PKCS8);
    assert_eq!(coffer_keypair_sign(kp, ECDSA, msg.as_ptr(), 1, null_mut()), COFFER_ERR_NULL_POINTER);
    assert_eq!(coffer_keypair_sign(null(), ECDSA, msg.as_ptr(), 1, out.out()), COFFER_ERR_NULL_POINTER);
    assert_eq!(coffer_keypair_verify(kp, ECDSA, null(), 1, msg.as_ptr(), 1), COFFER_ERR_NULL_POINTER);
    assert_eq!(
        coffer_public_key_verify_der(null(), 5, ECDSA, msg.as_ptr(), 1, msg.as_ptr(), 1),
        COFFER_ERR_NULL_POINTER
    );
    assert_eq!(coffer_keypair_to_encrypted_pkcs8_der(kp, null(), 4, out.out()), COFFER_ERR_NULL_POINTER);
    assert_eq!(
        coffer_webhook_sign(SECRET.as_ptr(), SECRET.len(), NOW, msg.as_ptr(), 1, null_mut()),
        COFFER_ERR_NULL_POINTER
    );
    assert_eq!(coffer_keystore_hmac_sign(null(), 1, 1, msg.as_ptr(), 1, out.out()), COFFER_ERR_NULL_POINTER);
    assert_eq!(coffer_keystore_wrap_key(null(), 1, 1, msg.as_ptr(), 1, out.out()), COFFER_ERR_NULL_POINTER);
    assert_eq!(
        coffer_certificate_verify_signature(null(), ECDSA, msg.as_ptr(), 1, msg.as_ptr(), 1),
        COFFER_ERR_NULL_POINTER
    );
    let (mut cert, mut csr) = (null_mut(), null_mut());
    let subject = b"CN=x";
    let s = coffer_keystore_ca_certificate(null(), 1, 1, DEFAULT, subject.as_ptr(), 4, 30, 0, &mut cert);
    assert_eq!(s, COFFER_ERR_NULL_POINTER);
    let s = coffer_keystore_ca_certificate(null(), 1, 1, DEFAULT, subject.as_ptr(), 4, 30, 0, null_mut());
    assert_eq!(s, COFFER_ERR_NULL_POINTER);
    let s = coffer_keystore_certificate_request(null(), 1, 1, DEFAULT, null(), 4, null(), 0, &mut csr);
    assert_eq!(s, COFFER_ERR_NULL_POINTER);
    let leaf = coffer_leaf_usage::COFFER_LEAF_CLIENT as u32;
    let s = coffer_keystore_issue_certificate(
        null(),
        1,
        1,
        DEFAULT,
        null(),
        null(),
        leaf,
        30,
        null(),
        0,
        &mut cert,
    );
    assert_eq!(s, COFFER_ERR_NULL_POINTER);
    assert!(out.0.data.is_null() && cert.is_null() && csr.is_null());
    coffer_keypair_free(kp);
}

#[test]
fn row_buffer_too_small() {
    let msg = b"a message that needs room";
    let to = [recipient(b"k", 1, &KEK1)];
    let mut len = 3usize;
    let mut buf = [0u8; 3];
    let s = coffer_envelope_seal_into(
        to.as_ptr(),
        1,
        null(),
        0,
        msg.as_ptr(),
        msg.len(),
        buf.as_mut_ptr(),
        &mut len,
    );
    assert_eq!(s, COFFER_ERR_BUFFER_TOO_SMALL);
    assert!(len > msg.len(), "the size needed was not written: {len}");
    let env = sealed(msg);
    let keys = [unlock(b"k", 1, &KEK1)];
    let ctx = [kv(b"tenant", b"acme")];
    let mut len = 3usize;
    let s = coffer_envelope_open_into(
        keys.as_ptr(),
        1,
        ctx.as_ptr(),
        1,
        env.as_ptr(),
        env.len(),
        buf.as_mut_ptr(),
        &mut len,
    );
    assert_eq!(s, COFFER_ERR_BUFFER_TOO_SMALL);
    assert_eq!(len, msg.len());
    let mut len = 3usize;
    assert_eq!(
        coffer_kw_wrap(KEK1.as_ptr(), 32, KEK2.as_ptr(), 32, buf.as_mut_ptr(), &mut len),
        COFFER_ERR_BUFFER_TOO_SMALL
    );
    assert_eq!(len, 40);
    let mut len = 3usize;
    assert_eq!(
        coffer_kwp_wrap(KEK1.as_ptr(), 32, msg.as_ptr(), 5, buf.as_mut_ptr(), &mut len),
        COFFER_ERR_BUFFER_TOO_SMALL
    );
    assert_eq!(len, 16);
    let (mut sealer, mut header) = (null_mut(), Bytes::new());
    assert_eq!(coffer_sealer_new(to.as_ptr(), 1, null(), 0, 0, &mut sealer, header.out()), COFFER_OK);
    let mut len = 3usize;
    let s = coffer_sealer_seal_chunk(sealer, msg.as_ptr(), msg.len(), true, buf.as_mut_ptr(), &mut len);
    assert_eq!(s, COFFER_ERR_BUFFER_TOO_SMALL);
    assert_eq!(len, msg.len() + COFFER_ENVELOPE_TAG_LEN);
    coffer_sealer_free(sealer);
}

#[test]
fn row_nothing_given() {
    let msg = b"m";
    let env = sealed(msg);
    let (mut out, mut buf, mut len) = (Bytes::new(), [0u8; 512], 512usize);
    let to = [recipient(b"k", 1, &KEK1)];
    let keys = [unlock(b"k", 1, &KEK1)];
    // NULL with 0 and a valid pointer with 0 are both "none".
    for recipients in [null(), to.as_ptr()] {
        assert_eq!(
            coffer_envelope_seal(recipients, 0, null(), 0, msg.as_ptr(), 1, out.out()),
            COFFER_ERR_INVALID_ARGUMENT
        );
        let s =
            coffer_envelope_seal_into(recipients, 0, null(), 0, msg.as_ptr(), 1, buf.as_mut_ptr(), &mut len);
        assert_eq!(s, COFFER_ERR_INVALID_ARGUMENT);
        let (mut sealer, mut header) = (null_mut(), Bytes::new());
        assert_eq!(
            coffer_sealer_new(recipients, 0, null(), 0, 0, &mut sealer, header.out()),
            COFFER_ERR_INVALID_ARGUMENT
        );
        assert!(sealer.is_null() && header.0.data.is_null());
    }
    for unlock_keys in [null(), keys.as_ptr()] {
        let s = coffer_envelope_open(unlock_keys, 0, null(), 0, env.as_ptr(), env.len(), out.out());
        assert_eq!(s, COFFER_ERR_INVALID_ARGUMENT);
        let s = coffer_envelope_open_into(
            unlock_keys,
            0,
            null(),
            0,
            env.as_ptr(),
            env.len(),
            buf.as_mut_ptr(),
            &mut len,
        );
        assert_eq!(s, COFFER_ERR_INVALID_ARGUMENT);
        let mut opener = null_mut();
        assert_eq!(
            coffer_opener_new(unlock_keys, 0, null(), 0, env.as_ptr(), env.len(), &mut opener),
            COFFER_ERR_INVALID_ARGUMENT
        );
        assert!(opener.is_null());
    }
}

#[test]
fn row_unusable_argument() {
    let msg = b"m";
    let mut out = Bytes::new();
    // A duplicate context key.
    let to = [recipient(b"k", 1, &KEK1)];
    let twice = [kv(b"tenant", b"a"), kv(b"tenant", b"b")];
    assert_eq!(
        coffer_envelope_seal(to.as_ptr(), 1, twice.as_ptr(), 2, msg.as_ptr(), 1, out.out()),
        COFFER_ERR_INVALID_ARGUMENT
    );
    // A recipient already there; none to remove.
    let env = sealed(msg);
    let key = unlock(b"k", 1, &KEK1);
    let again = recipient(b"k", 1, &KEK2);
    assert_eq!(
        coffer_envelope_add_recipient(env.as_ptr(), env.len(), &key, &again, out.out()),
        COFFER_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        coffer_envelope_remove_recipient(env.as_ptr(), env.len(), KIND_KEK, b"x".as_ptr(), 1, 1, out.out()),
        COFFER_ERR_INVALID_ARGUMENT
    );
    // A signature scheme of the other key type, wherever a scheme is taken.
    let (p256, rsa) = (keypair(P256_PKCS8), keypair(RSA2048_PKCS8));
    assert_eq!(coffer_keypair_sign(p256, PSS, msg.as_ptr(), 1, out.out()), COFFER_ERR_INVALID_ARGUMENT);
    assert_eq!(coffer_keypair_sign(rsa, ECDSA, msg.as_ptr(), 1, out.out()), COFFER_ERR_INVALID_ARGUMENT);
    let sig = sign(p256, ECDSA, msg);
    assert_eq!(
        coffer_keypair_verify(p256, PKCS1, msg.as_ptr(), 1, sig.as_ptr(), sig.len()),
        COFFER_ERR_INVALID_ARGUMENT
    );
    let s = coffer_public_key_verify_der(
        RSA2048_SPKI.as_ptr(),
        RSA2048_SPKI.len(),
        ECDSA,
        msg.as_ptr(),
        1,
        sig.as_ptr(),
        sig.len(),
    );
    assert_eq!(s, COFFER_ERR_INVALID_ARGUMENT);
    let cert = certificate(p256);
    assert_eq!(
        coffer_certificate_verify_signature(cert, PSS, msg.as_ptr(), 1, sig.as_ptr(), sig.len()),
        COFFER_ERR_INVALID_ARGUMENT
    );
    // A path length out of range.
    let mut other = null_mut();
    let subject = b"CN=x";
    assert_eq!(
        coffer_certificate_self_signed_ca(p256, subject.as_ptr(), 4, 30, 300, &mut other),
        COFFER_ERR_INVALID_ARGUMENT
    );
    assert!(other.is_null());
    // A keystore key of a type the operation does not take.
    let store = Keystore::new("unusable");
    let s = coffer_keystore_hmac_sign(store.ks, store.user, store.kek, msg.as_ptr(), 1, out.out());
    assert_eq!(s, COFFER_ERR_INVALID_ARGUMENT);
    assert_eq!(
        coffer_keystore_sign(store.ks, store.user, store.mac, msg.as_ptr(), 1, out.out()),
        COFFER_ERR_INVALID_ARGUMENT
    );
    let s = coffer_keystore_wrap_key(store.ks, store.user, store.sig, KEK2.as_ptr(), 32, out.out());
    assert_eq!(s, COFFER_ERR_INVALID_ARGUMENT);
    let (s, _) = store.ca_certificate(store.user, store.kek, DEFAULT, subject, 30);
    assert_eq!(s, COFFER_ERR_INVALID_ARGUMENT);
    // A scheme of the other key type for a keystore key.
    let (s, _) = store.ca_certificate(store.user, store.sig, PSS, subject, 30);
    assert_eq!(s, COFFER_ERR_INVALID_ARGUMENT);
    // A bad slot.
    assert_eq!(
        coffer_keystore_init_token(store.ks, 7, b"t".as_ptr(), 1, SO_PIN.as_ptr(), SO_PIN.len()),
        COFFER_ERR_INVALID_ARGUMENT
    );
    coffer_certificate_free(cert);
    coffer_keypair_free(p256);
    coffer_keypair_free(rsa);
}

fn san(kind: coffer_san_kind, value: &'static [u8]) -> coffer_san {
    coffer_san { kind: kind as u32, value: value.as_ptr(), value_len: value.len() }
}

/// A CSR for `kp` with `sans`, made through the C API.
fn csr_for(kp: *const coffer_keypair, sans: &[coffer_san]) -> *mut coffer_csr {
    let subject = b"CN=agent";
    let mut csr = null_mut();
    let s = coffer_csr_new(kp, subject.as_ptr(), subject.len(), sans.as_ptr(), sans.len(), &mut csr);
    assert_eq!(s, COFFER_OK);
    csr
}

/// The status of issuing a leaf from `csr` under `ca` (key `ca_key`).
fn issue(
    ca: *const coffer_certificate,
    ca_key: *const coffer_keypair,
    csr: *const coffer_csr,
    usage: coffer_leaf_usage,
    days: u32,
    sans: &[coffer_san],
) -> coffer_status {
    let mut leaf = null_mut();
    let s =
        coffer_certificate_issue(ca, ca_key, csr, usage as u32, days, sans.as_ptr(), sans.len(), &mut leaf);
    assert!(s == COFFER_OK || leaf.is_null(), "an output was written on failure");
    coffer_certificate_free(leaf);
    s
}

#[test]
fn row_bad_subject() {
    let p256 = keypair(P256_PKCS8);
    let long = [b'a'; 1100];
    for bad in [&b"no equals sign"[..], b"", b"CN", b"=x", &long[..]] {
        let mut out = null_mut();
        let s = coffer_certificate_self_signed_ca(p256, bad.as_ptr(), bad.len(), 30, 0, &mut out);
        assert_eq!(s, COFFER_ERR_INVALID_SUBJECT, "{:?}", String::from_utf8_lossy(bad));
        assert!(out.is_null());
        let mut csr = null_mut();
        assert_eq!(
            coffer_csr_new(p256, bad.as_ptr(), bad.len(), null(), 0, &mut csr),
            COFFER_ERR_INVALID_SUBJECT
        );
        assert!(csr.is_null());
    }
    let store = Keystore::new("bad-subject");
    let (s, _) = store.ca_certificate(store.user, store.sig, DEFAULT, b"no equals sign", 30);
    assert_eq!(s, COFFER_ERR_INVALID_SUBJECT);
    assert_eq!(store.certificate_request(store.sig, DEFAULT, b"CN", &[]), COFFER_ERR_INVALID_SUBJECT);
    coffer_keypair_free(p256);
}

#[test]
fn row_bad_san() {
    use coffer_san_kind::*;
    let p256 = keypair(P256_PKCS8);
    let ca = certificate(p256);
    let good = csr_for(p256, &[san(COFFER_SAN_DNS, b"agent.acme.test")]);
    let subject = b"CN=agent";
    let bad_names: [(coffer_san_kind, &'static [u8]); 5] = [
        (COFFER_SAN_IP, b"not an address"),
        (COFFER_SAN_DNS, b"bad name"),
        (COFFER_SAN_DNS, b""),
        (COFFER_SAN_URI, b"no scheme"),
        (COFFER_SAN_EMAIL, b"ops"),
    ];
    let store = Keystore::new("bad-san");
    for (kind, value) in bad_names {
        let name = String::from_utf8_lossy(value);
        let bad = [san(kind, value)];
        let mut csr = null_mut();
        let s = coffer_csr_new(p256, subject.as_ptr(), subject.len(), bad.as_ptr(), 1, &mut csr);
        assert_eq!(s, COFFER_ERR_INVALID_SAN, "{name}");
        assert!(csr.is_null());
        let s = issue(ca, p256, good, coffer_leaf_usage::COFFER_LEAF_CLIENT, 10, &bad);
        assert_eq!(s, COFFER_ERR_INVALID_SAN, "{name}");
        assert_eq!(store.certificate_request(store.sig, DEFAULT, subject, &bad), COFFER_ERR_INVALID_SAN);
    }
    // Each kind has a valid form.
    let fine = [
        san(COFFER_SAN_IP, b"10.0.0.7"),
        san(COFFER_SAN_DNS, b"agent.acme.test"),
        san(COFFER_SAN_URI, b"spiffe://acme.test/agent"),
        san(COFFER_SAN_EMAIL, b"ops@acme.test"),
    ];
    assert_eq!(issue(ca, p256, good, coffer_leaf_usage::COFFER_LEAF_SERVER, 10, &fine), COFFER_OK);
    coffer_csr_free(good);
    coffer_certificate_free(ca);
    coffer_keypair_free(p256);
}

#[test]
fn row_bad_validity() {
    let p256 = keypair(P256_PKCS8);
    let subject = b"CN=x";
    let mut out = null_mut();
    let s = coffer_certificate_self_signed_ca(p256, subject.as_ptr(), subject.len(), 0, 0, &mut out);
    assert_eq!(s, COFFER_ERR_INVALID_VALIDITY);
    assert!(out.is_null());
    let ca = certificate(p256);
    let csr = csr_for(p256, &[]);
    assert_eq!(
        issue(ca, p256, csr, coffer_leaf_usage::COFFER_LEAF_CLIENT, 0, &[]),
        COFFER_ERR_INVALID_VALIDITY
    );
    let store = Keystore::new("bad-validity");
    let (s, _) = store.ca_certificate(store.user, store.sig, DEFAULT, subject, 0);
    assert_eq!(s, COFFER_ERR_INVALID_VALIDITY);
    coffer_csr_free(csr);
    coffer_certificate_free(ca);
    coffer_keypair_free(p256);
}

#[test]
fn row_server_without_name() {
    use coffer_san_kind::*;
    let p256 = keypair(P256_PKCS8);
    let ca = certificate(p256);
    let unnamed = csr_for(p256, &[]);
    let uri_only =
        [san(COFFER_SAN_URI, b"spiffe://acme.test/agent"), san(COFFER_SAN_EMAIL, b"ops@acme.test")];
    for usage in [coffer_leaf_usage::COFFER_LEAF_SERVER, coffer_leaf_usage::COFFER_LEAF_SERVER_AND_CLIENT] {
        assert_eq!(issue(ca, p256, unnamed, usage, 10, &[]), COFFER_ERR_SERVER_NAME_MISSING, "{usage:?}");
        assert_eq!(issue(ca, p256, unnamed, usage, 10, &uri_only), COFFER_ERR_SERVER_NAME_MISSING);
    }
    assert_eq!(issue(ca, p256, unnamed, coffer_leaf_usage::COFFER_LEAF_CLIENT, 10, &[]), COFFER_OK);
    let store = Keystore::new("server-without-name");
    let (s, store_ca) = store.ca_certificate(store.user, store.sig, DEFAULT, b"CN=Store CA", 60);
    assert_eq!(s, COFFER_OK);
    let server = coffer_leaf_usage::COFFER_LEAF_SERVER as u32;
    assert_eq!(store.issue_certificate(DEFAULT, store_ca, unnamed, server), COFFER_ERR_SERVER_NAME_MISSING);
    coffer_certificate_free(store_ca);
    coffer_csr_free(unnamed);
    coffer_certificate_free(ca);
    coffer_keypair_free(p256);
}

#[test]
fn row_outlives_issuer() {
    let p256 = keypair(P256_PKCS8);
    let ca = certificate(p256); // 30 days
    let csr = csr_for(p256, &[]);
    let client = coffer_leaf_usage::COFFER_LEAF_CLIENT;
    assert_eq!(issue(ca, p256, csr, client, 31, &[]), COFFER_ERR_OUTLIVES_ISSUER);
    assert_eq!(issue(ca, p256, csr, client, 29, &[]), COFFER_OK);
    let store = Keystore::new("outlives-issuer");
    let (s, short_ca) = store.ca_certificate(store.user, store.sig, DEFAULT, b"CN=Short CA", 10);
    assert_eq!(s, COFFER_OK);
    let usage = client as u32;
    assert_eq!(store.issue_certificate(DEFAULT, short_ca, csr, usage), COFFER_ERR_OUTLIVES_ISSUER);
    coffer_certificate_free(short_ca);
    coffer_csr_free(csr);
    coffer_certificate_free(ca);
    coffer_keypair_free(p256);
}

/// A root that allows one intermediate, an issuing CA it certified (path
/// length 0), a server leaf for `agent.acme.test` the issuing CA certified
/// and lists on a CRL, and a second, stale CRL of the issuing CA.
struct PathFixture {
    keys: Vec<*mut coffer_keypair>,
    root: *mut coffer_certificate,
    issuing: *mut coffer_certificate,
    leaf: *mut coffer_certificate,
    revoking: *mut coffer_crl,
    stale: *mut coffer_crl,
}

impl PathFixture {
    fn new() -> Self {
        let (root_key, issuing_key, leaf_key) =
            (keypair(P256_PKCS8), keypair(P256_PKCS8), keypair(P256_PKCS8));
        let mut root = null_mut();
        let subject = b"CN=Row Root";
        let s =
            coffer_certificate_self_signed_ca(root_key, subject.as_ptr(), subject.len(), 30, 1, &mut root);
        assert_eq!(s, COFFER_OK);
        let subject = b"CN=Row Issuing";
        let mut request = null_mut();
        assert_eq!(
            coffer_csr_new(issuing_key, subject.as_ptr(), subject.len(), null(), 0, &mut request),
            COFFER_OK
        );
        let mut issuing = null_mut();
        let s = coffer_certificate_issue_intermediate(root, root_key, request, 20, -1, &mut issuing);
        assert_eq!(s, COFFER_OK);
        coffer_csr_free(request);
        let leaf_csr = csr_for(leaf_key, &[san(coffer_san_kind::COFFER_SAN_DNS, b"agent.acme.test")]);
        let mut leaf = null_mut();
        let server = coffer_leaf_usage::COFFER_LEAF_SERVER as u32;
        assert_eq!(
            coffer_certificate_issue(issuing, issuing_key, leaf_csr, server, 10, null(), 0, &mut leaf),
            COFFER_OK
        );
        coffer_csr_free(leaf_csr);
        let mut serial = Bytes::new();
        assert_eq!(coffer_certificate_serial(leaf, serial.out()), COFFER_OK);
        let serial = serial.to_vec();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let entry =
            coffer_revocation { serial: serial.as_ptr(), serial_len: serial.len(), revoked_at: now - 60 };
        let mut revoking = null_mut();
        assert_eq!(
            coffer_crl_issue(issuing, issuing_key, 1, 0, now + 86_400, &entry, 1, &mut revoking),
            COFFER_OK
        );
        let mut stale = null_mut();
        let s =
            coffer_crl_issue(issuing, issuing_key, 2, now - 2 * 86_400, now - 86_400, null(), 0, &mut stale);
        assert_eq!(s, COFFER_OK);
        PathFixture { keys: vec![root_key, issuing_key, leaf_key], root, issuing, leaf, revoking, stale }
    }

    fn pem(cert: *const coffer_certificate) -> Vec<u8> {
        let mut pem = Bytes::new();
        assert_eq!(coffer_certificate_to_pem(cert, pem.out()), COFFER_OK);
        pem.to_vec()
    }

    /// The status of verifying the leaf against the root, with the issuing
    /// CA as untrusted intermediate when `with_issuing`.
    fn verify(
        &self,
        with_issuing: bool,
        crls: &[*const coffer_crl],
        purpose: u32,
        dns: &'static [u8],
    ) -> coffer_status {
        let anchors = Self::pem(self.root);
        let untrusted = if with_issuing { Self::pem(self.issuing) } else { Vec::new() };
        let name = san(coffer_san_kind::COFFER_SAN_DNS, dns);
        let mut chain_len = 0;
        let s = coffer_certificate_verify_path(
            self.leaf,
            anchors.as_ptr(),
            anchors.len(),
            untrusted.as_ptr(),
            untrusted.len(),
            crls.as_ptr(),
            crls.len(),
            purpose,
            &name,
            0,
            &mut chain_len,
            null_mut(),
            null_mut(),
        );
        assert!(s == COFFER_OK || chain_len == 0, "an output was written on failure");
        s
    }
}

impl Drop for PathFixture {
    fn drop(&mut self) {
        coffer_crl_free(self.revoking);
        coffer_crl_free(self.stale);
        for c in [self.leaf, self.issuing, self.root] {
            coffer_certificate_free(c);
        }
        for k in &self.keys {
            coffer_keypair_free(*k);
        }
    }
}

const SERVER: u32 = COFFER_PURPOSE_SERVER;
const HOST: &[u8] = b"agent.acme.test";

#[test]
fn row_no_path() {
    let f = PathFixture::new();
    assert_eq!(f.verify(true, &[], SERVER, HOST), COFFER_OK);
    assert_eq!(f.verify(false, &[], SERVER, HOST), COFFER_ERR_NO_PATH);
}

#[test]
fn row_path_too_long() {
    let f = PathFixture::new();
    // The issuing CA got path length 0: it certifies no further CA, by file key or in the keystore.
    let sub_key = keypair(P256_PKCS8);
    let request = csr_for(sub_key, &[]);
    let mut out = null_mut();
    let s = coffer_certificate_issue_intermediate(f.issuing, f.keys[1], request, 5, -1, &mut out);
    assert_eq!(s, COFFER_ERR_PATH_TOO_LONG);
    assert!(out.is_null());
    let store = Keystore::new("path-too-long");
    let (s, store_ca) = store.ca_certificate(store.user, store.sig, DEFAULT, b"CN=Store CA", 60); // path length 0
    assert_eq!(s, COFFER_OK);
    let s = coffer_keystore_issue_intermediate(
        store.ks, store.user, store.sig, DEFAULT, store_ca, request, 5, -1, &mut out,
    );
    assert_eq!(s, COFFER_ERR_PATH_TOO_LONG);
    assert!(out.is_null());
    coffer_certificate_free(store_ca);
    coffer_csr_free(request);
    coffer_keypair_free(sub_key);
}

#[test]
fn row_name_mismatch() {
    let f = PathFixture::new();
    assert_eq!(f.verify(true, &[], SERVER, b"other.acme.test"), COFFER_ERR_NAME_MISMATCH);
}

#[test]
fn row_wrong_purpose() {
    let f = PathFixture::new();
    assert_eq!(f.verify(true, &[], COFFER_PURPOSE_CLIENT, HOST), COFFER_ERR_WRONG_PURPOSE);
}

#[test]
fn row_revoked() {
    let f = PathFixture::new();
    assert_eq!(f.verify(true, &[f.revoking], SERVER, HOST), COFFER_ERR_REVOKED);
}

#[test]
fn row_crl_out_of_date() {
    let f = PathFixture::new();
    assert_eq!(f.verify(true, &[f.stale], SERVER, HOST), COFFER_ERR_CRL_OUT_OF_DATE);
}

#[test]
fn row_unsupported_algorithm() {
    // A request whose outer signatureAlgorithm says ecdsa-with-SHA384
    // (1.2.840.10045.4.3.3) instead of ecdsa-with-SHA256 (...4.3.2): coffer
    // names the algorithm before it tries the signature.
    let p256 = keypair(P256_PKCS8);
    let ca = certificate(p256);
    let csr = csr_for(p256, &[]);
    let mut der = Bytes::new();
    assert_eq!(coffer_csr_to_der(csr, der.out()), COFFER_OK);
    let mut der = der.to_vec();
    let sha256 = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
    let at = der.windows(sha256.len()).rposition(|w| w == sha256).unwrap();
    der[at + sha256.len() - 1] = 0x03;
    let mut sha384 = null_mut();
    assert_eq!(coffer_csr_from_der(der.as_ptr(), der.len(), &mut sha384), COFFER_OK);
    let client = coffer_leaf_usage::COFFER_LEAF_CLIENT;
    assert_eq!(issue(ca, p256, sha384, client, 10, &[]), COFFER_ERR_UNSUPPORTED_ALGORITHM);
    assert_eq!(issue(ca, p256, csr, client, 10, &[]), COFFER_OK);
    let store = Keystore::new("unsupported-algorithm");
    let (s, store_ca) = store.ca_certificate(store.user, store.sig, DEFAULT, b"CN=Store CA", 60);
    assert_eq!(s, COFFER_OK);
    let usage = client as u32;
    assert_eq!(store.issue_certificate(DEFAULT, store_ca, sha384, usage), COFFER_ERR_UNSUPPORTED_ALGORITHM);
    coffer_certificate_free(store_ca);
    coffer_csr_free(sha384);
    coffer_csr_free(csr);
    coffer_certificate_free(ca);
    coffer_keypair_free(p256);
}

#[test]
fn row_not_a_file_path() {
    let scratch = Scratch::new("paths");
    let dir = scratch.path("a-directory");
    std::fs::create_dir(&dir).unwrap();
    let link = scratch.path("a-link");
    std::os::unix::fs::symlink("no-such-target", &link).unwrap();
    let file = scratch.path("a-file");
    std::fs::write(&file, b"x").unwrap();
    let paths = ["", "/", &format!("{dir}/"), &format!("{dir}/."), &dir, &link, "/dev/null"];
    let mut ks = null_mut();
    for path in paths {
        assert_eq!(create(path, &mut ks), COFFER_ERR_INVALID_ARGUMENT, "create {path:?}");
        assert_eq!(open_store(path, &mut ks), COFFER_ERR_INVALID_ARGUMENT, "open {path:?}");
        assert!(ks.is_null());
    }
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link was touched");
    assert!(
        Path::new(&dir).is_dir() && std::fs::read_dir(&dir).unwrap().next().is_none(),
        "the directory was touched"
    );
    let store = Keystore::new("paths-store");
    for path in paths {
        let mut counter = 0;
        let s = coffer_keystore_export_v1(store.ks, store.so, path.as_ptr(), path.len(), &mut counter);
        assert_eq!(s, COFFER_ERR_INVALID_ARGUMENT, "export_v1 {path:?}");
        let s = coffer_keystore_set_generation_file(store.ks, path.as_ptr(), path.len());
        assert_eq!(s, COFFER_ERR_INVALID_ARGUMENT, "set_generation_file {path:?}");
    }
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link was touched");
}

#[test]
fn row_bad_length() {
    let mut out = Bytes::new();
    let mut ks = null_mut();
    let long = vec![b'p'; COFFER_PASSPHRASE_MAX_LEN + 1];
    let scratch = Scratch::new("lengths");
    let path = scratch.path("ks.db");
    let (dir, dir_len) = (path.as_ptr(), path.len());
    for passphrase in [&b""[..], &long] {
        let (p, n) = (passphrase.as_ptr(), passphrase.len());
        assert_eq!(
            coffer_keystore_create(dir, dir_len, PASSPHRASE, p, n, 1, &mut ks),
            COFFER_ERR_INVALID_LENGTH
        );
        assert_eq!(
            coffer_keystore_open(dir, dir_len, PASSPHRASE, p, n, 0, &mut ks),
            COFFER_ERR_INVALID_LENGTH
        );
    }
    assert!(!Path::new(&path).exists());
    let kp = keypair(P256_PKCS8);
    for passphrase in [&b""[..], &long] {
        let (p, n) = (passphrase.as_ptr(), passphrase.len());
        assert_eq!(coffer_keypair_to_encrypted_pkcs8_pem(kp, p, n, out.out()), COFFER_ERR_INVALID_LENGTH);
        assert_eq!(coffer_keypair_to_encrypted_pkcs8_der(kp, p, n, out.out()), COFFER_ERR_INVALID_LENGTH);
        let mut back = null_mut();
        let pem = b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert_eq!(
            coffer_keypair_from_encrypted_pkcs8_pem(pem.as_ptr(), pem.len(), p, n, &mut back),
            COFFER_ERR_INVALID_LENGTH
        );
        assert_eq!(
            coffer_keypair_from_encrypted_pkcs8_der(P256_PKCS8.as_ptr(), P256_PKCS8.len(), p, n, &mut back),
            COFFER_ERR_INVALID_LENGTH
        );
        assert!(back.is_null());
    }
    let store = Keystore::new("lengths-store");
    let s = coffer_keystore_passphrase_change(store.ks, store.so, PASSPHRASE, long.as_ptr(), long.len());
    assert_eq!(s, COFFER_ERR_INVALID_LENGTH);
    assert_eq!(store.wrap(b"").0, COFFER_ERR_INVALID_LENGTH);
    assert_eq!(store.wrap(&vec![7u8; COFFER_KEYSTORE_MAX_MATERIAL_LEN + 1]).0, COFFER_ERR_INVALID_LENGTH);
    assert_eq!(store.wrap(&vec![7u8; COFFER_KEYSTORE_MAX_MATERIAL_LEN]).0, COFFER_OK);
    let (mut buf, mut len) = ([0u8; 64], 64usize);
    assert_eq!(
        coffer_kw_wrap(KEK1.as_ptr(), 32, KEK2.as_ptr(), 12, buf.as_mut_ptr(), &mut len),
        COFFER_ERR_INVALID_LENGTH
    );
    assert_eq!(
        coffer_kwp_wrap(KEK1.as_ptr(), 32, null(), 0, buf.as_mut_ptr(), &mut len),
        COFFER_ERR_INVALID_LENGTH
    );
    let env = sealed(b"m");
    let mut header_len = 0;
    assert_eq!(coffer_envelope_header_len(env.as_ptr(), 9, &mut header_len), COFFER_ERR_INVALID_LENGTH);
    let huge = vec![0x30u8; 64 * 1024 + 1];
    let (mut cert, mut back) = (null_mut(), null_mut());
    assert_eq!(coffer_certificate_from_der(huge.as_ptr(), huge.len(), &mut cert), COFFER_ERR_INVALID_LENGTH);
    assert_eq!(
        coffer_keypair_from_pkcs8_der(huge.as_ptr(), huge.len(), &mut back),
        COFFER_ERR_INVALID_LENGTH
    );
    let sig = sign(kp, ECDSA, b"m");
    let s = coffer_public_key_verify_der(
        huge.as_ptr(),
        huge.len(),
        ECDSA,
        b"m".as_ptr(),
        1,
        sig.as_ptr(),
        sig.len(),
    );
    assert_eq!(s, COFFER_ERR_INVALID_LENGTH);
    let mut header = webhook_header(SECRET, NOW, b"body");
    header.extend_from_slice(b",v0=");
    header.resize(COFFER_WEBHOOK_HEADER_MAX_LEN + 1, b'x');
    assert!(header.len() > COFFER_WEBHOOK_HEADER_MAX_LEN);
    assert_eq!(webhook_verify(SECRET, b"body", &header, NOW), COFFER_ERR_INVALID_LENGTH);
    assert_eq!(store.webhook_verify(b"body", &header, NOW), COFFER_ERR_INVALID_LENGTH);
    coffer_keypair_free(kp);
}

#[test]
fn row_over_a_limit() {
    let msg = b"m";
    let mut out = Bytes::new();
    let long_id = [b'i'; COFFER_KEY_ID_MAX_LEN + 1];
    // Recipients: 17, and key ids of 0 and 65 bytes.
    let many: Vec<coffer_recipient> =
        (0..=COFFER_ENVELOPE_MAX_RECIPIENTS as u32).map(|v| recipient(b"k", v, &KEK1)).collect();
    assert_eq!(
        coffer_envelope_seal(many.as_ptr(), many.len(), null(), 0, msg.as_ptr(), 1, out.out()),
        COFFER_ERR_LIMIT_EXCEEDED
    );
    for id in [&b""[..], &long_id] {
        let to = [recipient(id, 1, &KEK1)];
        assert_eq!(
            coffer_envelope_seal(to.as_ptr(), 1, null(), 0, msg.as_ptr(), 1, out.out()),
            COFFER_ERR_LIMIT_EXCEEDED
        );
    }
    // Unlock keys: 65, and a key id of 65 bytes.
    let env = sealed(msg);
    let ctx = [kv(b"tenant", b"acme")];
    let keys: Vec<coffer_unlock_key> =
        (0..=COFFER_ENVELOPE_MAX_UNLOCK_KEYS as u32).map(|v| unlock(b"k", v, &KEK1)).collect();
    assert_eq!(open(&keys, &ctx, &env), COFFER_ERR_LIMIT_EXCEEDED);
    assert_eq!(open_into(&keys, &ctx, &env), COFFER_ERR_LIMIT_EXCEEDED);
    assert_eq!(open(&[unlock(&long_id, 1, &KEK1)], &ctx, &env), COFFER_ERR_LIMIT_EXCEEDED);
    assert_eq!(open_streaming(&[unlock(&long_id, 1, &KEK1)], &ctx, &env), COFFER_ERR_LIMIT_EXCEEDED);
    // A recipient to remove.
    assert_eq!(
        coffer_envelope_remove_recipient(env.as_ptr(), env.len(), KIND_KEK, null(), 0, 1, out.out()),
        COFFER_ERR_LIMIT_EXCEEDED
    );
    // A context of 17 pairs; a key of 65 bytes.
    let names: Vec<[u8; 1]> = (0..17u8).map(|i| [b'a' + i]).collect();
    let big: Vec<coffer_kv> = names.iter().map(|n| kv(n, b"v")).collect();
    let to = [recipient(b"k", 1, &KEK1)];
    assert_eq!(
        coffer_envelope_seal(to.as_ptr(), 1, big.as_ptr(), big.len(), msg.as_ptr(), 1, out.out()),
        COFFER_ERR_LIMIT_EXCEEDED
    );
    let long_key = [kv(&long_id, b"v")];
    assert_eq!(
        coffer_envelope_seal(to.as_ptr(), 1, long_key.as_ptr(), 1, msg.as_ptr(), 1, out.out()),
        COFFER_ERR_LIMIT_EXCEEDED
    );
    // A chunk size out of range.
    let (mut sealer, mut header) = (null_mut(), Bytes::new());
    assert_eq!(
        coffer_sealer_new(to.as_ptr(), 1, null(), 0, 100, &mut sealer, header.out()),
        COFFER_ERR_LIMIT_EXCEEDED
    );
    // More than 64 SANs.
    let kp = keypair(P256_PKCS8);
    let name = b"a.example";
    let san = coffer_san {
        kind: coffer_san_kind::COFFER_SAN_DNS as u32,
        value: name.as_ptr(),
        value_len: name.len(),
    };
    let sans: Vec<coffer_san> = (0..65).map(|_| coffer_san { ..san }).collect();
    let mut csr = null_mut();
    assert_eq!(
        coffer_csr_new(kp, b"CN=x".as_ptr(), 4, sans.as_ptr(), sans.len(), &mut csr),
        COFFER_ERR_LIMIT_EXCEEDED
    );
    coffer_keypair_free(kp);
    // Keystore key ids: 65 bytes to generate or import, 0 or 65 to find.
    let store = Keystore::new("limits");
    let attrs = attributes(&long_id);
    let mut handle = 0;
    let aes = coffer_key_type::COFFER_KEY_TYPE_AES256 as u32;
    assert_eq!(
        coffer_keystore_generate(store.ks, store.user, aes, &attrs, &mut handle),
        COFFER_ERR_LIMIT_EXCEEDED
    );
    let (_, wrapped) = store.wrap(&KEK2);
    assert_eq!(
        store.import(coffer_key_type::COFFER_KEY_TYPE_AES256, &long_id, &wrapped),
        COFFER_ERR_LIMIT_EXCEEDED
    );
    for id in [&b""[..], &long_id] {
        assert_eq!(
            coffer_keystore_find(store.ks, store.user, id.as_ptr(), id.len(), &mut handle),
            COFFER_ERR_LIMIT_EXCEEDED
        );
    }
    // More than 64 SANs in a request for a keystore key.
    assert_eq!(store.certificate_request(store.sig, DEFAULT, b"CN=x", &sans), COFFER_ERR_LIMIT_EXCEEDED);
}

#[test]
fn row_not_an_envelope() {
    let store = Keystore::new("not-an-envelope");
    let real = store.seal(b"a payload");
    let junk = b"not an envelope, not even close".to_vec();
    let truncated_header = real[..20].to_vec();
    let mut bad_magic = real.clone();
    bad_magic[0] ^= 1;
    let keys = [unlock(b"kek", 1, &KEK1)];
    let new = recipient(b"n", 1, &KEK2);
    let mut out = Bytes::new();
    for bytes in [&junk, &truncated_header, &bad_magic] {
        assert_eq!(open(&keys, &[], bytes), COFFER_ERR_MALFORMED);
        assert_eq!(open_into(&keys, &[], bytes), COFFER_ERR_MALFORMED);
        let mut opener = null_mut();
        assert_eq!(
            coffer_opener_new(keys.as_ptr(), 1, null(), 0, bytes.as_ptr(), bytes.len(), &mut opener),
            COFFER_ERR_MALFORMED
        );
        assert!(opener.is_null());
        assert_eq!(
            coffer_envelope_rewrap(bytes.as_ptr(), bytes.len(), &keys[0], &new, out.out()),
            COFFER_ERR_MALFORMED
        );
        assert_eq!(
            coffer_envelope_add_recipient(bytes.as_ptr(), bytes.len(), &keys[0], &new, out.out()),
            COFFER_ERR_MALFORMED
        );
        assert_eq!(
            coffer_envelope_remove_recipient(
                bytes.as_ptr(),
                bytes.len(),
                KIND_KEK,
                b"kek".as_ptr(),
                3,
                1,
                out.out()
            ),
            COFFER_ERR_MALFORMED
        );
        assert_eq!(store.open_envelope(&[], bytes), COFFER_ERR_MALFORMED);
        assert_eq!(store.rewrap(bytes), COFFER_ERR_MALFORMED);
    }
    let mut header_len = 0;
    assert_eq!(coffer_envelope_header_len(junk.as_ptr(), 10, &mut header_len), COFFER_ERR_MALFORMED);
    assert_eq!(coffer_envelope_header_len(bad_magic.as_ptr(), 10, &mut header_len), COFFER_ERR_MALFORMED);
    // The real one still opens, so the keys above were right.
    assert_eq!(store.open_envelope(&[], &real), COFFER_OK);
}

#[test]
fn row_not_a_certificate() {
    let (mut cert, mut csr) = (null_mut(), null_mut());
    let der = b"\x30\x03\x02\x01\x01";
    let pem = b"-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";
    let csr_pem = b"-----BEGIN CERTIFICATE REQUEST-----\nMAMCAQE=\n-----END CERTIFICATE REQUEST-----\n";
    for junk in [&b"junk"[..], &der[..]] {
        assert_eq!(coffer_certificate_from_der(junk.as_ptr(), junk.len(), &mut cert), COFFER_ERR_MALFORMED);
        assert_eq!(coffer_csr_from_der(junk.as_ptr(), junk.len(), &mut csr), COFFER_ERR_MALFORMED);
    }
    for junk in [&b"junk"[..], &pem[..]] {
        assert_eq!(coffer_certificate_from_pem(junk.as_ptr(), junk.len(), &mut cert), COFFER_ERR_MALFORMED);
    }
    for junk in [&b"junk"[..], &csr_pem[..]] {
        assert_eq!(coffer_csr_from_pem(junk.as_ptr(), junk.len(), &mut csr), COFFER_ERR_MALFORMED);
    }
    assert!(cert.is_null() && csr.is_null());
}

#[test]
fn row_not_a_webhook_header() {
    let store = Keystore::new("webhook-header");
    let good = store.webhook_sign(NOW, b"body");
    let text = String::from_utf8(good.clone()).unwrap();
    let tag = text.split_once(",v1=").unwrap().1.to_owned();
    let bad = [
        String::new(),
        "t=1700000000".to_owned(),
        format!("v1={tag}"),
        format!("t=,v1={tag}"),
        format!("t=-1,v1={tag}"),
        format!("t=99999999999999999999,v1={tag}"),
        format!("t={NOW},v1={}", &tag[1..]),
        format!("t={NOW},v1={}zz", &tag[2..]),
        format!("t={NOW},t={NOW},v1={tag}"),
        format!("t={NOW}, v1={tag}"),
        format!("t={NOW};v1={tag}"),
    ];
    for header in &bad {
        assert_eq!(
            webhook_verify(SECRET, b"body", header.as_bytes(), NOW),
            COFFER_ERR_MALFORMED,
            "{header:?}"
        );
        assert_eq!(store.webhook_verify(b"body", header.as_bytes(), NOW), COFFER_ERR_MALFORMED, "{header:?}");
    }
    // The good one, with an item of another scheme, verifies.
    let with_v0 = format!("v0=legacy,{text}");
    assert_eq!(store.webhook_verify(b"body", with_v0.as_bytes(), NOW), COFFER_OK);
}

#[test]
fn row_not_utf8() {
    let bad = [0xffu8, 0xfe];
    let mut ks = null_mut();
    assert_eq!(
        coffer_keystore_create(bad.as_ptr(), 2, MASTER, KEK1.as_ptr(), 32, 1, &mut ks),
        COFFER_ERR_NOT_UTF8
    );
    let mut kp = null_mut();
    assert_eq!(coffer_keypair_from_pkcs8_pem(bad.as_ptr(), 2, &mut kp), COFFER_ERR_NOT_UTF8);
    let mut cert = null_mut();
    assert_eq!(coffer_certificate_from_pem(bad.as_ptr(), 2, &mut cert), COFFER_ERR_NOT_UTF8);
    let p256 = keypair(P256_PKCS8);
    assert_eq!(
        coffer_certificate_self_signed_ca(p256, bad.as_ptr(), 2, 30, 0, &mut cert),
        COFFER_ERR_NOT_UTF8
    );
    let sig = sign(p256, ECDSA, b"m");
    assert_eq!(
        coffer_public_key_verify_pem(bad.as_ptr(), 2, ECDSA, b"m".as_ptr(), 1, sig.as_ptr(), sig.len()),
        COFFER_ERR_NOT_UTF8
    );
    assert_eq!(webhook_verify(SECRET, b"body", &bad, NOW), COFFER_ERR_NOT_UTF8);
    let store = Keystore::new("utf8");
    assert_eq!(store.webhook_verify(b"body", &bad, NOW), COFFER_ERR_NOT_UTF8);
    let mut handle = 0;
    assert_eq!(coffer_keystore_find(store.ks, store.user, bad.as_ptr(), 2, &mut handle), COFFER_ERR_NOT_UTF8);
    let (s, _) = store.ca_certificate(store.user, store.sig, DEFAULT, &bad, 30);
    assert_eq!(s, COFFER_ERR_NOT_UTF8);
    assert_eq!(store.certificate_request(store.sig, DEFAULT, &bad, &[]), COFFER_ERR_NOT_UTF8);
    assert!(ks.is_null() && kp.is_null() && cert.is_null());
    coffer_keypair_free(p256);
}

#[test]
fn row_unknown_value() {
    let msg = b"m";
    let mut out = Bytes::new();
    let mut kp = null_mut();
    assert_eq!(coffer_keypair_generate(99, &mut kp), COFFER_ERR_UNKNOWN_VALUE);
    let p256 = keypair(P256_PKCS8);
    assert_eq!(coffer_keypair_sign(p256, 99, msg.as_ptr(), 1, out.out()), COFFER_ERR_UNKNOWN_VALUE);
    assert_eq!(coffer_keypair_verify(p256, 0, msg.as_ptr(), 1, msg.as_ptr(), 1), COFFER_ERR_UNKNOWN_VALUE);
    // The key's default is no scheme outside the keystore's certificate functions.
    assert_eq!(coffer_keypair_sign(p256, DEFAULT, msg.as_ptr(), 1, out.out()), COFFER_ERR_UNKNOWN_VALUE);
    let mut to = [recipient(b"k", 1, &KEK1)];
    to[0].kind = 99;
    assert_eq!(
        coffer_envelope_seal(to.as_ptr(), 1, null(), 0, msg.as_ptr(), 1, out.out()),
        COFFER_ERR_UNKNOWN_VALUE
    );
    let env = sealed(msg);
    assert_eq!(
        coffer_envelope_remove_recipient(env.as_ptr(), env.len(), 99, b"k".as_ptr(), 1, 1, out.out()),
        COFFER_ERR_UNKNOWN_VALUE
    );
    let store = Keystore::new("unknown");
    let mut handle = 0;
    let attrs = attributes(b"new");
    assert_eq!(
        coffer_keystore_generate(store.ks, store.user, 99, &attrs, &mut handle),
        COFFER_ERR_UNKNOWN_VALUE
    );
    let mut odd = attributes(b"new");
    odd.usage |= 1 << 20;
    let aes = coffer_key_type::COFFER_KEY_TYPE_AES256 as u32;
    assert_eq!(
        coffer_keystore_generate(store.ks, store.user, aes, &odd, &mut handle),
        COFFER_ERR_UNKNOWN_VALUE
    );
    let (_, wrapped) = store.wrap(&KEK2);
    let s = coffer_keystore_import_wrapped(
        store.ks,
        store.user,
        store.kek,
        99,
        &attrs,
        wrapped.as_ptr(),
        wrapped.len(),
        &mut handle,
    );
    assert_eq!(s, COFFER_ERR_UNKNOWN_VALUE);
    let mut ks = null_mut();
    let scratch = Scratch::new("unknown-secret");
    let path = scratch.path("ks.db");
    assert_eq!(
        coffer_keystore_create(path.as_ptr(), path.len(), 9, KEK1.as_ptr(), 32, 1, &mut ks),
        COFFER_ERR_UNKNOWN_VALUE
    );
    // A keystore certificate's scheme, leaf usage or SAN kind.
    let (s, _) = store.ca_certificate(store.user, store.sig, 99, b"CN=x", 30);
    assert_eq!(s, COFFER_ERR_UNKNOWN_VALUE);
    let (s, ca) = store.ca_certificate(store.user, store.sig, DEFAULT, b"CN=x", 30);
    assert_eq!(s, COFFER_OK);
    let mut csr = null_mut();
    assert_eq!(coffer_csr_new(p256, b"CN=y".as_ptr(), 4, null(), 0, &mut csr), COFFER_OK);
    assert_eq!(store.issue_certificate(DEFAULT, ca, csr, 9), COFFER_ERR_UNKNOWN_VALUE);
    let odd_san = coffer_san { kind: 9, value: b"x".as_ptr(), value_len: 1 };
    assert_eq!(store.certificate_request(store.sig, DEFAULT, b"CN=x", &[odd_san]), COFFER_ERR_UNKNOWN_VALUE);
    coffer_csr_free(csr);
    coffer_certificate_free(ca);
    coffer_keypair_free(p256);
}

#[test]
fn row_stream_finished() {
    let to = [recipient(b"k", 1, &KEK1)];
    let (mut sealer, mut header) = (null_mut(), Bytes::new());
    assert_eq!(coffer_sealer_new(to.as_ptr(), 1, null(), 0, 0, &mut sealer, header.out()), COFFER_OK);
    let mut chunk = [0u8; 64];
    let mut len = chunk.len();
    assert_eq!(
        coffer_sealer_seal_chunk(sealer, b"tail".as_ptr(), 4, true, chunk.as_mut_ptr(), &mut len),
        COFFER_OK
    );
    let sealed_chunk = chunk[..len].to_vec();
    let mut len2 = chunk.len();
    assert_eq!(
        coffer_sealer_seal_chunk(sealer, b"more".as_ptr(), 4, true, chunk.as_mut_ptr(), &mut len2),
        COFFER_ERR_STREAM_FINISHED
    );
    coffer_sealer_free(sealer);
    let keys = [unlock(b"k", 1, &KEK1)];
    let head = header.to_vec();
    let mut opener = null_mut();
    assert_eq!(
        coffer_opener_new(keys.as_ptr(), 1, null(), 0, head.as_ptr(), head.len(), &mut opener),
        COFFER_OK
    );
    let open_last = |opener| {
        let (mut plain, mut len) = ([0u8; 64], 64usize);
        coffer_opener_open_chunk(
            opener,
            sealed_chunk.as_ptr(),
            sealed_chunk.len(),
            true,
            plain.as_mut_ptr(),
            &mut len,
        )
    };
    assert_eq!(open_last(opener), COFFER_OK);
    assert_eq!(coffer_opener_finish(opener), COFFER_OK);
    assert_eq!(open_last(opener), COFFER_ERR_STREAM_FINISHED);
    assert_eq!(coffer_opener_finish(opener), COFFER_ERR_STREAM_FINISHED);
    let mut size = 0;
    assert_eq!(coffer_opener_sealed_chunk_size(opener, &mut size), COFFER_ERR_STREAM_FINISHED);
    coffer_opener_free(opener);
}

/// A way an envelope fails to open: its name, the keys, the context, the bytes.
type OpenCase = (&'static str, Vec<coffer_unlock_key>, Vec<coffer_kv>, Vec<u8>);

#[test]
fn row_does_not_open() {
    let msg = vec![b'p'; 70_000]; // two chunks
    let env = sealed(&msg);
    let ctx = [kv(b"tenant", b"acme")];
    let good = [unlock(b"k", 1, &KEK1)];
    assert_eq!(open(&good, &ctx, &env), COFFER_OK);
    assert_eq!(open_streaming(&good, &ctx, &env), COFFER_OK);
    let mut header_len = 0;
    assert_eq!(coffer_envelope_header_len(env.as_ptr(), 10, &mut header_len), COFFER_OK);
    let mut cases: Vec<OpenCase> = vec![
        ("wrong key", vec![unlock(b"k", 1, &KEK2)], acme(), env.clone()),
        ("wrong version", vec![unlock(b"k", 2, &KEK1)], acme(), env.clone()),
        ("wrong key id", vec![unlock(b"j", 1, &KEK1)], acme(), env.clone()),
        ("no context", vec![unlock(b"k", 1, &KEK1)], vec![], env.clone()),
        ("other context", vec![unlock(b"k", 1, &KEK1)], vec![kv(b"tenant", b"globex")], env.clone()),
        ("truncated payload", vec![unlock(b"k", 1, &KEK1)], acme(), env[..env.len() - 1].to_vec()),
        ("cut at a chunk", vec![unlock(b"k", 1, &KEK1)], acme(), env[..header_len + 65536 + 16].to_vec()),
        ("extended payload", vec![unlock(b"k", 1, &KEK1)], acme(), [&env[..], b"x"].concat()),
    ];
    // One flipped bit in the salt, the commitment, the recipient body, the payload.
    for (name, at) in
        [("salt", 20), ("commitment", 50), ("recipient body", header_len - 5), ("payload", header_len + 3)]
    {
        let mut changed = env.clone();
        changed[at] ^= 1;
        cases.push((name, vec![unlock(b"k", 1, &KEK1)], acme(), changed));
    }
    for (name, keys, ctx, bytes) in &cases {
        assert_eq!(open(keys, ctx, bytes), COFFER_ERR_DECRYPT, "open: {name}");
        assert_eq!(open_into(keys, ctx, bytes), COFFER_ERR_DECRYPT, "open_into: {name}");
        assert_eq!(open_streaming(keys, ctx, bytes), COFFER_ERR_DECRYPT, "streaming: {name}");
    }
    let store = Keystore::new("does-not-open");
    let mine = store.seal(b"payload");
    assert_eq!(store.open_envelope(&ctx, &mine), COFFER_ERR_DECRYPT);
    let mut flipped = mine.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    assert_eq!(store.open_envelope(&[], &flipped), COFFER_ERR_DECRYPT);
    assert_eq!(store.open_envelope(&[], &env), COFFER_ERR_DECRYPT); // another key's envelope
    assert_eq!(store.rewrap(&env), COFFER_ERR_DECRYPT);
}

#[test]
fn row_does_not_unwrap() {
    let (mut wrapped, mut len) = ([0u8; 48], 48usize);
    assert_eq!(
        coffer_kw_wrap(KEK1.as_ptr(), 32, KEK2.as_ptr(), 32, wrapped.as_mut_ptr(), &mut len),
        COFFER_OK
    );
    let (mut out, mut out_len) = ([0u8; 48], 48usize);
    assert_eq!(
        coffer_kw_unwrap(KEK2.as_ptr(), 32, wrapped.as_ptr(), 40, out.as_mut_ptr(), &mut out_len),
        COFFER_ERR_DECRYPT
    );
    assert_eq!(
        coffer_kw_unwrap(KEK1.as_ptr(), 32, wrapped.as_ptr(), 13, out.as_mut_ptr(), &mut out_len),
        COFFER_ERR_DECRYPT
    );
    let mut len = 48usize;
    assert_eq!(
        coffer_kwp_wrap(KEK1.as_ptr(), 32, b"seven b".as_ptr(), 7, wrapped.as_mut_ptr(), &mut len),
        COFFER_OK
    );
    wrapped[3] ^= 1;
    assert_eq!(
        coffer_kwp_unwrap(KEK1.as_ptr(), 32, wrapped.as_ptr(), len, out.as_mut_ptr(), &mut out_len),
        COFFER_ERR_DECRYPT
    );
    let store = Keystore::new("does-not-unwrap");
    let (s, mut theirs) = store.wrap(&KEK2);
    assert_eq!(s, COFFER_OK);
    theirs[9] ^= 1;
    let mut material = Bytes::new();
    let s = coffer_keystore_unwrap_key(
        store.ks,
        store.user,
        store.kek,
        theirs.as_ptr(),
        theirs.len(),
        material.out(),
    );
    assert_eq!(s, COFFER_ERR_DECRYPT);
    assert_eq!(
        store.import(coffer_key_type::COFFER_KEY_TYPE_AES256, b"imported", &theirs),
        COFFER_ERR_DECRYPT
    );
}

#[test]
fn row_wrong_passphrase() {
    let kp = keypair(P256_PKCS8);
    let (mut pem, mut der) = (Bytes::new(), Bytes::new());
    assert_eq!(coffer_keypair_to_encrypted_pkcs8_pem(kp, b"right".as_ptr(), 5, pem.out()), COFFER_OK);
    assert_eq!(coffer_keypair_to_encrypted_pkcs8_der(kp, b"right".as_ptr(), 5, der.out()), COFFER_OK);
    let (pem, der) = (pem.to_vec(), der.to_vec());
    let mut back = null_mut();
    assert_eq!(
        coffer_keypair_from_encrypted_pkcs8_pem(pem.as_ptr(), pem.len(), b"wrong".as_ptr(), 5, &mut back),
        COFFER_ERR_DECRYPT
    );
    assert_eq!(
        coffer_keypair_from_encrypted_pkcs8_der(der.as_ptr(), der.len(), b"wrong".as_ptr(), 5, &mut back),
        COFFER_ERR_DECRYPT
    );
    assert!(back.is_null());
    assert_eq!(
        coffer_keypair_from_encrypted_pkcs8_der(der.as_ptr(), der.len(), b"right".as_ptr(), 5, &mut back),
        COFFER_OK
    );
    coffer_keypair_free(back);
    coffer_keypair_free(kp);
}

#[test]
fn row_does_not_verify() {
    let msg = b"signed message";
    let (p256, rsa) = (keypair(P256_PKCS8), keypair(RSA2048_PKCS8));
    for (kp, scheme, spki) in [(p256, ECDSA, P256_SPKI), (rsa, PSS, RSA2048_SPKI), (rsa, PKCS1, RSA2048_SPKI)]
    {
        let sig = sign(kp, scheme, msg);
        let cert = certificate(kp);
        let mut other = sig.clone();
        *other.last_mut().unwrap() ^= 1;
        let short = &sig[..sig.len() - 1];
        let checks = [
            (&b"signed messagE"[..], &sig[..]),
            (&msg[..], &other[..]),
            (&msg[..], short),
            (&msg[..], &[][..]),
        ];
        for (m, s) in checks {
            assert_eq!(
                coffer_keypair_verify(kp, scheme, m.as_ptr(), m.len(), s.as_ptr(), s.len()),
                COFFER_ERR_VERIFY
            );
            let r = coffer_public_key_verify_der(
                spki.as_ptr(),
                spki.len(),
                scheme,
                m.as_ptr(),
                m.len(),
                s.as_ptr(),
                s.len(),
            );
            assert_eq!(r, COFFER_ERR_VERIFY);
            assert_eq!(
                coffer_certificate_verify_signature(cert, scheme, m.as_ptr(), m.len(), s.as_ptr(), s.len()),
                COFFER_ERR_VERIFY
            );
        }
        assert_eq!(
            coffer_keypair_verify(kp, scheme, msg.as_ptr(), msg.len(), sig.as_ptr(), sig.len()),
            COFFER_OK
        );
        coffer_certificate_free(cert);
    }
    // PSS and PKCS#1 v1.5 signatures are not each other's.
    let pss = sign(rsa, PSS, msg);
    assert_eq!(
        coffer_keypair_verify(rsa, PKCS1, msg.as_ptr(), msg.len(), pss.as_ptr(), pss.len()),
        COFFER_ERR_VERIFY
    );
    // Webhooks: a wrong tag, another body, a stale or future timestamp.
    let header = webhook_header(SECRET, NOW, b"body");
    assert_eq!(webhook_verify(SECRET, b"body", &header, NOW + 300), COFFER_OK);
    assert_eq!(webhook_verify(SECRET, b"bodY", &header, NOW), COFFER_ERR_VERIFY);
    assert_eq!(webhook_verify(b"whsec: another shared secret", b"body", &header, NOW), COFFER_ERR_VERIFY);
    assert_eq!(webhook_verify(SECRET, b"body", &header, NOW + 301), COFFER_ERR_VERIFY);
    assert_eq!(webhook_verify(SECRET, b"body", &header, NOW - 301), COFFER_ERR_VERIFY);
    let store = Keystore::new("does-not-verify");
    let mine = store.webhook_sign(NOW, b"body");
    assert_eq!(store.webhook_verify(b"body", &mine, NOW), COFFER_OK);
    assert_eq!(store.webhook_verify(b"bodY", &mine, NOW), COFFER_ERR_VERIFY);
    assert_eq!(store.webhook_verify(b"body", &header, NOW), COFFER_ERR_VERIFY); // another secret's
    assert_eq!(store.webhook_verify(b"body", &mine, NOW + 3600), COFFER_ERR_VERIFY);
    let mut tag = Bytes::new();
    assert_eq!(
        coffer_keystore_hmac_sign(store.ks, store.user, store.mac, msg.as_ptr(), msg.len(), tag.out()),
        COFFER_OK
    );
    let mut tag = tag.to_vec();
    assert_eq!(tag.len(), COFFER_HMAC_TAG_LEN);
    tag[0] ^= 1;
    let s = coffer_keystore_hmac_verify(
        store.ks,
        store.user,
        store.mac,
        msg.as_ptr(),
        msg.len(),
        tag.as_ptr(),
        tag.len(),
    );
    assert_eq!(s, COFFER_ERR_VERIFY);
    let sig = sign(p256, ECDSA, msg); // not the keystore's key
    let s = coffer_keystore_verify(
        store.ks,
        store.user,
        store.sig,
        msg.as_ptr(),
        msg.len(),
        sig.as_ptr(),
        sig.len(),
    );
    assert_eq!(s, COFFER_ERR_VERIFY);
    // A request whose signature does not verify, issued from by a keystore key.
    let (s, ca) = store.ca_certificate(store.user, store.sig, DEFAULT, b"CN=Keystore CA", 365);
    assert_eq!(s, COFFER_OK);
    let (mut csr, mut der, mut tampered) = (null_mut(), Bytes::new(), null_mut());
    assert_eq!(coffer_csr_new(p256, b"CN=agent".as_ptr(), 8, null(), 0, &mut csr), COFFER_OK);
    assert_eq!(coffer_csr_to_der(csr, der.out()), COFFER_OK);
    let mut der = der.to_vec();
    *der.last_mut().unwrap() ^= 1;
    assert_eq!(coffer_csr_from_der(der.as_ptr(), der.len(), &mut tampered), COFFER_OK);
    let client = coffer_leaf_usage::COFFER_LEAF_CLIENT as u32;
    assert_eq!(store.issue_certificate(DEFAULT, ca, tampered, client), COFFER_ERR_VERIFY);
    assert_eq!(store.issue_certificate(DEFAULT, ca, csr, client), COFFER_OK);
    coffer_csr_free(tampered);
    coffer_csr_free(csr);
    coffer_certificate_free(ca);
    coffer_keypair_free(p256);
    coffer_keypair_free(rsa);
}

#[test]
fn row_not_a_key() {
    let msg = b"m";
    let mut out = Bytes::new();
    let to = [recipient(b"k", 1, &KEK1[..16])];
    assert_eq!(
        coffer_envelope_seal(to.as_ptr(), 1, null(), 0, msg.as_ptr(), 1, out.out()),
        COFFER_ERR_INVALID_KEY
    );
    let env = sealed(msg);
    assert_eq!(open(&[unlock(b"k", 1, &KEK1[..31])], &[], &env), COFFER_ERR_INVALID_KEY);
    let (mut buf, mut len) = ([0u8; 48], 48usize);
    assert_eq!(
        coffer_kw_wrap(KEK1.as_ptr(), 20, KEK2.as_ptr(), 32, buf.as_mut_ptr(), &mut len),
        COFFER_ERR_INVALID_KEY
    );
    let mut ks = null_mut();
    let scratch = Scratch::new("not-a-key");
    let path = scratch.path("ks.db");
    assert_eq!(
        coffer_keystore_create(path.as_ptr(), path.len(), MASTER, KEK1.as_ptr(), 31, 1, &mut ks),
        COFFER_ERR_INVALID_KEY
    );
    let mut kp = null_mut();
    assert_eq!(coffer_keypair_from_pkcs8_der(b"junk".as_ptr(), 4, &mut kp), COFFER_ERR_INVALID_KEY);
    assert_eq!(
        coffer_keypair_from_pkcs8_der(P256_SPKI.as_ptr(), P256_SPKI.len(), &mut kp),
        COFFER_ERR_INVALID_KEY
    );
    assert_eq!(
        coffer_keypair_from_encrypted_pkcs8_der(b"junk".as_ptr(), 4, b"pw".as_ptr(), 2, &mut kp),
        COFFER_ERR_INVALID_KEY
    );
    assert_eq!(
        coffer_public_key_verify_der(b"junk".as_ptr(), 4, ECDSA, msg.as_ptr(), 1, msg.as_ptr(), 1),
        COFFER_ERR_INVALID_KEY
    );
    let pem = b"-----BEGIN PUBLIC KEY-----\nanVuaw==\n-----END PUBLIC KEY-----\n";
    assert_eq!(
        coffer_public_key_verify_pem(pem.as_ptr(), pem.len(), ECDSA, msg.as_ptr(), 1, msg.as_ptr(), 1),
        COFFER_ERR_INVALID_KEY
    );
    for secret in [&SECRET[..15], &vec![7u8; COFFER_WEBHOOK_SECRET_MAX_LEN + 1][..]] {
        let mut header = Bytes::new();
        assert_eq!(
            coffer_webhook_sign(secret.as_ptr(), secret.len(), NOW, msg.as_ptr(), 1, header.out()),
            COFFER_ERR_INVALID_KEY
        );
        assert_eq!(webhook_verify(secret, msg, b"t=1", NOW), COFFER_ERR_INVALID_KEY);
    }
    let store = Keystore::new("not-a-key-store");
    for (key_type, material) in [
        (coffer_key_type::COFFER_KEY_TYPE_AES256, vec![7u8; 16]),
        (coffer_key_type::COFFER_KEY_TYPE_HMAC_SHA256, vec![7u8; 33]),
        (coffer_key_type::COFFER_KEY_TYPE_P256, vec![0xff; 32]),
        (coffer_key_type::COFFER_KEY_TYPE_RSA2048, P256_PKCS8.to_vec()),
        (coffer_key_type::COFFER_KEY_TYPE_RSA3072, RSA2048_PKCS8.to_vec()),
    ] {
        let (s, wrapped) = store.wrap(&material);
        assert_eq!(s, COFFER_OK);
        assert_eq!(store.import(key_type, b"imported", &wrapped), COFFER_ERR_INVALID_KEY, "{key_type:?}");
    }
    let (_, wrapped) = store.wrap(RSA2048_PKCS8);
    assert_eq!(store.import(coffer_key_type::COFFER_KEY_TYPE_RSA2048, b"imported", &wrapped), COFFER_OK);
}

#[test]
fn row_key_policy() {
    let msg = b"m";
    let mut kp = null_mut();
    assert_eq!(
        coffer_keypair_from_pkcs8_der(RSA1024_PKCS8.as_ptr(), RSA1024_PKCS8.len(), &mut kp),
        COFFER_ERR_KEY_POLICY
    );
    for spki in [RSA1024_SPKI, RSA2048_E3_SPKI] {
        let s =
            coffer_public_key_verify_der(spki.as_ptr(), spki.len(), PSS, msg.as_ptr(), 1, msg.as_ptr(), 1);
        assert_eq!(s, COFFER_ERR_KEY_POLICY);
        let to = [coffer_recipient {
            kind: coffer_key_kind::COFFER_KEY_RSA as u32,
            key_id: b"r".as_ptr(),
            key_id_len: 1,
            version: 1,
            key: spki.as_ptr(),
            key_len: spki.len(),
        }];
        let mut out = Bytes::new();
        assert_eq!(
            coffer_envelope_seal(to.as_ptr(), 1, null(), 0, msg.as_ptr(), 1, out.out()),
            COFFER_ERR_KEY_POLICY
        );
    }
    let store = Keystore::new("key-policy");
    let (_, wrapped) = store.wrap(RSA1024_PKCS8);
    assert_eq!(
        store.import(coffer_key_type::COFFER_KEY_TYPE_RSA2048, b"small", &wrapped),
        COFFER_ERR_KEY_POLICY
    );
}

#[test]
fn row_file_exists() {
    let store = Keystore::new("exists");
    let taken = store.scratch.path("taken");
    std::fs::write(&taken, b"keep me").unwrap();
    let mut ks = null_mut();
    assert_eq!(create(&taken, &mut ks), COFFER_ERR_KEYSTORE_EXISTS);
    assert_eq!(create(&store.scratch.path("ks.db"), &mut ks), COFFER_ERR_KEYSTORE_EXISTS);
    let leftover = store.scratch.path("fresh.db");
    std::fs::write(format!("{leftover}-wal"), b"").unwrap();
    assert_eq!(create(&leftover, &mut ks), COFFER_ERR_KEYSTORE_EXISTS);
    assert!(!Path::new(&leftover).exists());
    let mut counter = 0;
    let s = coffer_keystore_export_v1(store.ks, store.so, taken.as_ptr(), taken.len(), &mut counter);
    assert_eq!(s, COFFER_ERR_KEYSTORE_EXISTS);
    assert_eq!(std::fs::read(&taken).unwrap(), b"keep me");
}

#[test]
fn row_nothing_to_open() {
    let scratch = Scratch::new("missing");
    let mut ks = null_mut();
    for path in [scratch.path("none.db"), scratch.path("no-dir/none.db")] {
        assert_eq!(open_store(&path, &mut ks), COFFER_ERR_KEYSTORE_MISSING, "{path}");
        assert!(!Path::new(&path).exists(), "open created {path}");
    }
}

#[test]
fn row_no_directory() {
    let scratch = Scratch::new("no-directory");
    let mut ks = null_mut();
    let path = scratch.path("no-such-dir/ks.db");
    assert_eq!(create(&path, &mut ks), COFFER_ERR_STORE_UNAVAILABLE);
    let url = "postgres://nobody@127.0.0.1:1/none";
    assert_eq!(create(url, &mut ks), COFFER_ERR_STORE_UNAVAILABLE);
    assert!(ks.is_null());
}

#[test]
fn row_no_session() {
    let store = Keystore::new("no-session");
    let msg = b"m";
    let mut out = Bytes::new();
    let mut handle = 0;
    for session in [999, store.user + 100] {
        assert_eq!(
            coffer_keystore_find(store.ks, session, b"kek".as_ptr(), 3, &mut handle),
            COFFER_ERR_NOT_LOGGED_IN
        );
        assert_eq!(
            coffer_keystore_hmac_sign(store.ks, session, store.mac, msg.as_ptr(), 1, out.out()),
            COFFER_ERR_NOT_LOGGED_IN
        );
        assert_eq!(
            coffer_keystore_wrap_key(store.ks, session, store.kek, KEK2.as_ptr(), 32, out.out()),
            COFFER_ERR_NOT_LOGGED_IN
        );
        let (s, _) = store.ca_certificate(session, store.sig, DEFAULT, b"CN=x", 30);
        assert_eq!(s, COFFER_ERR_NOT_LOGGED_IN);
        assert_eq!(coffer_keystore_logout(store.ks, session), COFFER_ERR_NOT_LOGGED_IN);
    }
    assert_eq!(coffer_keystore_logout(store.ks, store.user), COFFER_OK);
    assert_eq!(
        coffer_keystore_find(store.ks, store.user, b"kek".as_ptr(), 3, &mut handle),
        COFFER_ERR_NOT_LOGGED_IN
    );
    let header = webhook_header(SECRET, NOW, b"body");
    assert_eq!(store.webhook_verify(b"body", &header, NOW), COFFER_ERR_NOT_LOGGED_IN);
}

#[test]
fn row_no_such_key() {
    let store = Keystore::new("no-such-key");
    let msg = b"m";
    let mut out = Bytes::new();
    let mut handle = 0;
    assert_eq!(
        coffer_keystore_find(store.ks, store.user, b"nope".as_ptr(), 4, &mut handle),
        COFFER_ERR_NOT_FOUND
    );
    let missing = 4242;
    assert_eq!(
        coffer_keystore_sign(store.ks, store.user, missing, msg.as_ptr(), 1, out.out()),
        COFFER_ERR_NOT_FOUND
    );
    assert_eq!(
        coffer_keystore_hmac_sign(store.ks, store.user, missing, msg.as_ptr(), 1, out.out()),
        COFFER_ERR_NOT_FOUND
    );
    assert_eq!(
        coffer_keystore_wrap_key(store.ks, store.user, missing, KEK2.as_ptr(), 32, out.out()),
        COFFER_ERR_NOT_FOUND
    );
    let s = coffer_keystore_export_wrapped(store.ks, store.user, store.kek, missing, out.out());
    assert_eq!(s, COFFER_ERR_NOT_FOUND);
    let (s, _) = store.ca_certificate(store.user, missing, DEFAULT, b"CN=x", 30);
    assert_eq!(s, COFFER_ERR_NOT_FOUND);
    let header = webhook_header(SECRET, NOW, b"body");
    let s = coffer_keystore_webhook_verify(
        store.ks,
        store.user,
        missing,
        b"body".as_ptr(),
        4,
        header.as_ptr(),
        header.len(),
        NOW,
        300,
    );
    assert_eq!(s, COFFER_ERR_NOT_FOUND);
}
