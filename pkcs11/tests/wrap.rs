//! `C_WrapKey` and `C_UnwrapKey` through the function list: AES-KW, AES-KWP
//! and RSA-OAEP round trips proved by a MAC (or a signature) both copies
//! compute alike, the provenance flags of an unwrapped key, every refusal
//! with its code and without a new object, the mechanism parameters, the
//! two-call size convention, and OpenSC's `pkcs11-tool --wrap / --unwrap`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "tests")]

#[macro_use]
mod common;

use std::ptr::{from_mut, null_mut};

use common::keys::*;
use common::{Loaded, Token, serial};
use cryptoki_sys::*;

const MESSAGE: &[u8] = b"t=1790000000.{\"paid\":true}";

/// A logged-in read/write session on a fresh token (drop order: the
/// module is finalized before the token's directory goes).
fn setup(name: &str) -> (Loaded, Token, CK_SESSION_HANDLE) {
    let token = Token::new(name);
    let loaded = Loaded::new();
    let s = open(true);
    login(s);
    (loaded, token, s)
}

/// Runs `f` with the mechanism `mech`, its parameter the bytes `param`
/// (none if empty), or for OAEP the SHA-256 parameters with `param` as the label.
fn with_wrap_mechanism<T>(
    mech: CK_MECHANISM_TYPE,
    param: &[u8],
    f: impl FnOnce(&mut CK_MECHANISM) -> T,
) -> T {
    let mut bytes = param.to_vec();
    let mut oaep = CK_RSA_PKCS_OAEP_PARAMS {
        hashAlg: CKM_SHA256,
        mgf: CKG_MGF1_SHA256,
        source: CKZ_DATA_SPECIFIED,
        pSourceData: if bytes.is_empty() { null_mut() } else { bytes.as_mut_ptr().cast() },
        ulSourceDataLen: bytes.len() as CK_ULONG,
    };
    let mut m = mechanism(mech);
    if mech == CKM_RSA_PKCS_OAEP {
        m.pParameter = from_mut(&mut oaep).cast();
        m.ulParameterLen = size_of::<CK_RSA_PKCS_OAEP_PARAMS>() as CK_ULONG;
    } else if !bytes.is_empty() {
        m.pParameter = bytes.as_mut_ptr().cast();
        m.ulParameterLen = bytes.len() as CK_ULONG;
    }
    f(&mut m)
}

/// `C_WrapKey` with the two-call convention: the size, then the bytes.
fn try_wrap(
    s: CK_SESSION_HANDLE,
    mech: CK_MECHANISM_TYPE,
    param: &[u8],
    wrapping: CK_OBJECT_HANDLE,
    key: CK_OBJECT_HANDLE,
) -> Result<Vec<u8>, CK_RV> {
    with_wrap_mechanism(mech, param, |m| {
        let mut len: CK_ULONG = 0;
        let rv = p11!(C_WrapKey(s, m, wrapping, key, null_mut(), &mut len));
        if rv != CKR_OK {
            return Err(rv);
        }
        let mut out = vec![0u8; len as usize];
        let rv = p11!(C_WrapKey(s, m, wrapping, key, out.as_mut_ptr(), &mut len));
        if rv != CKR_OK {
            return Err(rv);
        }
        out.truncate(len as usize);
        Ok(out)
    })
}

fn wrap(
    s: CK_SESSION_HANDLE,
    mech: CK_MECHANISM_TYPE,
    wrapping: CK_OBJECT_HANDLE,
    key: CK_OBJECT_HANDLE,
) -> Vec<u8> {
    try_wrap(s, mech, &[], wrapping, key).unwrap_or_else(|rv| panic!("C_WrapKey {mech:#x}: {rv:#x}"))
}

