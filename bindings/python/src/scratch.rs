//! `ScratchFile` and `open_to_scratch`: decrypted data that must be a file
//! for a while (a mailer's attachment, a legacy client's credentials
//! file), over `coffer_core::envelope::ScratchFile` (core/src/envelope/
//! scratch.rs): a random name in the caller's directory, created new with
//! mode 0600, overwritten with zeros, synced and removed by `shred()`, by
//! the end of a `with` block, or when the object is freed.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use coffer_core::envelope::{self, Limits, ScratchFile, StreamError};
use coffer_core::rng::OsRng;
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyTuple};
use zeroize::Zeroizing;

use crate::args;
use crate::envelope::context;
use crate::envelope::ops::items;
use crate::envelope::pyio::PyReader;
use crate::envelope::{PyUnlockKey, UnlockKeyRef};

/// Largest `read(n)` served in one call (a whole-file read is not capped).
const MAX_READ_CHUNK: usize = 1 << 30;

/// A temporary plaintext file that is overwritten with zeros, synced and
/// removed by `shred()`, at the end of a `with` block, or (best effort,
/// errors ignored) when the object is freed.
///
/// It is created by `ScratchFile.create(dir)`, `coffer.open_to_scratch()`
/// or `Session.open_to_scratch()` with a random name (".coffer-scratch-"
/// and 32 hex digits) in `dir`, as a new file (an existing file or
/// symbolic link of that name is never opened or followed), readable and
/// writable by its owner only (mode 0600 on Unix). It reads, writes and
/// seeks as a binary file (`read` returns a bytearray the caller can
/// wipe); `path` names it for another program.
///
/// Use a directory only its owner can write to. Overwriting defeats
/// reading the old bytes through the file system, not copies that a
/// copy-on-write file system, a journal or an SSD keeps elsewhere: put
/// scratch files on encrypted storage when that matters.
///
/// >>> import coffer, tempfile
/// >>> with coffer.ScratchFile.create(tempfile.mkdtemp()) as scratch:
/// ...     scratch.write(b"attachment body")
/// ...     scratch.seek(0)
/// ...     bytes(scratch.read())
/// 15
/// 0
/// b'attachment body'
/// >>> scratch.closed
/// True
#[pyclass(frozen, name = "ScratchFile", module = "coffer")]
pub(crate) struct PyScratchFile {
    /// `None` once shredded or removed.
    file: Mutex<Option<ScratchFile>>,
    path: PathBuf,
}

/// A file-system error as Python's OSError (with its errno where known).
pub(crate) fn os_error(e: &io::Error) -> PyErr {
    match e.raw_os_error() {
        Some(code) => PyOSError::new_err((code, e.to_string())),
        None => PyOSError::new_err(e.to_string()),
    }
}

/// Core's scratch-file error as Python's: the file system's as OSError.
pub(crate) fn scratch_error(py: Python<'_>, e: StreamError) -> PyErr {
    match e {
        StreamError::Io(e) => os_error(&e),
        StreamError::Envelope(e) => crate::errors::from_core(py, e),
        other => crate::errors::raise(py, crate::errors::Kind::Base, other.to_string()),
    }
}

fn closed() -> PyErr {
    PyValueError::new_err("the scratch file was shredded or removed")
}

impl PyScratchFile {
    pub(crate) fn new(file: ScratchFile) -> Self {
        let path = file.path().to_path_buf();
        PyScratchFile { file: Mutex::new(Some(file)), path }
    }

    /// Creates a scratch file in `dir`, for a caller that fills it itself.
    pub(crate) fn create_in(py: Python<'_>, dir: &Path) -> PyResult<ScratchFile> {
        py.detach(|| ScratchFile::create_in(dir)).map_err(|e| scratch_error(py, e))
    }

    /// Runs `op` on the open file with the GIL released.
    fn with_file<T: Send>(
        &self,
        py: Python<'_>,
        op: impl FnOnce(&mut ScratchFile) -> io::Result<T> + Send,
    ) -> PyResult<T> {
        py.detach(|| {
            let mut guard = self.file.lock().unwrap_or_else(PoisonError::into_inner);
            guard.as_mut().map(|f| op(f).map_err(|e| os_error(&e)))
        })
        .unwrap_or_else(|| Err(closed()))
    }

    /// Takes the file out (it is closed from then on) and ends it with `op`.
    fn finish(
        &self,
        py: Python<'_>,
        op: impl FnOnce(ScratchFile) -> Result<(), StreamError> + Send,
    ) -> PyResult<()> {
        let taken = self.file.lock().unwrap_or_else(PoisonError::into_inner).take();
        match taken {
            None => Ok(()),
            Some(file) => py.detach(|| op(file)).map_err(|e| scratch_error(py, e)),
        }
    }
}

