//! Key objects through `C_GetFunctionList`'s table: generation of each key
//! kind, search, attributes exactly as v2.40 §5.7 says (sensitive ones
//! refused), the template rules, read-only attributes and destruction.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, reason = "tests")]

#[macro_use]
mod common;

use std::ptr::null_mut;

use common::keys::*;
use common::{Loaded, Token, serial};
use cryptoki_sys::*;

#[test]
fn generated_keys_are_found_by_class_key_type_label_id_and_token() {
    let _serial = serial();
    let _token = Token::new("find");
    let _loaded = Loaded::new();
    let s = open(true);
    login(s);
    let (ec_pub, ec_priv) = ec_pair(s, "ec");
    let (rsa_pub, rsa_priv) = rsa_pair(s, "rsa");
    let aes = aes_key(s, "aes");
    let mac = hmac_key(s, "mac");
    let mut all = find(s, &mut Tpl::new(&[]));
    all.sort_unstable();
    let mut expected = vec![ec_pub, ec_priv, rsa_pub, rsa_priv, aes, mac];
    expected.sort_unstable();
    assert_eq!(all, expected);

    let by = |t: &[(CK_ATTRIBUTE_TYPE, Val)]| {
        let mut found = find(s, &mut Tpl::new(t));
        found.sort_unstable();
        found
    };
    let mut privates = vec![ec_priv, rsa_priv];
    privates.sort_unstable();
    assert_eq!(by(&[(CKA_CLASS, Val::Ulong(CKO_PRIVATE_KEY))]), privates);
    let mut secrets = vec![aes, mac];
    secrets.sort_unstable();
    assert_eq!(by(&[(CKA_CLASS, Val::Ulong(CKO_SECRET_KEY))]), secrets);
    assert_eq!(
        by(&[(CKA_CLASS, Val::Ulong(CKO_PUBLIC_KEY)), (CKA_KEY_TYPE, Val::Ulong(CKK_EC))]),
        vec![ec_pub]
    );
    assert_eq!(by(&[(CKA_KEY_TYPE, Val::Ulong(CKK_GENERIC_SECRET))]), vec![mac]);
    assert_eq!(by(&[(CKA_LABEL, Val::Bytes(b"label ec".to_vec()))]).len(), 2);
    assert_eq!(by(&[(CKA_ID, Val::Bytes(b"aes".to_vec()))]), vec![aes]);
    assert_eq!(by(&[(CKA_TOKEN, Val::Bool(true))]).len(), 6);
    assert_eq!(by(&[(CKA_TOKEN, Val::Bool(false))]), vec![]);
    // A sensitive attribute never matches.
    assert_eq!(by(&[(CKA_VALUE, Val::Bytes(vec![0; 32]))]), vec![]);
    // Handles are stable while the module is initialized.
    assert_eq!(by(&[]), expected);

    // Without a login nothing is found, and the objects are not there.
    assert_eq!(p11!(C_Logout(s)), CKR_OK);
    assert_eq!(find(s, &mut Tpl::new(&[])), vec![]);
    assert_eq!(attr(s, aes, CKA_LABEL), Err((CKR_OBJECT_HANDLE_INVALID, 0)));
}

#[test]
fn find_operations_follow_the_session_rules() {
    let _serial = serial();
    let _token = Token::new("find-rules");
    let _loaded = Loaded::new();
    let s = open(false);
    let mut out = [0 as CK_OBJECT_HANDLE; 4];
    let mut n: CK_ULONG = 0;
    assert_eq!(p11!(C_FindObjects(s, out.as_mut_ptr(), 4, &mut n)), CKR_OPERATION_NOT_INITIALIZED);
    assert_eq!(p11!(C_FindObjectsFinal(s)), CKR_OPERATION_NOT_INITIALIZED);
    assert_eq!(p11!(C_FindObjectsInit(s, null_mut(), 0)), CKR_OK);
    assert_eq!(p11!(C_FindObjectsInit(s, null_mut(), 0)), CKR_OPERATION_ACTIVE);
    assert_eq!(p11!(C_FindObjects(s, null_mut(), 4, &mut n)), CKR_ARGUMENTS_BAD);
    assert_eq!(p11!(C_FindObjects(s, out.as_mut_ptr(), 4, &mut n)), CKR_OK);
    assert_eq!(n, 0);
    assert_eq!(p11!(C_FindObjectsFinal(s)), CKR_OK);
    assert_eq!(p11!(C_FindObjectsInit(s, null_mut(), 1)), CKR_ARGUMENTS_BAD);
}

