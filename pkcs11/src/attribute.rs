//! Object attributes and destruction (PKCS#11 v2.40 §5.7):
//! `C_GetAttributeValue`, `C_SetAttributeValue`, `C_DestroyObject`.

use cryptoki_sys::{
    CK_ATTRIBUTE, CK_OBJECT_HANDLE, CK_RV, CK_SESSION_HANDLE, CK_ULONG, CK_UNAVAILABLE_INFORMATION,
    CKR_ATTRIBUTE_READ_ONLY, CKR_ATTRIBUTE_SENSITIVE, CKR_ATTRIBUTE_TYPE_INVALID, CKR_BUFFER_TOO_SMALL,
    CKR_OK, CKR_SESSION_READ_ONLY,
};

use crate::boundary::{array_mut, boundary, len_of, ulong_of};
use crate::error::rv_of;
use crate::module::with_module;
use crate::object::{NO_OBJECT, Value, needs_public_parts};

/// `C_GetAttributeValue`, exactly as §5.7 says, for every attribute of the
/// template in turn: one the object lacks gets `CK_UNAVAILABLE_INFORMATION`
/// (`CKR_ATTRIBUTE_TYPE_INVALID`); a sensitive one (the key material of a
/// secret or private key, always) too (`CKR_ATTRIBUTE_SENSITIVE`); with a
/// NULL `pValue` only the length is reported; a buffer too small gets
/// `CK_UNAVAILABLE_INFORMATION` (`CKR_BUFFER_TOO_SMALL`); otherwise the
/// value is copied and its length set. The call goes through the whole
/// template and returns `CKR_OK` or the first of those errors met.
/// Without a `CKU_USER` login no object exists (`CKR_OBJECT_HANDLE_INVALID`).
///
/// # Safety
/// A non-NULL `template` must point to `count` valid `CK_ATTRIBUTE`s whose
/// non-NULL `pValue`s are writable for `ulValueLen` bytes.
pub(crate) unsafe extern "C" fn get_attribute_value(
    session: CK_SESSION_HANDLE,
    object: CK_OBJECT_HANDLE,
    template: *mut CK_ATTRIBUTE,
    count: CK_ULONG,
) -> CK_RV {
    boundary(|| {
        with_module(|m| {
            m.session(session)?;
            let user = m.user_session().map_err(|_| NO_OBJECT)?;
            let object = m.object(user, object, NO_OBJECT)?;
            // SAFETY: forwarded contract of this function.
            let template = unsafe { array_mut(template, count) }?;
            let public = if template.iter().any(|a| needs_public_parts(a.type_)) {
                m.public_parts(user, &object)?
            } else {
                None
            };
            let mut rv = CKR_OK;
            for attribute in template.iter_mut() {
                let outcome = match object.attribute(attribute.type_, public.as_ref()) {
                    Value::Invalid => Err(CKR_ATTRIBUTE_TYPE_INVALID),
                    Value::Sensitive => Err(CKR_ATTRIBUTE_SENSITIVE),
                    Value::Bytes(value) if attribute.pValue.is_null() => ulong_of(value.len()),
                    Value::Bytes(value) if len_of(attribute.ulValueLen)? < value.len() => {
                        Err(CKR_BUFFER_TOO_SMALL)
                    }
                    Value::Bytes(value) => {
                        let len = ulong_of(value.len())?;
                        // SAFETY: non-NULL and writable for `ulValueLen >=
                        // len` bytes by the caller's contract.
                        let out = unsafe { array_mut(attribute.pValue.cast::<u8>(), len) }?;
                        out.copy_from_slice(&value);
                        Ok(len)
                    }
                };
                attribute.ulValueLen = match outcome {
                    Ok(len) => len,
                    Err(e) => {
                        if rv == CKR_OK {
                            rv = e;
                        }
                        CK_UNAVAILABLE_INFORMATION
                    }
                };
            }
            if rv == CKR_OK { Ok(()) } else { Err(rv) }
        })
    })
}

/// `C_SetAttributeValue`: coffer cannot change a key's attributes (not
/// even its label), so an attribute the object has is
/// `CKR_ATTRIBUTE_READ_ONLY` and one it lacks `CKR_ATTRIBUTE_TYPE_INVALID`;
/// in a read-only session `CKR_SESSION_READ_ONLY`.
///
/// # Safety
/// A non-NULL `template` must point to `count` valid `CK_ATTRIBUTE`s.
pub(crate) unsafe extern "C" fn set_attribute_value(
    session: CK_SESSION_HANDLE,
    object: CK_OBJECT_HANDLE,
    template: *mut CK_ATTRIBUTE,
    count: CK_ULONG,
) -> CK_RV {
    boundary(|| {
        with_module(|m| {
            let read_write = m.session(session)?.read_write;
            let user = m.user_session().map_err(|_| NO_OBJECT)?;
            let object = m.object(user, object, NO_OBJECT)?;
            if !read_write {
                return Err(CKR_SESSION_READ_ONLY);
            }
            // SAFETY: forwarded contract of this function.
            let template = unsafe { array_mut(template, count) }?;
            let public = if template.iter().any(|a| needs_public_parts(a.type_)) {
                m.public_parts(user, &object)?
            } else {
                None
            };
            if template.iter().any(|a| matches!(object.attribute(a.type_, public.as_ref()), Value::Invalid)) {
                return Err(CKR_ATTRIBUTE_TYPE_INVALID);
            }
            Err(CKR_ATTRIBUTE_READ_ONLY)
        })
    })
}

/// `C_DestroyObject`: destroys the coffer key (an audited destruction;
/// the key's record stays, its material is erased). Either object of a
/// key pair destroys the key, so both objects go. Needs a `CKU_USER`
/// login (`CKR_USER_NOT_LOGGED_IN`) and a read/write session
/// (`CKR_SESSION_READ_ONLY`).
pub(crate) extern "C" fn destroy_object(session: CK_SESSION_HANDLE, object: CK_OBJECT_HANDLE) -> CK_RV {
    boundary(|| {
        with_module(|m| {
            let read_write = m.session(session)?.read_write;
            let user = m.user_session()?;
            if !read_write {
                return Err(CKR_SESSION_READ_ONLY);
            }
            let object = m.object(user, object, NO_OBJECT)?;
            m.hsm.destroy(user, object.info.handle).map_err(|e| rv_of(&e))
        })
    })
}
