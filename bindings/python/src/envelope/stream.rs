//! `seal_stream` and `open_stream`: envelopes between Python binary file
//! objects in constant memory (one chunk), over `coffer_core::envelope`'s
//! streaming functions (core/src/envelope/io.rs) and the adapters of
//! [`super::pyio`].

use coffer_core::envelope::{self, DEFAULT_CHUNK_SIZE, Limits, MAX_RECIPIENTS, StreamError};
use coffer_core::rng::OsRng;
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;

use super::context;
use super::ops::items;
use super::pyio::{PyReader, PyWriter};
use super::recipient::{PyRecipient, PyUnlockKey, RecipientRef, UnlockKeyRef};
use crate::args;
use crate::errors::{self, Kind};

/// The Python exception for a failed stream: the file object's own
/// exception when it raised one (kept as it was), otherwise core's error.
fn stream_error(py: Python<'_>, e: StreamError, reader: &mut PyReader, writer: &mut PyWriter) -> PyErr {
    if let Some(raised) = reader.take_error().or_else(|| writer.take_error()) {
        return raised;
    }
    match e {
        StreamError::Envelope(e) => errors::from_core(py, e),
        StreamError::Io(e) => PyOSError::new_err(e.to_string()),
        other => errors::raise(py, Kind::Base, other.to_string()),
    }
}

/// Seals everything read from `src` (a binary file object: `read(n)`
/// returning bytes, b"" at the end) into `dst` (a binary file object with
/// `write`) as one envelope for 1 to 16 `recipients`, bound to `context`,
/// in chunks of `chunk_size` plaintext bytes (256 to 1,048,576). Memory
/// use is one chunk whatever the size. Returns the plaintext length. The
/// result opens with `open()` as well as `open_stream()`.
///
/// The GIL is released between chunks and taken for each `read`/`write`.
/// An exception raised by `src` or `dst` ends the stream and is re-raised
/// as it was; `dst` then holds an incomplete envelope. A text-mode file or
/// an object without `read`/`write` raises TypeError, a closed file
/// ValueError.
///
/// >>> import io, coffer
/// >>> kek = coffer.Kek.generate()
/// >>> sealed = io.BytesIO()
/// >>> coffer.seal_stream(io.BytesIO(b"log line\n" * 1000), sealed, [coffer.Recipient.kek("k", kek)])
/// 9000
/// >>> len(coffer.open(sealed.getvalue(), [coffer.UnlockKey.kek("k", kek)]))
/// 9000
#[pyfunction]
#[pyo3(signature = (src, dst, recipients, context = None, chunk_size = None))]
#[pyo3(text_signature = "(src, dst, recipients, context=None, chunk_size=65536)")]
pub(crate) fn seal_stream<'py>(
    src: &Bound<'py, PyAny>,
    dst: &Bound<'py, PyAny>,
    recipients: &Bound<'py, PyAny>,
    context: Option<&Bound<'py, PyAny>>,
    chunk_size: Option<&Bound<'py, PyAny>>,
) -> PyResult<u64> {
    let py = src.py();
    let recipients = items::<PyRecipient>(recipients, "recipients", "Recipient", MAX_RECIPIENTS)?;
    let ctx_arg = context::read(py, context)?;
    let ctx = ctx_arg.build(py)?;
    let chunk_size =
        chunk_size.map(|c| args::int_u32(c, "chunk_size")).transpose()?.unwrap_or(DEFAULT_CHUNK_SIZE);
    let mut reader = PyReader::new(src)?;
    let mut writer = PyWriter::new(dst)?;
    let refs: Vec<RecipientRef<'_>> = recipients.iter().map(|r| r.get().lend()).collect();
    let sealed = py.detach(|| {
        let to: Vec<_> = refs.iter().map(RecipientRef::to_core).collect();
        envelope::seal_stream(&mut OsRng, &to, &ctx, chunk_size, &mut reader, &mut writer)
    });
    sealed.map_err(|e| stream_error(py, e, &mut reader, &mut writer))
}

/// Where `dst` was before opening, when it can be cut back to it.
pub(crate) fn start_position(dst: &Bound<'_, PyAny>) -> PyResult<Option<Py<PyAny>>> {
    if !dst.hasattr("seekable")? || !dst.call_method0("seekable")?.is_truthy()? {
        return Ok(None);
    }
    Ok(Some(dst.call_method0("tell")?.unbind()))
}

