//! `seal`, `open` and `inspect`: whole envelopes in memory (FORMAT.md),
//! over `coffer_core::envelope`.

use coffer_core::aead::TAG_LEN;
use coffer_core::envelope::{self, HeaderRef, MAX_RECIPIENTS, RecipientKind, VERSION};
use coffer_core::rng::OsRng;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList};

use super::context;
use super::recipient::{PyRecipient, PyUnlockKey, RecipientRef, UnlockKeyRef};
use crate::args;
use crate::errors::{self, CoreResultExt};

/// Reads at most `max` items of class `T` from an iterable; more, none, or
/// an item of another class is refused before any work is done.
pub(crate) fn items<'py, T: pyo3::PyClass>(
    obj: &Bound<'py, PyAny>,
    what: &str,
    class: &str,
    max: usize,
) -> PyResult<Vec<Bound<'py, T>>> {
    let py = obj.py();
    let iter =
        obj.try_iter().map_err(|_| PyTypeError::new_err(format!("{what} must be a sequence of {class}")))?;
    let mut out = Vec::new();
    for item in iter {
        let item = item?;
        let Ok(one) = item.cast_into::<T>() else {
            return Err(PyTypeError::new_err(format!("{what} must hold only {class} objects")));
        };
        if out.len() >= max {
            return Err(errors::invalid_input(py, format!("too many {what}: the most is {max}")));
        }
        out.push(one);
    }
    if out.is_empty() {
        return Err(errors::invalid_input(py, format!("no {what} given: give at least one {class}")));
    }
    Ok(out)
}

/// Seals `plaintext` in a new envelope (format v1) for 1 to 16
/// `recipients`, bound to `context`: a mapping of str or bytes to str or
/// bytes (at most 16 entries) that must be given again, exactly, to open
/// it. Returns the envelope. The GIL is released while it runs.
///
/// >>> import coffer
/// >>> kek = coffer.Kek.generate()
/// >>> envelope = coffer.seal(b"quarterly numbers", [coffer.Recipient.kek("acme-kek", kek)],
/// ...                        context={"tenant": "acme"})
/// >>> envelope[:4]
/// b'CFRE'
#[pyfunction]
#[pyo3(signature = (plaintext, recipients, context = None))]
pub(crate) fn seal<'py>(
    plaintext: &Bound<'py, PyAny>,
    recipients: &Bound<'py, PyAny>,
    context: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let py = plaintext.py();
    let pt = args::bytes(plaintext, "plaintext", usize::MAX)?;
    let recipients = items::<PyRecipient>(recipients, "recipients", "Recipient", MAX_RECIPIENTS)?;
    let ctx_arg = context::read(py, context)?;
    let ctx = ctx_arg.build(py)?;
    let refs: Vec<RecipientRef<'_>> = recipients.iter().map(|r| r.get().lend()).collect();
    let pt = pt.as_slice();
    let sealed = py
        .detach(|| {
            let to: Vec<_> = refs.iter().map(RecipientRef::to_core).collect();
            envelope::seal(&mut OsRng, &to, &ctx, pt)
        })
        .or_raise(py)?;
    Ok(PyBytes::new(py, &sealed))
}

/// Opens `envelope` with any one of `keys`, checking it was sealed with
/// exactly this `context`. Returns the plaintext as a bytearray the caller
/// can wipe (`buf[:] = bytes(len(buf))`). Every failure (no matching key,
/// another context, a modified or truncated envelope) raises DecryptError
/// and releases no plaintext. The GIL is released while it runs.
///
/// >>> import coffer
/// >>> key = coffer.P256PrivateKey.generate()
/// >>> envelope = coffer.seal(b"reading=21.5", [coffer.Recipient.p256("dev", key.public_key())])
/// >>> bytes(coffer.open(envelope, [coffer.UnlockKey.p256("dev", key)]))
/// b'reading=21.5'
#[pyfunction]
#[pyo3(signature = (envelope, keys, context = None))]
pub(crate) fn open<'py>(
    envelope: &Bound<'py, PyAny>,
    keys: &Bound<'py, PyAny>,
    context: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyByteArray>> {
    let py = envelope.py();
    let sealed = args::bytes(envelope, "envelope", usize::MAX)?;
    let keys = items::<PyUnlockKey>(keys, "keys", "UnlockKey", usize::MAX)?;
    let ctx_arg = context::read(py, context)?;
    let ctx = ctx_arg.build(py)?;
    let refs: Vec<UnlockKeyRef<'_>> = keys.iter().map(|k| k.get().lend()).collect();
    let sealed = sealed.as_slice();
    let plaintext = py
        .detach(|| {
            let with: Vec<_> = refs.iter().map(UnlockKeyRef::to_core).collect();
            envelope::open(&mut OsRng, &with, &ctx, sealed)
        })
        .or_raise(py)?;
    let opened = PyByteArray::new(py, &plaintext);
    // Wiping and freeing the Rust copy (as large as the plaintext) needs no GIL.
    py.detach(move || drop(plaintext));
    Ok(opened)
}

