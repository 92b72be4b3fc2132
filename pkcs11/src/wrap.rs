//! Key wrapping (PKCS#11 v2.40 §5.14): `C_WrapKey` and `C_UnwrapKey` with
//! `CKM_AES_KEY_WRAP` (RFC 3394), `CKM_AES_KEY_WRAP_KWP` (RFC 5649) and
//! `CKM_RSA_PKCS_OAEP` (SHA-256, MGF1-SHA-256, optional label), by
//! coffer-hsm's `export_wrapped_as` / `import_wrapped_as`: each wrap is a
//! use of the wrapping key and an export of the target in coffer's audit
//! log, each unwrap a use of the unwrapping key and an import.
//!
//! Mechanism parameters: `CKM_AES_KEY_WRAP` none, or the 8-byte RFC 3394
//! default IV `A6A6A6A6A6A6A6A6`; `CKM_AES_KEY_WRAP_KWP` none, or the
//! 4-byte RFC 5649 prefix `A65959A6`; `CKM_RSA_PKCS_OAEP` a
//! `CK_RSA_PKCS_OAEP_PARAMS` with `CKM_SHA256`, `CKG_MGF1_SHA256` and a
//! label (`CKZ_DATA_SPECIFIED`, possibly empty; source 0 with no data is
//! no label). Anything else is `CKR_MECHANISM_PARAM_INVALID`.
//!
//! What is wrapped: a secret key's 32 bytes; a private key (P-256, RSA) as
//! PKCS#8 `PrivateKeyInfo`, and only with `CKM_AES_KEY_WRAP_KWP` (RSA-OAEP
//! cannot carry one, AES-KW only a multiple of 8 bytes):
//! `CKR_KEY_NOT_WRAPPABLE` otherwise, and for a public-key object.
//!
//! Output size (§5.2): a size query (NULL buffer) does no cryptography and
//! writes no audit record. For a secret key the size is exact (40 bytes
//! under AES, the modulus length under RSA); for a private key it is an
//! upper bound (a PKCS#8 encoding's length depends on the key), and the
//! call with a buffer sets the exact length. That call wraps first: given a
//! buffer smaller than the exact length it returns `CKR_BUFFER_TOO_SMALL`
//! after a wrap that coffer's audit log records as an export.

use coffer_core::rng::OsRng;
use coffer_hsm::{Error, KeyType, Usage, WrapMechanism};
use cryptoki_sys::{
    CK_ATTRIBUTE, CK_BYTE, CK_KEY_TYPE, CK_MECHANISM, CK_OBJECT_CLASS, CK_OBJECT_HANDLE, CK_RV,
    CK_SESSION_HANDLE, CK_ULONG, CKA_CLASS, CKA_EC_PARAMS, CKA_KEY_TYPE, CKA_VALUE_LEN, CKK_AES, CKK_EC,
    CKK_GENERIC_SECRET, CKK_RSA, CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_KWP, CKM_RSA_PKCS_OAEP, CKO_PRIVATE_KEY,
    CKO_SECRET_KEY, CKR_ARGUMENTS_BAD, CKR_ATTRIBUTE_TYPE_INVALID, CKR_ATTRIBUTE_VALUE_INVALID,
    CKR_CURVE_NOT_SUPPORTED, CKR_DEVICE_MEMORY, CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_KEY_HANDLE_INVALID,
    CKR_KEY_NOT_WRAPPABLE, CKR_KEY_SIZE_RANGE, CKR_KEY_UNEXTRACTABLE, CKR_MECHANISM_INVALID,
    CKR_MECHANISM_PARAM_INVALID, CKR_TEMPLATE_INCOMPLETE, CKR_TEMPLATE_INCONSISTENT,
    CKR_UNWRAPPING_KEY_HANDLE_INVALID, CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT, CKR_WRAPPED_KEY_INVALID,
    CKR_WRAPPED_KEY_LEN_RANGE, CKR_WRAPPING_KEY_HANDLE_INVALID, CKR_WRAPPING_KEY_TYPE_INCONSISTENT,
};

use crate::boundary::{CkResult, boundary, bytes_in, ref_in, sized_out, write_out};
use crate::error::rv_of;
use crate::keygen::{Request, generating_user, generation_rv};
use crate::module::with_module;
use crate::object::{ObjectKind, P256_EC_PARAMS, is_pair, rsa_bits};
use crate::params::oaep_label;
use crate::template::{Template, ulong_of};