#[test]
fn attributes_are_read_as_section_5_7_says() {
    let _serial = serial();
    let _token = Token::new("attributes");
    let _loaded = Loaded::new();
    let s = open(true);
    login(s);
    let (ec_pub, ec_priv) = ec_pair(s, "ec");
    let (rsa_pub, rsa_priv) = rsa_pair(s, "rsa");
    let mut t = Tpl::new(&[(CKA_VALUE_LEN, Val::Ulong(32)), (CKA_EXTRACTABLE, Val::Bool(true))]);
    let aes = try_key(s, CKM_AES_KEY_GEN, &mut t).unwrap();
    let mac = hmac_key(s, "mac");

    assert_eq!(attr_ulong(s, ec_priv, CKA_CLASS), CKO_PRIVATE_KEY);
    assert_eq!(attr_ulong(s, ec_pub, CKA_CLASS), CKO_PUBLIC_KEY);
    assert_eq!(attr_ulong(s, aes, CKA_CLASS), CKO_SECRET_KEY);
    assert_eq!(attr_ulong(s, rsa_pub, CKA_KEY_TYPE), CKK_RSA);
    assert_eq!(attr_ulong(s, aes, CKA_KEY_TYPE), CKK_AES);
    assert_eq!(attr_ulong(s, mac, CKA_KEY_TYPE), CKK_GENERIC_SECRET);
    assert_eq!(attr(s, ec_pub, CKA_LABEL).unwrap(), b"label ec");
    assert_eq!(attr(s, ec_priv, CKA_ID).unwrap(), b"ec");
    // No label given: the key id; no id given: a unique one.
    let aes_id = attr(s, aes, CKA_ID).unwrap();
    assert!(aes_id.starts_with(b"p11-") && aes_id.len() == 36, "{aes_id:?}");
    assert_eq!(attr(s, aes, CKA_LABEL).unwrap(), aes_id);
    for object in [ec_pub, ec_priv, rsa_pub, rsa_priv, aes, mac] {
        assert!(attr_bool(s, object, CKA_TOKEN));
        assert!(attr_bool(s, object, CKA_PRIVATE));
    }
    for object in [ec_priv, rsa_priv, aes, mac] {
        assert!(attr_bool(s, object, CKA_SENSITIVE));
        assert!(attr_bool(s, object, CKA_ALWAYS_SENSITIVE));
        assert_eq!(attr(s, object, CKA_VALUE), Err((CKR_ATTRIBUTE_SENSITIVE, CK_UNAVAILABLE_INFORMATION)));
    }
    assert!(!attr_bool(s, ec_priv, CKA_EXTRACTABLE));
    assert!(attr_bool(s, ec_priv, CKA_NEVER_EXTRACTABLE));
    assert!(attr_bool(s, aes, CKA_EXTRACTABLE));
    assert!(!attr_bool(s, aes, CKA_NEVER_EXTRACTABLE));
    for sensitive in
        [CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2, CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT]
    {
        assert_eq!(attr(s, rsa_priv, sensitive), Err((CKR_ATTRIBUTE_SENSITIVE, CK_UNAVAILABLE_INFORMATION)));
    }
    // Usage, on the object that has it.
    assert!(attr_bool(s, ec_priv, CKA_SIGN));
    assert!(attr_bool(s, ec_pub, CKA_VERIFY));
    assert!(!attr_bool(s, ec_pub, CKA_ENCRYPT));
    assert!(attr_bool(s, aes, CKA_ENCRYPT) && attr_bool(s, aes, CKA_UNWRAP) && !attr_bool(s, aes, CKA_SIGN));
    assert!(attr_bool(s, mac, CKA_SIGN) && attr_bool(s, mac, CKA_VERIFY) && !attr_bool(s, mac, CKA_DECRYPT));
    let invalid = Err((CKR_ATTRIBUTE_TYPE_INVALID, CK_UNAVAILABLE_INFORMATION));
    assert_eq!(attr(s, ec_pub, CKA_SIGN), invalid);
    assert_eq!(attr(s, ec_priv, CKA_VERIFY), invalid);
    assert_eq!(attr(s, ec_pub, CKA_VALUE), invalid);
    assert_eq!(attr(s, aes, CKA_CERTIFICATE_TYPE), invalid);
    assert_eq!(attr(s, aes, CKA_MODULUS), invalid);
    assert_eq!(attr_ulong(s, aes, CKA_VALUE_LEN), 32);
    assert_eq!(attr(s, ec_priv, CKA_EC_PARAMS).unwrap(), P256_OID);
    assert_eq!(attr(s, ec_pub, CKA_EC_PARAMS).unwrap(), P256_OID);
    let point = attr(s, ec_pub, CKA_EC_POINT).unwrap();
    assert_eq!((point.len(), &point[..3]), (67, &[0x04, 0x41, 0x04][..]));
    assert_eq!(attr_ulong(s, rsa_pub, CKA_MODULUS_BITS), 2048);
    assert_eq!(attr(s, rsa_pub, CKA_PUBLIC_EXPONENT).unwrap(), [1, 0, 1]);
    let modulus = attr(s, rsa_pub, CKA_MODULUS).unwrap();
    assert_eq!((modulus.len(), modulus[0] & 0x80), (256, 0x80));
    assert_eq!(attr(s, rsa_priv, CKA_MODULUS).unwrap(), modulus);

    // Several attributes at once: each gets its own answer, and the call
    // goes on to the end.
    let mut class = [0u8; size_of::<CK_ULONG>()];
    let mut small = [0u8; 1];
    let mut value = [0u8; 64];
    let mut label = [0u8; 64];
    let mut template = [
        CK_ATTRIBUTE {
            type_: CKA_CLASS,
            pValue: class.as_mut_ptr().cast(),
            ulValueLen: class.len() as CK_ULONG,
        },
        CK_ATTRIBUTE { type_: CKA_ID, pValue: small.as_mut_ptr().cast(), ulValueLen: 1 },
        CK_ATTRIBUTE { type_: CKA_VALUE, pValue: value.as_mut_ptr().cast(), ulValueLen: 64 },
        CK_ATTRIBUTE { type_: CKA_CERTIFICATE_TYPE, pValue: null_mut(), ulValueLen: 0 },
        CK_ATTRIBUTE { type_: CKA_LABEL, pValue: null_mut(), ulValueLen: 0 },
        CK_ATTRIBUTE { type_: CKA_LABEL, pValue: label.as_mut_ptr().cast(), ulValueLen: 64 },
    ];
    let rv = p11!(C_GetAttributeValue(s, ec_priv, template.as_mut_ptr(), template.len() as CK_ULONG));
    assert!(
        [CKR_BUFFER_TOO_SMALL, CKR_ATTRIBUTE_SENSITIVE, CKR_ATTRIBUTE_TYPE_INVALID].contains(&rv),
        "{rv:#x}"
    );
    let lens: Vec<CK_ULONG> = template.iter().map(|a| a.ulValueLen).collect();
    let na = CK_UNAVAILABLE_INFORMATION;
    assert_eq!(lens, vec![size_of::<CK_ULONG>() as CK_ULONG, na, na, na, 8, 8]);
    assert_eq!(CK_ULONG::from_ne_bytes(class), CKO_PRIVATE_KEY);
    assert_eq!(&label[..8], b"label ec");
    assert_eq!(value, [0u8; 64], "nothing of the key is written");
}

