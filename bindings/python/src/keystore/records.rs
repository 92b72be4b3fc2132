//! The small value classes the keystore returns: `KeyHandle`, `KeyInfo` and `AuditRecord`.

use coffer_hsm::audit::{AuditEvent, AuditRecord};
use coffer_hsm::{Handle, KeyInfo, KeyType, ShredEvidence};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

/// A key in the keystore, by handle: what `Session.generate()` and
/// `Session.find()` return, and what the operations of a session take.
/// It holds no key material, only the handle (a number unique in the
/// keystore and never reused), the key id and the key type; the key
/// stays in the keystore. `int(handle)` is the number.
///
/// >>> import coffer
/// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
/// >>> so = ks.login_so("so-pin-1")
/// >>> so.create_tenant("acme")
/// >>> so.create_user("alice", "alice-pin", tenants=["acme"])
/// >>> alice = ks.login("alice", "alice-pin")
/// >>> key = alice.generate("records", "aes256")
/// >>> key
/// KeyHandle(1, key_id='records', key_type='aes256')
/// >>> alice.find("records") == key
/// True
#[pyclass(frozen, eq, hash, name = "KeyHandle", module = "coffer")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyKeyHandle {
    pub(crate) handle: u64,
    pub(crate) key_id: String,
    pub(crate) key_type: &'static str,
}

impl PyKeyHandle {
    pub(crate) fn new(handle: Handle, key_id: String, key_type: KeyType) -> Self {
        PyKeyHandle { handle: handle.get(), key_id, key_type: key_type.name() }
    }

    pub(crate) fn raw(&self) -> Handle {
        Handle::from_raw(self.handle)
    }
}

/// `KeyHandle.from_int`: a handle for any number, for tests and diagnostics.
fn handle_from_int(py: Python<'_>, handle: u64, key_type: &str, key_id: String) -> PyResult<PyKeyHandle> {
    let key_type = super::session::key_type(py, key_type)?.name();
    Ok(PyKeyHandle { handle, key_id, key_type })
}

#[pymethods]
impl PyKeyHandle {
    /// The handle's number, unique in the keystore and never reused.
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> ks.login("bob", "bob-pin-1").generate("signer", "p256").handle
    /// 1
    #[getter]
    fn handle(&self) -> u64 {
        self.handle
    }

    /// The key id, unique in its tenant (written into envelopes as the recipient's key id).
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> ks.login("bob", "bob-pin-1").generate("signer", "p256").key_id
    /// 'signer'
    #[getter]
    fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The key type: "aes256", "hmac", "p256", "rsa2048", "rsa3072" or "rsa4096".
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
    /// >>> ks.login("bob", "bob-pin-1").generate("hooks", "hmac").key_type
    /// 'hmac'
    #[getter]
    fn key_type(&self) -> &str {
        self.key_type
    }

    /// A KeyHandle for the raw handle number `handle`, for tests and
    /// diagnostics only: nothing is looked up, so the key may not exist (an
    /// operation on it then raises KeystoreError, "not found") or be
    /// another type. `key_type` picks the operation sign() and verify() ask
    /// for ("hmac": HMAC; others: signatures); `key_id` is only shown.
    /// Use Session.generate() or Session.find() for real keys.
    ///
    /// >>> import coffer
    /// >>> coffer.KeyHandle.from_int(2**64 - 1, "hmac")
    /// KeyHandle(18446744073709551615, key_id='', key_type='hmac')
    #[staticmethod]
    #[pyo3(signature = (handle, key_type, key_id = String::new()))]
    fn from_int(handle: &Bound<'_, PyAny>, key_type: &str, key_id: String) -> PyResult<Self> {
        let number = crate::args::int_u64(handle, "handle")?;
        handle_from_int(handle.py(), number, key_type, key_id)
    }

    fn __int__(&self) -> u64 {
        self.handle
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let key_id = PyString::new(py, &self.key_id).repr()?;
        Ok(format!("KeyHandle({}, key_id={key_id}, key_type='{}')", self.handle, self.key_type))
    }
}

