//! Subject alternative names: the four kinds coffer writes, their text
//! form (`dns:`, `ip:`, `uri:`, `email:`) and the rules every name must
//! follow before it goes into a certificate or a request.

use alloc::string::{String, ToString};
use core::fmt;
use core::net::IpAddr;
use core::str::FromStr;

use crate::error::{Error, Result};

/// A subject alternative name.
///
/// Every name is checked before it is written into a CSR or certificate
/// (see [`San::validate`]); [`San::parse`] reads the prefixed text form and
/// [`fmt::Display`] writes it back.
///
/// ```
/// use coffer_core::cert::San;
/// let san = San::parse("dns:agent-7.acme.test")?;
/// assert_eq!(san, San::Dns("agent-7.acme.test".into()));
/// assert_eq!(san.to_string(), "dns:agent-7.acme.test");
/// assert!(San::parse("dns:bad name").is_err());
/// assert!(San::parse("agent-7.acme.test").is_err(), "the prefix is required");
/// # Ok::<(), coffer_core::Error>(())
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum San {
    /// A DNS name (`dNSName`): a hostname as [`San::validate`] describes.
    Dns(String),
    /// An IPv4 or IPv6 address (`iPAddress`).
    Ip(IpAddr),
    /// A URI (`uniformResourceIdentifier`): ASCII, with a scheme.
    Uri(String),
    /// An email address (`rfc822Name`): `local@domain`, ASCII.
    Email(String),
}

impl San {
    /// Longest DNS name accepted, in bytes (RFC 1035 §2.3.4, without the
    /// final dot).
    pub const MAX_DNS_LEN: usize = 253;
    /// Longest label of a DNS name, in bytes (RFC 1035 §2.3.4).
    pub const MAX_LABEL_LEN: usize = 63;
    /// Longest local part of an email address, in bytes (RFC 5321 §4.5.3.1.1).
    pub const MAX_EMAIL_LOCAL_LEN: usize = 64;
    /// Longest URI accepted, in bytes.
    pub const MAX_URI_LEN: usize = 2048;

    /// Reads the text form `dns:<name>`, `ip:<address>`, `uri:<URI>` or
    /// `email:<local@domain>` (the prefix in any case) and checks the name
    /// as [`San::validate`] does.
    ///
    /// ```
    /// use coffer_core::cert::San;
    /// assert_eq!(San::parse("ip:10.0.0.7")?, San::Ip([10, 0, 0, 7].into()));
    /// assert_eq!(San::parse("email:ops@acme.test")?, San::Email("ops@acme.test".into()));
    /// assert_eq!(San::parse("uri:spiffe://acme.test/agent-7")?, San::Uri("spiffe://acme.test/agent-7".into()));
    /// assert!(San::parse("ip:10.0.0.300").is_err());
    /// # Ok::<(), coffer_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidSubjectAltName`] for an unknown or missing prefix, or
    /// a name that breaks the rules of its kind.
    pub fn parse(text: &str) -> Result<San> {
        let (kind, value) = text.split_once(':').ok_or(Error::InvalidSubjectAltName)?;
        let san = if kind.eq_ignore_ascii_case("dns") {
            San::Dns(value.to_string())
        } else if kind.eq_ignore_ascii_case("ip") {
            San::Ip(value.parse().map_err(|_| Error::InvalidSubjectAltName)?)
        } else if kind.eq_ignore_ascii_case("uri") {
            San::Uri(value.to_string())
        } else if kind.eq_ignore_ascii_case("email") {
            San::Email(value.to_string())
        } else {
            return Err(Error::InvalidSubjectAltName);
        };
        san.validate()?;
        Ok(san)
    }

    /// Checks the name against the rules of its kind:
    ///
    /// - DNS: dot-separated labels of 1 to [`San::MAX_LABEL_LEN`] ASCII
    ///   letters, digits and hyphens, no hyphen first or last, at most
    ///   [`San::MAX_DNS_LEN`] bytes in all; the first label may be `*` (a
    ///   wildcard for one label) if another label follows. No empty name, no
    ///   empty label (so no final dot), no spaces.
    /// - email: `local@domain`, the local part 1 to
    ///   [`San::MAX_EMAIL_LOCAL_LEN`] printable ASCII characters without `@`
    ///   or spaces, the domain a DNS name as above without a wildcard.
    /// - URI: a scheme (a letter, then letters, digits, `+`, `-` or `.`), a
    ///   colon and at least one more character; printable ASCII only (no
    ///   spaces), at most [`San::MAX_URI_LEN`] bytes.
    /// - IP: any address (the type already holds only valid ones).
    ///
    /// ```
    /// use coffer_core::cert::San;
    /// assert!(San::Dns("*.acme.test".into()).validate().is_ok());
    /// assert!(San::Dns("-bad.acme.test".into()).validate().is_err());
    /// assert!(San::Email("ops@acme.test".into()).validate().is_ok());
    /// assert!(San::Uri("no-scheme".into()).validate().is_err());
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidSubjectAltName`] if the name breaks a rule.
    pub fn validate(&self) -> Result<()> {
        let ok = match self {
            San::Dns(name) => is_dns_name(name, true),
            San::Ip(_) => true,
            San::Uri(uri) => is_uri(uri),
            San::Email(address) => is_email(address),
        };
        if ok { Ok(()) } else { Err(Error::InvalidSubjectAltName) }
    }

    /// Whether the name can identify a TLS server: a DNS name or an IP
    /// address.
    pub fn names_a_host(&self) -> bool {
        matches!(self, San::Dns(_) | San::Ip(_))
    }
}

impl FromStr for San {
    type Err = Error;

    /// As [`San::parse`].
    fn from_str(text: &str) -> Result<San> {
        San::parse(text)
    }
}

impl fmt::Display for San {
    /// The text form [`San::parse`] reads: `dns:`, `ip:`, `uri:` or
    /// `email:` and the name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            San::Dns(name) => write!(f, "dns:{name}"),
            San::Ip(ip) => write!(f, "ip:{ip}"),
            San::Uri(uri) => write!(f, "uri:{uri}"),
            San::Email(address) => write!(f, "email:{address}"),
        }
    }
}

/// A hostname: labels of letters, digits and inner hyphens, with an
/// optional leading `*` label when `wildcard` allows it.
fn is_dns_name(name: &str, wildcard: bool) -> bool {
    if name.is_empty() || name.len() > San::MAX_DNS_LEN {
        return false;
    }
    let rest = match name.strip_prefix("*.") {
        Some(rest) if wildcard => rest,
        Some(_) => return false,
        None => name,
    };
    !rest.is_empty() && rest.split('.').all(is_label)
}

fn is_label(label: &str) -> bool {
    (1..=San::MAX_LABEL_LEN).contains(&label.len())
        && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

fn is_email(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else { return false };
    (1..=San::MAX_EMAIL_LOCAL_LEN).contains(&local.len())
        && local.bytes().all(|b| b.is_ascii_graphic())
        && is_dns_name(domain, false)
}

fn is_uri(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once(':') else { return false };
    let mut scheme_bytes = scheme.bytes();
    uri.len() <= San::MAX_URI_LEN
        && uri.bytes().all(|b| b.is_ascii_graphic())
        && scheme_bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && scheme_bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        && !rest.is_empty()
}
