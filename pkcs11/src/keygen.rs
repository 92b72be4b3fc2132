//! Key generation (PKCS#11 v2.40 §5.14): `C_GenerateKey` (AES-256, and a
//! generic secret for HMAC-SHA-256) and `C_GenerateKeyPair` (P-256, RSA
//! 2048/3072/4096) as coffer-hsm keys of the logged-in user's tenant.
//!
//! Template attributes become coffer's [`KeyAttributes`]:
//!
//! - `CKA_LABEL` the label and `CKA_ID` the key id (UTF-8, 1 to 64 bytes,
//!   else `CKR_ATTRIBUTE_VALUE_INVALID`); without `CKA_ID` a unique key id
//!   `p11-<32 hex digits>` is made; without `CKA_LABEL` the label is the
//!   key id. A pair's two templates must agree (`CKR_TEMPLATE_INCONSISTENT`).
//! - `CKA_ENCRYPT`, `CKA_DECRYPT`, `CKA_SIGN`, `CKA_VERIFY`, `CKA_WRAP`,
//!   `CKA_UNWRAP`, `CKA_DERIVE` the key's usage, each on the object that
//!   has it (`CKA_SIGN` on the private key, `CKA_VERIFY` on the public
//!   key, ...; elsewhere `CKR_ATTRIBUTE_TYPE_INVALID`). One not given takes
//!   the key kind's default: encrypt, decrypt, wrap and unwrap for AES;
//!   sign and verify for HMAC, P-256 and RSA.
//! - `CKA_EXTRACTABLE` coffer's extractable flag (default false).
//! - `CKA_SENSITIVE` must be true if given: coffer keys are always
//!   sensitive; `CKA_TOKEN` must be true if given: coffer has no session
//!   objects; `CKA_PRIVATE` must be true if given, except in a public-key
//!   template, where false is accepted but not honoured (coffer shows no
//!   object before login, so the public key's `CKA_PRIVATE` reads true;
//!   refusing it would refuse most applications' key-pair templates,
//!   pkcs11-tool's among them). Otherwise `CKR_ATTRIBUTE_VALUE_INVALID`.
//! - `CKA_CLASS` and `CKA_KEY_TYPE` must be the mechanism's
//!   (`CKR_TEMPLATE_INCONSISTENT`); any other attribute is
//!   `CKR_ATTRIBUTE_TYPE_INVALID`.
//!
//! Keys are made active. Both functions need a `CKU_USER` login
//! (`CKR_USER_NOT_LOGGED_IN`) and a read/write session (`CKR_SESSION_READ_ONLY`).

use coffer_core::rng::{OsRng, TryCryptoRng};
use coffer_hsm::{KeyAttributes, KeyType, Usage};
use cryptoki_sys::{
    CK_ATTRIBUTE, CK_ATTRIBUTE_TYPE, CK_KEY_TYPE, CK_MECHANISM, CK_MECHANISM_TYPE, CK_OBJECT_CLASS,
    CK_OBJECT_HANDLE, CK_RV, CK_SESSION_HANDLE, CK_ULONG, CKA_CLASS, CKA_DECRYPT, CKA_DERIVE, CKA_EC_PARAMS,
    CKA_ENCRYPT, CKA_EXTRACTABLE, CKA_ID, CKA_KEY_TYPE, CKA_LABEL, CKA_MODULUS_BITS, CKA_PRIVATE,
    CKA_PUBLIC_EXPONENT, CKA_SENSITIVE, CKA_SIGN, CKA_TOKEN, CKA_UNWRAP, CKA_VALUE_LEN, CKA_VERIFY, CKA_WRAP,
    CKK_AES, CKK_EC, CKK_GENERIC_SECRET, CKK_RSA, CKM_AES_KEY_GEN, CKM_EC_KEY_PAIR_GEN,
    CKM_GENERIC_SECRET_KEY_GEN, CKM_RSA_PKCS_KEY_PAIR_GEN, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_SECRET_KEY,
    CKR_ARGUMENTS_BAD, CKR_ATTRIBUTE_TYPE_INVALID, CKR_ATTRIBUTE_VALUE_INVALID, CKR_CURVE_NOT_SUPPORTED,
    CKR_DEVICE_MEMORY, CKR_FUNCTION_FAILED, CKR_GENERAL_ERROR, CKR_KEY_SIZE_RANGE, CKR_MECHANISM_INVALID,
    CKR_MECHANISM_PARAM_INVALID, CKR_SESSION_READ_ONLY, CKR_TEMPLATE_INCOMPLETE, CKR_TEMPLATE_INCONSISTENT,
};

use crate::boundary::{CkResult, boundary, ref_in, write_out};
use crate::error::rv_of;
use crate::module::{Module, with_module};
use crate::object::{ObjectKind, P256_EC_PARAMS};
use crate::template::{Template, bool_of, name_of, ulong_of};

