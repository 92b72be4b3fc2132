//! The encryption context argument: a mapping of `str | bytes` to
//! `str | bytes`, read into coffer-core's `EncryptionContext`.

use coffer_core::envelope::{
    EncryptionContext, MAX_CONTEXT_ENTRIES, MAX_CONTEXT_KEY_LEN, MAX_CONTEXT_VALUE_LEN,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyMapping};

use crate::args::{self, Input};
use crate::errors;

/// The pairs of a context argument, read and size-checked.
pub(crate) struct ContextArg<'py> {
    pairs: Vec<(Input<'py>, Input<'py>)>,
}

/// Reads `context` (a mapping, or None for an empty context): at most 16
/// entries, keys of 1 to 64 bytes, values of at most 1,024 bytes.
pub(crate) fn read<'py>(py: Python<'py>, context: Option<&Bound<'py, PyAny>>) -> PyResult<ContextArg<'py>> {
    let Some(obj) = context.filter(|c| !c.is_none()) else {
        return Ok(ContextArg { pairs: Vec::new() });
    };
    let mapping = obj.cast::<PyMapping>().map_err(|_| {
        let name = obj.get_type().name().map(|n| n.to_string()).unwrap_or_default();
        PyTypeError::new_err(format!("context must be a mapping of str or bytes to str or bytes, not {name}"))
    })?;
    let count = mapping.len()?;
    if count > MAX_CONTEXT_ENTRIES {
        return Err(errors::invalid_input(
            py,
            format!("context has {count} entries; the most an envelope holds is {MAX_CONTEXT_ENTRIES}"),
        ));
    }
    let mut pairs = Vec::with_capacity(count);
    for item in mapping.items()?.iter() {
        let (k, v): (Bound<'py, PyAny>, Bound<'py, PyAny>) = item.extract()?;
        let key = args::text_or_bytes(&k, "context key", MAX_CONTEXT_KEY_LEN)?;
        if key.as_slice().is_empty() {
            return Err(errors::invalid_input(
                py,
                format!("context keys must be 1 to {MAX_CONTEXT_KEY_LEN} bytes"),
            ));
        }
        let value = args::text_or_bytes(&v, "context value", MAX_CONTEXT_VALUE_LEN)?;
        pairs.push((key, value));
    }
    // A mapping whose items() gave more entries than its len() said.
    if pairs.len() > MAX_CONTEXT_ENTRIES {
        return Err(errors::invalid_input(
            py,
            format!("context has more than {MAX_CONTEXT_ENTRIES} entries"),
        ));
    }
    Ok(ContextArg { pairs })
}

impl ContextArg<'_> {
    /// coffer-core's context, borrowing these pairs.
    pub(crate) fn build(&self, py: Python<'_>) -> PyResult<EncryptionContext<'_>> {
        let mut ctx = EncryptionContext::new();
        for (key, value) in &self.pairs {
            ctx.insert(key.as_slice(), value.as_slice()).map_err(|_| {
                let shown =
                    PyBytes::new(py, key.as_slice()).repr().map(|r| r.to_string()).unwrap_or_default();
                errors::invalid_input(py, format!("context key {shown} appears twice (as str and as bytes)"))
            })?;
        }
        Ok(ctx)
    }
}

/// The context as a dict of bytes to bytes.
pub(crate) fn to_dict<'py>(py: Python<'py>, ctx: &EncryptionContext<'_>) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (key, value) in ctx.iter() {
        dict.set_item(PyBytes::new(py, key), PyBytes::new(py, value))?;
    }
    Ok(dict)
}