/// `C_UnwrapKey` into a new object made from `template`.
fn try_unwrap(
    s: CK_SESSION_HANDLE,
    mech: CK_MECHANISM_TYPE,
    param: &[u8],
    unwrapping: CK_OBJECT_HANDLE,
    wrapped: &[u8],
    template: &mut Tpl,
) -> Result<CK_OBJECT_HANDLE, CK_RV> {
    let mut wrapped = wrapped.to_vec();
    with_wrap_mechanism(mech, param, |m| {
        let mut key: CK_OBJECT_HANDLE = 0;
        let rv = p11!(C_UnwrapKey(
            s,
            m,
            unwrapping,
            wrapped.as_mut_ptr(),
            wrapped.len() as CK_ULONG,
            template.ptr(),
            template.len(),
            &mut key
        ));
        if rv == CKR_OK { Ok(key) } else { Err(rv) }
    })
}

/// The template of an unwrapped secret key of type `key_type` with key id `id`.
fn secret_template(key_type: CK_KEY_TYPE, id: &str) -> Tpl {
    Tpl::new(&[
        (CKA_CLASS, Val::Ulong(CKO_SECRET_KEY)),
        (CKA_KEY_TYPE, Val::Ulong(key_type)),
        (CKA_ID, Val::Bytes(id.as_bytes().to_vec())),
        (CKA_TOKEN, Val::Bool(true)),
        (CKA_SENSITIVE, Val::Bool(true)),
    ])
}

/// An HMAC key (generic secret) that may leave the token wrapped.
fn extractable_hmac(s: CK_SESSION_HANDLE, id: &str) -> CK_OBJECT_HANDLE {
    let mut t = Tpl::new(&[
        (CKA_VALUE_LEN, Val::Ulong(32)),
        (CKA_ID, Val::Bytes(id.as_bytes().to_vec())),
        (CKA_EXTRACTABLE, Val::Bool(true)),
    ]);
    try_key(s, CKM_GENERIC_SECRET_KEY_GEN, &mut t).expect("C_GenerateKey generic secret")
}

/// An RSA-2048 pair whose public key wraps and private key unwraps.
fn rsa_wrapping_pair(s: CK_SESSION_HANDLE, id: &str) -> (CK_OBJECT_HANDLE, CK_OBJECT_HANDLE) {
    let mut public = Tpl::new(&[
        (CKA_MODULUS_BITS, Val::Ulong(2048)),
        (CKA_WRAP, Val::Bool(true)),
        (CKA_ID, Val::Bytes(id.as_bytes().to_vec())),
    ]);
    let mut private = Tpl::new(&[(CKA_UNWRAP, Val::Bool(true))]);
    try_pair(s, CKM_RSA_PKCS_KEY_PAIR_GEN, &mut public, &mut private).expect("C_GenerateKeyPair RSA")
}

/// How many objects the user sees.
fn object_count(s: CK_SESSION_HANDLE) -> usize {
    find(s, &mut Tpl::new(&[])).len()
}

fn flags(s: CK_SESSION_HANDLE, key: CK_OBJECT_HANDLE) -> [bool; 3] {
    [
        attr_bool(s, key, CKA_LOCAL),
        attr_bool(s, key, CKA_ALWAYS_SENSITIVE),
        attr_bool(s, key, CKA_NEVER_EXTRACTABLE),
    ]
}

