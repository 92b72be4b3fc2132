//! `Session`: a login to a keystore (security officer, user or auditor)
//! and everything done as it: administration, keys, operations by handle,
//! the audit log. The HSM checks the role of every call (a refusal is an
//! audited PolicyError); this file only reads arguments and results.

use coffer_core::rng::OsRng;
use coffer_hsm::{KeyAttributes, KeyState, KeyType, MAX_NAME_LEN, Role, SessionId, Usage};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString, PyTuple};

use super::records::{PyAuditRecord, PyKeyHandle, PyKeyInfo, PyShredEvidence};
use super::{PyKeystore, streams, webhooks};
use crate::args;
use crate::envelope::context;
use crate::errors;
use crate::scratch::PyScratchFile;

/// Longest key material `wrap()` takes (coffer-hsm's `MAX_MATERIAL_LEN`).
const MAX_WRAP_LEN: usize = 16 * 1024;

/// A login to a keystore, from `Keystore.login_so()` or `Keystore.login()`.
///
/// What a session may do depends on its role, and the keystore checks it:
/// the security officer ("security-officer", user name "so") creates tenants and credentials, unblocks
/// them and shreds tenants; a user ("user") acts in one tenant and
/// generates and uses its keys by handle; an auditor ("auditor") reads and
/// verifies the audit log. Anything else raises PolicyError (and is
/// logged). A session may be shared by threads. `logout()` (or the end of
/// a `with` block) ends it; so does freeing it.
///
/// >>> import coffer
/// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
/// >>> so = ks.login_so("so-pin-1")
/// >>> so.create_tenant("acme")
/// >>> so.create_user("alice", "alice-pin", tenants=["acme"])
/// >>> with ks.login("alice", "alice-pin") as alice:
/// ...     signer = alice.generate("signer", "p256")
/// ...     signature = alice.sign(signer, b"release 1.2")
/// ...     alice.verify(signer, b"release 1.2", signature)
/// >>> alice.role, alice.tenant
/// ('user', 'acme')
#[pyclass(frozen, name = "Session", module = "coffer")]
pub(crate) struct PySession {
    keystore: Py<PyKeystore>,
    id: SessionId,
    user: String,
    role: &'static str,
    tenant: Option<String>,
}

impl PySession {
    pub(crate) fn new(
        keystore: Py<PyKeystore>,
        id: SessionId,
        user: String,
        role: &'static str,
        tenant: Option<String>,
    ) -> Self {
        PySession { keystore, id, user, role, tenant }
    }

    fn ks(&self) -> &PyKeystore {
        self.keystore.get()
    }
}

/// Frees the session in the HSM when the Python object goes.
impl Drop for PySession {
    fn drop(&mut self) {
        self.keystore.get().forget(self.id);
    }
}

/// A name argument (user, tenant, key id, label): 1 to 64 bytes.
fn name(py: Python<'_>, value: &str, what: &str) -> PyResult<()> {
    if value.is_empty() || value.len() > MAX_NAME_LEN {
        return Err(errors::invalid_input(py, format!("{what} must be 1 to {MAX_NAME_LEN} bytes")));
    }
    Ok(())
}

/// A key type by name, as `generate()` and `KeyHandle.from_int()` take it.
pub(crate) fn key_type(py: Python<'_>, name: &str) -> PyResult<KeyType> {
    KeyType::from_name(name).ok_or_else(|| {
        errors::invalid_input(
            py,
            format!("unknown key type {name:?}: use aes256, hmac, p256, rsa2048, rsa3072 or rsa4096"),
        )
    })
}

/// The usage of a new key: the names given, or the type's natural usage (as the CLI).
fn usage(py: Python<'_>, names: Option<Vec<String>>, t: KeyType) -> PyResult<Usage> {
    let Some(names) = names else {
        return Ok(t.default_usage());
    };
    let mut u = Usage::NONE;
    for n in &names {
        let flag = Usage::from_name(n).ok_or_else(|| {
            errors::invalid_input(
                py,
                format!("unknown usage {n:?}: use encrypt, decrypt, wrap, unwrap, sign, verify or derive"),
            )
        })?;
        u = u | flag;
    }
    Ok(u)
}

/// A `KeyHandle` argument.
pub(crate) fn handle_of(key: &Bound<'_, PyAny>) -> PyResult<PyKeyHandle> {
    key.cast::<PyKeyHandle>()
        .map(|k| k.get().clone())
        .map_err(|_| PyTypeError::new_err("key must be a KeyHandle (from Session.generate or Session.find)"))
}