/// What the keystore tells about a key, as `Session.info()` returns it:
/// everything but its material. `state` is "pre-active", "active",
/// "deactivated" (it only opens, unwraps and verifies what exists) or
/// "destroyed"; `usage` lists the names `generate()` took; `expires_at` is
/// when the lifecycle sweep (`Session.sweep_expired()`) deactivates it, in
/// seconds since the Unix epoch, or None; `sensitive` is true for every
/// secret and private key (they never leave in plaintext); `local` is
/// false for a key whose material came in from outside. A snapshot: ask
/// again after a change.
///
/// >>> import coffer
/// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
/// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
/// >>> bob = ks.login("bob", "bob-pin-1")
/// >>> info = bob.info(bob.generate("hooks", "hmac"))
/// >>> info
/// KeyInfo(1, key_id='hooks', key_type='hmac', version=1, state='active')
/// >>> info.tenant, info.usage, info.sensitive, info.extractable, info.expires_at
/// ('acme', ['sign', 'verify'], True, False, None)
#[pyclass(frozen, name = "KeyInfo", module = "coffer", get_all)]
pub(crate) struct PyKeyInfo {
    /// The handle's number.
    handle: u64,
    /// The key id, unique in its tenant.
    key_id: String,
    /// The label.
    label: String,
    /// The key type, as `KeyHandle.key_type`.
    key_type: &'static str,
    /// The tenant the key belongs to.
    tenant: String,
    /// The newest version number.
    version: u32,
    /// The usage names.
    usage: Vec<&'static str>,
    /// The lifecycle state.
    state: &'static str,
    /// When the sweep deactivates the key (seconds since the Unix epoch), or None.
    expires_at: Option<u64>,
    /// Whether the key never leaves in plaintext.
    sensitive: bool,
    /// Whether the key may leave, wrapped (`Session.export_wrapped()`).
    extractable: bool,
    /// Whether every version was generated inside the keystore.
    local: bool,
}

impl PyKeyInfo {
    pub(crate) fn from_info(info: &KeyInfo) -> Self {
        let attrs = &info.attributes;
        PyKeyInfo {
            handle: info.handle.get(),
            key_id: attrs.key_id.clone(),
            label: attrs.label.clone(),
            key_type: info.key_type.name(),
            tenant: attrs.tenant.clone(),
            version: info.version,
            usage: attrs.usage.names().collect(),
            state: info.state.name(),
            expires_at: info.expires_at,
            sensitive: info.sensitive,
            extractable: attrs.extractable,
            local: info.local,
        }
    }
}

#[pymethods]
impl PyKeyInfo {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let key_id = PyString::new(py, &self.key_id).repr()?;
        Ok(format!(
            "KeyInfo({}, key_id={key_id}, key_type='{}', version={}, state='{}')",
            self.handle, self.key_type, self.version, self.state
        ))
    }
}

/// One record of a keystore's audit log, as `Session.audit()` returns it:
/// its sequence number, time, kind of event, the line of text `coffer
/// audit show` prints, the fields the event has (the others are None) and
/// its HMAC. Records never hold key material or PINs. `role` is
/// "security-officer", "user" or "auditor", as Session.role. `tenant` is
/// the tenant the event happened in (a refusal's: the session's), else the
/// key's; `key_tenant` and `key_handle` are the key's own, when the event
/// is about a key (a refused handle of another tenant names it there).
///
/// >>> import coffer
/// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
/// >>> so = ks.login_so("so-pin-1")
/// >>> so.create_user("audit", "audit-pin", auditor=True)
/// >>> first = ks.login("audit", "audit-pin").audit()[0]
/// >>> first.seq, first.event, first.text
/// (0, 'token-initialized', 'token initialized')
#[pyclass(frozen, name = "AuditRecord", module = "coffer")]
pub(crate) struct PyAuditRecord {
    /// Position in the log, from 0.
    #[pyo3(get)]
    seq: u64,
    /// When, in seconds since the Unix epoch.
    #[pyo3(get)]
    time: u64,
    /// The kind of event ("login", "key-used", "refused", ...).
    #[pyo3(get)]
    event: &'static str,
    /// One line of text.
    #[pyo3(get)]
    text: String,
    /// The credential that acted or was refused.
    #[pyo3(get)]
    user: Option<String>,
    /// Its role.
    #[pyo3(get)]
    role: Option<&'static str>,
    /// The tenant the event is about.
    #[pyo3(get)]
    tenant: Option<String>,
    /// The key's id.
    #[pyo3(get)]
    key_id: Option<String>,
    /// The tenant the key belongs to: in a refusal, possibly another than `tenant`.
    #[pyo3(get)]
    key_tenant: Option<String>,
    /// The key's handle number, as `int(KeyHandle)`.
    #[pyo3(get)]
    key_handle: Option<u64>,
    /// The key's newest version when the event happened.
    #[pyo3(get)]
    key_version: Option<u32>,
    /// The operation used or attempted ("seal", "open", "sign", ...).
    #[pyo3(get)]
    operation: Option<&'static str>,
    /// Why it was refused ("wrong-pin", "usage-not-allowed", ...).
    #[pyo3(get)]
    reason: Option<&'static str>,
    mac: [u8; 32],
}

