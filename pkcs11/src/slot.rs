//! Slot and token management (PKCS#11 v2.40 §5.5): the one slot, its
//! token, and the mechanisms it implements.
//!
//! One token is one coffer slot of one keystore; the PKCS#11 slot id is
//! the coffer slot number from the configuration (default 0).

use cryptoki_sys::{
    CK_BBOOL, CK_FLAGS, CK_MECHANISM_INFO, CK_MECHANISM_TYPE, CK_RV, CK_SLOT_ID, CK_SLOT_INFO, CK_TOKEN_INFO,
    CK_ULONG, CK_UNAVAILABLE_INFORMATION, CK_VERSION, CKF_DIGEST, CKF_EC_F_P, CKF_EC_NAMEDCURVE,
    CKF_EC_UNCOMPRESS, CKF_GENERATE, CKF_GENERATE_KEY_PAIR, CKF_LOGIN_REQUIRED, CKF_RNG, CKF_SIGN,
    CKF_TOKEN_INITIALIZED, CKF_TOKEN_PRESENT, CKF_USER_PIN_INITIALIZED, CKF_VERIFY, CKM_AES_KEY_GEN,
    CKM_EC_KEY_PAIR_GEN, CKM_ECDSA, CKM_ECDSA_SHA256, CKM_GENERIC_SECRET_KEY_GEN, CKM_RSA_PKCS_KEY_PAIR_GEN,
    CKM_SHA256, CKM_SHA256_HMAC, CKM_SHA256_RSA_PKCS, CKM_SHA256_RSA_PKCS_PSS, CKR_ARGUMENTS_BAD,
    CKR_MECHANISM_INVALID,
};
use cryptoki_sys::{CKF_DECRYPT, CKF_ENCRYPT, CKM_AES_GCM, CKM_RSA_PKCS_OAEP};
use cryptoki_sys::{CKF_UNWRAP, CKF_WRAP, CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_KWP};

use crate::boundary::{CkResult, boundary, padded, sized_out, ulong_of, write_out};
use crate::error::rv_of;
use crate::general::{MANUFACTURER, library_version};
use crate::module::{Module, with_module};

/// The mechanisms this module implements, with their info: only what
/// really works (README.md, "Mechanisms").
/// Key sizes as v2.40 gives them: bytes for AES, bits for the rest.
const MECHANISMS: &[(CK_MECHANISM_TYPE, CK_MECHANISM_INFO)] = &[
    (CKM_SHA256, info(0, 0, CKF_DIGEST)),
    (CKM_AES_KEY_GEN, info(32, 32, CKF_GENERATE)),
    (CKM_GENERIC_SECRET_KEY_GEN, info(256, 256, CKF_GENERATE)),
    (CKM_EC_KEY_PAIR_GEN, info(256, 256, CKF_GENERATE_KEY_PAIR | EC_FLAGS)),
    (CKM_RSA_PKCS_KEY_PAIR_GEN, info(2048, 4096, CKF_GENERATE_KEY_PAIR)),
    (CKM_ECDSA, info(256, 256, CKF_SIGN | CKF_VERIFY | EC_FLAGS)),
    (CKM_ECDSA_SHA256, info(256, 256, CKF_SIGN | CKF_VERIFY | EC_FLAGS)),
    (CKM_SHA256_RSA_PKCS, info(2048, 4096, CKF_SIGN | CKF_VERIFY)),
    (CKM_SHA256_RSA_PKCS_PSS, info(2048, 4096, CKF_SIGN | CKF_VERIFY)),
    (CKM_SHA256_HMAC, info(256, 256, CKF_SIGN | CKF_VERIFY)),
    (CKM_AES_GCM, info(32, 32, CKF_ENCRYPT | CKF_DECRYPT)),
    (CKM_RSA_PKCS_OAEP, info(2048, 4096, CKF_ENCRYPT | CKF_DECRYPT | CKF_WRAP | CKF_UNWRAP)),
    (CKM_AES_KEY_WRAP, info(32, 32, CKF_WRAP | CKF_UNWRAP)),
    (CKM_AES_KEY_WRAP_KWP, info(32, 32, CKF_WRAP | CKF_UNWRAP)),
];

/// The flags of the P-256 mechanisms: curves over F_p, named curves,
/// uncompressed points.
const EC_FLAGS: CK_FLAGS = CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS;

const fn info(min: CK_ULONG, max: CK_ULONG, flags: CK_FLAGS) -> CK_MECHANISM_INFO {
    CK_MECHANISM_INFO { ulMinKeySize: min, ulMaxKeySize: max, flags }
}

/// `C_GetSlotList`: the one slot (its token is always present, so
/// `tokenPresent` changes nothing), with the two-call size convention.
///
/// # Safety
/// `count` must be NULL or valid for reads and writes of a `CK_ULONG`; a
/// non-NULL `list` must be valid for writes of `*count` slot ids.
pub(crate) unsafe extern "C" fn get_slot_list(
    _token_present: CK_BBOOL,
    list: *mut CK_SLOT_ID,
    count: *mut CK_ULONG,
) -> CK_RV {
    boundary(|| {
        let slot = with_module(|m| Ok(m.slot_id()))?;
        // SAFETY: forwarded contract of this function.
        if let Some(out) = unsafe { sized_out(list, count, 1) }? {
            for entry in out.iter_mut() {
                *entry = slot;
            }
        }
        Ok(())
    })
}

