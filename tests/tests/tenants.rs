//! Tenant access control end to end through `coffer-hsm` on the embedded
//! default store (SQLite in a temporary directory): the security officer,
//! users bound to tenants and an auditor each do exactly what they may;
//! every refusal is in the audit log saying who, where, which key, what and
//! why; lockout is per credential; a re-keyed store keeps every key; a
//! shredded tenant's key is gone with its grants. (The CLI side, with real
//! concurrent processes, is `cli/tests/tenants.rs`; the offline attacks on
//! the records are `hsm-shim/tests/records_golden.rs`.)
#![allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    reason = "test code: indexes and sums are over values the test itself built; unwrap_err on calls that must fail"
)]

use std::error::Error as StdError;
use std::path::{Path, PathBuf};

use coffer_core::envelope::EncryptionContext;
use coffer_core::rng::OsRng;
use coffer_hsm::audit::{AuditEvent, Operation, Refusal};
use coffer_hsm::keystore::KeySource;
use coffer_hsm::{
    Config, Error as HsmError, Handle, Hsm, KeyAttributes, KeyState, KeyType, Role, SessionId, SystemClock,
    Usage,
};
use coffer_store::SqliteStore;

type TestResult = Result<(), Box<dyn StdError>>;

const PASSPHRASE: &[u8] = b"correct horse battery staple";
const SO_PIN: &[u8] = b"so-pin-0001";
const ALICE_PIN: &[u8] = b"alice-pin-01";
const BOB_PIN: &[u8] = b"bob-pin-0001";
const OPS_PIN: &[u8] = b"ops-pin-0001";
const AUDIT_PIN: &[u8] = b"audit-pin-01";

