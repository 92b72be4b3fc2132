//! Key objects (PKCS#11 v2.40 §4.7–§4.9) over coffer's keys: the table of
//! object handles and the attributes each object shows.
//!
//! Every P-256 or RSA key of the logged-in user's tenant is two objects, a
//! private key and its public key; every AES or HMAC key is one secret key
//! object. Object handles are given out the first time a key is seen and
//! stay the same until `C_Finalize` (a map between the object handle and
//! the coffer handle with the object's kind). Certificates and destroyed
//! keys are not objects in this version. All objects are token objects and
//! private (seen only after `C_Login` as `CKU_USER`): coffer has neither
//! session objects nor public objects.
//!
//! The key-state flags follow the key's provenance, which coffer-hsm
//! records (`KeyInfo::local`, KEYSTORE.md §3.1): a key is *local* when
//! every version of it was generated inside the token, and not once any
//! material came in from outside (a plaintext import, an unwrap,
//! `C_UnwrapKey`). PKCS#11 v2.40 §4.9 says a key that was unwrapped or
//! imported is neither always sensitive nor never extractable, whatever it
//! is now, since its bytes existed outside the token; `CKA_LOCAL` is true
//! only for a key generated on the token. So:
//!
//! - `CKA_SENSITIVE` is true: coffer never reveals a secret or private key
//!   in plaintext (an extractable key leaves only wrapped);
//! - `CKA_LOCAL` is `local`;
//! - `CKA_ALWAYS_SENSITIVE` is `local`: a coffer key is sensitive from the
//!   moment it is inside, so it has always been sensitive exactly when it
//!   has never been outside;
//! - `CKA_NEVER_EXTRACTABLE` is `local && !extractable`: coffer's
//!   extractable flag is fixed when the key is made and never changes, so a
//!   local key that is not extractable has never been; an imported one was
//!   in someone's hands before.
//!
//! Keys stored before coffer kept this record read as local: for them the
//! flags say what the token did with the key, not what happened before.

use std::collections::BTreeMap;

use coffer_hsm::{Handle, KeyInfo, KeyState, KeyType, SessionId, Usage};
use cryptoki_sys::{
    CK_ATTRIBUTE_TYPE, CK_BBOOL, CK_FALSE, CK_KEY_TYPE, CK_OBJECT_CLASS, CK_OBJECT_HANDLE, CK_TRUE, CK_ULONG,
    CKA_ALWAYS_AUTHENTICATE, CKA_ALWAYS_SENSITIVE, CKA_CLASS, CKA_COEFFICIENT, CKA_DECRYPT, CKA_DERIVE,
    CKA_EC_PARAMS, CKA_EC_POINT, CKA_ENCRYPT, CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_EXTRACTABLE, CKA_ID,
    CKA_KEY_TYPE, CKA_LABEL, CKA_LOCAL, CKA_MODIFIABLE, CKA_MODULUS, CKA_MODULUS_BITS, CKA_NEVER_EXTRACTABLE,
    CKA_PRIME_1, CKA_PRIME_2, CKA_PRIVATE, CKA_PRIVATE_EXPONENT, CKA_PUBLIC_EXPONENT, CKA_PUBLIC_KEY_INFO,
    CKA_SENSITIVE, CKA_SIGN, CKA_TOKEN, CKA_UNWRAP, CKA_VALUE, CKA_VALUE_LEN, CKA_VERIFY, CKA_WRAP, CKK_AES,
    CKK_EC, CKK_GENERIC_SECRET, CKK_RSA, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_SECRET_KEY, CKR_GENERAL_ERROR,
    CKR_OBJECT_HANDLE_INVALID,
};

use crate::asn1;
use crate::boundary::CkResult;
use crate::error::rv_of;
use crate::module::Module;

/// Which object of a coffer key a handle names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ObjectKind {
    /// The key itself: the secret key of an AES or HMAC key, the private
    /// key of a P-256 or RSA key.
    Key,
    /// The public key of a P-256 or RSA key.
    PublicKey,
}