#[pymethods]
impl PySession {
    /// The credential's name ("so" for the security officer).
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> ks.login_so("so-pin-1").user
    /// 'so'
    #[getter]
    fn user(&self) -> &str {
        &self.user
    }

    /// The role: "security-officer", "user" or "auditor" (as
    /// AuditRecord.role and `coffer audit show --json` name them).
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> ks.login_so("so-pin-1").role
    /// 'security-officer'
    #[getter]
    fn role(&self) -> &str {
        self.role
    }

    /// The tenant a user session acts in; None for the other roles.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> ks.login("bob", "bob-pin-1").tenant
    /// 'acme'
    #[getter]
    fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    /// Ends the session; using it afterwards raises AuthError.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1")
    /// >>> so.logout()
    /// >>> try:
    /// ...     so.create_tenant("acme")
    /// ... except coffer.AuthError:
    /// ...     print("logged out")
    /// logged out
    fn logout(&self, py: Python<'_>) -> PyResult<()> {
        let id = self.id;
        // A second logout is not an error.
        self.ks().run(py, |hsm| {
            let _ = hsm.logout(id);
            Ok(())
        })
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.logout(py)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let user = PyString::new(py, &self.user).repr()?;
        let tenant = match &self.tenant {
            Some(t) => PyString::new(py, t).repr()?.to_string(),
            None => "None".to_owned(),
        };
        Ok(format!("Session(user={user}, role='{}', tenant={tenant})", self.role))
    }

    // ---- the security officer ----

    /// Creates the tenant `name` (security officer only): 1 to 64 ASCII
    /// letters, digits and . _ - @. Its users are made with create_user().
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> ks.login_so("so-pin-1").create_tenant("acme-eu")
    fn create_tenant(&self, py: Python<'_>, name: String) -> PyResult<()> {
        let id = self.id;
        self.ks().run(py, |hsm| hsm.create_tenant(&mut OsRng, id, &name))
    }

    /// Creates a credential with its own PIN (security officer only): a
    /// user of `tenants` (1 to 16 existing tenants), or with
    /// `auditor=True` an auditor, who reads the audit log and acts in no tenant.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1")
    /// >>> so.create_tenant("acme")
    /// >>> so.create_user("alice", "alice-pin", tenants=["acme"])
    /// >>> so.create_user("audit", "audit-pin", auditor=True)
    #[pyo3(signature = (name, pin, tenants = None, *, auditor = false))]
    fn create_user(
        &self,
        py: Python<'_>,
        name: String,
        pin: &Bound<'_, PyAny>,
        tenants: Option<Vec<String>>,
        auditor: bool,
    ) -> PyResult<()> {
        let pin = args::text_or_bytes(pin, "pin", coffer_hsm::MAX_PIN_LEN)?;
        let tenants = tenants.unwrap_or_default();
        let role = match (auditor, tenants.is_empty()) {
            (true, true) => Role::Auditor,
            (false, false) => Role::User,
            (true, false) => {
                return Err(errors::invalid_input(
                    py,
                    "an auditor acts in no tenant: give no tenants".to_owned(),
                ));
            }
            (false, true) => {
                return Err(errors::invalid_input(
                    py,
                    "a user needs tenants=[...] (or auditor=True)".to_owned(),
                ));
            }
        };
        let (id, pin) = (self.id, pin.as_slice());
        self.ks().run(py, |hsm| {
            let names: Vec<&str> = tenants.iter().map(String::as_str).collect();
            hsm.create_user(&mut OsRng, id, &name, role, &names, pin)
        })
    }

    /// Gives the locked (or any) user or auditor `name` a new PIN and
    /// clears its failure count (security officer only).
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1")
    /// >>> so.create_user("audit", "audit-pin", auditor=True)
    /// >>> so.unblock_user("audit", "new-audit-pin")
    /// >>> ks.login("audit", "new-audit-pin").role
    /// 'auditor'
    fn unblock_user(&self, py: Python<'_>, name: String, new_pin: &Bound<'_, PyAny>) -> PyResult<()> {
        let pin = args::text_or_bytes(new_pin, "new_pin", coffer_hsm::MAX_PIN_LEN)?;
        let (id, pin) = (self.id, pin.as_slice());
        self.ks().run(py, |hsm| hsm.unblock_user(&mut OsRng, id, &name, pin))
    }