#[pymethods]
impl PyAuditRecord {
    /// The record's HMAC-SHA-256, chaining it to the record before (32 bytes).
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> ks.login_so("so-pin-1").create_user("audit", "audit-pin", auditor=True)
    /// >>> len(ks.login("audit", "audit-pin").audit()[0].mac)
    /// 32
    #[getter]
    fn mac<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.mac)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let text = PyString::new(py, &self.text).repr()?;
        Ok(format!("AuditRecord(seq={}, time={}, event='{}', text={text})", self.seq, self.time, self.event))
    }
}

impl PyAuditRecord {
    pub(crate) fn from_record(r: &AuditRecord) -> Self {
        let e = &r.event;
        let key = e.key();
        let (operation, reason) = match e {
            AuditEvent::KeyUsed { operation, .. } | AuditEvent::PolicyDenied { operation, .. } => {
                (Some(operation.name()), None)
            }
            AuditEvent::Refused { attempted, reason, .. } => (Some(attempted.name()), Some(reason.name())),
            _ => (None, None),
        };
        PyAuditRecord {
            seq: r.seq,
            time: r.time,
            event: e.kind(),
            text: e.to_string(),
            user: e.actor().map(|a| a.user.clone()),
            role: e.actor().map(|a| a.role.name()),
            tenant: e.tenant().or(key.map(|k| k.tenant.as_str())).map(str::to_owned),
            key_id: key.map(|k| k.key_id.clone()),
            key_tenant: key.map(|k| k.tenant.clone()),
            key_handle: key.map(|k| k.handle),
            key_version: key.map(|k| k.version),
            operation,
            reason,
            mac: r.mac,
        }
    }
}

/// What `Session.shred()` destroyed, as evidence that none of the
/// tenant's envelopes can be opened any more: the tenant, every destroyed
/// key as (key_id, newest version), and the audit records the shred wrote
/// (one "key-destroyed" per key, then "tenant-shredded"), in the order
/// written. The shred is one transaction: all of it happened, or none.
///
/// >>> import coffer
/// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
/// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme"); so.create_user("bob", "bob-pin-1", tenants=["acme"])
/// >>> ks.login("bob", "bob-pin-1").generate("records", "aes256")
/// KeyHandle(1, key_id='records', key_type='aes256')
/// >>> evidence = so.shred("acme")
/// >>> evidence.tenant, evidence.keys
/// ('acme', [('records', 1)])
/// >>> [(r.event, r.key_id) for r in evidence.audit]
/// [('key-destroyed', 'records'), ('tenant-shredded', None)]
#[pyclass(frozen, name = "ShredEvidence", module = "coffer")]
pub(crate) struct PyShredEvidence {
    /// The tenant shredded.
    #[pyo3(get)]
    tenant: String,
    /// Every destroyed key: (key_id, newest version).
    #[pyo3(get)]
    keys: Vec<(String, u32)>,
    audit: Vec<Py<PyAuditRecord>>,
}

impl PyShredEvidence {
    pub(crate) fn from_evidence(py: Python<'_>, e: &ShredEvidence) -> PyResult<Self> {
        let audit =
            e.audit.iter().map(|r| Py::new(py, PyAuditRecord::from_record(r))).collect::<PyResult<_>>()?;
        Ok(PyShredEvidence { tenant: e.tenant.clone(), keys: e.keys.clone(), audit })
    }
}

#[pymethods]
impl PyShredEvidence {
    /// The audit records the shred wrote, in order (AuditRecord).
    ///
    /// >>> import coffer
    /// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000)
    /// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme")
    /// >>> [r.text for r in so.shred("acme").audit]
    /// ['tenant acme shredded: 0 keys']
    #[getter]
    fn audit(&self, py: Python<'_>) -> Vec<Py<PyAuditRecord>> {
        self.audit.iter().map(|r| r.clone_ref(py)).collect()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let tenant = PyString::new(py, &self.tenant).repr()?;
        Ok(format!(
            "ShredEvidence(tenant={tenant}, keys={}, audit={} records)",
            self.keys.len(),
            self.audit.len()
        ))
    }
}