#[test]
fn aes_kw_and_kwp_wrap_an_hmac_key_that_unwraps_into_a_new_object_with_the_same_mac() {
    let _serial = serial();
    let (_loaded, _token, s) = setup("wrap-aes");
    let kek = aes_key(s, "kek");
    let hooks = extractable_hmac(s, "hooks");
    let mac = sign(s, CKM_SHA256_HMAC, hooks, MESSAGE);
    for (mech, id) in [(CKM_AES_KEY_WRAP, "kw-copy"), (CKM_AES_KEY_WRAP_KWP, "kwp-copy")] {
        let wrapped = wrap(s, mech, kek, hooks);
        assert_eq!(wrapped.len(), 40, "{id}");
        let copy =
            try_unwrap(s, mech, &[], kek, &wrapped, &mut secret_template(CKK_GENERIC_SECRET, id)).unwrap();
        assert_ne!(copy, hooks);
        assert_eq!(attr(s, copy, CKA_ID).unwrap(), id.as_bytes());
        assert_eq!(attr_ulong(s, copy, CKA_KEY_TYPE), CKK_GENERIC_SECRET);
        assert_eq!(sign(s, CKM_SHA256_HMAC, copy, MESSAGE), mac, "{id}: the same key");
    }
    // An AES key goes the same way, as CKK_AES.
    let mut t = Tpl::new(&[
        (CKA_VALUE_LEN, Val::Ulong(32)),
        (CKA_ID, Val::Bytes(b"data".to_vec())),
        (CKA_EXTRACTABLE, Val::Bool(true)),
    ]);
    let data = try_key(s, CKM_AES_KEY_GEN, &mut t).unwrap();
    let wrapped = wrap(s, CKM_AES_KEY_WRAP, kek, data);
    let mut template = secret_template(CKK_AES, "data-copy");
    let copy = try_unwrap(s, CKM_AES_KEY_WRAP, &[], kek, &wrapped, &mut template).unwrap();
    assert_eq!(attr_ulong(s, copy, CKA_KEY_TYPE), CKK_AES);
    assert!(attr_bool(s, copy, CKA_ENCRYPT), "AES's default usage");
}

#[test]
fn rsa_oaep_wraps_under_the_public_key_and_unwraps_with_the_private_key() {
    let _serial = serial();
    let (_loaded, _token, s) = setup("wrap-oaep");
    let (public, private) = rsa_wrapping_pair(s, "transport");
    let hooks = extractable_hmac(s, "hooks");
    let mac = sign(s, CKM_SHA256_HMAC, hooks, MESSAGE);
    for (label, id) in [(&b""[..], "copy"), (b"acme hooks", "labelled-copy")] {
        let wrapped = try_wrap(s, CKM_RSA_PKCS_OAEP, label, public, hooks).unwrap();
        assert_eq!(wrapped.len(), 256);
        let mut template = secret_template(CKK_GENERIC_SECRET, id);
        let copy = try_unwrap(s, CKM_RSA_PKCS_OAEP, label, private, &wrapped, &mut template).unwrap();
        assert_eq!(sign(s, CKM_SHA256_HMAC, copy, MESSAGE), mac, "{id}");
        // Another label does not unwrap it.
        let mut template = secret_template(CKK_GENERIC_SECRET, "wrong-label");
        let err = try_unwrap(s, CKM_RSA_PKCS_OAEP, b"other", private, &wrapped, &mut template);
        assert_eq!(err, Err(CKR_WRAPPED_KEY_INVALID));
    }
    // The private key does not wrap, the public key does not unwrap.
    assert_eq!(try_wrap(s, CKM_RSA_PKCS_OAEP, &[], private, hooks), Err(CKR_KEY_FUNCTION_NOT_PERMITTED));
    let wrapped = try_wrap(s, CKM_RSA_PKCS_OAEP, &[], public, hooks).unwrap();
    let mut template = secret_template(CKK_GENERIC_SECRET, "by-public");
    let err = try_unwrap(s, CKM_RSA_PKCS_OAEP, &[], public, &wrapped, &mut template);
    assert_eq!(err, Err(CKR_KEY_FUNCTION_NOT_PERMITTED));
}