/// The object handles given out since `C_Initialize`.
#[derive(Default)]
pub(crate) struct ObjectTable {
    by_handle: BTreeMap<CK_OBJECT_HANDLE, (Handle, ObjectKind)>,
    by_key: BTreeMap<(Handle, ObjectKind), CK_OBJECT_HANDLE>,
    last: CK_OBJECT_HANDLE,
}

impl ObjectTable {
    /// The object handle of `key`'s object `kind`, given out now if new
    /// (never 0, `CK_INVALID_HANDLE`).
    pub(crate) fn handle_of(&mut self, key: Handle, kind: ObjectKind) -> CkResult<CK_OBJECT_HANDLE> {
        if let Some(handle) = self.by_key.get(&(key, kind)) {
            return Ok(*handle);
        }
        let handle = self.last.checked_add(1).ok_or(CKR_GENERAL_ERROR)?;
        self.last = handle;
        self.by_handle.insert(handle, (key, kind));
        self.by_key.insert((key, kind), handle);
        Ok(handle)
    }

    /// The coffer key and kind an object handle names.
    pub(crate) fn get(&self, handle: CK_OBJECT_HANDLE) -> Option<(Handle, ObjectKind)> {
        self.by_handle.get(&handle).copied()
    }
}

/// One object as it is now: its handle, kind, and coffer's description of its key.
pub(crate) struct Object {
    pub(crate) handle: CK_OBJECT_HANDLE,
    pub(crate) kind: ObjectKind,
    pub(crate) info: KeyInfo,
}

impl Object {
    /// Whether the key's coffer usage and lifecycle state allow `usage`
    /// now, as coffer-hsm's policy does: what protects (encrypt, sign,
    /// wrap) needs an active key; what processes what exists (decrypt,
    /// verify, unwrap) also takes a deactivated one.
    pub(crate) fn allows(&self, usage: Usage) -> bool {
        let processes = usage == Usage::DECRYPT || usage == Usage::VERIFY || usage == Usage::UNWRAP;
        let state_ok = match self.info.state {
            KeyState::Active => true,
            KeyState::Deactivated => processes,
            _ => false,
        };
        state_ok && self.info.attributes.usage.allows(usage)
    }
}

/// Whether a coffer key type has objects at all (certificates do not yet).
fn has_objects(key_type: KeyType) -> bool {
    key_type_of(key_type).is_some()
}

/// Whether a coffer key type is a key pair (so it has a public-key object).
pub(crate) fn is_pair(key_type: KeyType) -> bool {
    matches!(key_type, KeyType::P256 | KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096)
}

/// The `CKK_` of a coffer key type (`None` for certificates).
pub(crate) fn key_type_of(key_type: KeyType) -> Option<CK_KEY_TYPE> {
    match key_type {
        KeyType::Aes256 => Some(CKK_AES),
        KeyType::HmacSha256 => Some(CKK_GENERIC_SECRET),
        KeyType::P256 => Some(CKK_EC),
        KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => Some(CKK_RSA),
        _ => None,
    }
}

/// The `CKO_` of an object.
pub(crate) fn class_of(key_type: KeyType, kind: ObjectKind) -> CK_OBJECT_CLASS {
    match (is_pair(key_type), kind) {
        (false, _) => CKO_SECRET_KEY,
        (true, ObjectKind::Key) => CKO_PRIVATE_KEY,
        (true, ObjectKind::PublicKey) => CKO_PUBLIC_KEY,
    }
}

/// The DER of the OID prime256v1 (1.2.840.10045.3.1.7): `CKA_EC_PARAMS`.
pub(crate) const P256_EC_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// The public parts of a P-256 or RSA key, read from its SPKI.
pub(crate) struct PublicParts {
    /// The SubjectPublicKeyInfo DER (`CKA_PUBLIC_KEY_INFO`).
    spki: Vec<u8>,
    /// `CKA_EC_POINT`: the uncompressed point in a DER OCTET STRING.
    ec_point: Option<Vec<u8>>,
    /// `CKA_MODULUS` and `CKA_PUBLIC_EXPONENT`, big-endian, no leading zeros.
    rsa: Option<(Vec<u8>, Vec<u8>)>,
}

