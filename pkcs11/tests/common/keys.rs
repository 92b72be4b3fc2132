//! Sessions, key generation, search, attributes and signatures through
//! the function list, for the object and signature tests.

use std::ptr::null_mut;

use cryptoki_sys::*;

use super::USER_PIN;

/// A session, read/write or not.
pub fn open(read_write: bool) -> CK_SESSION_HANDLE {
    let mut session: CK_SESSION_HANDLE = 0;
    let flags = CKF_SERIAL_SESSION | if read_write { CKF_RW_SESSION } else { 0 };
    assert_eq!(p11!(C_OpenSession(0, flags, null_mut(), None, &mut session)), CKR_OK);
    session
}

/// Logs the application in as the user.
pub fn login(session: CK_SESSION_HANDLE) {
    let mut pin = USER_PIN.to_vec();
    assert_eq!(p11!(C_Login(session, CKU_USER, pin.as_mut_ptr(), pin.len() as CK_ULONG)), CKR_OK);
}

/// An attribute value the template owns.
pub enum Val {
    Bool(bool),
    Ulong(CK_ULONG),
    Bytes(Vec<u8>),
}

/// A template: owned values and the `CK_ATTRIBUTE`s pointing at them.
pub struct Tpl {
    values: Vec<(CK_ATTRIBUTE_TYPE, Vec<u8>)>,
    raw: Vec<CK_ATTRIBUTE>,
}

impl Tpl {
    pub fn new(attributes: &[(CK_ATTRIBUTE_TYPE, Val)]) -> Self {
        let values: Vec<(CK_ATTRIBUTE_TYPE, Vec<u8>)> = attributes
            .iter()
            .map(|(t, v)| {
                let bytes = match v {
                    Val::Bool(b) => vec![if *b { CK_TRUE } else { CK_FALSE }],
                    Val::Ulong(u) => u.to_ne_bytes().to_vec(),
                    Val::Bytes(b) => b.clone(),
                };
                (*t, bytes)
            })
            .collect();
        let mut tpl = Tpl { values, raw: Vec::new() };
        tpl.raw = tpl
            .values
            .iter_mut()
            .map(|(t, v)| CK_ATTRIBUTE {
                type_: *t,
                pValue: v.as_mut_ptr().cast(),
                ulValueLen: v.len() as CK_ULONG,
            })
            .collect();
        tpl
    }

    pub fn ptr(&mut self) -> *mut CK_ATTRIBUTE {
        if self.raw.is_empty() { null_mut() } else { self.raw.as_mut_ptr() }
    }

    pub fn len(&self) -> CK_ULONG {
        self.raw.len() as CK_ULONG
    }
}

pub fn mechanism(mechanism: CK_MECHANISM_TYPE) -> CK_MECHANISM {
    CK_MECHANISM { mechanism, pParameter: null_mut(), ulParameterLen: 0 }
}

/// The DER OID of prime256v1.
pub const P256_OID: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// Generates a key pair; returns (public, private) or the error.
pub fn try_pair(
    session: CK_SESSION_HANDLE,
    mech: CK_MECHANISM_TYPE,
    public: &mut Tpl,
    private: &mut Tpl,
) -> Result<(CK_OBJECT_HANDLE, CK_OBJECT_HANDLE), CK_RV> {
    let mut m = mechanism(mech);
    let (mut pubh, mut privh) = (0, 0);
    let rv = p11!(C_GenerateKeyPair(
        session,
        &mut m,
        public.ptr(),
        public.len(),
        private.ptr(),
        private.len(),
        &mut pubh,
        &mut privh
    ));
    if rv == CKR_OK { Ok((pubh, privh)) } else { Err(rv) }
}

