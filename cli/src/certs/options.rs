//! The options of `cert ca|csr|issue|pair` and the rules they follow:
//! subject alternative names, the RSA signature scheme, validity windows,
//! and what a leaf certificate must satisfy (names for a server, within
//! its CA's validity).

use std::net::IpAddr;

use coffer_core::cert::{Certificate, KeyPair, LeafUsage, San, SignatureScheme, Validity};

use crate::fail::{Fail, Result};
use crate::time::iso8601;

const DAY: u64 = 86_400;
/// How far a start of "now" is back-dated for clock skew, as
/// `Validity::days_from_now` does.
const SKEW: u64 = 300;

/// The forms `--san` accepts, for messages.
pub const SAN_FORMS: &str = "use dns:<host name>, ip:<address>, uri:<scheme:...>, email:<local@domain>, \
     or a bare IP address or host name";

/// `--san` values: `dns:`, `ip:`, `uri:` or `email:` and the name; for
/// compatibility a bare value is taken if it is an IP address or a valid
/// DNS name, and refused otherwise.
pub fn sans(values: &[String]) -> Result<Vec<San>> {
    values.iter().map(|v| san(v)).collect()
}

fn san(value: &str) -> Result<San> {
    let kind = ["dns", "ip", "uri", "email"]
        .into_iter()
        .find(|k| value.split_once(':').is_some_and(|(prefix, _)| prefix.eq_ignore_ascii_case(k)));
    let parsed = match kind {
        Some(_) => San::parse(value),
        None => match value.parse::<IpAddr>() {
            Ok(ip) => Ok(San::Ip(ip)),
            Err(_) => San::parse(&format!("dns:{value}")),
        },
    };
    parsed.map_err(|_| {
        let why = match kind {
            Some("dns") => "not a valid DNS name",
            Some("ip") => "not an IP address",
            Some("uri") => "a URI needs a scheme (`https:`, `spiffe:`, ...) and only ASCII without spaces",
            Some("email") => "an email address is local@domain, ASCII, with a valid DNS domain",
            _ if value.is_empty() => "the name is empty",
            _ if value.contains('@') => {
                "a bare value must be an IP address or a DNS name; write an email address as email:<address>"
            }
            _ => "a bare value must be an IP address or a valid DNS name",
        };
        Fail::usage(format!("invalid --san `{value}`: {why}")).hint(format!(
            "{SAN_FORMS}; a DNS name is labels of letters, digits and inner hyphens (at most 63 bytes each, \
             253 in all), optionally starting with `*.`"
        ))
    })
}

/// `--scheme` for a key file: `pkcs1` or `pss` with an RSA key; the key's
/// default (PKCS#1 v1.5 for RSA, ECDSA for P-256) when absent.
pub fn scheme(name: Option<&str>, key: &KeyPair, whose: &str) -> Result<SignatureScheme> {
    match (name, key) {
        (None, _) => Ok(key.default_scheme()),
        (Some(n), KeyPair::Rsa(_)) => rsa_scheme(n),
        (Some(n), _) => Err(not_rsa(n, whose)),
    }
}

/// The scheme named by `--scheme` (`pkcs1` or `pss`).
pub fn rsa_scheme(name: &str) -> Result<SignatureScheme> {
    match name {
        "pkcs1" => Ok(SignatureScheme::RsaPkcs1Sha256),
        "pss" => Ok(SignatureScheme::RsaPssSha256),
        other => Err(Fail::usage(format!("unknown --scheme `{other}`")).hint("use pkcs1 or pss")),
    }
}

/// `--scheme` given for a key that is not RSA.
pub fn not_rsa(name: &str, whose: &str) -> Fail {
    Fail::usage(format!("--scheme {name} is for RSA keys, and {whose} is not an RSA key"))
        .hint("drop --scheme: a P-256 key always signs with ECDSA-SHA-256")
}

/// When a certificate is valid: `--not-before` (default: now, back-dated
/// five minutes for clock skew) to `--not-after` (default: `--days` after
/// the start, or from now when no start is given).
#[derive(Clone, Copy)]
pub struct Window {
    pub days: u32,
    pub not_before: Option<u64>,
    pub not_after: Option<u64>,
}

impl Window {
    pub fn validity(&self) -> Result<Validity> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| Fail::usage("the system clock is before 1970"))?
            .as_secs();
        let (not_before, not_after) = match (self.not_before, self.not_after) {
            (None, None) => {
                let v = Validity::days_from_now(self.days)?;
                (v.not_before, v.not_after)
            }
            (start, Some(end)) => (start.unwrap_or_else(|| now.saturating_sub(SKEW)), end),
            (Some(start), None) => (start, start.saturating_add(u64::from(self.days).saturating_mul(DAY))),
        };
        if not_after <= now {
            return Err(Fail::usage(format!(
                "the certificate would already have expired: it ends at {}",
                iso8601(not_after)
            ))
            .hint("the end must be in the future: check --not-after, or --not-before and --days"));
        }
        if not_after <= not_before {
            return Err(Fail::usage(format!(
                "the certificate would end ({}) before it starts ({})",
                iso8601(not_after),
                iso8601(not_before)
            ))
            .hint("give a --not-after later than --not-before"));
        }
        Ok(Validity { not_before, not_after })
    }
}

/// `--not-before`/`--not-after`: ISO 8601 UTC (`2027-01-31`,
/// `2027-01-31T12:00:00Z`) or seconds since the Unix epoch.
pub fn time_arg(text: &str) -> std::result::Result<u64, String> {
    crate::time::parse(text).ok_or_else(|| {
        format!("`{text}` is not a time: give 2027-01-31, 2027-01-31T12:00:00Z or Unix seconds")
    })
}

/// A leaf never outlives its issuer: a notAfter past the CA's is refused
/// (with what to give instead), never shortened. (A notBefore before the
/// CA's is moved up to it when issuing, as coffer-core does.)
pub fn within_ca(v: &Validity, ca: &Certificate) -> Result<()> {
    if v.not_after > ca.not_after() {
        return Err(Fail::usage(format!(
            "the certificate would be valid until {}, after its CA certificate ({}) expires at {}",
            iso8601(v.not_after),
            ca.subject(),
            iso8601(ca.not_after())
        ))
        .hint(format!(
            "a certificate never outlives its issuer: give fewer --days, or --not-after {} or earlier",
            iso8601(ca.not_after())
        )));
    }
    if v.not_after <= ca.not_before() {
        return Err(Fail::usage(format!(
            "the certificate would end at {}, before its CA certificate ({}) starts at {}",
            iso8601(v.not_after),
            ca.subject(),
            iso8601(ca.not_before())
        ))
        .hint("give a later --not-after"));
    }
    Ok(())
}

/// A server certificate names its host: a DNS name or IP address among
/// `names` (the ones it will carry); every name must be valid.
pub fn leaf_names(usage: LeafUsage, usage_name: &str, names: &[San]) -> Result<()> {
    if let Some(bad) = names.iter().find(|n| n.validate().is_err()) {
        return Err(Fail::usage(format!("the request asks for the name `{bad}`, which is not valid"))
            .hint(format!("give the certificate's names with --san instead ({SAN_FORMS})")));
    }
    let serves = matches!(usage, LeafUsage::Server | LeafUsage::ServerAndClient);
    if serves && !names.iter().any(San::names_a_host) {
        return Err(Fail::usage(format!(
            "a server certificate (--usage {usage_name}) needs a DNS name or IP address among its names"
        ))
        .hint("add --san dns:<name> (or --san ip:<address>), or use --usage client"));
    }
    Ok(())
}
