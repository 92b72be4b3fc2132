//! A strict subset of RFC 7512 PKCS#11 URIs naming an envelope KEK:
//!
//! ```text
//! pkcs11:token=<label>;object=<label>[;id=<%XX bytes>][;type=secret-key]
//!        ?module-path=<path>&pin-source=file:<path>        (or &pin-value=<pin>)
//! ```
//!
//! Values are percent-decoded (RFC 3986 §2.1); every other attribute, a
//! repeated one, an empty value and a bad `%` escape are refused with a
//! message that names the attribute (never a PIN).

use std::borrow::ToOwned;
use std::format;
use std::path::PathBuf;
use std::string::String;
use std::vec::Vec;

use zeroize::Zeroizing;

use super::Pkcs11KekConfig;
use super::error::Pkcs11KekError;

/// Longest URI accepted, in bytes.
pub const MAX_URI_LEN: usize = 4096;

/// Where the user PIN comes from.
#[non_exhaustive]
pub enum PinSource {
    /// `pin-source=file:<path>`: the first line of the file.
    File(PathBuf),
    /// `pin-value=<pin>`: in the URI itself (visible in process lists; prefer a file).
    Value(Zeroizing<String>),
}

impl core::fmt::Debug for PinSource {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PinSource::File(p) => f.debug_tuple("File").field(p).finish(),
            PinSource::Value(_) => f.write_str("Value(<redacted>)"),
        }
    }
}

/// A parsed `pkcs11:` URI naming a KEK: the module, the token, the key and
/// where the PIN comes from. [`Pkcs11Uri::to_config`] reads the PIN.
///
/// ```
/// use coffer_hsm::Pkcs11Uri;
///
/// let uri = Pkcs11Uri::parse(
///     "pkcs11:token=coffer-kek;object=records%20kek;type=secret-key\
///      ?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/hsm-pin",
/// )?;
/// assert_eq!(uri.token, "coffer-kek");
/// assert_eq!(uri.object, "records kek");
/// assert!(Pkcs11Uri::parse("pkcs11:token=t;object=k;serial=42?module-path=/m.so&pin-value=1").is_err());
/// # Ok::<(), coffer_hsm::Pkcs11KekError>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Pkcs11Uri {
    /// `module-path`: the PKCS#11 module (shared library) to load.
    pub module_path: PathBuf,
    /// `token`: the token label.
    pub token: String,
    /// `object`: the key's `CKA_LABEL`.
    pub object: String,
    /// `id`: the key's `CKA_ID`, if given.
    pub id: Option<Vec<u8>>,
    /// `pin-source` or `pin-value`.
    pub pin: PinSource,
}

impl Pkcs11Uri {
    /// Parses `uri` (see the module docs for the accepted form).
    ///
    /// # Errors
    /// [`Pkcs11KekError::Uri`] naming what is wrong.
    pub fn parse(uri: &str) -> Result<Self, Pkcs11KekError> {
        if uri.len() > MAX_URI_LEN {
            return Err(Pkcs11KekError::uri(format!("longer than {MAX_URI_LEN} bytes")));
        }
        let rest =
            uri.strip_prefix("pkcs11:").ok_or_else(|| Pkcs11KekError::uri("it must start with `pkcs11:`"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut token = None;
        let mut object = None;
        let mut id = None;
        let mut kind = None;
        for (name, value) in attributes(path, ';', "path")? {
            match name {
                "token" => set(&mut token, name, text(name, value)?)?,
                "object" => set(&mut object, name, text(name, value)?)?,
                "id" => set(&mut id, name, decode(name, value)?)?,
                "type" => set(&mut kind, name, text(name, value)?)?,
                other => return Err(unknown(other, "path")),
            }
        }
        let mut module_path = None;
        let mut pin_file = None;
        let mut pin_value = None;
        if !query.is_empty() {
            for (name, value) in attributes(query, '&', "query")? {
                match name {
                    "module-path" => set(&mut module_path, name, text(name, value)?)?,
                    "pin-source" => {
                        let source = text(name, value)?;
                        let file = source.strip_prefix("file:").ok_or_else(|| {
                            Pkcs11KekError::uri(
                                "pin-source must be `file:<path>` (other sources are not supported)",
                            )
                        })?;
                        if file.is_empty() {
                            return Err(Pkcs11KekError::uri("pin-source names no file"));
                        }
                        set(&mut pin_file, name, file.to_owned())?;
                    }
                    "pin-value" => set(&mut pin_value, name, Zeroizing::new(text(name, value)?))?,
                    other => return Err(unknown(other, "query")),
                }
            }
        }
        if let Some(k) = kind
            && k != "secret-key"
        {
            return Err(Pkcs11KekError::uri("type must be `secret-key` (a KEK is an AES secret key)"));
        }
        let pin = match (pin_file, pin_value) {
            (Some(f), None) => PinSource::File(PathBuf::from(f)),
            (None, Some(v)) => PinSource::Value(v),
            (Some(_), Some(_)) => return Err(Pkcs11KekError::uri("give pin-source or pin-value, not both")),
            (None, None) => {
                return Err(Pkcs11KekError::uri("no PIN: add ?...&pin-source=file:<path> (or pin-value=)"));
            }
        };
        Ok(Pkcs11Uri {
            module_path: PathBuf::from(
                module_path
                    .ok_or_else(|| Pkcs11KekError::uri("no module-path: add ?module-path=<library>"))?,
            ),
            token: token.ok_or_else(|| Pkcs11KekError::uri("no token: add token=<label>"))?,
            object: object.ok_or_else(|| Pkcs11KekError::uri("no object: add object=<key label>"))?,
            id,
            pin,
        })
    }

    /// The configuration this URI names, with the PIN read from its file
    /// (the first line, without its line ending) or taken from the URI.
    ///
    /// # Errors
    /// [`Pkcs11KekError::PinSource`] if the file does not read, or is not UTF-8.
    pub fn to_config(&self) -> Result<Pkcs11KekConfig, Pkcs11KekError> {
        let pin = match &self.pin {
            PinSource::Value(v) => v.clone(),
            PinSource::File(path) => {
                let fail =
                    |reason: String| Pkcs11KekError::PinSource { path: path.display().to_string(), reason };
                let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| fail(e.to_string()))?);
                let text = core::str::from_utf8(&bytes).map_err(|_| fail("not UTF-8".into()))?;
                Zeroizing::new(text.lines().next().unwrap_or("").to_owned())
            }
        };
        Ok(Pkcs11KekConfig {
            module: self.module_path.clone(),
            token_label: self.token.clone(),
            pin,
            key_label: self.object.clone(),
            key_id: self.id.clone(),
        })
    }
}