/// A P-256 pair with key id `id`, usage sign and verify.
pub fn ec_pair(session: CK_SESSION_HANDLE, id: &str) -> (CK_OBJECT_HANDLE, CK_OBJECT_HANDLE) {
    let mut public = Tpl::new(&[
        (CKA_EC_PARAMS, Val::Bytes(P256_OID.to_vec())),
        (CKA_VERIFY, Val::Bool(true)),
        (CKA_ID, Val::Bytes(id.as_bytes().to_vec())),
        (CKA_LABEL, Val::Bytes(format!("label {id}").into_bytes())),
    ]);
    let mut private = Tpl::new(&[
        (CKA_SIGN, Val::Bool(true)),
        (CKA_SENSITIVE, Val::Bool(true)),
        (CKA_ID, Val::Bytes(id.as_bytes().to_vec())),
        (CKA_TOKEN, Val::Bool(true)),
    ]);
    try_pair(session, CKM_EC_KEY_PAIR_GEN, &mut public, &mut private).expect("C_GenerateKeyPair EC")
}

/// An RSA-2048 pair with key id `id`.
pub fn rsa_pair(session: CK_SESSION_HANDLE, id: &str) -> (CK_OBJECT_HANDLE, CK_OBJECT_HANDLE) {
    let mut public = Tpl::new(&[
        (CKA_MODULUS_BITS, Val::Ulong(2048)),
        (CKA_PUBLIC_EXPONENT, Val::Bytes(vec![1, 0, 1])),
        (CKA_ID, Val::Bytes(id.as_bytes().to_vec())),
    ]);
    let mut private = Tpl::new(&[(CKA_SIGN, Val::Bool(true))]);
    try_pair(session, CKM_RSA_PKCS_KEY_PAIR_GEN, &mut public, &mut private).expect("C_GenerateKeyPair RSA")
}

/// Generates a secret key, or the error.
pub fn try_key(
    session: CK_SESSION_HANDLE,
    mech: CK_MECHANISM_TYPE,
    template: &mut Tpl,
) -> Result<CK_OBJECT_HANDLE, CK_RV> {
    let mut m = mechanism(mech);
    let mut key = 0;
    let rv = p11!(C_GenerateKey(session, &mut m, template.ptr(), template.len(), &mut key));
    if rv == CKR_OK { Ok(key) } else { Err(rv) }
}

/// An AES-256 key with key id `id`.
pub fn aes_key(session: CK_SESSION_HANDLE, id: &str) -> CK_OBJECT_HANDLE {
    let mut t = Tpl::new(&[(CKA_VALUE_LEN, Val::Ulong(32)), (CKA_ID, Val::Bytes(id.as_bytes().to_vec()))]);
    try_key(session, CKM_AES_KEY_GEN, &mut t).expect("C_GenerateKey AES")
}

/// An HMAC key (generic secret) with key id `id`.
pub fn hmac_key(session: CK_SESSION_HANDLE, id: &str) -> CK_OBJECT_HANDLE {
    let mut t = Tpl::new(&[(CKA_VALUE_LEN, Val::Ulong(32)), (CKA_ID, Val::Bytes(id.as_bytes().to_vec()))]);
    try_key(session, CKM_GENERIC_SECRET_KEY_GEN, &mut t).expect("C_GenerateKey generic secret")
}

/// Every object matching `template`, read 2 at a time.
pub fn find(session: CK_SESSION_HANDLE, template: &mut Tpl) -> Vec<CK_OBJECT_HANDLE> {
    assert_eq!(p11!(C_FindObjectsInit(session, template.ptr(), template.len())), CKR_OK);
    let mut all = Vec::new();
    loop {
        let mut chunk = [0 as CK_OBJECT_HANDLE; 2];
        let mut n: CK_ULONG = 0;
        assert_eq!(p11!(C_FindObjects(session, chunk.as_mut_ptr(), 2, &mut n)), CKR_OK);
        if n == 0 {
            break;
        }
        all.extend_from_slice(&chunk[..n as usize]);
    }
    assert_eq!(p11!(C_FindObjectsFinal(session)), CKR_OK);
    all
}

/// One attribute's value (two calls: length, then value), or the error
/// with the length the module left.
pub fn attr(
    session: CK_SESSION_HANDLE,
    object: CK_OBJECT_HANDLE,
    t: CK_ATTRIBUTE_TYPE,
) -> Result<Vec<u8>, (CK_RV, CK_ULONG)> {
    let mut a = CK_ATTRIBUTE { type_: t, pValue: null_mut(), ulValueLen: 0 };
    let rv = p11!(C_GetAttributeValue(session, object, &mut a, 1));
    if rv != CKR_OK {
        return Err((rv, a.ulValueLen));
    }
    let mut value = vec![0u8; a.ulValueLen as usize];
    a.pValue = value.as_mut_ptr().cast();
    assert_eq!(p11!(C_GetAttributeValue(session, object, &mut a, 1)), CKR_OK);
    assert_eq!(a.ulValueLen as usize, value.len());
    Ok(value)
}