#[test]
fn a_p256_private_key_travels_under_kwp_and_its_copy_signs_for_the_original_public_key() {
    let _serial = serial();
    let (_loaded, _token, s) = setup("wrap-ec");
    let kek = aes_key(s, "kek");
    let mut public =
        Tpl::new(&[(CKA_EC_PARAMS, Val::Bytes(P256_OID.to_vec())), (CKA_ID, Val::Bytes(b"ec".to_vec()))]);
    let mut private = Tpl::new(&[(CKA_EXTRACTABLE, Val::Bool(true))]);
    let (ec_public, ec_private) = try_pair(s, CKM_EC_KEY_PAIR_GEN, &mut public, &mut private).unwrap();
    // Not under AES-KW (its PKCS#8 is no multiple of 8 bytes), nor as a public key.
    assert_eq!(try_wrap(s, CKM_AES_KEY_WRAP, &[], kek, ec_private), Err(CKR_KEY_NOT_WRAPPABLE));
    assert_eq!(try_wrap(s, CKM_AES_KEY_WRAP_KWP, &[], kek, ec_public), Err(CKR_KEY_NOT_WRAPPABLE));
    let wrapped = wrap(s, CKM_AES_KEY_WRAP_KWP, kek, ec_private);
    let mut template = Tpl::new(&[
        (CKA_CLASS, Val::Ulong(CKO_PRIVATE_KEY)),
        (CKA_KEY_TYPE, Val::Ulong(CKK_EC)),
        (CKA_EC_PARAMS, Val::Bytes(P256_OID.to_vec())),
        (CKA_ID, Val::Bytes(b"ec-copy".to_vec())),
        (CKA_SIGN, Val::Bool(true)),
    ]);
    let copy = try_unwrap(s, CKM_AES_KEY_WRAP_KWP, &[], kek, &wrapped, &mut template).unwrap();
    assert_eq!(attr_ulong(s, copy, CKA_CLASS), CKO_PRIVATE_KEY);
    let sig = sign(s, CKM_ECDSA_SHA256, copy, MESSAGE);
    assert_eq!(verify(s, CKM_ECDSA_SHA256, ec_public, MESSAGE, &sig), CKR_OK);
}

#[test]
fn an_unwrapped_key_is_not_local_and_a_generated_one_is() {
    let _serial = serial();
    let (_loaded, _token, s) = setup("wrap-flags");
    let kek = aes_key(s, "kek");
    let hooks = extractable_hmac(s, "hooks");
    // Generated: local and always sensitive; never extractable unless it is extractable.
    assert_eq!(flags(s, kek), [true, true, true]);
    assert_eq!(flags(s, hooks), [true, true, false]);
    let wrapped = wrap(s, CKM_AES_KEY_WRAP_KWP, kek, hooks);
    // Unwrapped as not extractable: still neither always sensitive nor never extractable.
    let mut template = secret_template(CKK_GENERIC_SECRET, "copy");
    let copy = try_unwrap(s, CKM_AES_KEY_WRAP_KWP, &[], kek, &wrapped, &mut template).unwrap();
    assert!(!attr_bool(s, copy, CKA_EXTRACTABLE));
    assert!(attr_bool(s, copy, CKA_SENSITIVE));
    assert_eq!(flags(s, copy), [false, false, false]);
    // A public-key object reports the pair's CKA_LOCAL.
    let (public, _) = rsa_wrapping_pair(s, "pair");
    assert!(attr_bool(s, public, CKA_LOCAL));
}

#[test]
fn a_key_that_is_not_extractable_is_ckr_key_unextractable() {
    let _serial = serial();
    let (_loaded, _token, s) = setup("wrap-unextractable");
    let kek = aes_key(s, "kek");
    let secret = hmac_key(s, "secret");
    for mech in [CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_KWP] {
        assert_eq!(try_wrap(s, mech, &[], kek, secret), Err(CKR_KEY_UNEXTRACTABLE));
    }
    let (public, _) = rsa_wrapping_pair(s, "transport");
    assert_eq!(try_wrap(s, CKM_RSA_PKCS_OAEP, &[], public, secret), Err(CKR_KEY_UNEXTRACTABLE));
}