/// One attribute of an object, as `C_GetAttributeValue` answers it (§5.7).
pub(crate) enum Value {
    /// The attribute's bytes.
    Bytes(Vec<u8>),
    /// The attribute exists but is sensitive or unextractable.
    Sensitive,
    /// The object has no such attribute.
    Invalid,
}

fn flag(value: bool) -> Value {
    let b: CK_BBOOL = if value { CK_TRUE } else { CK_FALSE };
    Value::Bytes(vec![b])
}

fn ulong(value: CK_ULONG) -> Value {
    Value::Bytes(value.to_ne_bytes().to_vec())
}

/// Whether reading `attribute` needs the key's public parts.
pub(crate) fn needs_public_parts(attribute: CK_ATTRIBUTE_TYPE) -> bool {
    matches!(attribute, CKA_EC_POINT | CKA_MODULUS | CKA_PUBLIC_EXPONENT | CKA_PUBLIC_KEY_INFO)
}

impl Object {
    /// The attribute `attribute` of this object. `public` must be given
    /// for a key pair when [`needs_public_parts`] says so.
    pub(crate) fn attribute(&self, attribute: CK_ATTRIBUTE_TYPE, public: Option<&PublicParts>) -> Value {
        let key_type = self.info.key_type;
        let attrs = &self.info.attributes;
        let usage = |u: Usage| flag(attrs.usage.allows(u));
        let class = class_of(key_type, self.kind);
        let secret = class == CKO_SECRET_KEY;
        let private = class == CKO_PRIVATE_KEY;
        let public_key = class == CKO_PUBLIC_KEY;
        let ec = key_type == KeyType::P256;
        let rsa = is_pair(key_type) && !ec;
        match attribute {
            CKA_CLASS => ulong(class),
            CKA_KEY_TYPE => key_type_of(key_type).map_or(Value::Invalid, ulong),
            CKA_TOKEN | CKA_PRIVATE => flag(true),
            // coffer cannot change a key's attributes.
            CKA_MODIFIABLE => flag(false),
            CKA_LABEL => Value::Bytes(attrs.label.as_bytes().to_vec()),
            CKA_ID => Value::Bytes(attrs.key_id.as_bytes().to_vec()),
            CKA_DERIVE => usage(Usage::DERIVE),
            CKA_LOCAL => flag(self.info.local),
            CKA_SENSITIVE if !public_key => flag(true),
            CKA_ALWAYS_SENSITIVE if !public_key => flag(self.info.local),
            CKA_EXTRACTABLE if !public_key => flag(attrs.extractable),
            CKA_NEVER_EXTRACTABLE if !public_key => flag(self.info.local && !attrs.extractable),
            CKA_ENCRYPT if !private => usage(Usage::ENCRYPT),
            CKA_VERIFY if !private => usage(Usage::VERIFY),
            CKA_WRAP if !private => usage(Usage::WRAP),
            CKA_DECRYPT if !public_key => usage(Usage::DECRYPT),
            CKA_SIGN if !public_key => usage(Usage::SIGN),
            CKA_UNWRAP if !public_key => usage(Usage::UNWRAP),
            CKA_VALUE_LEN if secret => ulong(32),
            // coffer asks for no PIN per use of a key.
            CKA_ALWAYS_AUTHENTICATE if private => flag(false),
            // Secret and private key material: never revealed.
            CKA_VALUE if !public_key => Value::Sensitive,
            CKA_PRIVATE_EXPONENT | CKA_PRIME_1 | CKA_PRIME_2 | CKA_EXPONENT_1 | CKA_EXPONENT_2
            | CKA_COEFFICIENT
                if rsa && private =>
            {
                Value::Sensitive
            }
            CKA_EC_PARAMS if ec => Value::Bytes(P256_EC_PARAMS.to_vec()),
            CKA_EC_POINT if ec && public_key => public_value(public, |p| p.ec_point.clone()),
            CKA_MODULUS if rsa => public_value(public, |p| p.rsa.as_ref().map(|(n, _)| n.clone())),
            CKA_PUBLIC_EXPONENT if rsa => public_value(public, |p| p.rsa.as_ref().map(|(_, e)| e.clone())),
            CKA_MODULUS_BITS if rsa && public_key => ulong(rsa_bits(key_type)),
            CKA_PUBLIC_KEY_INFO if !secret => public_value(public, |p| Some(p.spki.clone())),
            _ => Value::Invalid,
        }
    }
}