    /// Changes this session's own PIN (any role): `old_pin` is checked
    /// (and counted) as at a login.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> ks.login_so("so-pin-1").change_pin("so-pin-1", "so-pin-2")
    /// >>> ks.login_so("so-pin-2").role
    /// 'security-officer'
    fn change_pin(
        &self,
        py: Python<'_>,
        old_pin: &Bound<'_, PyAny>,
        new_pin: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let old = args::text_or_bytes(old_pin, "old_pin", coffer_hsm::MAX_PIN_LEN)?;
        let new = args::text_or_bytes(new_pin, "new_pin", coffer_hsm::MAX_PIN_LEN)?;
        let (id, old, new) = (self.id, old.as_slice(), new.as_slice());
        self.ks().run(py, |hsm| hsm.change_pin(&mut OsRng, id, old, new))
    }

    /// Crypto-shreds the tenant `tenant` (security officer only): destroys
    /// every key of it and its tenant key, in one transaction, so that none
    /// of its envelopes can be opened again. Returns the ShredEvidence: the
    /// destroyed keys as (key id, newest version) pairs and the audit
    /// records the shred wrote.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> bob = ks.login("bob", "bob-pin-1")
    /// >>> kek = bob.generate("records", "aes256")
    /// >>> envelope = bob.seal(kek, b"customer data")
    /// >>> so.shred("acme").keys
    /// [('records', 1)]
    /// >>> try:
    /// ...     bob.open(kek, envelope)
    /// ... except coffer.PolicyError:
    /// ...     print("shredded")
    /// shredded
    fn shred(&self, py: Python<'_>, tenant: String) -> PyResult<PyShredEvidence> {
        let id = self.id;
        let evidence = self.ks().run(py, |hsm| hsm.shred_tenant(id, &tenant))?;
        PyShredEvidence::from_evidence(py, &evidence)
    }

    // ---- keys (a user of the key's tenant) ----

    /// Generates a key in the session's tenant and returns its handle.
    /// `key_type` is "aes256" (a KEK: seal/open, wrap/unwrap), "hmac",
    /// "p256", "rsa2048", "rsa3072" or "rsa4096"; `usage` a list of
    /// "encrypt", "decrypt", "wrap", "unwrap", "sign", "verify", "derive"
    /// (default: what the type is for, as the CLI); `key_id` is unique in
    /// the tenant and goes into envelopes. The key never leaves the
    /// keystore unless `extractable`, and then only wrapped.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> bob = ks.login("bob", "bob-pin-1")
    /// >>> bob.generate("backups", "aes256", usage=["encrypt", "decrypt"], label="nightly backups")
    /// KeyHandle(1, key_id='backups', key_type='aes256')
    #[pyo3(signature = (key_id, key_type, usage = None, *, label = None, extractable = false))]
    fn generate(
        &self,
        py: Python<'_>,
        key_id: String,
        key_type: &str,
        usage: Option<Vec<String>>,
        label: Option<String>,
        extractable: bool,
    ) -> PyResult<PyKeyHandle> {
        name(py, &key_id, "key_id")?;
        let t = self::key_type(py, key_type)?;
        let usage = self::usage(py, usage, t)?;
        let label = label.unwrap_or_else(|| key_id.clone());
        name(py, &label, "label")?;
        let attrs = KeyAttributes {
            label,
            tenant: self.tenant.clone().unwrap_or_default(),
            key_id: key_id.clone(),
            usage,
            extractable,
            active: true,
        };
        let id = self.id;
        let handle = self.ks().run(py, |hsm| hsm.generate(&mut OsRng, id, t, attrs))?;
        Ok(PyKeyHandle::new(handle, key_id, t))
    }

    /// The handle of the session's tenant's key `key_id` (KeystoreError if none).
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> bob = ks.login("bob", "bob-pin-1")
    /// >>> _ = bob.generate("signer", "rsa2048")
    /// >>> bob.find("signer")
    /// KeyHandle(1, key_id='signer', key_type='rsa2048')
    fn find(&self, py: Python<'_>, key_id: String) -> PyResult<PyKeyHandle> {
        name(py, &key_id, "key_id")?;
        let id = self.id;
        let (handle, t) = self.ks().run(py, |hsm| {
            let h = hsm.find(id, &key_id)?;
            Ok((h, hsm.info(id, h)?.key_type))
        })?;
        Ok(PyKeyHandle::new(handle, key_id, t))
    }

