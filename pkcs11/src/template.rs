//! Templates (`CK_ATTRIBUTE` arrays) an application passes in: read once
//! into borrowed `(type, bytes)` pairs, with the value checks every user
//! of a template shares.

use cryptoki_sys::{
    CK_ATTRIBUTE, CK_ATTRIBUTE_TYPE, CK_FALSE, CK_TRUE, CK_ULONG, CKR_ATTRIBUTE_VALUE_INVALID,
    CKR_TEMPLATE_INCONSISTENT,
};

use crate::boundary::{CkResult, array_mut, bytes_in};

/// A template's attributes, each at most once.
pub(crate) struct Template<'a> {
    pub(crate) attributes: Vec<(CK_ATTRIBUTE_TYPE, &'a [u8])>,
}

impl<'a> Template<'a> {
    /// Reads `count` attributes at `ptr` (NULL with count 0 is empty). An
    /// attribute given twice is `CKR_TEMPLATE_INCONSISTENT`; a NULL value
    /// with a nonzero length `CKR_ATTRIBUTE_VALUE_INVALID`.
    ///
    /// # Safety
    /// A non-NULL `ptr` must point to `count` valid `CK_ATTRIBUTE`s whose
    /// non-NULL values are readable for their lengths during `'a`.
    pub(crate) unsafe fn read(ptr: *mut CK_ATTRIBUTE, count: CK_ULONG) -> CkResult<Self> {
        // SAFETY: forwarded contract of this function.
        let raw = unsafe { array_mut(ptr, count) }?;
        let mut attributes: Vec<(CK_ATTRIBUTE_TYPE, &'a [u8])> = Vec::with_capacity(raw.len());
        for attribute in raw.iter() {
            if attributes.iter().any(|(t, _)| *t == attribute.type_) {
                return Err(CKR_TEMPLATE_INCONSISTENT);
            }
            // SAFETY: forwarded contract of this function.
            let value = unsafe { bytes_in(attribute.pValue.cast::<u8>().cast_const(), attribute.ulValueLen) }
                .map_err(|_| CKR_ATTRIBUTE_VALUE_INVALID)?;
            attributes.push((attribute.type_, value));
        }
        Ok(Template { attributes })
    }
}

/// A `CK_BBOOL` value: exactly one byte, `CK_TRUE` or `CK_FALSE`.
pub(crate) fn bool_of(value: &[u8]) -> CkResult<bool> {
    match value {
        [b] if *b == CK_TRUE => Ok(true),
        [b] if *b == CK_FALSE => Ok(false),
        _ => Err(CKR_ATTRIBUTE_VALUE_INVALID),
    }
}

/// A `CK_ULONG` value in the platform's byte order.
pub(crate) fn ulong_of(value: &[u8]) -> CkResult<CK_ULONG> {
    let bytes: [u8; size_of::<CK_ULONG>()] = value.try_into().map_err(|_| CKR_ATTRIBUTE_VALUE_INVALID)?;
    Ok(CK_ULONG::from_ne_bytes(bytes))
}

/// A coffer name (label or key id): UTF-8 of 1 to 64 bytes.
pub(crate) fn name_of(value: &[u8]) -> CkResult<String> {
    let text = std::str::from_utf8(value).map_err(|_| CKR_ATTRIBUTE_VALUE_INVALID)?;
    if text.is_empty() || text.len() > coffer_hsm::MAX_NAME_LEN {
        return Err(CKR_ATTRIBUTE_VALUE_INVALID);
    }
    Ok(text.to_owned())
}