#[test]
fn tampered_or_mis_sized_wrapped_bytes_are_refused_and_create_no_object() {
    let _serial = serial();
    let (_loaded, _token, s) = setup("wrap-tampered");
    let kek = aes_key(s, "kek");
    let other_kek = aes_key(s, "other-kek");
    let hooks = extractable_hmac(s, "hooks");
    let before = object_count(s);
    for mech in [CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_KWP] {
        let wrapped = wrap(s, mech, kek, hooks);
        let mut tampered = wrapped.clone();
        tampered[5] ^= 0x01;
        for (bytes, unwrapping, rv) in [
            (&tampered[..], kek, CKR_WRAPPED_KEY_INVALID),
            (&wrapped[..], other_kek, CKR_WRAPPED_KEY_INVALID),
            (&wrapped[..39], kek, CKR_WRAPPED_KEY_LEN_RANGE),
            (&wrapped[..8], kek, CKR_WRAPPED_KEY_LEN_RANGE),
        ] {
            let mut template = secret_template(CKK_GENERIC_SECRET, "copy");
            assert_eq!(try_unwrap(s, mech, &[], unwrapping, bytes, &mut template), Err(rv), "{mech:#x}");
        }
        // Right bytes, wrong key type for them (32 bytes are no PKCS#8 EC key).
        let mut template =
            Tpl::new(&[(CKA_CLASS, Val::Ulong(CKO_PRIVATE_KEY)), (CKA_KEY_TYPE, Val::Ulong(CKK_EC))]);
        assert_eq!(try_unwrap(s, mech, &[], kek, &wrapped, &mut template), Err(CKR_WRAPPED_KEY_INVALID));
    }
    let (_, private) = rsa_wrapping_pair(s, "transport");
    let before = before + 2;
    let mut template = secret_template(CKK_GENERIC_SECRET, "copy");
    assert_eq!(
        try_unwrap(s, CKM_RSA_PKCS_OAEP, &[], private, &[7; 255], &mut template),
        Err(CKR_WRAPPED_KEY_LEN_RANGE)
    );
    assert_eq!(
        try_unwrap(s, CKM_RSA_PKCS_OAEP, &[], private, &[7; 256], &mut template),
        Err(CKR_WRAPPED_KEY_INVALID)
    );
    assert_eq!(object_count(s), before, "no object was made");
}

#[test]
fn the_mechanism_parameters_are_the_rfc_defaults_or_none() {
    let _serial = serial();
    let (_loaded, _token, s) = setup("wrap-params");
    let kek = aes_key(s, "kek");
    let hooks = extractable_hmac(s, "hooks");
    let kw_iv = [0xa6u8; 8];
    let kwp_iv = [0xa6u8, 0x59, 0x59, 0xa6];
    let kw = try_wrap(s, CKM_AES_KEY_WRAP, &kw_iv, kek, hooks).unwrap();
    assert_eq!(kw, wrap(s, CKM_AES_KEY_WRAP, kek, hooks), "the default IV is the same as none");
    let kwp = try_wrap(s, CKM_AES_KEY_WRAP_KWP, &kwp_iv, kek, hooks).unwrap();
    let mut template = secret_template(CKK_GENERIC_SECRET, "copy");
    try_unwrap(s, CKM_AES_KEY_WRAP_KWP, &kwp_iv, kek, &kwp, &mut template).unwrap();
    for (mech, param) in [
        (CKM_AES_KEY_WRAP, &[0xa5u8; 8][..]),
        (CKM_AES_KEY_WRAP, &kwp_iv[..]),
        (CKM_AES_KEY_WRAP_KWP, &kw_iv[..]),
        (CKM_AES_KEY_WRAP_KWP, &[0xa6, 0x59, 0x59, 0xa7][..]),
    ] {
        assert_eq!(try_wrap(s, mech, param, kek, hooks), Err(CKR_MECHANISM_PARAM_INVALID), "{param:02x?}");
    }
    // OAEP only with SHA-256 and MGF1-SHA-256.
    let (public, _) = rsa_wrapping_pair(s, "transport");
    let mut oaep = CK_RSA_PKCS_OAEP_PARAMS {
        hashAlg: CKM_SHA_1,
        mgf: CKG_MGF1_SHA1,
        source: 0,
        pSourceData: null_mut(),
        ulSourceDataLen: 0,
    };
    let mut m = mechanism(CKM_RSA_PKCS_OAEP);
    m.pParameter = from_mut(&mut oaep).cast();
    m.ulParameterLen = size_of::<CK_RSA_PKCS_OAEP_PARAMS>() as CK_ULONG;
    let mut len: CK_ULONG = 0;
    assert_eq!(p11!(C_WrapKey(s, &mut m, public, hooks, null_mut(), &mut len)), CKR_MECHANISM_PARAM_INVALID);
    let mut m = mechanism(CKM_RSA_PKCS_OAEP);
    assert_eq!(p11!(C_WrapKey(s, &mut m, public, hooks, null_mut(), &mut len)), CKR_MECHANISM_PARAM_INVALID);
    let mut m = mechanism(CKM_AES_CBC_PAD);
    assert_eq!(p11!(C_WrapKey(s, &mut m, kek, hooks, null_mut(), &mut len)), CKR_MECHANISM_INVALID);
}