/// The RFC 3394 default initial value, the only one `CKM_AES_KEY_WRAP` takes.
const KW_IV: [u8; 8] = [0xa6; 8];
/// The RFC 5649 alternative initial value's fixed half.
const KWP_IV: [u8; 4] = [0xa6, 0x59, 0x59, 0xa6];
/// The length of a wrapped 32-byte key under AES-KW or AES-KWP.
const WRAPPED_SECRET_LEN: usize = 40;

/// A wrapping mechanism with its parameters, owned.
enum Mechanism {
    Kw,
    Kwp,
    Oaep { label: Vec<u8> },
}

impl Mechanism {
    fn as_hsm(&self) -> WrapMechanism<'_> {
        match self {
            Mechanism::Kw => WrapMechanism::AesKw,
            Mechanism::Kwp => WrapMechanism::AesKwp,
            Mechanism::Oaep { label } => WrapMechanism::RsaOaep { label },
        }
    }

    /// Whether a key of `key_type` (and object `kind`) wraps (or unwraps) with this mechanism.
    fn takes_wrapping_key(&self, key_type: KeyType) -> bool {
        match self {
            Mechanism::Kw | Mechanism::Kwp => key_type == KeyType::Aes256,
            Mechanism::Oaep { .. } => rsa_bits(key_type) != 0,
        }
    }

    /// Whether `len` wrapped bytes can be this mechanism's output under
    /// `unwrapping` (AES: a multiple of 8 bytes, at least 24 for KW and 16
    /// for KWP; RSA: the modulus length).
    fn wrapped_len_ok(&self, len: usize, unwrapping: KeyType) -> bool {
        match self {
            Mechanism::Kw => len >= 24 && len.is_multiple_of(8),
            Mechanism::Kwp => len >= 16 && len.is_multiple_of(8),
            Mechanism::Oaep { .. } => {
                usize::try_from(rsa_bits(unwrapping) / 8).is_ok_and(|modulus| len == modulus)
            }
        }
    }
}

/// The mechanism, with its parameters checked.
///
/// # Safety
/// A non-NULL `mechanism` must point to a valid `CK_MECHANISM` whose
/// non-NULL parameter is readable for its length (and, for OAEP, whose
/// label is readable for its length).
unsafe fn mechanism_of(mechanism: *mut CK_MECHANISM) -> CkResult<Mechanism> {
    // SAFETY: forwarded contract of this function.
    let mechanism = unsafe { ref_in(mechanism.cast_const()) }?;
    let raw = || {
        // SAFETY: forwarded contract of this function.
        unsafe { bytes_in(mechanism.pParameter.cast::<u8>().cast_const(), mechanism.ulParameterLen) }
            .map_err(|_| CKR_MECHANISM_PARAM_INVALID)
    };
    match mechanism.mechanism {
        CKM_AES_KEY_WRAP => match raw()? {
            [] => Ok(Mechanism::Kw),
            iv if iv == KW_IV => Ok(Mechanism::Kw),
            _ => Err(CKR_MECHANISM_PARAM_INVALID),
        },
        CKM_AES_KEY_WRAP_KWP => match raw()? {
            [] => Ok(Mechanism::Kwp),
            iv if iv == KWP_IV => Ok(Mechanism::Kwp),
            _ => Err(CKR_MECHANISM_PARAM_INVALID),
        },
        CKM_RSA_PKCS_OAEP => {
            // SAFETY: forwarded contract of this function.
            let label = unsafe { oaep_label(mechanism) }?;
            Ok(Mechanism::Oaep { label })
        }
        _ => Err(CKR_MECHANISM_INVALID),
    }
}

/// The `CKR_` code of a failed wrap.
fn wrap_rv(e: &Error) -> CK_RV {
    match e {
        Error::NotExtractable => CKR_KEY_UNEXTRACTABLE,
        Error::NotWrappable => CKR_KEY_NOT_WRAPPABLE,
        Error::PolicyDenied | Error::KeyState | Error::KeyExpired => CKR_KEY_FUNCTION_NOT_PERMITTED,
        Error::NotFound | Error::TenantNotAllowed => CKR_KEY_HANDLE_INVALID,
        _ => rv_of(e),
    }
}