    /// Creates a new version of `key` and returns its number: it seals,
    /// wraps and signs from now on, while envelopes, wrapped keys and
    /// signatures of older versions still open, unwrap and verify.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> bob = ks.login("bob", "bob-pin-1")
    /// >>> kek = bob.generate("records", "aes256")
    /// >>> old = bob.seal(kek, b"v1 data")
    /// >>> bob.rotate(kek)
    /// 2
    /// >>> coffer.inspect(bob.seal(kek, b"v2 data"))["recipients"][0]["version"]
    /// 2
    /// >>> bytes(bob.open(kek, old))
    /// b'v1 data'
    fn rotate(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<u32> {
        let (id, h) = (self.id, handle_of(key)?.raw());
        self.ks().run(py, |hsm| hsm.rotate(&mut OsRng, id, h))
    }

    /// Destroys every version of `key`; it can do nothing afterwards
    /// (PolicyError), and its key id is never reused.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> bob = ks.login("bob", "bob-pin-1")
    /// >>> signer = bob.generate("signer", "p256")
    /// >>> bob.destroy(signer)
    fn destroy(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<()> {
        let (id, h) = (self.id, handle_of(key)?.raw());
        self.ks().run(py, |hsm| hsm.destroy(id, h))
    }

    /// The public key of `key` (P-256 or RSA, its newest version) as DER
    /// SubjectPublicKeyInfo, for P256PublicKey.from_der / RsaPublicKey.from_der.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> bob = ks.login("bob", "bob-pin-1")
    /// >>> signer = bob.generate("signer", "p256")
    /// >>> public = coffer.P256PublicKey.from_der(bob.public_key_der(signer))
    /// >>> public.verify(b"data", bob.sign(signer, b"data"))
    fn public_key_der<'py>(&self, py: Python<'py>, key: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
        let (id, h) = (self.id, handle_of(key)?.raw());
        let der = self.ks().run(py, |hsm| hsm.public_key_der(id, h))?;
        Ok(PyBytes::new(py, &der))
    }

    /// What the keystore tells about `key` (a KeyInfo: its id, type,
    /// version, tenant, usage, lifecycle state, expiry, ...), never its
    /// material. Another tenant's key raises PolicyError.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> bob = ks.login("bob", "bob-pin-1")
    /// >>> kek = bob.generate("records", "aes256", ["encrypt", "decrypt"])
    /// >>> bob.rotate(kek)
    /// 2
    /// >>> info = bob.info(kek)
    /// >>> info.key_id, info.version, info.state, info.usage
    /// ('records', 2, 'active', ['encrypt', 'decrypt'])
    fn info(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<PyKeyInfo> {
        let (id, h) = (self.id, handle_of(key)?.raw());
        let info = self.ks().run(py, |hsm| hsm.info(id, h))?;
        Ok(PyKeyInfo::from_info(&info))
    }

    /// Moves `key` to the lifecycle `state`: "active" (from "pre-active")
    /// or "deactivated" (from "pre-active" or "active"; it then only opens,
    /// unwraps and verifies what exists). Any other change raises
    /// PolicyError (an audited refusal): a deactivated key is never active
    /// again, and destroy() destroys.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> bob = ks.login("bob", "bob-pin-1")
    /// >>> signer = bob.generate("signer", "p256")
    /// >>> bob.set_state(signer, "deactivated")
    /// >>> bob.info(signer).state
    /// 'deactivated'
    /// >>> try:
    /// ...     bob.set_state(signer, "active")
    /// ... except coffer.PolicyError:
    /// ...     print("stays deactivated")
    /// stays deactivated
    fn set_state(&self, py: Python<'_>, key: &Bound<'_, PyAny>, state: &str) -> PyResult<()> {
        let h = handle_of(key)?.raw();
        let state = KeyState::from_name(state).ok_or_else(|| {
            errors::invalid_input(
                py,
                format!("unknown key state {state:?}: use pre-active, active, deactivated or destroyed"),
            )
        })?;
        let id = self.id;
        self.ks().run(py, |hsm| hsm.set_state(id, h, state))
    }

    /// Sets when `key` expires, `at` in whole seconds since the Unix epoch
    /// (None clears it). Expiry does nothing by itself: sweep_expired()
    /// deactivates the keys whose time has come. A destroyed key raises
    /// PolicyError.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> bob = ks.login("bob", "bob-pin-1")
    /// >>> hooks = bob.generate("hooks-2026", "hmac")
    /// >>> bob.set_expiry(hooks, 1_800_000_000)
    /// >>> bob.info(hooks).expires_at
    /// 1800000000
    /// >>> bob.set_expiry(hooks, None)
    /// >>> bob.info(hooks).expires_at is None
    /// True
    fn set_expiry(&self, py: Python<'_>, key: &Bound<'_, PyAny>, at: Option<u64>) -> PyResult<()> {
        let (id, h) = (self.id, handle_of(key)?.raw());
        self.ks().run(py, |hsm| hsm.set_expiry(id, h, at))
    }

    /// The lifecycle sweep: deactivates every active (or pre-active) key of
    /// the session's tenant whose expiry is now or past (the keystore's
    /// clock, the system's), logs each change and returns their handles.
    /// Run it on a schedule; a deactivated key still opens, unwraps and
    /// verifies what exists but makes nothing new.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> bob = ks.login("bob", "bob-pin-1")
    /// >>> old = bob.generate("hooks-2025", "hmac")
    /// >>> tag = bob.sign(old, b"delivery")
    /// >>> bob.set_expiry(old, 1)
    /// >>> bob.sweep_expired()
    /// [KeyHandle(1, key_id='hooks-2025', key_type='hmac')]
    /// >>> bob.verify(old, b"delivery", tag)
    /// >>> bob.sweep_expired()
    /// []
    fn sweep_expired(&self, py: Python<'_>) -> PyResult<Vec<PyKeyHandle>> {
        let id = self.id;
        let swept = self.ks().run(py, |hsm| {
            let handles = hsm.sweep_expired(id)?;
            handles.into_iter().map(|h| hsm.info(id, h)).collect::<coffer_hsm::Result<Vec<_>>>()
        })?;
        Ok(swept.into_iter().map(|i| PyKeyHandle::new(i.handle, i.attributes.key_id, i.key_type)).collect())
    }

    // ---- operations by handle ----

    /// Seals `plaintext` as an envelope (core/FORMAT.md) to the newest
    /// version of the AES-256 or RSA key `key` (usage "encrypt"), bound to
    /// `context` (a mapping of str or bytes, as coffer.seal takes). The
    /// envelope's recipient key id is the key's id. The GIL is released.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> bob = ks.login("bob", "bob-pin-1")
    /// >>> kek = bob.generate("records", "aes256")
    /// >>> envelope = bob.seal(kek, b"quarterly numbers", {"tenant": "acme"})
    /// >>> coffer.inspect(envelope)["recipients"][0]["key_id"]
    /// b'records'
    #[pyo3(signature = (key, plaintext, context = None))]
    fn seal<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        plaintext: &Bound<'py, PyAny>,
        context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let h = handle_of(key)?.raw();
        let pt = args::bytes(plaintext, "plaintext", usize::MAX)?;
        let ctx_arg = context::read(py, context)?;
        let ctx = ctx_arg.build(py)?;
        let (id, pt) = (self.id, pt.as_slice());
        let sealed = self.ks().run(py, |hsm| hsm.seal_envelope(&mut OsRng, id, h, &ctx, pt))?;
        Ok(PyBytes::new(py, &sealed))
    }

    /// Opens an envelope sealed to any version of `key` (usage "decrypt")
    /// with exactly the `context` it was sealed with. Returns the plaintext
    /// as a bytearray the caller can wipe. A bad envelope raises
    /// DecryptError; a refused key, PolicyError. The GIL is released.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> bob = ks.login("bob", "bob-pin-1")
    /// >>> kek = bob.generate("records", "aes256")
    /// >>> bob.open(kek, bob.seal(kek, b"quarterly numbers"))
    /// bytearray(b'quarterly numbers')
    #[pyo3(signature = (key, envelope, context = None))]
    fn open<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        envelope: &Bound<'py, PyAny>,
        context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyByteArray>> {
        let h = handle_of(key)?.raw();
        let sealed = args::bytes(envelope, "envelope", usize::MAX)?;
        let ctx_arg = context::read(py, context)?;
        let ctx = ctx_arg.build(py)?;
        let (id, sealed) = (self.id, sealed.as_slice());
        let plaintext = self.ks().run(py, |hsm| hsm.open_envelope(&mut OsRng, id, h, &ctx, sealed))?;
        Ok(PyByteArray::new(py, &plaintext))
    }

    /// Seals everything read from `src` (a binary file object) into `dst`
    /// (a binary file object with `write`) as one envelope for the
    /// current version of `key` (an "aes256" or RSA key with usage
    /// "encrypt"), bound to `context`, in 64 KiB chunks: memory use is one
    /// chunk whatever the size. Returns the plaintext length. The result
    /// opens with open() and open_stream() by the same key.
    ///
    /// The keystore's lock is held for the whole stream (other operations
    /// on this Keystore wait), the GIL only for each `read`/`write`. An
    /// exception raised by `src` or `dst` is re-raised as it was; `dst`
    /// then holds an incomplete envelope. A file object that calls this
    /// keystore from its `read` or `write` gets KeystoreError.
    ///
    /// >>> import coffer, io
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> bob = ks.login("bob", "bob-pin-1")
    /// >>> kek = bob.generate("backups", "aes256")
    /// >>> sealed = io.BytesIO()
    /// >>> bob.seal_stream(kek, io.BytesIO(b"row\n" * 50000), sealed, {"backup": "nightly"})
    /// 200000
    /// >>> len(bob.open(kek, sealed.getvalue(), {"backup": "nightly"}))
    /// 200000
    #[pyo3(signature = (key, src, dst, context = None))]
    fn seal_stream(
        &self,
        key: &Bound<'_, PyAny>,
        src: &Bound<'_, PyAny>,
        dst: &Bound<'_, PyAny>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u64> {
        streams::seal(self.ks(), self.id, key, src, dst, context)
    }

    /// Opens an envelope read from `src` (a binary file object) into `dst`
    /// (a binary file object) with any version of `key` (usage "decrypt"),
    /// checking it was sealed with exactly this `context`, one chunk in
    /// memory at a time. Returns the plaintext length. A bad envelope
    /// raises DecryptError; a refused key, PolicyError; an exception of
    /// `src` or `dst` is re-raised as it was.
    ///
    /// As coffer.open_stream(): each chunk is written only once it has
    /// authenticated, and on any failure a seekable `dst` is cut back to
    /// where it started (`seek`, then `truncate()`); what was written to
    /// a `dst` that is not seekable is untrusted until the call returns.
    /// The keystore's lock is held for the whole stream, the GIL only for
    /// each `read`/`write`.
    ///
    /// >>> import coffer, io
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> bob = ks.login("bob", "bob-pin-1")
    /// >>> kek = bob.generate("backups", "aes256")
    /// >>> envelope = bob.seal(kek, b"backup", {"backup": "nightly"})
    /// >>> out = io.BytesIO()
    /// >>> bob.open_stream(kek, io.BytesIO(envelope), out, {"backup": "nightly"})
    /// 6
    /// >>> try:
    /// ...     bob.open_stream(kek, io.BytesIO(envelope[:-1]), out, {"backup": "nightly"})
    /// ... except coffer.DecryptError:
    /// ...     print("refused; out still holds", out.getvalue())
    /// refused; out still holds b'backup'
    #[pyo3(signature = (key, src, dst, context = None))]
    fn open_stream(
        &self,
        key: &Bound<'_, PyAny>,
        src: &Bound<'_, PyAny>,
        dst: &Bound<'_, PyAny>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u64> {
        streams::open(self.ks(), self.id, key, src, dst, context)
    }

    /// Opens an envelope read from `src` (a binary file object) with any
    /// version of `key` (usage "decrypt") into a new ScratchFile in the
    /// directory `dir` (mode 0600, a random name), as for a program that
    /// must read the plaintext from a file. Returns the ScratchFile at
    /// position 0: read it or hand its `path` on, then `shred()` it (or
    /// use it in a `with` block). On any failure (DecryptError,
    /// PolicyError, an exception of `src`, OSError) what was written is
    /// overwritten and removed before the exception is raised.
    ///
    /// >>> import coffer, io, tempfile
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> bob = ks.login("bob", "bob-pin-1")
    /// >>> kek = bob.generate("db-credentials", "aes256")
    /// >>> envelope = bob.seal(kek, b"postgres://app:secret@db/acme", {"secret": "db"})
    /// >>> with bob.open_to_scratch(kek, io.BytesIO(envelope), tempfile.mkdtemp(), {"secret": "db"}) as pgpass:
    /// ...     bytes(pgpass.read())
    /// b'postgres://app:secret@db/acme'
    /// >>> pgpass.closed
    /// True
    #[pyo3(signature = (key, src, dir, context = None))]
    fn open_to_scratch(
        &self,
        key: &Bound<'_, PyAny>,
        src: &Bound<'_, PyAny>,
        dir: std::path::PathBuf,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyScratchFile> {
        streams::open_to_scratch(self.ks(), self.id, key, src, &dir, context)
    }

    /// Rewraps an envelope sealed to an older version of the AES-256 key
    /// `key` (usage "unwrap" and "wrap") to its newest version: only the
    /// header changes, the payload is neither decrypted nor rewritten. An
    /// envelope already on the newest version comes back unchanged; one
    /// without a recipient of this key raises DecryptError. The GIL is
    /// released.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> bob = ks.login("bob", "bob-pin-1")
    /// >>> kek = bob.generate("records", "aes256")
    /// >>> old = bob.seal(kek, b"v1 data")
    /// >>> bob.rotate(kek)
    /// 2
    /// >>> new = bob.rewrap(kek, old)
    /// >>> coffer.inspect(new)["recipients"][0]["version"]
    /// 2
    /// >>> bytes(bob.open(kek, new))
    /// b'v1 data'
    fn rewrap<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        envelope: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let h = handle_of(key)?.raw();
        let sealed = args::bytes(envelope, "envelope", usize::MAX)?;
        let (id, sealed) = (self.id, sealed.as_slice());
        let rewrapped = self.ks().run(py, |hsm| hsm.rewrap_envelope(&mut OsRng, id, h, sealed))?;
        Ok(PyBytes::new(py, &rewrapped))
    }

    /// Signs `data` with the newest version of `key` (usage "sign"): DER
    /// ECDSA P-256 SHA-256 for a P-256 key, RSASSA-PSS SHA-256 for RSA,
    /// HMAC-SHA-256 (32 bytes) for an HMAC key.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> bob = ks.login("bob", "bob-pin-1")
    /// >>> hooks = bob.generate("hooks", "hmac")
    /// >>> len(bob.sign(hooks, b'{"paid": true}'))
    /// 32
    fn sign<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let key = handle_of(key)?;
        let h = key.raw();
        let data = args::bytes(data, "data", usize::MAX)?;
        let (id, data) = (self.id, data.as_slice());
        let hmac = key.key_type == "hmac";
        let sig = self.ks().run(py, |hsm| {
            if hmac { Ok(hsm.hmac_sign(id, h, &[data])?.to_vec()) } else { hsm.sign(&mut OsRng, id, h, data) }
        })?;
        Ok(PyBytes::new(py, &sig))
    }