#[test]
fn the_wrapping_key_must_be_of_the_mechanisms_type_and_allow_wrapping() {
    let _serial = serial();
    let (_loaded, _token, s) = setup("wrap-keys");
    let hooks = extractable_hmac(s, "hooks");
    let other = extractable_hmac(s, "other");
    assert_eq!(try_wrap(s, CKM_AES_KEY_WRAP, &[], other, hooks), Err(CKR_WRAPPING_KEY_TYPE_INCONSISTENT));
    let kek = aes_key(s, "kek");
    assert_eq!(try_wrap(s, CKM_RSA_PKCS_OAEP, &[], kek, hooks), Err(CKR_WRAPPING_KEY_TYPE_INCONSISTENT));
    let mut t = Tpl::new(&[
        (CKA_VALUE_LEN, Val::Ulong(32)),
        (CKA_ID, Val::Bytes(b"no-wrap".to_vec())),
        (CKA_WRAP, Val::Bool(false)),
        (CKA_UNWRAP, Val::Bool(false)),
    ]);
    let no_wrap = try_key(s, CKM_AES_KEY_GEN, &mut t).unwrap();
    assert_eq!(try_wrap(s, CKM_AES_KEY_WRAP, &[], no_wrap, hooks), Err(CKR_KEY_FUNCTION_NOT_PERMITTED));
    let wrapped = wrap(s, CKM_AES_KEY_WRAP, kek, hooks);
    let mut template = secret_template(CKK_GENERIC_SECRET, "copy");
    let err = try_unwrap(s, CKM_AES_KEY_WRAP, &[], no_wrap, &wrapped, &mut template);
    assert_eq!(err, Err(CKR_KEY_FUNCTION_NOT_PERMITTED));
    let err = try_unwrap(s, CKM_AES_KEY_WRAP, &[], other, &wrapped, &mut template);
    assert_eq!(err, Err(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT));
    assert_eq!(try_wrap(s, CKM_AES_KEY_WRAP, &[], 999_999, hooks), Err(CKR_WRAPPING_KEY_HANDLE_INVALID));
    assert_eq!(try_wrap(s, CKM_AES_KEY_WRAP, &[], kek, 999_999), Err(CKR_KEY_HANDLE_INVALID));
}