/// The `CKR_` code of a failed unwrap: material that does not unwrap, or
/// is no key of the type asked for, is `CKR_WRAPPED_KEY_INVALID` (one code
/// for both, whatever failed inside).
fn unwrap_rv(e: &Error) -> CK_RV {
    match e {
        Error::Crypto(_) => CKR_WRAPPED_KEY_INVALID,
        Error::PolicyDenied | Error::KeyState | Error::KeyExpired => CKR_KEY_FUNCTION_NOT_PERMITTED,
        Error::NotFound | Error::TenantNotAllowed => CKR_UNWRAPPING_KEY_HANDLE_INVALID,
        Error::Capacity => CKR_DEVICE_MEMORY,
        _ => generation_rv(e),
    }
}

/// An upper bound of the PKCS#8 encoding of a private key of `key_type`
/// (a P-256 one is 138 bytes with its public key; an RSA one about 4.5
/// times the modulus length plus its headers).
fn pkcs8_bound(key_type: KeyType) -> usize {
    match key_type {
        KeyType::P256 => 160,
        _ => usize::try_from(rsa_bits(key_type) / 8)
            .unwrap_or(0)
            .saturating_mul(9)
            .div_ceil(2)
            .saturating_add(128),
    }
}

/// The length a wrap gives (exact), or `None` when only a bound is known.
fn wrapped_len(mechanism: &Mechanism, wrapping: KeyType, target: KeyType) -> (usize, bool) {
    match mechanism {
        Mechanism::Oaep { .. } => (usize::try_from(rsa_bits(wrapping) / 8).unwrap_or(0), true),
        _ if !is_pair(target) => (WRAPPED_SECRET_LEN, true),
        // KWP: the data padded to a multiple of 8, and 8 bytes more.
        _ => (pkcs8_bound(target).next_multiple_of(8).saturating_add(8), false),
    }
}

/// `C_WrapKey`: wraps the key `key` under `wrapping_key` (an AES secret key
/// with `CKM_AES_KEY_WRAP` / `CKM_AES_KEY_WRAP_KWP`, an RSA public key with
/// `CKM_RSA_PKCS_OAEP`; each with `CKA_WRAP`) with the two-call size
/// convention (module docs). A wrapping key of another type is
/// `CKR_WRAPPING_KEY_TYPE_INCONSISTENT`, one without `CKA_WRAP` (or the
/// other object of an RSA pair) `CKR_KEY_FUNCTION_NOT_PERMITTED`; a target
/// that is not extractable `CKR_KEY_UNEXTRACTABLE`; a public key, or a
/// private key under AES-KW or RSA-OAEP, `CKR_KEY_NOT_WRAPPABLE`.
///
/// # Safety
/// A non-NULL `mechanism` as [`mechanism_of`]; `out` and `out_len` as
/// [`sized_out`].
pub(crate) unsafe extern "C" fn wrap_key(
    session: CK_SESSION_HANDLE,
    mechanism: *mut CK_MECHANISM,
    wrapping_key: CK_OBJECT_HANDLE,
    key: CK_OBJECT_HANDLE,
    out: *mut CK_BYTE,
    out_len: *mut CK_ULONG,
) -> CK_RV {
    boundary(|| {
        with_module(|m| {
            m.session(session)?;
            // SAFETY: forwarded contract of this function.
            let mechanism = unsafe { mechanism_of(mechanism) }?;
            let user = m.user_session()?;
            let wrapping = m.object(user, wrapping_key, CKR_WRAPPING_KEY_HANDLE_INVALID)?;
            let wrapping_type = wrapping.info.key_type;
            if !mechanism.takes_wrapping_key(wrapping_type) {
                return Err(CKR_WRAPPING_KEY_TYPE_INCONSISTENT);
            }
            // The RSA key wraps with its public-key object (the one with CKA_WRAP).
            let kind = if is_pair(wrapping_type) { ObjectKind::PublicKey } else { ObjectKind::Key };
            if wrapping.kind != kind || !wrapping.allows(Usage::WRAP) {
                return Err(CKR_KEY_FUNCTION_NOT_PERMITTED);
            }
            let target = m.object(user, key, CKR_KEY_HANDLE_INVALID)?;
            if target.kind == ObjectKind::PublicKey {
                return Err(CKR_KEY_NOT_WRAPPABLE);
            }
            if !target.info.attributes.extractable {
                // Left to coffer-hsm, which refuses it and audits the refusal.
                let e = m
                    .hsm
                    .export_wrapped_as(
                        &mut OsRng,
                        user,
                        wrapping.info.handle,
                        target.info.handle,
                        mechanism.as_hsm(),
                    )
                    .err()
                    .unwrap_or(Error::NotExtractable);
                return Err(wrap_rv(&e));
            }
            if !mechanism.as_hsm().wraps(target.info.key_type) {
                return Err(CKR_KEY_NOT_WRAPPABLE);
            }
            let (len, exact) = wrapped_len(&mechanism, wrapping_type, target.info.key_type);
            if out.is_null() || exact {
                // SAFETY: forwarded contract of this function.
                if unsafe { sized_out(out, out_len, len) }?.is_none() {
                    return Ok(());
                }
            }
            let wrapped = m
                .hsm
                .export_wrapped_as(
                    &mut OsRng,
                    user,
                    wrapping.info.handle,
                    target.info.handle,
                    mechanism.as_hsm(),
                )
                .map_err(|e| wrap_rv(&e))?;
            // SAFETY: forwarded contract of this function.
            let buffer = unsafe { sized_out(out, out_len, wrapped.len()) }?.ok_or(CKR_ARGUMENTS_BAD)?;
            buffer.copy_from_slice(&wrapped);
            Ok(())
        })
    })
}

