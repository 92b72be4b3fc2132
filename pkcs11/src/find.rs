//! Object search (PKCS#11 v2.40 §5.7): `C_FindObjectsInit`,
//! `C_FindObjects`, `C_FindObjectsFinal`.
//!
//! The search runs at `C_FindObjectsInit` over the objects of the
//! logged-in user's tenant; `C_FindObjects` hands out the results. Without
//! a `CKU_USER` login nothing is found: every coffer object is private.
//! An attribute of the template matches when the object has it with the
//! same bytes; a sensitive attribute or one the object lacks never matches.

use std::collections::VecDeque;

use cryptoki_sys::{
    CK_ATTRIBUTE, CK_OBJECT_HANDLE, CK_RV, CK_SESSION_HANDLE, CK_ULONG, CKR_ARGUMENTS_BAD,
    CKR_OPERATION_ACTIVE, CKR_OPERATION_NOT_INITIALIZED,
};

use crate::boundary::{CkResult, array_mut, boundary, len_of, ulong_of, write_out};
use crate::module::{Module, with_module, with_session};
use crate::object::{Object, Value, needs_public_parts};
use crate::template::Template;

/// An active search: the handles not yet handed out.
pub(crate) struct FindOperation {
    pub(crate) results: VecDeque<CK_OBJECT_HANDLE>,
}

/// Whether `object` has every attribute of `template` with the same value.
fn matches(
    m: &mut Module,
    user: coffer_hsm::SessionId,
    object: &Object,
    template: &Template<'_>,
) -> CkResult<bool> {
    let public = if template.attributes.iter().any(|(t, _)| needs_public_parts(*t)) {
        m.public_parts(user, object)?
    } else {
        None
    };
    Ok(template.attributes.iter().all(|(t, wanted)| match object.attribute(*t, public.as_ref()) {
        Value::Bytes(value) => value == *wanted,
        Value::Sensitive | Value::Invalid => false,
    }))
}

/// `C_FindObjectsInit`: starts a search for the objects matching the
/// template (an empty template matches every object).
///
/// # Safety
/// A non-NULL `template` must point to `count` valid `CK_ATTRIBUTE`s.
pub(crate) unsafe extern "C" fn find_objects_init(
    session: CK_SESSION_HANDLE,
    template: *mut CK_ATTRIBUTE,
    count: CK_ULONG,
) -> CK_RV {
    boundary(|| {
        with_module(|m| {
            if m.session(session)?.find.is_some() {
                return Err(CKR_OPERATION_ACTIVE);
            }
            // SAFETY: forwarded contract of this function.
            let template = unsafe { Template::read(template, count) }?;
            let mut results = VecDeque::new();
            if let Ok(user) = m.user_session() {
                for object in m.objects(user)? {
                    if matches(m, user, &object, &template)? {
                        results.push_back(object.handle);
                    }
                }
            }
            m.session(session)?.find = Some(FindOperation { results });
            Ok(())
        })
    })
}

/// `C_FindObjects`: up to `max` more handles into `out`, their number in
/// `*count` (0 when the search is exhausted).
///
/// # Safety
/// A non-NULL `out` must be valid for writes of `max` handles; a non-NULL
/// `count` for a write of a `CK_ULONG`.
pub(crate) unsafe extern "C" fn find_objects(
    session: CK_SESSION_HANDLE,
    out: *mut CK_OBJECT_HANDLE,
    max: CK_ULONG,
    count: *mut CK_ULONG,
) -> CK_RV {
    boundary(|| {
        with_session(session, |s| {
            let op = s.find.as_mut().ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
            if out.is_null() || count.is_null() {
                return Err(CKR_ARGUMENTS_BAD);
            }
            let max = len_of(max)?;
            let n = max.min(op.results.len());
            // SAFETY: `out` is non-NULL and valid for `max >= n` handles by
            // the caller's contract.
            let buffer = unsafe { array_mut(out, ulong_of(n)?) }?;
            for (slot, handle) in buffer.iter_mut().zip(op.results.drain(..n)) {
                *slot = handle;
            }
            // SAFETY: forwarded contract of this function.
            unsafe { write_out(count, ulong_of(n)?) }
        })
    })
}

/// `C_FindObjectsFinal`: ends the search.
pub(crate) extern "C" fn find_objects_final(session: CK_SESSION_HANDLE) -> CK_RV {
    boundary(|| {
        with_session(session, |s| {
            s.find.take().ok_or(CKR_OPERATION_NOT_INITIALIZED)?;
            Ok(())
        })
    })
}