#[test]
fn the_unwrap_template_needs_a_class_and_a_type_that_agree_and_a_read_write_session() {
    let _serial = serial();
    let (_loaded, _token, s) = setup("wrap-template");
    let kek = aes_key(s, "kek");
    let hooks = extractable_hmac(s, "hooks");
    let wrapped = wrap(s, CKM_AES_KEY_WRAP, kek, hooks);
    let cases: [(Vec<(CK_ATTRIBUTE_TYPE, Val)>, CK_RV); 6] = [
        (vec![(CKA_KEY_TYPE, Val::Ulong(CKK_GENERIC_SECRET))], CKR_TEMPLATE_INCOMPLETE),
        (vec![(CKA_CLASS, Val::Ulong(CKO_SECRET_KEY))], CKR_TEMPLATE_INCOMPLETE),
        (
            vec![(CKA_CLASS, Val::Ulong(CKO_SECRET_KEY)), (CKA_KEY_TYPE, Val::Ulong(CKK_EC))],
            CKR_TEMPLATE_INCONSISTENT,
        ),
        (
            vec![(CKA_CLASS, Val::Ulong(CKO_PUBLIC_KEY)), (CKA_KEY_TYPE, Val::Ulong(CKK_RSA))],
            CKR_TEMPLATE_INCONSISTENT,
        ),
        (
            vec![
                (CKA_CLASS, Val::Ulong(CKO_SECRET_KEY)),
                (CKA_KEY_TYPE, Val::Ulong(CKK_AES)),
                (CKA_VALUE_LEN, Val::Ulong(16)),
            ],
            CKR_KEY_SIZE_RANGE,
        ),
        (
            vec![
                (CKA_CLASS, Val::Ulong(CKO_SECRET_KEY)),
                (CKA_KEY_TYPE, Val::Ulong(CKK_AES)),
                (CKA_SENSITIVE, Val::Bool(false)),
            ],
            CKR_ATTRIBUTE_VALUE_INVALID,
        ),
    ];
    let before = object_count(s);
    for (attributes, rv) in cases {
        let mut template = Tpl::new(&attributes);
        assert_eq!(try_unwrap(s, CKM_AES_KEY_WRAP, &[], kek, &wrapped, &mut template), Err(rv));
    }
    // A key id the tenant has already.
    let mut template = secret_template(CKK_GENERIC_SECRET, "hooks");
    let err = try_unwrap(s, CKM_AES_KEY_WRAP, &[], kek, &wrapped, &mut template);
    assert_eq!(err, Err(CKR_ATTRIBUTE_VALUE_INVALID));
    let read_only = open(false);
    let mut template = secret_template(CKK_GENERIC_SECRET, "copy");
    let err = try_unwrap(read_only, CKM_AES_KEY_WRAP, &[], kek, &wrapped, &mut template);
    assert_eq!(err, Err(CKR_SESSION_READ_ONLY));
    assert_eq!(object_count(s), before);
}

#[test]
fn the_wrapped_size_is_reported_first_and_a_short_buffer_is_buffer_too_small() {
    let _serial = serial();
    let (_loaded, _token, s) = setup("wrap-size");
    let kek = aes_key(s, "kek");
    let hooks = extractable_hmac(s, "hooks");
    let mut m = mechanism(CKM_AES_KEY_WRAP);
    let mut len: CK_ULONG = 0;
    assert_eq!(p11!(C_WrapKey(s, &mut m, kek, hooks, null_mut(), &mut len)), CKR_OK);
    assert_eq!(len, 40);
    let mut out = [0u8; 39];
    len = 39;
    assert_eq!(p11!(C_WrapKey(s, &mut m, kek, hooks, out.as_mut_ptr(), &mut len)), CKR_BUFFER_TOO_SMALL);
    assert_eq!(len, 40);
    assert_eq!(p11!(C_WrapKey(s, &mut m, kek, hooks, null_mut(), null_mut())), CKR_ARGUMENTS_BAD);
    // A private key: a bound first, then the exact length.
    let mut public =
        Tpl::new(&[(CKA_EC_PARAMS, Val::Bytes(P256_OID.to_vec())), (CKA_ID, Val::Bytes(b"ec".to_vec()))]);
    let mut private = Tpl::new(&[(CKA_EXTRACTABLE, Val::Bool(true))]);
    let (_, ec_private) = try_pair(s, CKM_EC_KEY_PAIR_GEN, &mut public, &mut private).unwrap();
    let mut m = mechanism(CKM_AES_KEY_WRAP_KWP);
    assert_eq!(p11!(C_WrapKey(s, &mut m, kek, ec_private, null_mut(), &mut len)), CKR_OK);
    let bound = len;
    let mut out = vec![0u8; bound as usize];
    assert_eq!(p11!(C_WrapKey(s, &mut m, kek, ec_private, out.as_mut_ptr(), &mut len)), CKR_OK);
    assert!(len <= bound && bound - len <= 64, "bound {bound}, exact {len}");
    assert_eq!(len % 8, 0);
}