    /// Verifies `signature` over `data` against any version of `key`
    /// (usage "verify"), as sign() makes them; raises VerifyError if it
    /// does not verify.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> bob = ks.login("bob", "bob-pin-1")
    /// >>> signer = bob.generate("signer", "p256")
    /// >>> try:
    /// ...     bob.verify(signer, b"other data", bob.sign(signer, b"data"))
    /// ... except coffer.VerifyError:
    /// ...     print("forged")
    /// forged
    fn verify(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        data: &Bound<'_, PyAny>,
        signature: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let key = handle_of(key)?;
        let h = key.raw();
        let data = args::bytes(data, "data", usize::MAX)?;
        let sig = args::bytes(signature, "signature", MAX_WRAP_LEN)?;
        let (id, data, sig) = (self.id, data.as_slice(), sig.as_slice());
        let hmac = key.key_type == "hmac";
        self.ks().run(py, |hsm| {
            if hmac { hsm.hmac_verify(id, h, &[data], sig) } else { hsm.verify(id, h, data, sig) }
        })
    }

    /// Signs a webhook delivery with the HMAC key `key` (usage "sign"), as
    /// coffer.webhook_sign() does with a shared secret: returns the header
    /// `t=<timestamp>,v1=<64 hex digits>`, the tag made in the keystore over
    /// `timestamp "." payload`. `timestamp` (seconds since the Unix epoch)
    /// defaults to the keystore's clock.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> bob = ks.login("bob", "bob-pin-1")
    /// >>> hooks = bob.generate("hooks", "hmac")
    /// >>> bob.webhook_sign(hooks, b'{"paid":true}', timestamp=1700000000)[:16]
    /// 't=1700000000,v1='
    #[pyo3(signature = (key, payload, timestamp = None))]
    fn webhook_sign(
        &self,
        key: &Bound<'_, PyAny>,
        payload: &Bound<'_, PyAny>,
        timestamp: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<String> {
        webhooks::sign(self.ks(), self.id, key, payload, timestamp)
    }

    /// Checks a webhook delivery's signature `header` (as webhook_sign()
    /// writes it) against `payload` and the HMAC key `key` (usage
    /// "verify"), as coffer.webhook_verify() does: first the timestamp must
    /// be within `tolerance` seconds of `now` (seconds since the Unix
    /// epoch; None means the keystore's clock), either way, then the
    /// keystore checks the tag. A stale timestamp, a wrong tag or another
    /// payload raise VerifyError (a stale one is refused before the
    /// keystore is asked, and leaves no audit record); a header that does
    /// not parse raises MalformedError.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> bob = ks.login("bob", "bob-pin-1")
    /// >>> hooks = bob.generate("hooks", "hmac")
    /// >>> header = bob.webhook_sign(hooks, b"{}", timestamp=1700000000)
    /// >>> bob.webhook_verify(hooks, b"{}", header, now=1700000060)
    /// >>> try:
    /// ...     bob.webhook_verify(hooks, b"{}", header, now=1700003600)
    /// ... except coffer.VerifyError:
    /// ...     print("replayed too late")
    /// replayed too late
    #[pyo3(signature = (key, payload, header, now = None, tolerance = None))]
    #[pyo3(text_signature = "(self, key, payload, header, now=None, tolerance=300)")]
    fn webhook_verify(
        &self,
        key: &Bound<'_, PyAny>,
        payload: &Bound<'_, PyAny>,
        header: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
        tolerance: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        webhooks::verify(self.ks(), self.id, key, payload, header, now, tolerance)
    }

    /// Wraps `key_material` (1 to 16,384 bytes, a data key of yours) with
    /// AES-KWP (RFC 5649) under the newest version of the AES-256 key
    /// `key` (usage "wrap").
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> bob = ks.login("bob", "bob-pin-1")
    /// >>> kek = bob.generate("transport", "aes256")
    /// >>> wrapped = bob.wrap(kek, bytes(32))
    /// >>> bob.unwrap(kek, wrapped) == bytes(32)
    /// True
    fn wrap<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        key_material: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let h = handle_of(key)?.raw();
        let material = args::bytes(key_material, "key_material", MAX_WRAP_LEN)?;
        let (id, material) = (self.id, material.as_slice());
        let wrapped = self.ks().run(py, |hsm| hsm.wrap_key(id, h, material))?;
        Ok(PyBytes::new(py, &wrapped))
    }

