//! Envelopes streamed by keystore key (`Session.seal_stream`,
//! `Session.open_stream`, `Session.open_to_scratch`): coffer-hsm's
//! `Hsm::seal_stream` / `Hsm::open_stream` between Python file objects
//! ([`crate::envelope::pyio`]) or into a [`ScratchFile`].
//!
//! The keystore's lock is held for the whole stream (the HSM is one
//! `&mut` value) while the file objects are called with the GIL taken per
//! chunk; [`PyKeystore::run`] refuses a file object that calls back into
//! the same keystore, and a `Session` freed meanwhile is logged out later
//! ([`PyKeystore::forget`]), so neither waits forever.

use std::io::{self, Seek, Write};
use std::path::Path;

use coffer_core::envelope::ScratchFile;
use coffer_core::rng::OsRng;
use coffer_hsm::SessionId;
use pyo3::prelude::*;

use super::PyKeystore;
use super::session::handle_of;
use crate::envelope::context;
use crate::envelope::pyio::{PyReader, PyWriter};
use crate::envelope::stream::{after_failed_open, start_position};
use crate::scratch::{PyScratchFile, os_error};

/// The exception a file object raised, if one ended the stream, else `e`.
fn kept_or(e: PyErr, reader: &mut PyReader, writer: Option<&mut PyWriter>) -> PyErr {
    reader.take_error().or_else(|| writer.and_then(PyWriter::take_error)).unwrap_or(e)
}

/// What both streams read first: the key's handle, the context, and the
/// two file objects (checked before any work).
struct Between<'py> {
    handle: coffer_hsm::Handle,
    context: context::ContextArg<'py>,
    reader: PyReader,
    writer: PyWriter,
}

impl<'py> Between<'py> {
    fn read(
        key: &Bound<'py, PyAny>,
        src: &Bound<'py, PyAny>,
        dst: &Bound<'py, PyAny>,
        context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Self> {
        Ok(Between {
            handle: handle_of(key)?.raw(),
            context: context::read(key.py(), context)?,
            reader: PyReader::new(src)?,
            writer: PyWriter::new(dst)?,
        })
    }
}

/// `Session.seal_stream`: `src` sealed into `dst` for the key's current version.
pub(crate) fn seal(
    ks: &PyKeystore,
    session: SessionId,
    key: &Bound<'_, PyAny>,
    src: &Bound<'_, PyAny>,
    dst: &Bound<'_, PyAny>,
    context: Option<&Bound<'_, PyAny>>,
) -> PyResult<u64> {
    let py = key.py();
    let Between { handle, context, mut reader, mut writer } = Between::read(key, src, dst, context)?;
    let ctx = context.build(py)?;
    let sealed =
        ks.run(py, |hsm| hsm.seal_stream(&mut OsRng, session, handle, &[], &ctx, &mut reader, &mut writer));
    sealed.map_err(|e| kept_or(e, &mut reader, Some(&mut writer)))
}

/// `Session.open_stream`: the envelope in `src` opened into `dst`, which
/// is cut back to where it started on failure when it is seekable.
pub(crate) fn open(
    ks: &PyKeystore,
    session: SessionId,
    key: &Bound<'_, PyAny>,
    src: &Bound<'_, PyAny>,
    dst: &Bound<'_, PyAny>,
    context: Option<&Bound<'_, PyAny>>,
) -> PyResult<u64> {
    let py = key.py();
    let Between { handle, context, mut reader, mut writer } = Between::read(key, src, dst, context)?;
    let ctx = context.build(py)?;
    let start = start_position(dst)?;
    let opened =
        ks.run(py, |hsm| hsm.open_stream(&mut OsRng, session, handle, &ctx, &mut reader, &mut writer));
    opened.map_err(|e| {
        let failed = kept_or(e, &mut reader, Some(&mut writer));
        after_failed_open(dst, start.as_ref(), failed)
    })
}

/// Writes into a scratch file, keeping the file system's error (coffer-hsm
/// reports only that one happened).
struct Recording<'a> {
    file: &'a mut ScratchFile,
    error: Option<io::Error>,
}

impl Recording<'_> {
    fn keep(&mut self, e: io::Error) -> io::Error {
        let said = io::Error::new(e.kind(), e.to_string());
        self.error = Some(e);
        said
    }
}

impl Write for Recording<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.file.write(data).map_err(|e| self.keep(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush().map_err(|e| self.keep(e))
    }
}

/// `Session.open_to_scratch`: the envelope in `src` opened into a new
/// scratch file in `dir`, shredded on any failure.
pub(crate) fn open_to_scratch(
    ks: &PyKeystore,
    session: SessionId,
    key: &Bound<'_, PyAny>,
    src: &Bound<'_, PyAny>,
    dir: &Path,
    context: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyScratchFile> {
    let py = key.py();
    let h = handle_of(key)?.raw();
    let ctx_arg = context::read(py, context)?;
    let ctx = ctx_arg.build(py)?;
    let mut reader = PyReader::new(src)?;
    let mut file = PyScratchFile::create_in(py, dir)?;
    let mut out = Recording { file: &mut file, error: None };
    let opened = ks.run(py, |hsm| hsm.open_stream(&mut OsRng, session, h, &ctx, &mut reader, &mut out));
    let written = out.error.take();
    let failed = match opened {
        Ok(_) => match py.detach(|| file.rewind()) {
            Ok(()) => return Ok(PyScratchFile::new(file)),
            Err(e) => os_error(&e),
        },
        Err(e) => match (reader.take_error(), written) {
            (Some(raised), _) => raised,
            (None, Some(io)) => os_error(&io),
            (None, None) => e,
        },
    };
    // Nothing opened is left behind: the partial file is overwritten and removed.
    match py.detach(|| file.shred()) {
        Ok(()) => Err(failed),
        Err(shredding) => {
            let shredding = crate::scratch::scratch_error(py, shredding);
            shredding.set_cause(py, Some(failed));
            Err(shredding)
        }
    }
}