/// The only public exponent coffer's RSA keys have: 65537.
const RSA_EXPONENT: [u8; 3] = [0x01, 0x00, 0x01];

/// What the templates ask for, gathered across both templates of a pair
/// (also `C_UnwrapKey`'s template, `wrap.rs`).
#[derive(Default)]
pub(crate) struct Request {
    label: Option<String>,
    key_id: Option<String>,
    /// Usage flags given, each `(flag, value)`.
    usage: Vec<(Usage, bool)>,
    extractable: Option<bool>,
}

impl Request {
    /// Sets a name that both templates may give: they must agree. An empty
    /// value (the standard's default for `CKA_ID` and `CKA_LABEL`, which
    /// python-pkcs11 and others send) counts as not given.
    fn set_name(slot: &mut Option<String>, value: &[u8]) -> CkResult<()> {
        if value.is_empty() {
            return Ok(());
        }
        let name = name_of(value)?;
        match slot {
            Some(existing) if *existing != name => Err(CKR_TEMPLATE_INCONSISTENT),
            _ => {
                *slot = Some(name);
                Ok(())
            }
        }
    }

    /// Takes the attributes every template may hold; `Ok(false)` for one
    /// it does not know (left to the caller).
    pub(crate) fn common(
        &mut self,
        class: CK_OBJECT_CLASS,
        key_type: CK_KEY_TYPE,
        attribute: CK_ATTRIBUTE_TYPE,
        value: &[u8],
    ) -> CkResult<bool> {
        let public = class == CKO_PUBLIC_KEY;
        let private = class == CKO_PRIVATE_KEY;
        let usage = match attribute {
            CKA_ENCRYPT if !private => Some(Usage::ENCRYPT),
            CKA_VERIFY if !private => Some(Usage::VERIFY),
            CKA_WRAP if !private => Some(Usage::WRAP),
            CKA_DECRYPT if !public => Some(Usage::DECRYPT),
            CKA_SIGN if !public => Some(Usage::SIGN),
            CKA_UNWRAP if !public => Some(Usage::UNWRAP),
            CKA_DERIVE => Some(Usage::DERIVE),
            _ => None,
        };
        if let Some(flag) = usage {
            let wanted = bool_of(value)?;
            if self.usage.iter().any(|(f, v)| *f == flag && *v != wanted) {
                return Err(CKR_TEMPLATE_INCONSISTENT);
            }
            self.usage.push((flag, wanted));
            return Ok(true);
        }
        match attribute {
            CKA_CLASS if ulong_of(value)? != class => Err(CKR_TEMPLATE_INCONSISTENT),
            CKA_KEY_TYPE if ulong_of(value)? != key_type => Err(CKR_TEMPLATE_INCONSISTENT),
            CKA_CLASS | CKA_KEY_TYPE => Ok(true),
            // A public-key template may ask for a public object (most
            // applications do, pkcs11-tool too): accepted, but every coffer
            // object is seen only after login, so CKA_PRIVATE reads true.
            CKA_PRIVATE if public => bool_of(value).map(|_| true),
            CKA_TOKEN | CKA_PRIVATE => {
                if bool_of(value)? {
                    Ok(true)
                } else {
                    Err(CKR_ATTRIBUTE_VALUE_INVALID)
                }
            }
            CKA_SENSITIVE if !public => {
                if bool_of(value)? {
                    Ok(true)
                } else {
                    Err(CKR_ATTRIBUTE_VALUE_INVALID)
                }
            }
            CKA_EXTRACTABLE if !public => {
                self.extractable = Some(bool_of(value)?);
                Ok(true)
            }
            CKA_LABEL => Self::set_name(&mut self.label, value).map(|()| true),
            CKA_ID => Self::set_name(&mut self.key_id, value).map(|()| true),
            _ => Ok(false),
        }
    }