#[pymethods]
impl PyScratchFile {
    /// Creates a new, empty scratch file in the directory `dir` (which
    /// must exist), open for reading and writing.
    ///
    /// >>> import coffer, os, tempfile
    /// >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
    /// >>> os.path.basename(scratch.path).startswith(".coffer-scratch-")
    /// True
    /// >>> oct(os.stat(scratch.path).st_mode & 0o777)
    /// '0o600'
    /// >>> scratch.shred()
    #[staticmethod]
    fn create(py: Python<'_>, dir: PathBuf) -> PyResult<Self> {
        Ok(PyScratchFile::new(Self::create_in(py, &dir)?))
    }

    /// Where the file is (a str), for handing it to another program. It
    /// names nothing once the file is shredded.
    ///
    /// >>> import coffer, tempfile
    /// >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
    /// >>> open(scratch.path, "rb").read()
    /// b''
    /// >>> scratch.shred()
    #[getter]
    fn path(&self) -> String {
        self.path.display().to_string()
    }

    /// True once the file is shredded or removed.
    ///
    /// >>> import coffer, tempfile
    /// >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
    /// >>> scratch.closed
    /// False
    /// >>> scratch.shred()
    /// >>> scratch.closed
    /// True
    #[getter]
    fn closed(&self) -> bool {
        self.file.lock().unwrap_or_else(PoisonError::into_inner).is_none()
    }

    /// Reads up to `size` bytes (all that is left if `size` is negative or
    /// None) from the current position, as a bytearray.
    ///
    /// >>> import coffer, tempfile
    /// >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
    /// >>> scratch.write(b"line 1\nline 2\n")
    /// 14
    /// >>> scratch.seek(0)
    /// 0
    /// >>> scratch.read(6), scratch.read()
    /// (bytearray(b'line 1'), bytearray(b'\nline 2\n'))
    /// >>> scratch.shred()
    #[pyo3(signature = (size = -1))]
    fn read<'py>(&self, py: Python<'py>, size: Option<i64>) -> PyResult<Bound<'py, PyByteArray>> {
        let data = self.with_file(py, |f| {
            let mut data = Zeroizing::new(Vec::new());
            match size.and_then(|s| usize::try_from(s).ok()) {
                Some(n) => {
                    let n = n.min(MAX_READ_CHUNK);
                    Read::by_ref(f).take(n as u64).read_to_end(&mut data)?
                }
                None => f.read_to_end(&mut data)?,
            };
            Ok(data)
        })?;
        Ok(PyByteArray::new(py, &data))
    }

    /// Writes all of `data` (bytes-like) at the current position; returns
    /// its length.
    ///
    /// >>> import coffer, tempfile
    /// >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
    /// >>> scratch.write(bytearray(b"secret"))
    /// 6
    /// >>> scratch.shred()
    fn write(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<usize> {
        let data = args::bytes(data, "data", usize::MAX)?;
        let data = data.as_slice();
        self.with_file(py, |f| f.write_all(data))?;
        Ok(data.len())
    }

    /// Moves to `offset` from the start (`whence` 0), the current position
    /// (1) or the end (2); returns the new position.
    ///
    /// >>> import coffer, tempfile
    /// >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
    /// >>> scratch.write(b"0123456789")
    /// 10
    /// >>> scratch.seek(-3, 2), bytes(scratch.read())
    /// (7, b'789')
    /// >>> scratch.shred()
    #[pyo3(signature = (offset, whence = 0))]
    fn seek(&self, py: Python<'_>, offset: i64, whence: i32) -> PyResult<u64> {
        let to = match whence {
            0 => SeekFrom::Start(
                u64::try_from(offset)
                    .map_err(|_| PyValueError::new_err(format!("negative seek position {offset}")))?,
            ),
            1 => SeekFrom::Current(offset),
            2 => SeekFrom::End(offset),
            other => return Err(PyValueError::new_err(format!("whence must be 0, 1 or 2, not {other}"))),
        };
        self.with_file(py, |f| f.seek(to))
    }

    /// The current position.
    ///
    /// >>> import coffer, tempfile
    /// >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
    /// >>> scratch.write(b"abc")
    /// 3
    /// >>> scratch.tell()
    /// 3
    /// >>> scratch.shred()
    fn tell(&self, py: Python<'_>) -> PyResult<u64> {
        self.with_file(py, |f| f.stream_position())
    }

    /// Cuts the file to `size` bytes (default: the current position);
    /// returns the new size. The position does not move.
    ///
    /// >>> import coffer, tempfile
    /// >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
    /// >>> scratch.write(b"0123456789")
    /// 10
    /// >>> scratch.truncate(4)
    /// 4
    /// >>> scratch.seek(0), bytes(scratch.read())
    /// (0, b'0123')
    /// >>> scratch.shred()
    #[pyo3(signature = (size = None))]
    fn truncate(&self, py: Python<'_>, size: Option<u64>) -> PyResult<u64> {
        self.with_file(py, |f| {
            let size = match size {
                Some(s) => s,
                None => f.stream_position()?,
            };
            f.file().set_len(size)?;
            Ok(size)
        })
    }

    /// Does nothing more than check the file is open: writes go straight
    /// to the file (no buffer in between).
    ///
    /// >>> import coffer, tempfile
    /// >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
    /// >>> scratch.flush()
    /// >>> scratch.shred()
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        self.with_file(py, |_| Ok(()))
    }

    /// The file descriptor (for `os.fstat`, or to hand the open file on).
    ///
    /// >>> import coffer, os, tempfile
    /// >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
    /// >>> os.fstat(scratch.fileno()).st_size
    /// 0
    /// >>> scratch.shred()
    fn fileno(&self, py: Python<'_>) -> PyResult<i64> {
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            self.with_file(py, |f| Ok(i64::from(f.file().as_raw_fd())))
        }
        #[cfg(not(unix))]
        {
            let _ = py;
            Err(pyo3::exceptions::PyOSError::new_err("fileno() is available on Unix only"))
        }
    }

    /// True: a scratch file is readable.
    ///
    /// >>> import coffer, tempfile
    /// >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
    /// >>> scratch.readable()
    /// True
    /// >>> scratch.shred()
    fn readable(&self) -> bool {
        true
    }

    /// True: a scratch file is writable.
    ///
    /// >>> import coffer, tempfile
    /// >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
    /// >>> scratch.writable()
    /// True
    /// >>> scratch.shred()
    fn writable(&self) -> bool {
        true
    }

    /// True: a scratch file is seekable.
    ///
    /// >>> import coffer, tempfile
    /// >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
    /// >>> scratch.seekable()
    /// True
    /// >>> scratch.shred()
    fn seekable(&self) -> bool {
        true
    }

    /// Overwrites the whole file with zeros, syncs it to disk and removes
    /// it; the object is closed from then on. The file is removed even
    /// when overwriting fails; then OSError is raised. Calling it again
    /// does nothing.
    ///
    /// >>> import coffer, os, tempfile
    /// >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
    /// >>> scratch.write(b"db password")
    /// 11
    /// >>> scratch.shred()
    /// >>> os.path.exists(scratch.path), scratch.closed
    /// (False, True)
    fn shred(&self, py: Python<'_>) -> PyResult<()> {
        self.finish(py, ScratchFile::shred)
    }

    /// Truncates the file to nothing and removes it without overwriting
    /// it first: for when its plaintext has been handed on to where it was
    /// going anyway. The object is closed from then on.
    ///
    /// >>> import coffer, os, tempfile
    /// >>> scratch = coffer.ScratchFile.create(tempfile.mkdtemp())
    /// >>> scratch.remove()
    /// >>> os.path.exists(scratch.path)
    /// False
    fn remove(&self, py: Python<'_>) -> PyResult<()> {
        self.finish(py, ScratchFile::remove)
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    // Shreds the file at the end of a `with` block, however it ends.
    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<()> {
        self.shred(py)
    }

    fn __repr__(&self) -> String {
        let state = if self.closed() { ", shredded" } else { "" };
        format!("ScratchFile({}{state})", self.path.display())
    }
}