#[test]
fn generation_templates_are_checked() {
    let _serial = serial();
    let _token = Token::new("templates");
    let _loaded = Loaded::new();
    let ro = open(false);
    let s = open(true);
    let aes = |attrs: &[(CK_ATTRIBUTE_TYPE, Val)]| try_key(s, CKM_AES_KEY_GEN, &mut Tpl::new(attrs));
    let len32 = || (CKA_VALUE_LEN, Val::Ulong(32));

    assert_eq!(aes(&[len32()]), Err(CKR_USER_NOT_LOGGED_IN));
    login(s);
    assert_eq!(try_key(ro, CKM_AES_KEY_GEN, &mut Tpl::new(&[len32()])), Err(CKR_SESSION_READ_ONLY));
    assert_eq!(aes(&[]), Err(CKR_TEMPLATE_INCOMPLETE));
    assert_eq!(aes(&[(CKA_VALUE_LEN, Val::Ulong(16))]), Err(CKR_KEY_SIZE_RANGE));
    assert_eq!(aes(&[(CKA_VALUE_LEN, Val::Bytes(vec![32]))]), Err(CKR_ATTRIBUTE_VALUE_INVALID));
    assert_eq!(aes(&[len32(), (CKA_SENSITIVE, Val::Bool(false))]), Err(CKR_ATTRIBUTE_VALUE_INVALID));
    assert_eq!(aes(&[len32(), (CKA_TOKEN, Val::Bool(false))]), Err(CKR_ATTRIBUTE_VALUE_INVALID));
    assert_eq!(aes(&[len32(), (CKA_CERTIFICATE_TYPE, Val::Ulong(0))]), Err(CKR_ATTRIBUTE_TYPE_INVALID));
    assert_eq!(aes(&[len32(), (CKA_KEY_TYPE, Val::Ulong(CKK_DES3))]), Err(CKR_TEMPLATE_INCONSISTENT));
    assert_eq!(aes(&[len32(), (CKA_LABEL, Val::Bytes(vec![b'l'; 65]))]), Err(CKR_ATTRIBUTE_VALUE_INVALID));
    // Empty CKA_LABEL and CKA_ID (the standard's defaults, python-pkcs11's
    // too) count as not given: the module makes the key id, the label is it.
    let unnamed = aes(&[len32(), (CKA_LABEL, Val::Bytes(vec![])), (CKA_ID, Val::Bytes(vec![]))]).unwrap();
    let made_id = attr(s, unnamed, CKA_ID).unwrap();
    assert!(made_id.starts_with(b"p11-"), "{made_id:?}");
    assert_eq!(attr(s, unnamed, CKA_LABEL).unwrap(), made_id);
    assert_eq!(aes(&[len32(), (CKA_ID, Val::Bytes(vec![0xff]))]), Err(CKR_ATTRIBUTE_VALUE_INVALID));
    assert_eq!(
        aes(&[len32(), (CKA_LABEL, Val::Bytes(b"a".to_vec())), (CKA_LABEL, Val::Bytes(b"a".to_vec()))]),
        Err(CKR_TEMPLATE_INCONSISTENT)
    );
    let id = || (CKA_ID, Val::Bytes(b"one".to_vec()));
    aes(&[len32(), id()]).unwrap();
    assert_eq!(aes(&[len32(), id()]), Err(CKR_ATTRIBUTE_VALUE_INVALID), "a key id the tenant has");
    let mut bad_mech = mechanism(CKM_DES3_KEY_GEN);
    let mut key = 0;
    assert_eq!(p11!(C_GenerateKey(s, &mut bad_mech, null_mut(), 0, &mut key)), CKR_MECHANISM_INVALID);

    let pair = |mech, public: &[(CK_ATTRIBUTE_TYPE, Val)], private: &[(CK_ATTRIBUTE_TYPE, Val)]| {
        try_pair(s, mech, &mut Tpl::new(public), &mut Tpl::new(private))
    };
    let p384 = vec![0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
    assert_eq!(pair(CKM_EC_KEY_PAIR_GEN, &[], &[]), Err(CKR_TEMPLATE_INCOMPLETE));
    assert_eq!(
        pair(CKM_EC_KEY_PAIR_GEN, &[(CKA_EC_PARAMS, Val::Bytes(p384))], &[]),
        Err(CKR_CURVE_NOT_SUPPORTED)
    );
    assert_eq!(
        pair(CKM_EC_KEY_PAIR_GEN, &[(CKA_EC_PARAMS, Val::Bytes(vec![0x13, 0]))], &[]),
        Err(CKR_ATTRIBUTE_VALUE_INVALID)
    );
    let ec = || (CKA_EC_PARAMS, Val::Bytes(P256_OID.to_vec()));
    assert_eq!(
        pair(CKM_EC_KEY_PAIR_GEN, &[ec(), (CKA_SIGN, Val::Bool(true))], &[]),
        Err(CKR_ATTRIBUTE_TYPE_INVALID)
    );
    assert_eq!(
        pair(CKM_EC_KEY_PAIR_GEN, &[ec()], &[(CKA_VERIFY, Val::Bool(true))]),
        Err(CKR_ATTRIBUTE_TYPE_INVALID)
    );
    assert_eq!(
        pair(CKM_EC_KEY_PAIR_GEN, &[ec()], &[(CKA_SENSITIVE, Val::Bool(false))]),
        Err(CKR_ATTRIBUTE_VALUE_INVALID)
    );
    assert_eq!(
        pair(
            CKM_EC_KEY_PAIR_GEN,
            &[ec(), (CKA_ID, Val::Bytes(b"a".to_vec()))],
            &[(CKA_ID, Val::Bytes(b"b".to_vec()))]
        ),
        Err(CKR_TEMPLATE_INCONSISTENT)
    );
    assert_eq!(pair(CKM_RSA_PKCS_KEY_PAIR_GEN, &[], &[]), Err(CKR_TEMPLATE_INCOMPLETE));
    assert_eq!(
        pair(CKM_RSA_PKCS_KEY_PAIR_GEN, &[(CKA_MODULUS_BITS, Val::Ulong(1024))], &[]),
        Err(CKR_KEY_SIZE_RANGE)
    );
    assert_eq!(
        pair(
            CKM_RSA_PKCS_KEY_PAIR_GEN,
            &[(CKA_MODULUS_BITS, Val::Ulong(2048)), (CKA_PUBLIC_EXPONENT, Val::Bytes(vec![3]))],
            &[]
        ),
        Err(CKR_ATTRIBUTE_VALUE_INVALID)
    );
    assert_eq!(pair(CKM_RSA_PKCS_KEY_PAIR_GEN, &[ec()], &[]), Err(CKR_ATTRIBUTE_TYPE_INVALID));
    assert_eq!(pair(CKM_AES_KEY_GEN, &[], &[]), Err(CKR_MECHANISM_INVALID));
    // Nothing was made by the refused calls (only "one" and the unnamed key).
    assert_eq!(find(s, &mut Tpl::new(&[])).len(), 2);
}

#[test]
fn attributes_cannot_be_changed_and_destroying_needs_a_read_write_session() {
    let _serial = serial();
    let _token = Token::new("destroy");
    let _loaded = Loaded::new();
    let ro = open(false);
    let s = open(true);
    login(s);
    let (public, private) = ec_pair(s, "ec");
    let aes = aes_key(s, "aes");

    let mut label = Tpl::new(&[(CKA_LABEL, Val::Bytes(b"new".to_vec()))]);
    assert_eq!(p11!(C_SetAttributeValue(s, aes, label.ptr(), label.len())), CKR_ATTRIBUTE_READ_ONLY);
    assert_eq!(p11!(C_SetAttributeValue(ro, aes, label.ptr(), label.len())), CKR_SESSION_READ_ONLY);
    let mut unknown = Tpl::new(&[(CKA_CERTIFICATE_TYPE, Val::Ulong(0))]);
    assert_eq!(p11!(C_SetAttributeValue(s, aes, unknown.ptr(), unknown.len())), CKR_ATTRIBUTE_TYPE_INVALID);
    assert_eq!(attr(s, aes, CKA_LABEL).unwrap(), b"aes");

    assert_eq!(p11!(C_DestroyObject(ro, aes)), CKR_SESSION_READ_ONLY);
    assert_eq!(p11!(C_DestroyObject(s, 9_999)), CKR_OBJECT_HANDLE_INVALID);
    assert_eq!(p11!(C_DestroyObject(s, aes)), CKR_OK);
    assert_eq!(p11!(C_DestroyObject(s, aes)), CKR_OBJECT_HANDLE_INVALID);
    assert_eq!(attr(s, aes, CKA_LABEL), Err((CKR_OBJECT_HANDLE_INVALID, 0)));
    // Destroying the public key destroys the key: both objects go.
    assert_eq!(p11!(C_DestroyObject(s, public)), CKR_OK);
    assert_eq!(attr(s, private, CKA_LABEL), Err((CKR_OBJECT_HANDLE_INVALID, 0)));
    assert_eq!(find(s, &mut Tpl::new(&[])), vec![]);
    assert_eq!(p11!(C_Logout(s)), CKR_OK);
    assert_eq!(p11!(C_DestroyObject(s, private)), CKR_USER_NOT_LOGGED_IN);
}