    /// Unwraps what wrap() made under any version of `key` (usage
    /// "unwrap"), as a bytearray the caller can wipe; DecryptError if no
    /// version unwraps it.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> bob = ks.login("bob", "bob-pin-1")
    /// >>> kek = bob.generate("transport", "aes256")
    /// >>> try:
    /// ...     bob.unwrap(kek, bytes(40))
    /// ... except coffer.DecryptError:
    /// ...     print("does not unwrap")
    /// does not unwrap
    fn unwrap<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        wrapped: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyByteArray>> {
        let h = handle_of(key)?.raw();
        let wrapped = args::bytes(wrapped, "wrapped", MAX_WRAP_LEN.saturating_add(16))?;
        let (id, wrapped) = (self.id, wrapped.as_slice());
        let material = self.ks().run(py, |hsm| hsm.unwrap_key(id, h, wrapped))?;
        Ok(PyByteArray::new(py, &material))
    }

    /// Exports the newest version of the extractable `key` wrapped with
    /// AES-KWP (RFC 5649) under the newest version of the AES-256 key
    /// `wrapping_key` (usage "wrap"), in coffer's own form (32 bytes for
    /// AES, HMAC and P-256, PKCS#8 DER for RSA), as coffer-hsm's
    /// import_wrapped takes it. A key generated without extractable=True
    /// never leaves: PolicyError (an audited refusal).
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> bob = ks.login("bob", "bob-pin-1")
    /// >>> transport = bob.generate("transport", "aes256", ["wrap", "unwrap"])
    /// >>> data_key = bob.generate("data", "aes256", extractable=True)
    /// >>> len(bob.export_wrapped(data_key, transport))
    /// 40
    /// >>> try:
    /// ...     bob.export_wrapped(bob.generate("pinned", "aes256"), transport)
    /// ... except coffer.PolicyError:
    /// ...     print("not extractable")
    /// not extractable
    fn export_wrapped<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        wrapping_key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let target = handle_of(key)?.raw();
        let wrapping = handle_of(wrapping_key)?.raw();
        let id = self.id;
        let wrapped = self.ks().run(py, |hsm| hsm.export_wrapped(id, wrapping, target))?;
        Ok(PyBytes::new(py, &wrapped))
    }

    // ---- the auditor ----

    /// The audit log's live records, oldest first (auditor only). Reading
    /// them is not itself a record.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1")
    /// >>> so.create_tenant("acme")
    /// >>> so.create_user("audit", "audit-pin", auditor=True)
    /// >>> [r.event for r in ks.login("audit", "audit-pin").audit()]
    /// ['token-initialized', 'login', 'tenant-created', 'user-created', 'login']
    fn audit(&self, py: Python<'_>) -> PyResult<Vec<PyAuditRecord>> {
        let id = self.id;
        let records = self.ks().run(py, |hsm| hsm.audit_records(id))?;
        Ok(records.iter().map(PyAuditRecord::from_record).collect())
    }

    /// Verifies the audit log (auditor only): every record present, in
    /// order, each HMAC chained to the one before, the last one the head
    /// the keystore keeps, and every credential agreeing with the records
    /// of its changes. Raises VerifyError naming the first record that
    /// does not verify.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> ks.login_so("so-pin-1").create_user("audit", "audit-pin", auditor=True)
    /// >>> ks.login("audit", "audit-pin").verify_audit()
    fn verify_audit(&self, py: Python<'_>) -> PyResult<()> {
        let id = self.id;
        self.ks().run(py, |hsm| hsm.audit_verify(id))
    }
}
