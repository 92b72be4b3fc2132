//! The DER that PKCS#11 attributes and mechanisms use, through the `der`
//! crate and coffer-core (no codec of this crate's own): an EC point as a
//! DER OCTET STRING (`CKA_EC_POINT`), RSA's modulus and exponent
//! (`CKA_MODULUS`, `CKA_PUBLIC_EXPONENT`) from coffer-hsm's SPKI export, and
//! ECDSA signatures between coffer's DER `SEQUENCE { r, s }` and PKCS#11's
//! raw `r || s` (v2.40 current mechanisms §2.3.1).

use coffer_core::p256::P256Signature;
use coffer_core::rsa::RsaPublicKey;
use cryptoki_sys::{CKR_GENERAL_ERROR, CKR_SIGNATURE_INVALID};
use der::Encode;
use der::asn1::OctetStringRef;

use crate::boundary::CkResult;

/// The byte length of a raw P-256 ECDSA signature `r || s`.
pub(crate) const P256_RAW_SIGNATURE_LEN: usize = coffer_core::p256::SIGNATURE_LEN;

/// `bytes` as a DER OCTET STRING.
pub(crate) fn octet_string(bytes: &[u8]) -> CkResult<Vec<u8>> {
    OctetStringRef::new(bytes).and_then(|o| o.to_der()).map_err(|_| CKR_GENERAL_ERROR)
}

/// The modulus and public exponent (big-endian, no leading zeros) of an
/// RSA SubjectPublicKeyInfo, as coffer-hsm exports it.
pub(crate) fn rsa_public_key_of_spki(spki: &[u8]) -> CkResult<(Vec<u8>, Vec<u8>)> {
    let key = RsaPublicKey::from_spki_der(spki).map_err(|_| CKR_GENERAL_ERROR)?;
    Ok((key.modulus(), key.public_exponent()))
}

/// A DER ECDSA signature (as coffer-hsm signs) as PKCS#11's raw `r || s`.
pub(crate) fn ecdsa_raw_of_der(der: &[u8]) -> CkResult<Vec<u8>> {
    P256Signature::from_der(der).map(|s| s.as_bytes().to_vec()).map_err(|_| CKR_GENERAL_ERROR)
}

/// PKCS#11's raw `r || s` (64 bytes) as a DER ECDSA signature;
/// `CKR_SIGNATURE_INVALID` for another length or `r`/`s` out of range
/// (no key verifies it).
pub(crate) fn ecdsa_der_of_raw(raw: &[u8]) -> CkResult<Vec<u8>> {
    let raw: [u8; P256_RAW_SIGNATURE_LEN] = raw.try_into().map_err(|_| CKR_SIGNATURE_INVALID)?;
    let der = P256Signature::from_bytes(raw).to_der().map_err(|_| CKR_SIGNATURE_INVALID)?;
    Ok(der.as_bytes().to_vec())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_signatures_round_trip_between_der_and_raw() {
        let mut raw = vec![0u8; 64];
        raw[0] = 0x70; // r: 32 bytes, no leading zero needed
        raw[63] = 0x01; // s is small: 31 leading zero bytes dropped in DER
        let der = ecdsa_der_of_raw(&raw).unwrap();
        assert_eq!(der[..4], [0x30, 0x25, 0x02, 0x20]);
        assert_eq!(ecdsa_raw_of_der(&der).unwrap(), raw);
        assert_eq!(ecdsa_der_of_raw(&raw[..63]), Err(CKR_SIGNATURE_INVALID));
        assert_eq!(ecdsa_der_of_raw(&[0u8; 64]), Err(CKR_SIGNATURE_INVALID));
    }

    #[test]
    fn an_ec_point_is_wrapped_in_an_octet_string() {
        let point = [4u8; 65];
        let der = octet_string(&point).unwrap();
        assert_eq!(der[..2], [0x04, 0x41]);
        assert_eq!(der[2..], point);
    }
}