fn kind_name(kind: RecipientKind) -> &'static str {
    match kind {
        RecipientKind::Aes256Kw => "kek",
        RecipientKind::RsaOaep => "rsa",
        RecipientKind::P256EcdhEs => "p256",
        _ => "unknown",
    }
}

/// The plaintext length a payload of `payload_len` bytes holds in chunks
/// of `chunk_size` (each sealed chunk is 16 bytes longer; at least one
/// chunk), or None when no plaintext gives that length.
fn plaintext_len(payload_len: usize, chunk_size: usize) -> Option<usize> {
    let sealed_chunk = chunk_size.checked_add(TAG_LEN)?;
    let chunks = payload_len.div_ceil(sealed_chunk).max(1);
    let tags = chunks.checked_mul(TAG_LEN)?;
    let pt = payload_len.checked_sub(tags)?;
    // The last chunk must hold 0 to chunk_size bytes and no chunk may be empty but the only one.
    let before_last = chunks.checked_sub(1)?.checked_mul(chunk_size)?;
    (pt >= before_last && (pt > before_last || chunks == 1)).then_some(pt)
}

/// Reads an envelope's header without any key: which recipients it is
/// sealed for, its context and its sizes. Nothing here is authenticated
/// until the envelope is opened. Bytes that are not an envelope header
/// raise MalformedError.
///
/// Returns a dict: `format_version`, `chunk_size`, `header_len`,
/// `payload_len`, `envelope_len`, `plaintext_len` (None when the payload
/// length is impossible), `context` (dict of bytes to bytes) and
/// `recipients` (list of dicts with `kind` "kek", "rsa" or "p256",
/// `key_id` as bytes, and `version`).
///
/// >>> import coffer
/// >>> kek = coffer.Kek.generate()
/// >>> info = coffer.inspect(coffer.seal(b"data", [coffer.Recipient.kek("k", kek, 2)], {"app": "x"}))
/// >>> info["recipients"], info["context"], info["plaintext_len"]
/// ([{'kind': 'kek', 'key_id': b'k', 'version': 2}], {b'app': b'x'}, 4)
#[pyfunction]
pub(crate) fn inspect<'py>(envelope: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    let py = envelope.py();
    let input = args::bytes(envelope, "envelope", usize::MAX)?;
    let bytes = input.as_slice();
    let header = HeaderRef::parse(bytes).or_raise(py)?;
    let header_len = header.as_bytes().len();
    let payload_len = bytes.len().saturating_sub(header_len);
    let chunk_size = usize::try_from(header.chunk_size()).unwrap_or(usize::MAX);

    let recipients = PyList::empty(py);
    for rec in header.recipients() {
        let entry = PyDict::new(py);
        entry.set_item("kind", kind_name(rec.kind))?;
        entry.set_item("key_id", PyBytes::new(py, rec.key_id))?;
        entry.set_item("version", rec.key_version)?;
        recipients.append(entry)?;
    }
    let info = PyDict::new(py);
    info.set_item("format_version", VERSION)?;
    info.set_item("chunk_size", header.chunk_size())?;
    info.set_item("header_len", header_len)?;
    info.set_item("payload_len", payload_len)?;
    info.set_item("envelope_len", bytes.len())?;
    info.set_item("plaintext_len", plaintext_len(payload_len, chunk_size))?;
    info.set_item("context", context::to_dict(py, header.context())?)?;
    info.set_item("recipients", recipients)?;
    Ok(info)
}