/// Opens an envelope read from `src` (a binary file object) into a new
/// ScratchFile in the directory `dir`, with any one of `keys`, checking it
/// was sealed with exactly this `context`. Returns the ScratchFile, at
/// position 0: read it, then `shred()` it (or use it in a `with` block).
/// Memory use is one chunk whatever the size.
///
/// Every failure to open raises DecryptError, as open_stream() does, and
/// leaves no file behind: what was written of it is overwritten and
/// removed first. An exception raised by `src` is re-raised as it was; a
/// file-system error is an OSError.
///
/// >>> import coffer, io, tempfile
/// >>> kek = coffer.Kek.generate()
/// >>> envelope = coffer.seal(b"revenue,42", [coffer.Recipient.kek("reports", kek)], {"report": "q3"})
/// >>> with coffer.open_to_scratch(io.BytesIO(envelope), [coffer.UnlockKey.kek("reports", kek)], tempfile.mkdtemp(), {"report": "q3"}) as plain:
/// ...     bytes(plain.read())
/// b'revenue,42'
#[pyfunction]
#[pyo3(signature = (src, keys, dir, context = None))]
pub(crate) fn open_to_scratch<'py>(
    src: &Bound<'py, PyAny>,
    keys: &Bound<'py, PyAny>,
    dir: PathBuf,
    context: Option<&Bound<'py, PyAny>>,
) -> PyResult<PyScratchFile> {
    let py = src.py();
    let keys = items::<PyUnlockKey>(keys, "keys", "UnlockKey", usize::MAX)?;
    let ctx_arg = context::read(py, context)?;
    let ctx = ctx_arg.build(py)?;
    let mut reader = PyReader::new(src)?;
    let refs: Vec<UnlockKeyRef<'_>> = keys.iter().map(|k| k.get().lend()).collect();
    let opened = py.detach(|| {
        let with: Vec<_> = refs.iter().map(UnlockKeyRef::to_core).collect();
        envelope::open_stream_to_scratch(&mut OsRng, &with, &ctx, &Limits::DEFAULT, &mut reader, &dir)
    });
    match opened {
        Ok(file) => Ok(PyScratchFile::new(file)),
        Err(e) => Err(reader.take_error().unwrap_or_else(|| scratch_error(py, e))),
    }
}