/// Cuts `dst` back to `position`: `seek(position)` then `truncate()`.
fn cut_back(dst: &Bound<'_, PyAny>, position: &Py<PyAny>) -> PyResult<()> {
    dst.call_method1("seek", (position.bind(dst.py()),))?;
    dst.call_method0("truncate")?;
    if dst.hasattr("flush")? {
        dst.call_method0("flush")?;
    }
    Ok(())
}

/// The error of a failed open into `dst`, after cutting `dst` back to
/// `start` when it was seekable: `failed` itself, or, if cutting back
/// failed too, that error with `failed` as its cause (then `dst` must be
/// discarded).
pub(crate) fn after_failed_open(dst: &Bound<'_, PyAny>, start: Option<&Py<PyAny>>, failed: PyErr) -> PyErr {
    match start.map(|position| cut_back(dst, position)) {
        Some(Err(rollback)) => {
            rollback.set_cause(dst.py(), Some(failed));
            rollback
        }
        _ => failed,
    }
}

/// Opens an envelope read from `src` (a binary file object) into `dst` (a
/// binary file object), with any one of `keys`, checking it was sealed
/// with exactly this `context`. Memory use is one chunk whatever the size.
/// Returns the plaintext length. Every failure to open (no matching key,
/// another context, a modified, truncated or extended stream) raises
/// DecryptError; an exception raised by `src` or `dst` is re-raised as it
/// was.
///
/// Each chunk is written to `dst` only once it has authenticated, but a
/// stream that fails part-way has by then written its earlier chunks. So,
/// on any failure:
///
/// - if `dst.seekable()` is true (a regular file, `io.BytesIO`), `dst` is
///   cut back to where it was (`seek` to its starting position, then
///   `truncate()`), and nothing opened is left in it. (Bytes of a file
///   that reached the disk may remain in free blocks: open into memory or
///   an encrypted volume where that matters.) If cutting back fails
///   itself, that error is raised, with the failure to open as its cause:
///   then `dst` must be discarded.
/// - if `dst` is not seekable (a pipe, a socket, a custom writer), what
///   was written cannot be taken back: treat everything written to `dst`
///   as untrusted until `open_stream` returns, and discard it if it raises.
///
/// The GIL is released between chunks and taken for each `read`/`write`.
///
/// >>> import io, coffer
/// >>> kek = coffer.Kek.generate()
/// >>> envelope = coffer.seal(b"backup", [coffer.Recipient.kek("k", kek)], {"app": "x"})
/// >>> out = io.BytesIO()
/// >>> coffer.open_stream(io.BytesIO(envelope), out, [coffer.UnlockKey.kek("k", kek)], {"app": "x"})
/// 6
/// >>> out.getvalue()
/// b'backup'
/// >>> try:
/// ...     coffer.open_stream(io.BytesIO(envelope[:-1]), out, [coffer.UnlockKey.kek("k", kek)], {"app": "x"})
/// ... except coffer.DecryptError:
/// ...     print("refused; out still holds", out.getvalue())
/// refused; out still holds b'backup'
#[pyfunction]
#[pyo3(signature = (src, dst, keys, context = None))]
pub(crate) fn open_stream<'py>(
    src: &Bound<'py, PyAny>,
    dst: &Bound<'py, PyAny>,
    keys: &Bound<'py, PyAny>,
    context: Option<&Bound<'py, PyAny>>,
) -> PyResult<u64> {
    let py = src.py();
    let keys = items::<PyUnlockKey>(keys, "keys", "UnlockKey", usize::MAX)?;
    let ctx_arg = context::read(py, context)?;
    let ctx = ctx_arg.build(py)?;
    let mut reader = PyReader::new(src)?;
    let mut writer = PyWriter::new(dst)?;
    let start = start_position(dst)?;
    let refs: Vec<UnlockKeyRef<'_>> = keys.iter().map(|k| k.get().lend()).collect();
    let opened = py.detach(|| {
        let with: Vec<_> = refs.iter().map(UnlockKeyRef::to_core).collect();
        envelope::open_stream(&mut OsRng, &with, &ctx, &Limits::DEFAULT, &mut reader, &mut writer)
    });
    opened.map_err(|e| {
        let failed = stream_error(py, e, &mut reader, &mut writer);
        after_failed_open(dst, start.as_ref(), failed)
    })
}