use std::string::ToString;

/// `name=value` pairs separated by `sep`; an empty part or one without `=` is refused.
fn attributes<'a>(part: &'a str, sep: char, which: &str) -> Result<Vec<(&'a str, &'a str)>, Pkcs11KekError> {
    let mut out = Vec::new();
    if part.is_empty() {
        return Ok(out);
    }
    for attr in part.split(sep) {
        let (name, value) = attr.split_once('=').ok_or_else(|| {
            if attr.is_empty() {
                Pkcs11KekError::uri(format!("an empty {which} attribute (a stray `{sep}`)"))
            } else {
                Pkcs11KekError::uri(format!("{which} attribute `{}` has no `=value`", printable(attr)))
            }
        })?;
        out.push((name, value));
    }
    Ok(out)
}

fn set<T>(slot: &mut Option<T>, name: &str, value: T) -> Result<(), Pkcs11KekError> {
    if slot.is_some() {
        return Err(Pkcs11KekError::uri(format!("`{name}` is given twice")));
    }
    *slot = Some(value);
    Ok(())
}

fn unknown(name: &str, which: &str) -> Pkcs11KekError {
    Pkcs11KekError::uri(format!(
        "unsupported {which} attribute `{}` (coffer takes token, object, id, type; module-path, pin-source, pin-value)",
        printable(name)
    ))
}

/// An attribute name as it may be shown: at most 32 characters, controls escaped.
fn printable(name: &str) -> String {
    name.chars().take(32).flat_map(char::escape_debug).collect()
}

/// A percent-decoded value that must be non-empty UTF-8.
fn text(name: &str, value: &str) -> Result<String, Pkcs11KekError> {
    String::from_utf8(decode(name, value)?).map_err(|_| Pkcs11KekError::uri(format!("`{name}` is not UTF-8")))
}

/// Percent-decoding (RFC 3986 §2.1) of a non-empty value.
fn decode(name: &str, value: &str) -> Result<Vec<u8>, Pkcs11KekError> {
    if value.is_empty() {
        return Err(Pkcs11KekError::uri(format!("`{name}` is empty")));
    }
    let bad = || Pkcs11KekError::uri(format!("`{name}` has a bad %-escape (write %XX with two hex digits)"));
    let mut out = Vec::with_capacity(value.len());
    let mut bytes = value.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hi = bytes.next().and_then(hex_digit).ok_or_else(bad)?;
            let lo = bytes.next().and_then(hex_digit).ok_or_else(bad)?;
            out.push(hi.wrapping_shl(4) | lo);
        } else {
            out.push(b);
        }
    }
    Ok(out)
}