pub fn attr_bool(session: CK_SESSION_HANDLE, object: CK_OBJECT_HANDLE, t: CK_ATTRIBUTE_TYPE) -> bool {
    let v = attr(session, object, t).unwrap_or_else(|e| panic!("attribute {t:#x}: {e:?}"));
    assert_eq!(v.len(), 1);
    v[0] == CK_TRUE
}

pub fn attr_ulong(session: CK_SESSION_HANDLE, object: CK_OBJECT_HANDLE, t: CK_ATTRIBUTE_TYPE) -> CK_ULONG {
    let v = attr(session, object, t).unwrap_or_else(|e| panic!("attribute {t:#x}: {e:?}"));
    CK_ULONG::from_ne_bytes(v.try_into().unwrap())
}

/// The PSS parameters coffer signs with.
pub fn pss_params() -> CK_RSA_PKCS_PSS_PARAMS {
    CK_RSA_PKCS_PSS_PARAMS { hashAlg: CKM_SHA256, mgf: CKG_MGF1_SHA256, sLen: 32 }
}

/// Runs `f` with the mechanism `mech` (PSS with `pss_params`).
pub fn with_mechanism<T>(mech: CK_MECHANISM_TYPE, f: impl FnOnce(&mut CK_MECHANISM) -> T) -> T {
    let mut params = pss_params();
    let mut m = mechanism(mech);
    if mech == CKM_SHA256_RSA_PKCS_PSS {
        m.pParameter = std::ptr::from_mut(&mut params).cast();
        m.ulParameterLen = size_of::<CK_RSA_PKCS_PSS_PARAMS>() as CK_ULONG;
    }
    f(&mut m)
}

/// One-part signature of `data`, or the error of C_SignInit / C_Sign.
pub fn try_sign(
    session: CK_SESSION_HANDLE,
    mech: CK_MECHANISM_TYPE,
    key: CK_OBJECT_HANDLE,
    data: &[u8],
) -> Result<Vec<u8>, CK_RV> {
    let rv = with_mechanism(mech, |m| p11!(C_SignInit(session, m, key)));
    if rv != CKR_OK {
        return Err(rv);
    }
    let mut data = data.to_vec();
    let mut len: CK_ULONG = 0;
    let rv = p11!(C_Sign(session, data.as_mut_ptr(), data.len() as CK_ULONG, null_mut(), &mut len));
    if rv != CKR_OK {
        return Err(rv);
    }
    let mut sig = vec![0u8; len as usize];
    let rv = p11!(C_Sign(session, data.as_mut_ptr(), data.len() as CK_ULONG, sig.as_mut_ptr(), &mut len));
    if rv != CKR_OK {
        return Err(rv);
    }
    sig.truncate(len as usize);
    Ok(sig)
}

pub fn sign(
    session: CK_SESSION_HANDLE,
    mech: CK_MECHANISM_TYPE,
    key: CK_OBJECT_HANDLE,
    data: &[u8],
) -> Vec<u8> {
    try_sign(session, mech, key, data).unwrap_or_else(|rv| panic!("signing with {mech:#x}: {rv:#x}"))
}

/// One-part verification: the code of C_VerifyInit if it fails, else of C_Verify.
pub fn verify(
    session: CK_SESSION_HANDLE,
    mech: CK_MECHANISM_TYPE,
    key: CK_OBJECT_HANDLE,
    data: &[u8],
    sig: &[u8],
) -> CK_RV {
    let rv = with_mechanism(mech, |m| p11!(C_VerifyInit(session, m, key)));
    if rv != CKR_OK {
        return rv;
    }
    let mut data = data.to_vec();
    let mut sig = sig.to_vec();
    p11!(C_Verify(
        session,
        data.as_mut_ptr(),
        data.len() as CK_ULONG,
        sig.as_mut_ptr(),
        sig.len() as CK_ULONG
    ))
}