fn public_value(public: Option<&PublicParts>, f: impl FnOnce(&PublicParts) -> Option<Vec<u8>>) -> Value {
    public.and_then(f).map_or(Value::Invalid, Value::Bytes)
}

/// The modulus size of an RSA key type, in bits (0 for other types).
pub(crate) fn rsa_bits(key_type: KeyType) -> CK_ULONG {
    match key_type {
        KeyType::Rsa2048 => 2048,
        KeyType::Rsa3072 => 3072,
        KeyType::Rsa4096 => 4096,
        _ => 0,
    }
}

impl Module {
    /// The coffer session of the logged-in user: `CKR_USER_NOT_LOGGED_IN`
    /// without a `CKU_USER` login (the security officer has no keys).
    pub(crate) fn user_session(&self) -> CkResult<SessionId> {
        match &self.login {
            Some(login) if login.who == crate::module::LoggedIn::User => Ok(login.id),
            _ => Err(cryptoki_sys::CKR_USER_NOT_LOGGED_IN),
        }
    }

    /// Every object of the user's tenant, in coffer's key id order (each
    /// pair's private key before its public key).
    pub(crate) fn objects(&mut self, user: SessionId) -> CkResult<Vec<Object>> {
        let keys = self.hsm.list(user).map_err(|e| rv_of(&e))?;
        let mut objects = Vec::new();
        for info in keys {
            if info.state == KeyState::Destroyed || !has_objects(info.key_type) {
                continue;
            }
            let kinds: &[ObjectKind] = if is_pair(info.key_type) {
                &[ObjectKind::Key, ObjectKind::PublicKey]
            } else {
                &[ObjectKind::Key]
            };
            for kind in kinds {
                let handle = self.objects.handle_of(info.handle, *kind)?;
                objects.push(Object { handle, kind: *kind, info: info.clone() });
            }
        }
        Ok(objects)
    }

    /// The object `handle` of the user's tenant: `invalid` (the function's
    /// "no such object" code) for a handle never given out, or whose key was
    /// destroyed or is not of the tenant.
    pub(crate) fn object(
        &mut self,
        user: SessionId,
        handle: CK_OBJECT_HANDLE,
        invalid: cryptoki_sys::CK_RV,
    ) -> CkResult<Object> {
        let (key, kind) = self.objects.get(handle).ok_or(invalid)?;
        let info = match self.hsm.info(user, key) {
            Ok(info) => info,
            Err(coffer_hsm::Error::NotFound | coffer_hsm::Error::TenantNotAllowed) => return Err(invalid),
            Err(e) => return Err(rv_of(&e)),
        };
        if info.state == KeyState::Destroyed || !has_objects(info.key_type) {
            return Err(invalid);
        }
        Ok(Object { handle, kind, info })
    }

    /// The public parts of a key pair's object (`None` for a secret key).
    pub(crate) fn public_parts(&mut self, user: SessionId, object: &Object) -> CkResult<Option<PublicParts>> {
        if !is_pair(object.info.key_type) {
            return Ok(None);
        }
        let spki = self.hsm.public_key_der(user, object.info.handle).map_err(|e| rv_of(&e))?;
        let (ec_point, rsa) = if object.info.key_type == KeyType::P256 {
            let point = coffer_core::p256::P256PublicKey::from_spki_der(&spki)
                .map_err(|_| CKR_GENERAL_ERROR)?
                .to_uncompressed();
            (Some(asn1::octet_string(&point)?), None)
        } else {
            (None, Some(asn1::rsa_public_key_of_spki(&spki)?))
        };
        Ok(Some(PublicParts { spki, ec_point, rsa }))
    }
}

/// `CKR_OBJECT_HANDLE_INVALID`, the "no such object" of the object functions.
pub(crate) const NO_OBJECT: cryptoki_sys::CK_RV = CKR_OBJECT_HANDLE_INVALID;