fn hex_digit(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a failed step is a test failure")]
mod tests {
    use super::*;

    const Q: &str = "?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/tmp/pin";

    fn err(uri: &str) -> String {
        match Pkcs11Uri::parse(uri) {
            Err(Pkcs11KekError::Uri { message }) => message,
            other => panic!("{uri}: expected a URI error, got {other:?}"),
        }
    }

    #[test]
    fn the_documented_form_parses_with_percent_decoding() {
        let u = Pkcs11Uri::parse(&format!(
            "pkcs11:token=coffer%2Dkek;object=my%20kek;id=%01%ff;type=secret-key{Q}"
        ))
        .unwrap();
        assert_eq!(u.token, "coffer-kek");
        assert_eq!(u.object, "my kek");
        assert_eq!(u.id.as_deref(), Some(&[1u8, 0xff][..]));
        assert_eq!(u.module_path, PathBuf::from("/usr/lib/softhsm/libsofthsm2.so"));
        assert!(matches!(&u.pin, PinSource::File(p) if p == &PathBuf::from("/tmp/pin")));
        let v = Pkcs11Uri::parse("pkcs11:object=k;token=t?pin-value=1234&module-path=/m.so").unwrap();
        assert!(matches!(&v.pin, PinSource::Value(p) if p.as_str() == "1234"));
        assert_eq!(v.id, None);
    }

    #[test]
    fn unknown_attributes_are_refused_by_name() {
        assert!(err(&format!("pkcs11:token=t;object=k;serial=1{Q}")).contains("`serial`"));
        assert!(err("pkcs11:token=t;object=k?module-path=/m.so&pin-value=1&slot-id=3").contains("`slot-id`"));
        assert!(err(&format!("pkcs11:token=t;object=k;type=private{Q}")).contains("secret-key"));
        assert!(err("pkcs11:token=t;object=k?module-path=/m.so&pin-source=|/bin/pin").contains("file:"));
    }

    #[test]
    fn missing_repeated_and_empty_attributes_are_refused() {
        assert!(err(&format!("pkcs11:object=k{Q}")).contains("no token"));
        assert!(err(&format!("pkcs11:token=t{Q}")).contains("no object"));
        assert!(err("pkcs11:token=t;object=k?pin-value=1").contains("no module-path"));
        assert!(err("pkcs11:token=t;object=k?module-path=/m.so").contains("no PIN"));
        assert!(err("pkcs11:token=t;object=k").contains("no PIN"));
        assert!(err(&format!("pkcs11:token=t;token=u;object=k{Q}")).contains("twice"));
        assert!(err(&format!("pkcs11:token=;object=k{Q}")).contains("empty"));
        assert!(err(&format!("pkcs11:token=t;object=k;{Q}")).contains("stray"));
        assert!(
            err(&format!("{Q}&pin-value=2").replace('?', "pkcs11:token=t;object=k?")).contains("not both")
        );
        assert!(err("pkcs:token=t").contains("pkcs11:"));
    }

    #[test]
    fn bad_escapes_and_non_utf8_text_are_refused() {
        assert!(err(&format!("pkcs11:token=%zz;object=k{Q}")).contains("%-escape"));
        assert!(err(&format!("pkcs11:token=%4;object=k{Q}")).contains("%-escape"));
        assert!(err(&format!("pkcs11:token=%ff;object=k{Q}")).contains("UTF-8"));
    }

    #[test]
    fn a_pin_value_never_shows_in_debug_or_errors() {
        let u = Pkcs11Uri::parse("pkcs11:token=t;object=k?module-path=/m.so&pin-value=s3cr3t").unwrap();
        assert!(!format!("{u:?}").contains("s3cr3t"));
        let e = err("pkcs11:token=t;object=k?module-path=/m.so&pin-value=s3cr3t&pin-valu=s3cr3t");
        assert!(!e.contains("s3cr3t"), "{e}");
    }

    #[test]
    fn hostile_inputs_give_errors_not_panics() {
        let long = "a".repeat(MAX_URI_LEN + 1);
        for uri in [
            "",
            "pkcs11:",
            "pkcs11:?",
            "pkcs11:;;;",
            "pkcs11:=",
            "pkcs11:%",
            "pkcs11:token=%",
            "pkcs11:token=%%%",
            "pkcs11:token=é%e9;object=\u{0};id=%",
            "pkcs11:token=t?&&",
            "pkcs11:token=t?=x",
            "pkcs11:?module-path",
            long.as_str(),
        ] {
            assert!(Pkcs11Uri::parse(uri).is_err(), "{uri:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn no_input_panics_the_parser(s in "\\PC{0,200}") {
            let _ = Pkcs11Uri::parse(&s);
        }

        #[test]
        fn no_pkcs11_shaped_input_panics_the_parser(s in "pkcs11:[a-z=;%0-9A-F&?/ -]{0,120}") {
            let _ = Pkcs11Uri::parse(&s);
        }
    }
}
