//! Reading Python arguments: bytes-like objects, `str | bytes`, and
//! integers in range, each checked against its limit before it is copied.
//!
//! Wrong types raise `TypeError`; values out of range raise `InvalidInput`.
//! Everything that leaves the GIL-held part of a call is owned by Rust or
//! borrowed from an immutable `bytes` object, so no Python object is
//! touched while the GIL is released.

use std::borrow::Cow;

use coffer_core::SecretBytes;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyInt, PyMemoryView, PySlice, PyString};

use crate::errors;

/// The bytes of an argument: borrowed from an immutable `bytes` object, or
/// copied out of a mutable one (`bytearray`, `memoryview`) into a buffer
/// that is wiped when dropped.
pub(crate) enum Input<'py> {
    /// A `bytes` object; immutable, so it can be read with the GIL released.
    Shared(Bound<'py, PyBytes>),
    /// A copy of a `bytearray`, `memoryview` or `str`, wiped on drop.
    Copied(SecretBytes),
}

impl Input<'_> {
    /// The bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            Input::Shared(b) => b.as_bytes(),
            Input::Copied(s) => s.as_slice(),
        }
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".to_owned())
}

fn too_long(py: Python<'_>, what: &str, len: usize, max: usize) -> PyErr {
    errors::invalid_input(py, format!("{what} is {len} bytes; the most coffer accepts is {max}"))
}

/// A bytes-like argument (`bytes`, `bytearray` or `memoryview`) of at
/// most `max` bytes; longer raises `InvalidInput`. `str` is refused with
/// `TypeError`, as `bytes()` does without an encoding.
pub(crate) fn bytes<'py>(obj: &Bound<'py, PyAny>, what: &str, max: usize) -> PyResult<Input<'py>> {
    bytes_up_to(obj, what, max)?.map_err(|len| too_long(obj.py(), what, len, max))
}

/// A bytes-like argument, or `Err(len)` (nothing copied) when it is longer
/// than `max` bytes, for callers whose answer to that is not `InvalidInput`.
pub(crate) fn bytes_up_to<'py>(
    obj: &Bound<'py, PyAny>,
    what: &str,
    max: usize,
) -> PyResult<Result<Input<'py>, usize>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        let len = b.as_bytes().len();
        return Ok(if len > max { Err(len) } else { Ok(Input::Shared(b.clone())) });
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        let len = b.len();
        return Ok(if len > max { Err(len) } else { Ok(Input::Copied(SecretBytes::from(b.to_vec()))) });
    }
    if obj.cast::<PyMemoryView>().is_ok() {
        let len: usize = obj.getattr("nbytes")?.extract()?;
        if len > max {
            return Ok(Err(len));
        }
        return Ok(Ok(Input::Copied(copy_of_memoryview(obj, len)?)));
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be bytes, bytearray or memoryview, not {}",
        type_name(obj)
    )))
}

/// The bytes a memoryview shows, through a temporary `bytearray` (the
/// limited API of Python 3.9 has no buffer protocol) that is zeroed once
/// copied, so no copy but the wiped one is left behind.
fn copy_of_memoryview(view: &Bound<'_, PyAny>, len: usize) -> PyResult<SecretBytes> {
    let py = view.py();
    let temporary = PyByteArray::from(view)?;
    let copy = SecretBytes::from(temporary.to_vec());
    let zeros = PyBytes::new_with(py, len, |b| {
        b.fill(0);
        Ok(())
    })?;
    temporary.set_item(PySlice::full(py), zeros)?;
    Ok(copy)
}

/// A `str` (encoded as UTF-8) or bytes-like argument of at most `max` bytes.
pub(crate) fn text_or_bytes<'py>(obj: &Bound<'py, PyAny>, what: &str, max: usize) -> PyResult<Input<'py>> {
    if let Ok(s) = obj.cast::<PyString>() {
        // Under the abi3 API of Python 3.9 the UTF-8 form is always a new
        // String: it is moved into the wiped buffer, not copied again.
        let utf8 = match s.to_cow()? {
            Cow::Borrowed(text) => text.as_bytes().to_vec(),
            Cow::Owned(text) => text.into_bytes(),
        };
        let utf8 = SecretBytes::from(utf8);
        if utf8.len() > max {
            return Err(too_long(obj.py(), what, utf8.len(), max));
        }
        return Ok(Input::Copied(utf8));
    }
    if obj.cast::<PyBytes>().is_ok()
        || obj.cast::<PyByteArray>().is_ok()
        || obj.cast::<PyMemoryView>().is_ok()
    {
        return bytes(obj, what, max);
    }
    Err(PyTypeError::new_err(format!("{what} must be str or bytes, not {}", type_name(obj))))
}

/// An `int` argument that must fit a `u32`.
pub(crate) fn int_u32(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<u32> {
    let int = int(obj, what)?;
    int.extract::<u32>().map_err(|_| {
        errors::invalid_input(obj.py(), format!("{what} must be an integer from 0 to {}", u32::MAX))
    })
}

/// An `int` argument that must fit a `u64`.
pub(crate) fn int_u64(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<u64> {
    let int = int(obj, what)?;
    int.extract::<u64>().map_err(|_| {
        errors::invalid_input(obj.py(), format!("{what} must be an integer from 0 to {}", u64::MAX))
    })
}

fn int<'a, 'py>(obj: &'a Bound<'py, PyAny>, what: &str) -> PyResult<&'a Bound<'py, PyInt>> {
    obj.cast::<PyInt>()
        .map_err(|_| PyTypeError::new_err(format!("{what} must be an int, not {}", type_name(obj))))
}
