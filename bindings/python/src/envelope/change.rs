//! `rewrap`, `add_recipient` and `remove_recipient`: header changes that
//! leave the payload bytes as they are, over `coffer_core::envelope`'s
//! functions of the same names (core/src/envelope/ops.rs).

use coffer_core::envelope::{self, RecipientKind};
use coffer_core::rng::OsRng;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use super::recipient::{PyRecipient, PyUnlockKey, key_id, version};
use crate::args;
use crate::errors::{self, CoreResultExt};

/// The recipient kind named as `inspect()` and `Recipient.kind` name it.
fn kind_arg(obj: &Bound<'_, PyAny>) -> PyResult<RecipientKind> {
    let Ok(name) = obj.cast::<PyString>() else {
        return Err(PyTypeError::new_err("kind must be a str: \"kek\", \"rsa\" or \"p256\""));
    };
    match name.to_cow()?.as_ref() {
        "kek" => Ok(RecipientKind::Aes256Kw),
        "rsa" => Ok(RecipientKind::RsaOaep),
        "p256" => Ok(RecipientKind::P256EcdhEs),
        other => Err(errors::invalid_input(
            obj.py(),
            format!("kind must be \"kek\", \"rsa\" or \"p256\", not {other:?}"),
        )),
    }
}

/// Replaces the recipient(s) `old_key` opens with `new` (typically the
/// next version of the same KEK) and returns the new envelope. Only the
/// header changes: the payload is neither decrypted nor rewritten, and the
/// context stays as it was. `old_key` that does not open the envelope
/// raises DecryptError; `new` that is already another recipient (same
/// kind, key id and version) raises InvalidInput. The GIL is released
/// while it runs.
///
/// >>> import coffer
/// >>> v1, v2 = coffer.Kek.generate(), coffer.Kek.generate()
/// >>> envelope = coffer.seal(b"data", [coffer.Recipient.kek("k", v1, version=1)])
/// >>> rewrapped = coffer.rewrap(envelope, coffer.UnlockKey.kek("k", v1, 1), coffer.Recipient.kek("k", v2, 2))
/// >>> bytes(coffer.open(rewrapped, [coffer.UnlockKey.kek("k", v2, 2)]))
/// b'data'
/// >>> payload_len = coffer.inspect(envelope)["payload_len"]
/// >>> rewrapped[-payload_len:] == envelope[-payload_len:]
/// True
#[pyfunction]
#[pyo3(signature = (envelope, old_key, new))]
pub(crate) fn rewrap<'py>(
    envelope: &Bound<'py, PyAny>,
    old_key: &Bound<'py, PyUnlockKey>,
    new: &Bound<'py, PyRecipient>,
) -> PyResult<Bound<'py, PyBytes>> {
    let py = envelope.py();
    let sealed = args::bytes(envelope, "envelope", usize::MAX)?;
    let (old, new) = (old_key.get().lend(), new.get().lend());
    let sealed = sealed.as_slice();
    let changed =
        py.detach(|| envelope::rewrap(&mut OsRng, sealed, &old.to_core(), &new.to_core())).or_raise(py)?;
    Ok(PyBytes::new(py, &changed))
}

/// Adds `new` as a recipient, unlocking the envelope's data key with
/// `key`, and returns the new envelope. Only the header changes. `key`
/// that does not open the envelope raises DecryptError; `new` that is
/// already a recipient (same kind, key id and version), or a 17th
/// recipient, raises InvalidInput. The GIL is released while it runs.
///
/// >>> import coffer
/// >>> kek, escrow = coffer.Kek.generate(), coffer.P256PrivateKey.generate()
/// >>> envelope = coffer.seal(b"data", [coffer.Recipient.kek("k", kek)])
/// >>> envelope = coffer.add_recipient(envelope, coffer.UnlockKey.kek("k", kek),
/// ...                                 coffer.Recipient.p256("escrow", escrow.public_key()))
/// >>> bytes(coffer.open(envelope, [coffer.UnlockKey.p256("escrow", escrow)]))
/// b'data'
#[pyfunction]
#[pyo3(signature = (envelope, key, new))]
pub(crate) fn add_recipient<'py>(
    envelope: &Bound<'py, PyAny>,
    key: &Bound<'py, PyUnlockKey>,
    new: &Bound<'py, PyRecipient>,
) -> PyResult<Bound<'py, PyBytes>> {
    let py = envelope.py();
    let sealed = args::bytes(envelope, "envelope", usize::MAX)?;
    let (key, new) = (key.get().lend(), new.get().lend());
    let sealed = sealed.as_slice();
    let changed = py
        .detach(|| envelope::add_recipient(&mut OsRng, sealed, &key.to_core(), &new.to_core()))
        .or_raise(py)?;
    Ok(PyBytes::new(py, &changed))
}

/// Removes the recipient of this `kind` ("kek", "rsa" or "p256"),
/// `key_id` and `version` and returns the new envelope; no key is needed.
/// Only the header changes. No such recipient, or removing the only one,
/// raises InvalidInput. The data key is not changed: whoever held the
/// removed key and kept a copy of the old envelope can still open that copy.
///
/// >>> import coffer
/// >>> a, b = coffer.Kek.generate(), coffer.Kek.generate()
/// >>> envelope = coffer.seal(b"data", [coffer.Recipient.kek("a", a), coffer.Recipient.kek("b", b)])
/// >>> envelope = coffer.remove_recipient(envelope, "kek", "a")
/// >>> [r["key_id"] for r in coffer.inspect(envelope)["recipients"]]
/// [b'b']
#[pyfunction]
#[pyo3(signature = (envelope, kind, key_id, version = None))]
#[pyo3(text_signature = "(envelope, kind, key_id, version=1)")]
pub(crate) fn remove_recipient<'py>(
    envelope: &Bound<'py, PyAny>,
    kind: &Bound<'py, PyAny>,
    key_id: &Bound<'py, PyAny>,
    version: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let py = envelope.py();
    let sealed = args::bytes(envelope, "envelope", usize::MAX)?;
    let kind = kind_arg(kind)?;
    let id = self::key_id(key_id)?;
    let version = self::version(version)?;
    let sealed = sealed.as_slice();
    let changed = py.detach(|| envelope::remove_recipient(sealed, kind, &id, version)).or_raise(py)?;
    Ok(PyBytes::new(py, &changed))
}
