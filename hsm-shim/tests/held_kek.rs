//! The software HSM as an envelope key holder ([`HeldKek`], issue 19 part 3):
//! envelopes sealed through it open with the HSM's own `open_envelope`, and
//! the HSM's own `seal_envelope` opens through it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use coffer_core::envelope::{self, EncryptionContext, HeaderRef, UnlockKey};
use coffer_core::rng::OsRng;
use coffer_hsm::{Config, Error, HeldKek, Hsm, KeyAttributes, KeyType, Role, SystemClock, Usage};

fn hsm_with_kek(usage: Usage) -> (Hsm, coffer_hsm::SessionId, coffer_hsm::Handle) {
    let mut hsm =
        Hsm::new(1, Config { pin_iterations: 1_000, ..Config::default() }, Box::new(SystemClock)).unwrap();
    hsm.init_token(&mut OsRng, 0, "main", b"so-pin-1").unwrap();
    let so = hsm.login_so(0, b"so-pin-1").unwrap();
    hsm.create_tenant(&mut OsRng, so, "acme").unwrap();
    hsm.create_user(&mut OsRng, so, "alice", Role::User, &["acme"], b"alice-pin").unwrap();
    hsm.logout(so).unwrap();
    let s = hsm.login(0, "alice", b"alice-pin", Some("acme")).unwrap();
    let attrs = KeyAttributes {
        label: "records".into(),
        tenant: "acme".into(),
        key_id: "records-kek".into(),
        usage,
        extractable: false,
        active: true,
    };
    let k = hsm.generate(&mut OsRng, s, KeyType::Aes256, attrs).unwrap();
    (hsm, s, k)
}

fn ctx() -> EncryptionContext<'static> {
    let mut c = EncryptionContext::new();
    c.insert(b"tenant", b"acme").unwrap();
    c
}

fn all() -> Usage {
    Usage::ENCRYPT | Usage::DECRYPT | Usage::WRAP | Usage::UNWRAP
}

#[test]
fn an_envelope_sealed_through_the_held_kek_opens_with_open_envelope_and_the_other_way_round() {
    let (mut hsm, s, k) = hsm_with_kek(all());
    hsm.rotate(&mut OsRng, s, k).unwrap();
    let by_hsm = hsm.seal_envelope(&mut OsRng, s, k, &ctx(), b"sealed by the HSM").unwrap();

    let held = HeldKek::new(&mut hsm, s, k).unwrap();
    assert_eq!((held.key_id(), held.version()), ("records-kek", 2));
    let by_held =
        envelope::seal(&mut OsRng, &[held.recipient()], &ctx(), b"sealed through the holder").unwrap();
    let pt = envelope::open(&mut OsRng, &[held.unlock_key()], &ctx(), &by_hsm).unwrap();
    assert_eq!(&pt[..], b"sealed by the HSM");
    // The same recipient record as the HSM writes: key id, version, kind 01.
    let a = HeaderRef::parse(&by_hsm)
        .unwrap()
        .recipients()
        .next()
        .map(|r| (r.kind, r.key_id.to_vec(), r.key_version));
    let b = HeaderRef::parse(&by_held)
        .unwrap()
        .recipients()
        .next()
        .map(|r| (r.kind, r.key_id.to_vec(), r.key_version));
    assert_eq!(a, b);
    drop(held);

    let pt = hsm.open_envelope(&mut OsRng, s, k, &ctx(), &by_held).unwrap();
    assert_eq!(&pt[..], b"sealed through the holder");
}

#[test]
fn an_envelope_of_an_older_version_opens_through_the_held_kek() {
    let (mut hsm, s, k) = hsm_with_kek(all());
    let v1 = hsm.seal_envelope(&mut OsRng, s, k, &ctx(), b"version 1").unwrap();
    hsm.rotate(&mut OsRng, s, k).unwrap();
    let held = HeldKek::new(&mut hsm, s, k).unwrap();
    assert!(envelope::open(&mut OsRng, &[held.unlock_key()], &ctx(), &v1).is_err(), "v2 does not match v1");
    let pt = envelope::open(&mut OsRng, &[held.unlock_key_for(1)], &ctx(), &v1).unwrap();
    assert_eq!(&pt[..], b"version 1");
}

#[test]
fn the_hsm_policy_decides_and_its_refusal_is_kept() {
    let (mut hsm, s, k) = hsm_with_kek(Usage::ENCRYPT | Usage::DECRYPT);
    let by_hsm = hsm.seal_envelope(&mut OsRng, s, k, &ctx(), b"x").unwrap();
    let held = HeldKek::new(&mut hsm, s, k).unwrap();
    // No WRAP usage: sealing through it fails with the HSM's refusal kept.
    assert_eq!(
        envelope::seal(&mut OsRng, &[held.recipient()], &ctx(), b"x").unwrap_err(),
        coffer_core::Error::Internal
    );
    assert_eq!(held.last_error(), Some(Error::PolicyDenied));
    // No UNWRAP usage: opening is Decrypt, like every failure to open.
    let key = UnlockKey::Held { key_id: b"records-kek", version: 1, holder: &held };
    assert_eq!(envelope::open(&mut OsRng, &[key], &ctx(), &by_hsm).unwrap_err(), coffer_core::Error::Decrypt);
    assert_eq!(held.last_error(), Some(Error::PolicyDenied));
}