    /// coffer's attributes for a key of `tenant` whose usage defaults to `default`.
    pub(crate) fn attributes<R: TryCryptoRng + ?Sized>(
        self,
        rng: &mut R,
        tenant: String,
        default: Usage,
    ) -> CkResult<KeyAttributes> {
        let key_id = match self.key_id {
            Some(id) => id,
            None => {
                let mut bytes = [0u8; 16];
                rng.try_fill_bytes(&mut bytes).map_err(|_| CKR_FUNCTION_FAILED)?;
                format!("p11-{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
            }
        };
        let mut usage = Usage::NONE;
        for flag in Usage::ALL {
            let given = self.usage.iter().find(|(f, _)| *f == flag).map(|(_, v)| *v);
            if given.unwrap_or(default.allows(flag)) {
                usage = usage | flag;
            }
        }
        Ok(KeyAttributes {
            label: self.label.unwrap_or_else(|| key_id.clone()),
            tenant,
            key_id,
            usage,
            extractable: self.extractable.unwrap_or(false),
            active: true,
        })
    }
}

/// The mechanism, which must have no parameter.
///
/// # Safety
/// A non-NULL `mechanism` must point to a valid `CK_MECHANISM`.
unsafe fn mechanism_of(mechanism: *mut CK_MECHANISM) -> CkResult<CK_MECHANISM_TYPE> {
    // SAFETY: forwarded contract of this function.
    let mechanism = unsafe { ref_in(mechanism.cast_const()) }?;
    if !mechanism.pParameter.is_null() || mechanism.ulParameterLen != 0 {
        return Err(CKR_MECHANISM_PARAM_INVALID);
    }
    Ok(mechanism.mechanism)
}

/// The checks both functions start with: the session, the login, read/write.
pub(crate) fn generating_user(
    m: &mut Module,
    session: CK_SESSION_HANDLE,
) -> CkResult<(coffer_hsm::SessionId, String)> {
    let read_write = m.session(session)?.read_write;
    let user = m.user_session()?;
    if !read_write {
        return Err(CKR_SESSION_READ_ONLY);
    }
    let tenant = m.hsm.session_tenant(user).map_err(|e| rv_of(&e))?.ok_or(CKR_GENERAL_ERROR)?;
    Ok((user, tenant))
}

/// coffer's error on generation: a key id the tenant already has is
/// `CKR_ATTRIBUTE_VALUE_INVALID`, a full token `CKR_DEVICE_MEMORY`.
pub(crate) fn generation_rv(e: &coffer_hsm::Error) -> CK_RV {
    match e {
        coffer_hsm::Error::InvalidInput => CKR_ATTRIBUTE_VALUE_INVALID,
        coffer_hsm::Error::Capacity => CKR_DEVICE_MEMORY,
        _ => rv_of(e),
    }
}

/// `C_GenerateKey`: `CKM_AES_KEY_GEN` (`CKA_VALUE_LEN` 32: AES-256) or
/// `CKM_GENERIC_SECRET_KEY_GEN` (`CKA_VALUE_LEN` 32: an HMAC-SHA-256 key);
/// `CKA_VALUE_LEN` is required (`CKR_TEMPLATE_INCOMPLETE`) and any other
/// length is `CKR_KEY_SIZE_RANGE`.
///
/// # Safety
/// A non-NULL `mechanism` must point to a valid `CK_MECHANISM`, a non-NULL
/// `template` to `count` valid `CK_ATTRIBUTE`s, a non-NULL `key` must be
/// writable.
pub(crate) unsafe extern "C" fn generate_key(
    session: CK_SESSION_HANDLE,
    mechanism: *mut CK_MECHANISM,
    template: *mut CK_ATTRIBUTE,
    count: CK_ULONG,
    key: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    boundary(|| {
        let handle = with_module(|m| {
            let (user, tenant) = generating_user(m, session)?;
            // SAFETY: forwarded contract of this function.
            let (key_type, ck_key_type) = match unsafe { mechanism_of(mechanism) }? {
                CKM_AES_KEY_GEN => (KeyType::Aes256, CKK_AES),
                CKM_GENERIC_SECRET_KEY_GEN => (KeyType::HmacSha256, CKK_GENERIC_SECRET),
                _ => return Err(CKR_MECHANISM_INVALID),
            };
            if key.is_null() {
                return Err(CKR_ARGUMENTS_BAD);
            }
            // SAFETY: forwarded contract of this function.
            let template = unsafe { Template::read(template, count) }?;
            let mut request = Request::default();
            let mut value_len = None;
            for (attribute, value) in &template.attributes {
                if request.common(CKO_SECRET_KEY, ck_key_type, *attribute, value)? {
                    continue;
                }
                match *attribute {
                    CKA_VALUE_LEN => value_len = Some(ulong_of(value)?),
                    _ => return Err(CKR_ATTRIBUTE_TYPE_INVALID),
                }
            }
            match value_len {
                None => return Err(CKR_TEMPLATE_INCOMPLETE),
                Some(32) => {}
                Some(_) => return Err(CKR_KEY_SIZE_RANGE),
            }
            let default = if key_type == KeyType::Aes256 {
                Usage::ENCRYPT | Usage::DECRYPT | Usage::WRAP | Usage::UNWRAP
            } else {
                Usage::SIGN | Usage::VERIFY
            };
            let attrs = request.attributes(&mut OsRng, tenant, default)?;
            let made = m.hsm.generate(&mut OsRng, user, key_type, attrs).map_err(|e| generation_rv(&e))?;
            m.objects.handle_of(made, ObjectKind::Key)
        })?;
        // SAFETY: forwarded contract of this function.
        unsafe { write_out(key, handle) }
    })
}

/// `C_GenerateKeyPair`: `CKM_EC_KEY_PAIR_GEN` (`CKA_EC_PARAMS` required in
/// the public template, the DER OID of prime256v1; another curve is
/// `CKR_CURVE_NOT_SUPPORTED`, bytes that are not an OID
/// `CKR_ATTRIBUTE_VALUE_INVALID`) or `CKM_RSA_PKCS_KEY_PAIR_GEN`
/// (`CKA_MODULUS_BITS` 2048, 3072 or 4096, required, else
/// `CKR_KEY_SIZE_RANGE`; `CKA_PUBLIC_EXPONENT`, if given, 65537, else
/// `CKR_ATTRIBUTE_VALUE_INVALID`). One coffer key, two objects.
///
/// # Safety
/// As [`generate_key`], for both templates and both handles.
#[allow(clippy::too_many_arguments, reason = "the PKCS#11 signature")]
pub(crate) unsafe extern "C" fn generate_key_pair(
    session: CK_SESSION_HANDLE,
    mechanism: *mut CK_MECHANISM,
    public_template: *mut CK_ATTRIBUTE,
    public_count: CK_ULONG,
    private_template: *mut CK_ATTRIBUTE,
    private_count: CK_ULONG,
    public_key: *mut CK_OBJECT_HANDLE,
    private_key: *mut CK_OBJECT_HANDLE,
) -> CK_RV {
    boundary(|| {
        let (public, private) = with_module(|m| {
            let (user, tenant) = generating_user(m, session)?;
            // SAFETY: forwarded contract of this function.
            let mechanism = unsafe { mechanism_of(mechanism) }?;
            let ck_key_type = match mechanism {
                CKM_EC_KEY_PAIR_GEN => CKK_EC,
                CKM_RSA_PKCS_KEY_PAIR_GEN => CKK_RSA,
                _ => return Err(CKR_MECHANISM_INVALID),
            };
            if public_key.is_null() || private_key.is_null() {
                return Err(CKR_ARGUMENTS_BAD);
            }
            // SAFETY: forwarded contract of this function.
            let public_template = unsafe { Template::read(public_template, public_count) }?;
            // SAFETY: as above.
            let private_template = unsafe { Template::read(private_template, private_count) }?;
            let mut request = Request::default();
            let mut ec_params = None;
            let mut modulus_bits = None;
            for (attribute, value) in &public_template.attributes {
                if request.common(CKO_PUBLIC_KEY, ck_key_type, *attribute, value)? {
                    continue;
                }
                match (*attribute, ck_key_type) {
                    (CKA_EC_PARAMS, CKK_EC) => ec_params = Some(*value),
                    (CKA_MODULUS_BITS, CKK_RSA) => modulus_bits = Some(ulong_of(value)?),
                    (CKA_PUBLIC_EXPONENT, CKK_RSA) => {
                        let mut exponent = *value;
                        while let [0, rest @ ..] = exponent {
                            exponent = rest;
                        }
                        if exponent != RSA_EXPONENT {
                            return Err(CKR_ATTRIBUTE_VALUE_INVALID);
                        }
                    }
                    _ => return Err(CKR_ATTRIBUTE_TYPE_INVALID),
                }
            }
            for (attribute, value) in &private_template.attributes {
                if !request.common(CKO_PRIVATE_KEY, ck_key_type, *attribute, value)? {
                    return Err(CKR_ATTRIBUTE_TYPE_INVALID);
                }
            }
            let key_type = if ck_key_type == CKK_EC {
                match ec_params {
                    None => return Err(CKR_TEMPLATE_INCOMPLETE),
                    Some(p) if p == P256_EC_PARAMS => KeyType::P256,
                    // Another OBJECT IDENTIFIER: a curve coffer does not have.
                    Some([0x06, ..]) => return Err(CKR_CURVE_NOT_SUPPORTED),
                    Some(_) => return Err(CKR_ATTRIBUTE_VALUE_INVALID),
                }
            } else {
                match modulus_bits {
                    None => return Err(CKR_TEMPLATE_INCOMPLETE),
                    Some(2048) => KeyType::Rsa2048,
                    Some(3072) => KeyType::Rsa3072,
                    Some(4096) => KeyType::Rsa4096,
                    Some(_) => return Err(CKR_KEY_SIZE_RANGE),
                }
            };
            let attrs = request.attributes(&mut OsRng, tenant, Usage::SIGN | Usage::VERIFY)?;
            let made = m.hsm.generate(&mut OsRng, user, key_type, attrs).map_err(|e| generation_rv(&e))?;
            let private = m.objects.handle_of(made, ObjectKind::Key)?;
            let public = m.objects.handle_of(made, ObjectKind::PublicKey)?;
            Ok((public, private))
        })?;
        // SAFETY: forwarded contract of this function.
        unsafe { write_out(public_key, public) }?;
        // SAFETY: as above.
        unsafe { write_out(private_key, private) }
    })
}