/// `C_GetSlotInfo`: a software slot whose token is always present.
///
/// # Safety
/// A non-NULL `info` must be valid for a write of `CK_SLOT_INFO`.
pub(crate) unsafe extern "C" fn get_slot_info(slot: CK_SLOT_ID, info: *mut CK_SLOT_INFO) -> CK_RV {
    boundary(|| {
        with_module(|m| m.check_slot(slot))?;
        let value = CK_SLOT_INFO {
            slotDescription: padded("coffer software HSM slot"),
            manufacturerID: padded(MANUFACTURER),
            flags: CKF_TOKEN_PRESENT,
            hardwareVersion: CK_VERSION { major: 0, minor: 0 },
            firmwareVersion: library_version(),
        };
        // SAFETY: forwarded contract of this function.
        unsafe { write_out(info, value) }
    })
}

/// The token's label, or `None` when the coffer slot holds no token yet.
fn token_label(m: &mut Module) -> CkResult<Option<String>> {
    let slot = m.coffer_slot();
    match m.hsm.token_label(slot) {
        Ok(label) => Ok(Some(label)),
        Err(coffer_hsm::Error::TokenState) => Ok(None),
        Err(e) => Err(rv_of(&e)),
    }
}

/// `C_GetTokenInfo`: the token of the coffer slot as the keystore says it
/// is now (another process may have initialized it).
///
/// Flags: `CKF_RNG` and `CKF_LOGIN_REQUIRED` always; when the slot holds
/// a token, `CKF_TOKEN_INITIALIZED` and `CKF_USER_PIN_INITIALIZED` (coffer
/// does not tell an unauthenticated caller whether a credential name
/// exists, so the configured user is reported as initialized with the
/// token; README.md, "Roles").
///
/// # Safety
/// A non-NULL `info` must be valid for a write of `CK_TOKEN_INFO`.
pub(crate) unsafe extern "C" fn get_token_info(slot: CK_SLOT_ID, info: *mut CK_TOKEN_INFO) -> CK_RV {
    boundary(|| {
        if info.is_null() {
            // Refused before the keystore is read.
            with_module(|m| m.check_slot(slot))?;
            return Err(CKR_ARGUMENTS_BAD);
        }
        let value = with_module(|m| {
            m.check_slot(slot)?;
            let label = token_label(m)?;
            let mut flags = CKF_RNG | CKF_LOGIN_REQUIRED;
            if label.is_some() {
                flags |= CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED;
            }
            let rw = m.sessions.values().filter(|s| s.read_write).count();
            Ok(CK_TOKEN_INFO {
                label: padded(label.as_deref().unwrap_or("")),
                manufacturerID: padded(MANUFACTURER),
                model: padded("coffer-hsm"),
                serialNumber: padded(&format!("slot-{}", m.config.slot)),
                flags,
                ulMaxSessionCount: cryptoki_sys::CK_EFFECTIVELY_INFINITE,
                ulSessionCount: ulong_of(m.sessions.len())?,
                ulMaxRwSessionCount: cryptoki_sys::CK_EFFECTIVELY_INFINITE,
                ulRwSessionCount: ulong_of(rw)?,
                ulMaxPinLen: ulong_of(coffer_hsm::MAX_PIN_LEN)?,
                ulMinPinLen: ulong_of(coffer_hsm::MIN_PIN_LEN)?,
                ulTotalPublicMemory: CK_UNAVAILABLE_INFORMATION,
                ulFreePublicMemory: CK_UNAVAILABLE_INFORMATION,
                ulTotalPrivateMemory: CK_UNAVAILABLE_INFORMATION,
                ulFreePrivateMemory: CK_UNAVAILABLE_INFORMATION,
                hardwareVersion: CK_VERSION { major: 0, minor: 0 },
                firmwareVersion: library_version(),
                // Meaningful only with CKF_CLOCK_ON_TOKEN, which is not set.
                utcTime: padded(""),
            })
        })?;
        // SAFETY: forwarded contract of this function.
        unsafe { write_out(info, value) }
    })
}

/// `C_GetMechanismList`: the implemented mechanisms, with the two-call
/// size convention.
///
/// # Safety
/// `count` must be NULL or valid for reads and writes of a `CK_ULONG`; a
/// non-NULL `list` must be valid for writes of `*count` mechanism types.
pub(crate) unsafe extern "C" fn get_mechanism_list(
    slot: CK_SLOT_ID,
    list: *mut CK_MECHANISM_TYPE,
    count: *mut CK_ULONG,
) -> CK_RV {
    boundary(|| {
        with_module(|m| m.check_slot(slot))?;
        // SAFETY: forwarded contract of this function.
        if let Some(out) = unsafe { sized_out(list, count, MECHANISMS.len()) }? {
            for (entry, (mechanism, _)) in out.iter_mut().zip(MECHANISMS.iter()) {
                *entry = *mechanism;
            }
        }
        Ok(())
    })
}

/// `C_GetMechanismInfo`: `CKR_MECHANISM_INVALID` for a mechanism the
/// module does not implement.
///
/// # Safety
/// A non-NULL `info` must be valid for a write of `CK_MECHANISM_INFO`.
pub(crate) unsafe extern "C" fn get_mechanism_info(
    slot: CK_SLOT_ID,
    mechanism: CK_MECHANISM_TYPE,
    info: *mut CK_MECHANISM_INFO,
) -> CK_RV {
    boundary(|| {
        with_module(|m| m.check_slot(slot))?;
        let (_, value) =
            MECHANISMS.iter().find(|(m, _)| *m == mechanism).copied().ok_or(CKR_MECHANISM_INVALID)?;
        // SAFETY: forwarded contract of this function.
        unsafe { write_out(info, value) }
    })
}
