//! `std::io::Read` and `std::io::Write` over Python binary file objects,
//! for the streaming functions: each call attaches to the interpreter for
//! one `read(n)` or `write(b)` and detaches again, so the GIL is held per
//! chunk, not for the whole stream.
//!
//! A Python exception raised by the file object (or a signal such as
//! Ctrl-C seen between chunks) is kept, unchanged, and core is given an
//! `io::Error` that ends the stream; the caller re-raises the kept
//! exception with [`PyReader::take_error`] / [`PyWriter::take_error`].

use std::io::{self, Read, Write};

use coffer_core::SecretBytes;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PySlice};

/// What core is told when the file object raised: the real error is kept.
fn kept() -> io::Error {
    io::Error::other("the Python file object raised an exception")
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".to_owned())
}

/// Checks that `obj` looks like an open binary file with method `method`:
/// a text file (`io.TextIOBase`) or an object without the method raises
/// TypeError, a closed one ValueError, before any work is done.
pub(crate) fn check_binary_file(obj: &Bound<'_, PyAny>, what: &str, method: &str) -> PyResult<()> {
    let py = obj.py();
    let text_io = py.import("io")?.getattr("TextIOBase")?;
    if obj.is_instance(&text_io)? {
        return Err(PyTypeError::new_err(format!(
            "{what} is a text file: open it in binary mode (\"rb\" or \"wb\")"
        )));
    }
    if !obj.hasattr(method)? {
        return Err(PyTypeError::new_err(format!(
            "{what} must be a binary file object with a {method}() method, not {}",
            type_name(obj)
        )));
    }
    if obj.hasattr("closed")? && obj.getattr("closed")?.is_truthy()? {
        return Err(PyValueError::new_err(format!("{what} is closed")));
    }
    Ok(())
}

/// Reads through `src.read(n)`.
pub(crate) struct PyReader {
    src: Py<PyAny>,
    error: Option<PyErr>,
}

impl PyReader {
    pub(crate) fn new(src: &Bound<'_, PyAny>) -> PyResult<Self> {
        check_binary_file(src, "src", "read")?;
        Ok(Self { src: src.clone().unbind(), error: None })
    }

    /// The exception the file object raised, if one ended the stream.
    pub(crate) fn take_error(&mut self) -> Option<PyErr> {
        self.error.take()
    }

    fn read_with(&self, py: Python<'_>, buf: &mut [u8]) -> PyResult<usize> {
        py.check_signals()?;
        let got = self.src.bind(py).call_method1("read", (buf.len(),))?;
        let n = if let Ok(b) = got.cast::<PyBytes>() {
            copy_into(buf, b.as_bytes())?
        } else if let Ok(b) = got.cast::<PyByteArray>() {
            if b.len() > buf.len() {
                return Err(too_much(buf.len(), b.len()));
            }
            copy_into(buf, &SecretBytes::from(b.to_vec()))?
        } else if got.is_none() {
            return Err(PyValueError::new_err(
                "src.read() returned None (a non-blocking file with no data): give a blocking file",
            ));
        } else {
            return Err(PyTypeError::new_err(format!(
                "src.read() must return bytes, not {} (is src a text file?)",
                type_name(&got)
            )));
        };
        Ok(n)
    }
}

fn too_much(asked: usize, got: usize) -> PyErr {
    PyValueError::new_err(format!("src.read({asked}) returned {got} bytes, more than asked for"))
}

fn copy_into(buf: &mut [u8], data: &[u8]) -> PyResult<usize> {
    let Some(dst) = buf.get_mut(..data.len()) else {
        return Err(too_much(buf.len(), data.len()));
    };
    dst.copy_from_slice(data);
    Ok(data.len())
}

impl Read for PyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.error.is_some() {
            return Err(kept());
        }
        Python::attach(|py| self.read_with(py, buf)).map_err(|e| {
            self.error = Some(e);
            kept()
        })
    }
}

/// Writes through `dst.write(b)`, handing it a `bytearray` that is zeroed
/// once `write` returns (the io contract lets the caller reuse the buffer
/// after the call, so a well-behaved file has copied it by then).
pub(crate) struct PyWriter {
    dst: Py<PyAny>,
    /// `dst` is an `io.RawIOBase`, whose `write` returns None when it would block.
    raw: bool,
    error: Option<PyErr>,
}

impl PyWriter {
    pub(crate) fn new(dst: &Bound<'_, PyAny>) -> PyResult<Self> {
        check_binary_file(dst, "dst", "write")?;
        let raw = dst.is_instance(&dst.py().import("io")?.getattr("RawIOBase")?)?;
        Ok(Self { dst: dst.clone().unbind(), raw, error: None })
    }

    /// The exception the file object raised, if one ended the stream.
    pub(crate) fn take_error(&mut self) -> Option<PyErr> {
        self.error.take()
    }

    fn write_with(&self, py: Python<'_>, data: &[u8]) -> PyResult<usize> {
        py.check_signals()?;
        let chunk = PyByteArray::new(py, data);
        let written = self.dst.bind(py).call_method1("write", (&chunk,));
        let zeros = PyBytes::new_with(py, data.len(), |b| {
            b.fill(0);
            Ok(())
        })?;
        chunk.set_item(PySlice::full(py), zeros)?;
        let written = written?;
        if written.is_none() {
            if self.raw {
                return Err(PyValueError::new_err(
                    "dst.write() returned None (a non-blocking raw file that would block): give a blocking file",
                ));
            }
            // A writer that returns no count (many file-like classes): it took all.
            return Ok(data.len());
        }
        let n: usize = written.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "dst.write() must return an int or None, not {}",
                type_name(&written)
            ))
        })?;
        if (n == 0 && !data.is_empty()) || n > data.len() {
            return Err(PyValueError::new_err(format!(
                "dst.write() of {} bytes reported {n} written",
                data.len()
            )));
        }
        Ok(n)
    }

    fn flush_with(&self, py: Python<'_>) -> PyResult<()> {
        let dst = self.dst.bind(py);
        if dst.hasattr("flush")? {
            dst.call_method0("flush")?;
        }
        Ok(())
    }
}

impl Write for PyWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.error.is_some() {
            return Err(kept());
        }
        Python::attach(|py| self.write_with(py, data)).map_err(|e| {
            self.error = Some(e);
            kept()
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.error.is_some() {
            return Err(kept());
        }
        Python::attach(|py| self.flush_with(py)).map_err(|e| {
            self.error = Some(e);
            kept()
        })
    }
}