/// A fresh directory under the system temp directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Result<TempDir, Box<dyn StdError>> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos();
        let dir = std::env::temp_dir().join(format!("coffer-tenants-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(TempDir(dir))
    }

    fn db(&self) -> PathBuf {
        self.0.join("store.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn config() -> Config {
    // Low PIN cost keeps the tests fast; the default is 100,000.
    Config { pin_iterations: 1_000, ..Config::default() }
}

fn open(db: &Path, passphrase: &[u8]) -> Result<Hsm, HsmError> {
    let store = SqliteStore::open(db).map_err(HsmError::Store)?;
    Hsm::open(&mut OsRng, Box::new(store), &KeySource::Passphrase(passphrase), Box::new(SystemClock))
}

/// A store with tenants acme and globex; alice (acme), bob (globex), ops
/// (both) and the auditor `audit`.
fn provisioned(db: &Path) -> Result<Hsm, Box<dyn StdError>> {
    let store = SqliteStore::open(db)?;
    let mut hsm = Hsm::create(
        &mut OsRng,
        Box::new(store),
        &KeySource::Passphrase(PASSPHRASE),
        1,
        config(),
        Box::new(SystemClock),
    )?;
    hsm.init_token(&mut OsRng, 0, "tenants", SO_PIN)?;
    let so = hsm.login_so(0, SO_PIN)?;
    hsm.create_tenant(&mut OsRng, so, "acme")?;
    hsm.create_tenant(&mut OsRng, so, "globex")?;
    hsm.create_user(&mut OsRng, so, "alice", Role::User, &["acme"], ALICE_PIN)?;
    hsm.create_user(&mut OsRng, so, "bob", Role::User, &["globex"], BOB_PIN)?;
    hsm.create_user(&mut OsRng, so, "ops", Role::User, &["acme", "globex"], OPS_PIN)?;
    hsm.create_user(&mut OsRng, so, "audit", Role::Auditor, &[], AUDIT_PIN)?;
    hsm.logout(so)?;
    Ok(hsm)
}

fn attrs(tenant: &str, key_id: &str, usage: Usage) -> KeyAttributes {
    KeyAttributes {
        label: key_id.into(),
        tenant: tenant.into(),
        key_id: key_id.into(),
        usage,
        extractable: false,
        active: true,
    }
}

fn ctx(tenant: &str) -> Result<EncryptionContext<'_>, coffer_core::Error> {
    let mut c = EncryptionContext::new();
    c.insert(b"tenant", tenant.as_bytes())?;
    Ok(c)
}

fn kek(hsm: &mut Hsm, s: SessionId, tenant: &str, key_id: &str) -> Result<Handle, HsmError> {
    hsm.generate(&mut OsRng, s, KeyType::Aes256, attrs(tenant, key_id, Usage::ENCRYPT | Usage::DECRYPT))
}

/// One refusal as the auditor reads it: user, role, tenant, key id (or
/// "-"), what was attempted, why.
type Row = (String, Role, String, String, Operation, Refusal);

fn refusals(hsm: &mut Hsm) -> Result<Vec<Row>, HsmError> {
    let auditor = hsm.login(0, "audit", AUDIT_PIN, None)?;
    let rows = hsm
        .audit_records(auditor)?
        .into_iter()
        .filter_map(|r| match r.event {
            AuditEvent::Refused { who, tenant, key, attempted, reason } => Some((
                who.user,
                who.role,
                tenant,
                key.map_or_else(|| "-".to_string(), |k| format!("{}/{}", k.tenant, k.key_id)),
                attempted,
                reason,
            )),
            _ => None,
        })
        .collect();
    hsm.logout(auditor)?;
    Ok(rows)
}

fn row(user: &str, role: Role, tenant: &str, key: &str, attempted: Operation, reason: Refusal) -> Row {
    (user.into(), role, tenant.into(), key.into(), attempted, reason)
}

#[test]
fn each_role_does_exactly_what_it_may_and_every_refusal_names_who_where_which_key_what_and_why() -> TestResult
{
    let dir = TempDir::new("roles")?;
    let mut hsm = provisioned(&dir.db())?;
    let alice = hsm.login(0, "alice", ALICE_PIN, None)?;
    let bob = hsm.login(0, "bob", BOB_PIN, Some("globex"))?;
    let acme_kek = kek(&mut hsm, alice, "acme", "kek")?;
    let globex_kek = kek(&mut hsm, bob, "globex", "kek")?;

    // What each may do.
    let sealed = hsm.seal_envelope(&mut OsRng, alice, acme_kek, &ctx("acme")?, b"acme invoice")?;
    assert_eq!(&hsm.open_envelope(&mut OsRng, alice, acme_kek, &ctx("acme")?, &sealed)?[..], b"acme invoice");
    let ops_acme = hsm.login(0, "ops", OPS_PIN, Some("acme"))?;
    assert_eq!(hsm.find(ops_acme, "kek")?, acme_kek);
    let so = hsm.login_so(0, SO_PIN)?;
    assert_eq!(hsm.tenants(so)?.len(), 2);
    let auditor = hsm.login(0, "audit", AUDIT_PIN, None)?;
    hsm.audit_verify(auditor)?;

    // What each may not, each with its own error.
    let role = HsmError::RoleNotAllowed;
    assert_eq!(hsm.seal_envelope(&mut OsRng, so, acme_kek, &ctx("acme")?, b"x").unwrap_err(), role);
    assert_eq!(hsm.open_envelope(&mut OsRng, auditor, acme_kek, &ctx("acme")?, &sealed).unwrap_err(), role);
    assert_eq!(hsm.create_tenant(&mut OsRng, alice, "initech").unwrap_err(), role);
    assert_eq!(hsm.shred_tenant(bob, "acme").unwrap_err(), role);
    assert_eq!(hsm.audit_records(alice).unwrap_err(), role);
    let other = HsmError::TenantNotAllowed;
    assert_eq!(hsm.open_envelope(&mut OsRng, bob, acme_kek, &ctx("acme")?, &sealed).unwrap_err(), other);
    assert_eq!(hsm.info(bob, acme_kek).unwrap_err(), other);
    assert_eq!(hsm.rotate(&mut OsRng, bob, acme_kek).unwrap_err(), other);
    assert_eq!(hsm.destroy(alice, globex_kek).unwrap_err(), other);
    assert_eq!(hsm.login(0, "alice", ALICE_PIN, Some("globex")).unwrap_err(), other);
    assert_eq!(hsm.find(bob, "kek")?, globex_kek, "bob's own key of the same id");
    // Usage, lifecycle and expiry.
    let decrypt_only =
        hsm.generate(&mut OsRng, alice, KeyType::Aes256, attrs("acme", "archive", Usage::DECRYPT))?;
    assert_eq!(
        hsm.seal_envelope(&mut OsRng, alice, decrypt_only, &ctx("acme")?, b"x").unwrap_err(),
        HsmError::PolicyDenied
    );
    let retired = kek(&mut hsm, alice, "acme", "retired")?;
    hsm.set_state(alice, retired, KeyState::Deactivated)?;
    assert_eq!(
        hsm.seal_envelope(&mut OsRng, alice, retired, &ctx("acme")?, b"x").unwrap_err(),
        HsmError::KeyState
    );
    let expired = kek(&mut hsm, alice, "acme", "expired")?;
    hsm.set_expiry(alice, expired, Some(1))?;
    assert_eq!(
        hsm.seal_envelope(&mut OsRng, alice, expired, &ctx("acme")?, b"x").unwrap_err(),
        HsmError::KeyExpired
    );
    // Credentials: unknown users look like wrong PINs to the caller.
    assert_eq!(hsm.login(0, "mallory", ALICE_PIN, Some("acme")).unwrap_err(), HsmError::PinIncorrect);
    assert_eq!(hsm.login(0, "bob", b"not-bobs-pin", Some("globex")).unwrap_err(), HsmError::PinIncorrect);

    assert_eq!(
        refusals(&mut hsm)?,
        [
            row("so", Role::SecurityOfficer, "", "-", Operation::Seal, Refusal::WrongRole),
            row("audit", Role::Auditor, "", "-", Operation::Open, Refusal::WrongRole),
            row("alice", Role::User, "acme", "-", Operation::Administer, Refusal::WrongRole),
            row("bob", Role::User, "globex", "-", Operation::Shred, Refusal::WrongRole),
            row("alice", Role::User, "acme", "-", Operation::ReadAudit, Refusal::WrongRole),
            row("bob", Role::User, "globex", "acme/kek", Operation::Open, Refusal::OtherTenant),
            row("bob", Role::User, "globex", "acme/kek", Operation::Show, Refusal::OtherTenant),
            row("bob", Role::User, "globex", "acme/kek", Operation::Rotate, Refusal::OtherTenant),
            row("alice", Role::User, "acme", "globex/kek", Operation::Destroy, Refusal::OtherTenant),
            row("alice", Role::User, "globex", "-", Operation::Login, Refusal::NotInTenant),
            row("alice", Role::User, "acme", "acme/archive", Operation::Seal, Refusal::UsageNotAllowed),
            row("alice", Role::User, "acme", "acme/retired", Operation::Seal, Refusal::WrongState),
            row("alice", Role::User, "acme", "acme/expired", Operation::Seal, Refusal::Expired),
            row("mallory", Role::User, "acme", "-", Operation::Login, Refusal::UnknownUser),
            row("bob", Role::User, "globex", "-", Operation::Login, Refusal::WrongPin),
        ]
    );
    // The log, refusals included, verifies; so does every credential against it.
    let auditor = hsm.login(0, "audit", AUDIT_PIN, None)?;
    hsm.audit_verify(auditor)?;
    Ok(())
}

#[test]
fn lockout_is_per_credential_and_the_security_officer_unblocks_with_a_new_pin_the_holder_then_changes()
-> TestResult {
    let dir = TempDir::new("lockout")?;
    let mut hsm = provisioned(&dir.db())?;
    for _ in 0..4 {
        assert_eq!(hsm.login(0, "alice", b"guess-000", None).unwrap_err(), HsmError::PinIncorrect);
    }
    assert_eq!(hsm.login(0, "alice", b"guess-000", None).unwrap_err(), HsmError::PinLocked);
    assert_eq!(hsm.login(0, "alice", ALICE_PIN, None).unwrap_err(), HsmError::PinLocked);
    // Another credential of the same tenant, and the other tenants, are not locked.
    let ops = hsm.login(0, "ops", OPS_PIN, Some("acme"))?;
    hsm.logout(ops)?;
    let bob = hsm.login(0, "bob", BOB_PIN, None)?;
    hsm.logout(bob)?;
    // Another process (another store connection) sees the lock.
    let mut other = open(&dir.db(), PASSPHRASE)?;
    assert_eq!(other.login(0, "alice", ALICE_PIN, None).unwrap_err(), HsmError::PinLocked);
    let so = other.login_so(0, SO_PIN)?;
    let listed = other.users(so)?;
    let alice = listed.iter().find(|u| u.name == "alice").ok_or("alice not listed")?;
    assert!(alice.locked && alice.failures == 5, "{alice:?}");
    other.unblock_user(&mut OsRng, so, "alice", b"temporary-01")?;
    // The first connection sees the unblock: the new PIN works, the old one does not.
    assert_eq!(hsm.login(0, "alice", ALICE_PIN, None).unwrap_err(), HsmError::PinIncorrect);
    let a = hsm.login(0, "alice", b"temporary-01", None)?;
    hsm.change_pin(&mut OsRng, a, b"temporary-01", b"alice-own-pin")?;
    assert_eq!(hsm.login(0, "alice", b"temporary-01", None).unwrap_err(), HsmError::PinIncorrect);
    // The new PIN opens alice's tenant key: her keys still work.
    let a = hsm.login(0, "alice", b"alice-own-pin", None)?;
    let k = kek(&mut hsm, a, "acme", "after-unblock")?;
    let sealed = hsm.seal_envelope(&mut OsRng, a, k, &ctx("acme")?, b"still mine")?;
    let ops = hsm.login(0, "ops", OPS_PIN, Some("acme"))?;
    assert_eq!(&hsm.open_envelope(&mut OsRng, ops, k, &ctx("acme")?, &sealed)?[..], b"still mine");
    // A removed credential can no longer log in.
    other.remove_user(so, "bob")?;
    assert_eq!(hsm.login(0, "bob", BOB_PIN, None).unwrap_err(), HsmError::PinIncorrect);
    let auditor = hsm.login(0, "audit", AUDIT_PIN, None)?;
    hsm.audit_verify(auditor)?;
    Ok(())
}

#[test]
fn a_new_passphrase_keeps_every_key_usable_and_the_old_one_opens_nothing() -> TestResult {
    let dir = TempDir::new("rekey")?;
    let mut hsm = provisioned(&dir.db())?;
    let alice = hsm.login(0, "alice", ALICE_PIN, None)?;
    let k = kek(&mut hsm, alice, "acme", "kek")?;
    let hooks = hsm.generate(
        &mut OsRng,
        alice,
        KeyType::HmacSha256,
        attrs("acme", "hooks", Usage::SIGN | Usage::VERIFY),
    )?;
    let signer =
        hsm.generate(&mut OsRng, alice, KeyType::P256, attrs("acme", "signer", Usage::SIGN | Usage::VERIFY))?;
    let sealed = hsm.seal_envelope(&mut OsRng, alice, k, &ctx("acme")?, b"before the re-key")?;
    let tag = hsm.hmac_sign(alice, hooks, &[b"webhook body"])?;
    let sig = hsm.sign(&mut OsRng, alice, signer, b"signed before")?;
    let mut bystander = open(&dir.db(), PASSPHRASE)?;

    let so = hsm.login_so(0, SO_PIN)?;
    assert_eq!(
        hsm.change_passphrase(&mut OsRng, alice, &KeySource::Passphrase(b"new passphrase 2026")).unwrap_err(),
        HsmError::RoleNotAllowed
    );
    hsm.change_passphrase(&mut OsRng, so, &KeySource::Passphrase(b"new passphrase 2026"))?;

    assert_eq!(open(&dir.db(), PASSPHRASE).unwrap_err(), HsmError::KeystoreAuth);
    assert_eq!(bystander.login(0, "bob", BOB_PIN, None).unwrap_err(), HsmError::KeystoreAuth);
    let mut reopened = open(&dir.db(), b"new passphrase 2026")?;
    let a = reopened.login(0, "alice", ALICE_PIN, None)?;
    assert_eq!(reopened.find(a, "kek")?, k);
    assert_eq!(&reopened.open_envelope(&mut OsRng, a, k, &ctx("acme")?, &sealed)?[..], b"before the re-key");
    assert_eq!(reopened.hmac_sign(a, hooks, &[b"webhook body"])?, tag);
    reopened.verify(a, signer, b"signed before", &sig)?;
    assert_eq!(reopened.list(a)?.len(), 3);
    let auditor = reopened.login(0, "audit", AUDIT_PIN, None)?;
    reopened.audit_verify(auditor)?;
    let events = reopened.audit_records(auditor)?;
    assert!(events.iter().any(|r| r.event == AuditEvent::PassphraseChanged));
    Ok(())
}

#[test]
fn shredding_a_tenant_removes_its_tenant_key_with_every_grant_and_leaves_the_others_working() -> TestResult {
    let dir = TempDir::new("shred")?;
    let mut hsm = provisioned(&dir.db())?;
    let bob = hsm.login(0, "bob", BOB_PIN, None)?;
    let gk = kek(&mut hsm, bob, "globex", "kek")?;
    let alice = hsm.login(0, "alice", ALICE_PIN, None)?;
    let ak = kek(&mut hsm, alice, "acme", "kek")?;
    let so = hsm.login_so(0, SO_PIN)?;
    let evidence = hsm.shred_tenant(so, "globex")?;
    assert_eq!(evidence.keys, [("kek".to_string(), 1)]);
    // bob still logs in, but his tenant has no key any more: nothing new is made in it.
    let bob = hsm.login(0, "bob", BOB_PIN, None)?;
    assert_eq!(kek(&mut hsm, bob, "globex", "again").unwrap_err(), HsmError::KeyState);
    assert_eq!(hsm.info(bob, gk)?.state, KeyState::Destroyed);
    // Nobody can be given the shredded tenant.
    assert_eq!(
        hsm.create_user(&mut OsRng, so, "carol", Role::User, &["globex"], b"carol-pin-1").unwrap_err(),
        HsmError::KeyState
    );
    // acme is untouched.
    let sealed = hsm.seal_envelope(&mut OsRng, alice, ak, &ctx("acme")?, b"acme lives")?;
    assert_eq!(&hsm.open_envelope(&mut OsRng, alice, ak, &ctx("acme")?, &sealed)?[..], b"acme lives");
    Ok(())
}
