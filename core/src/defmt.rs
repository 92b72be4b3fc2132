//! `defmt::Format` implementations (feature `defmt`), kept in one place.

use crate::error::Error;

impl defmt::Format for Error {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            Error::Decrypt => defmt::write!(f, "Decrypt"),
            Error::Verify => defmt::write!(f, "Verify"),
            Error::InvalidKey => defmt::write!(f, "InvalidKey"),
            Error::KeyPolicy => defmt::write!(f, "KeyPolicy"),
            Error::InvalidLength => defmt::write!(f, "InvalidLength"),
            Error::BufferTooSmall { needed } => {
                defmt::write!(f, "BufferTooSmall {{ needed: {=usize} }}", needed)
            }
            Error::Encoding => defmt::write!(f, "Encoding"),
            Error::Rng => defmt::write!(f, "Rng"),
            Error::CertificateExpired => defmt::write!(f, "CertificateExpired"),
            Error::CertificateNotYetValid => defmt::write!(f, "CertificateNotYetValid"),
            Error::NotACa => defmt::write!(f, "NotACa"),
            Error::IssuerMismatch => defmt::write!(f, "IssuerMismatch"),
            Error::KeyMismatch => defmt::write!(f, "KeyMismatch"),
            Error::UnknownCriticalExtension => defmt::write!(f, "UnknownCriticalExtension"),
            Error::Malformed => defmt::write!(f, "Malformed"),
            Error::LimitExceeded => defmt::write!(f, "LimitExceeded"),
            Error::InvalidInput => defmt::write!(f, "InvalidInput"),
            Error::Internal => defmt::write!(f, "Internal"),
            Error::MalformedCertificate => defmt::write!(f, "MalformedCertificate"),
            Error::UnsupportedAlgorithm(name) => {
                defmt::write!(f, "UnsupportedAlgorithm({=str})", name.as_str())
            }
            Error::NoPathToTrustAnchor => defmt::write!(f, "NoPathToTrustAnchor"),
            Error::PathTooLong => defmt::write!(f, "PathTooLong"),
            Error::NameMismatch => defmt::write!(f, "NameMismatch"),
            Error::WrongPurpose => defmt::write!(f, "WrongPurpose"),
            Error::Revoked => defmt::write!(f, "Revoked"),
            Error::CrlOutOfDate => defmt::write!(f, "CrlOutOfDate"),
            Error::InvalidSubject => defmt::write!(f, "InvalidSubject"),
            Error::InvalidSubjectAltName => defmt::write!(f, "InvalidSubjectAltName"),
            Error::ServerNameMissing => defmt::write!(f, "ServerNameMissing"),
            Error::OutlivesIssuer => defmt::write!(f, "OutlivesIssuer"),
            Error::InvalidValidity => defmt::write!(f, "InvalidValidity"),
            Error::InvalidKeyUsage => defmt::write!(f, "InvalidKeyUsage"),
        }
    }
}