/// What an unwrap template asks for: coffer's key type and attributes.
struct UnwrapRequest {
    key_type: KeyType,
    request: Request,
    default_usage: Usage,
}

/// Reads `C_UnwrapKey`'s template: `CKA_CLASS` (`CKO_SECRET_KEY` or
/// `CKO_PRIVATE_KEY`) and `CKA_KEY_TYPE` (`CKK_AES`, `CKK_GENERIC_SECRET`
/// for a secret key; `CKK_EC`, `CKK_RSA` for a private key) are required
/// (`CKR_TEMPLATE_INCOMPLETE`; another class, type or pairing
/// `CKR_TEMPLATE_INCONSISTENT`); `CKA_VALUE_LEN` of a secret key, if given,
/// 32 (`CKR_KEY_SIZE_RANGE`); `CKA_EC_PARAMS` of an EC key, if given,
/// prime256v1; the others as `C_GenerateKey` takes them (keygen.rs).
fn unwrap_request(template: &Template<'_>) -> CkResult<UnwrapRequest> {
    let find = |t| template.attributes.iter().find(|(a, _)| *a == t).map(|(_, v)| ulong_of(v)).transpose();
    let (Some(class), Some(ck_key_type)) = (find(CKA_CLASS)?, find(CKA_KEY_TYPE)?) else {
        return Err(CKR_TEMPLATE_INCOMPLETE);
    };
    let (class, ck_key_type): (CK_OBJECT_CLASS, CK_KEY_TYPE) = (class, ck_key_type);
    let (key_type, default_usage) = match (class, ck_key_type) {
        (CKO_SECRET_KEY, CKK_AES) => {
            (KeyType::Aes256, Usage::ENCRYPT | Usage::DECRYPT | Usage::WRAP | Usage::UNWRAP)
        }
        (CKO_SECRET_KEY, CKK_GENERIC_SECRET) => (KeyType::HmacSha256, Usage::SIGN | Usage::VERIFY),
        (CKO_PRIVATE_KEY, CKK_EC) => (KeyType::P256, Usage::SIGN | Usage::VERIFY),
        // The size is the unwrapped key's own (coffer-hsm's import_wrapped_as).
        (CKO_PRIVATE_KEY, CKK_RSA) => (KeyType::Rsa2048, Usage::SIGN | Usage::VERIFY),
        _ => return Err(CKR_TEMPLATE_INCONSISTENT),
    };
    let mut request = Request::default();
    for (attribute, value) in &template.attributes {
        if request.common(class, ck_key_type, *attribute, value)? {
            continue;
        }
        match (*attribute, class, ck_key_type) {
            (CKA_VALUE_LEN, CKO_SECRET_KEY, _) => {
                if ulong_of(value)? != 32 {
                    return Err(CKR_KEY_SIZE_RANGE);
                }
            }
            (CKA_EC_PARAMS, _, CKK_EC) => match *value {
                p if p == P256_EC_PARAMS => {}
                [0x06, ..] => return Err(CKR_CURVE_NOT_SUPPORTED),
                _ => return Err(CKR_ATTRIBUTE_VALUE_INVALID),
            },
            _ => return Err(CKR_ATTRIBUTE_TYPE_INVALID),
        }
    }
    Ok(UnwrapRequest { key_type, request, default_usage })
}