// ------------------------------------------------------------ pkcs11-tool

/// OpenSC 0.23's `--wrap` finds the key to wrap by `--application-id`
/// (a secret or private key) and the wrapping key by `--id`, takes the
/// mechanism from `--mechanism`, and writes the bytes to `--output-file`;
/// `--unwrap` reads `--input-file`, unwraps with the key `--id` names, and
/// makes a secret key from `--key-type` (`GENERIC:32`, `AES:32`) with
/// `--application-id` as its CKA_ID and the `--extractable` /
/// `--sensitive` / `--private` flags (no `--label`: it sends no CKA_LABEL).
/// It passes no mechanism parameter, so only the AES mechanisms (and OAEP
/// without parameters, which coffer refuses) can be driven from it; the
/// RSA-OAEP path is tested through the function list above.
#[test]
fn pkcs11_tool_wraps_a_key_and_unwraps_it_into_a_new_object() {
    let Some(tool) = common::tool::Tool::new("wrap_unwrap") else {
        return;
    };
    let pin = std::str::from_utf8(common::USER_PIN).unwrap();
    let login = ["--login", "--pin", pin];
    let run = |args: &[&str]| tool.ok(&[&login[..], args].concat());
    run(&["--keygen", "--key-type", "AES:32", "--sensitive", "--private", "--label", "kek", "--id", "01"]);
    run(&[
        "--keygen",
        "--key-type",
        "GENERIC:32",
        "--sensitive",
        "--private",
        "--extractable",
        "--label",
        "hooks",
        "--id",
        "02",
    ]);
    let wrapped = tool.path("hooks.wrapped");
    let wrapped_path = common::tool::str_of(&wrapped);
    run(&[
        "--wrap",
        "--mechanism",
        "AES-KEY-WRAP",
        "--id",
        "01",
        "--application-id",
        "02",
        "--output-file",
        wrapped_path,
    ]);
    assert_eq!(std::fs::read(&wrapped).unwrap().len(), 40);
    run(&[
        "--unwrap",
        "--mechanism",
        "AES-KEY-WRAP",
        "--id",
        "01",
        "--input-file",
        wrapped_path,
        "--key-type",
        "GENERIC:32",
        "--application-id",
        "03",
        "--sensitive",
        "--private",
    ]);
    // The copy (CKA_ID 03; this pkcs11-tool sends no CKA_LABEL with
    // --unwrap, so its label is its key id) is sensitive but neither always
    // sensitive nor local; the generated original is all three.
    let listed = run(&["--list-objects", "--type", "secrkey"]);
    let block = |id: &str| {
        let at =
            listed.find(&format!("ID:         {id}\n")).unwrap_or_else(|| panic!("no ID {id} in\n{listed}"));
        let access = listed[at..].lines().find(|l| l.trim_start().starts_with("Access:")).unwrap();
        access.trim().to_owned()
    };
    assert_eq!(block("02"), "Access:     sensitive, always sensitive, extractable, local");
    assert_eq!(block("03"), "Access:     sensitive");

    // Both keys MAC alike.
    let data = tool.path("data.bin");
    std::fs::write(&data, MESSAGE).unwrap();
    let mut macs = Vec::new();
    for id in ["02", "03"] {
        let out = tool.path(&format!("mac-{id}"));
        run(&[
            "--sign",
            "--mechanism",
            "SHA256-HMAC",
            "--id",
            id,
            "--input-file",
            common::tool::str_of(&data),
            "--output-file",
            common::tool::str_of(&out),
        ]);
        macs.push(std::fs::read(out).unwrap());
    }
    assert_eq!(macs[0].len(), 32);
    assert_eq!(macs[0], macs[1], "the unwrapped copy is the same key");
}