/// `C_UnwrapKey`: unwraps `wrapped` under `unwrapping_key` (an AES secret
/// key with `CKM_AES_KEY_WRAP` / `CKM_AES_KEY_WRAP_KWP`, an RSA private key
/// with `CKM_RSA_PKCS_OAEP`; each with `CKA_UNWRAP`, else
/// `CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT` / `CKR_KEY_FUNCTION_NOT_PERMITTED`)
/// into a new token object made from `template` ([`unwrap_request`]); its
/// handle goes to `*key`. Wrapped bytes of a length the mechanism cannot
/// make are `CKR_WRAPPED_KEY_LEN_RANGE`; bytes that do not unwrap, or are
/// not a key of the template's type, `CKR_WRAPPED_KEY_INVALID`, and nothing
/// is created. Needs a `CKU_USER` login and a read/write session, as
/// `C_GenerateKey` (every coffer object is a token object). The new key is
/// not local (`CKA_LOCAL`, `CKA_ALWAYS_SENSITIVE`, `CKA_NEVER_EXTRACTABLE`
/// false).
///
/// # Safety
/// A non-NULL `mechanism` as [`mechanism_of`]; a non-NULL `wrapped` must
/// be readable for `wrapped_len` bytes; a non-NULL `template` must point to
/// `count` valid `CK_ATTRIBUTE`s; a non-NULL `key` must be writable.
#[allow(clippy::too_many_arguments, reason = "the PKCS#11 signature")]
pub(crate) unsafe extern "C" fn unwrap_key(
    session: CK_SESSION_HANDLE,
    mechanism: *mut CK_MECHANISM,
    unwrapping_key: CK_OBJECT_HANDLE,
    wrapped: *mut CK_BYTE,
    wrapped_len: CK_ULONG,
    template: *mut CK_ATTRIBUTE,
    count: CK_ULONG,
    key: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    boundary(|| {
        let handle = with_module(|m| {
            let (user, tenant) = generating_user(m, session)?;
            // SAFETY: forwarded contract of this function.
            let mechanism = unsafe { mechanism_of(mechanism) }?;
            if key.is_null() {
                return Err(CKR_ARGUMENTS_BAD);
            }
            // SAFETY: forwarded contract of this function.
            let wrapped = unsafe { bytes_in(wrapped.cast_const(), wrapped_len) }?;
            // SAFETY: forwarded contract of this function.
            let template = unsafe { Template::read(template, count) }?;
            let asked = unwrap_request(&template)?;
            let unwrapping = m.object(user, unwrapping_key, CKR_UNWRAPPING_KEY_HANDLE_INVALID)?;
            let unwrapping_type = unwrapping.info.key_type;
            if !mechanism.takes_wrapping_key(unwrapping_type) {
                return Err(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT);
            }
            // The RSA key unwraps with its private-key object (the one with CKA_UNWRAP).
            if unwrapping.kind != ObjectKind::Key || !unwrapping.allows(Usage::UNWRAP) {
                return Err(CKR_KEY_FUNCTION_NOT_PERMITTED);
            }
            if !mechanism.wrapped_len_ok(wrapped.len(), unwrapping_type) {
                return Err(CKR_WRAPPED_KEY_LEN_RANGE);
            }
            let attrs = asked.request.attributes(&mut OsRng, tenant, asked.default_usage)?;
            let made = m
                .hsm
                .import_wrapped_as(
                    &mut OsRng,
                    user,
                    unwrapping.info.handle,
                    mechanism.as_hsm(),
                    asked.key_type,
                    attrs,
                    wrapped,
                )
                .map_err(|e| unwrap_rv(&e))?;
            m.objects.handle_of(made, ObjectKind::Key)
        })?;
        // SAFETY: forwarded contract of this function.
        unsafe { write_out(key, handle) }
    })
}
