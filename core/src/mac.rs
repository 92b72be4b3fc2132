//! HMAC-SHA-256 (RFC 2104) with constant-time verification, and webhook
//! signatures over `timestamp "." body` checked against a tolerance window
//! ([`WebhookMessage`], [`HmacSha256Key::verify_webhook`]), carried in a
//! `t=<timestamp>,v1=<hex tag>` header ([`WebhookSignature`]).
//!
//! ```
//! use coffer_core::mac::HmacSha256Key;
//!
//! let key = HmacSha256Key::new(b"webhook secret, at least 32 bytes long!")?;
//! let tag = key.sign(b"payload");
//! key.verify(b"payload", &tag)?;
//! assert!(key.verify(b"payl0ad", &tag).is_err());
//! # Ok::<(), coffer_core::Error>(())
//! ```

use hmac::{Hmac, KeyInit, Mac};
use sha2::Digest;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};
use crate::rng::{self, TryCryptoRng};

/// HMAC-SHA-256 tag length in bytes.
pub const TAG_LEN: usize = 32;
/// Shortest truncated tag [`HmacSha256Key::verify_truncated`] accepts (128 bits).
pub const MIN_TRUNCATED_TAG_LEN: usize = 16;
/// SHA-256 block length; longer keys are hashed first (RFC 2104 §2).
const BLOCK_LEN: usize = 64;

/// An HMAC-SHA-256 key of any length. Keys longer than 64 bytes are hashed
/// first, as RFC 2104 says, so the stored form is always one block.
/// Zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct HmacSha256Key {
    block: [u8; BLOCK_LEN],
}

impl core::fmt::Debug for HmacSha256Key {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("HmacSha256Key(<redacted>)")
    }
}

impl HmacSha256Key {
    /// Makes a key from `key` bytes (any length; 32 or more is recommended).
    ///
    /// # Errors
    /// None today; the `Result` leaves room for a minimum-length policy.
    pub fn new(key: &[u8]) -> Result<Self> {
        let mut block = [0u8; BLOCK_LEN];
        if key.len() > BLOCK_LEN {
            let digest: [u8; 32] = sha2::Sha256::digest(key).into();
            block.get_mut(..32).ok_or(Error::InvalidKey)?.copy_from_slice(&digest);
        } else {
            block.get_mut(..key.len()).ok_or(Error::InvalidKey)?.copy_from_slice(key);
        }
        Ok(HmacSha256Key { block })
    }

    /// Generates a random 32-byte key.
    pub fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Self> {
        let mut key = [0u8; 32];
        rng::fill(rng, &mut key)?;
        let k = Self::new(&key);
        key.zeroize();
        k
    }

    fn mac(&self) -> Hmac<sha2::Sha256> {
        // The stored key is exactly one block, which HMAC uses as is.
        <Hmac<sha2::Sha256> as KeyInit>::new(&self.block.into())
    }

    /// The tag over the concatenation of `parts` (e.g. timestamp, `.`, body).
    pub fn sign_parts(&self, parts: &[&[u8]]) -> [u8; TAG_LEN] {
        let mut m = self.mac();
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }

    /// The tag over `msg`.
    pub fn sign(&self, msg: &[u8]) -> [u8; TAG_LEN] {
        self.sign_parts(&[msg])
    }

    /// Checks a full 32-byte `tag` over `msg` in constant time.
    ///
    /// # Errors
    /// [`Error::Verify`] if the tag is wrong or not 32 bytes long.
    pub fn verify(&self, msg: &[u8], tag: &[u8]) -> Result<()> {
        self.verify_parts(&[msg], tag)
    }

    /// Checks a full 32-byte `tag` over the concatenation of `parts`.
    pub fn verify_parts(&self, parts: &[&[u8]], tag: &[u8]) -> Result<()> {
        if tag.len() != TAG_LEN {
            return Err(Error::Verify);
        }
        let expected = self.sign_parts(parts);
        if bool::from(expected.ct_eq(tag)) { Ok(()) } else { Err(Error::Verify) }
    }

    /// Checks a tag truncated to its leftmost `tag.len()` bytes (RFC 2104 §5),
    /// with `tag.len()` from [`MIN_TRUNCATED_TAG_LEN`] to 32.
    pub fn verify_truncated(&self, msg: &[u8], tag: &[u8]) -> Result<()> {
        if !(MIN_TRUNCATED_TAG_LEN..=TAG_LEN).contains(&tag.len()) {
            return Err(Error::Verify);
        }
        let expected = self.sign(msg);
        let prefix = expected.get(..tag.len()).ok_or(Error::Verify)?;
        if bool::from(prefix.ct_eq(tag)) { Ok(()) } else { Err(Error::Verify) }
    }
}

/// Default tolerance of [`HmacSha256Key::verify_webhook`]: five minutes
/// either side of the receiver's clock.
pub const DEFAULT_WEBHOOK_TOLERANCE_SECS: u64 = 300;

/// Most decimal digits of a `u64` timestamp.
const MAX_TIMESTAMP_DIGITS: usize = 20;

/// What a webhook signature covers: the timestamp in decimal ASCII, a `.`,
/// then the body (`"1700000000.{\"event\":\"paid\"}"`). Binding the time
/// into the MAC lets the receiver refuse old deliveries.
///
/// Works without an allocator: [`parts`](WebhookMessage::parts) gives the
/// three pieces to feed to [`HmacSha256Key::sign_parts`] or to an HSM that
/// MACs by handle.
///
/// ```
/// use coffer_core::mac::WebhookMessage;
///
/// let msg = WebhookMessage::new(1_700_000_000, b"{\"event\":\"paid\"}");
/// assert_eq!(msg.parts().concat(), b"1700000000.{\"event\":\"paid\"}");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WebhookMessage<'a> {
    timestamp: u64,
    /// The timestamp's digits, right-aligned; `digits[start..]` is the text.
    digits: [u8; MAX_TIMESTAMP_DIGITS],
    start: usize,
    body: &'a [u8],
}

impl<'a> WebhookMessage<'a> {
    /// The message for a delivery at `timestamp` (seconds since the Unix
    /// epoch) carrying `body`.
    ///
    /// ```
    /// use coffer_core::mac::WebhookMessage;
    ///
    /// let msg = WebhookMessage::new(0, b"ping");
    /// assert_eq!(msg.timestamp_ascii(), b"0");
    /// ```
    pub fn new(timestamp: u64, body: &'a [u8]) -> Self {
        let mut digits = [b'0'; MAX_TIMESTAMP_DIGITS];
        let mut start = MAX_TIMESTAMP_DIGITS;
        let mut rest = timestamp;
        for slot in digits.iter_mut().rev() {
            // `rest % 10` is below 10, so `b'0' | d` is its ASCII digit.
            *slot = u8::try_from(rest % 10).map_or(b'0', |d| b'0' | d);
            start = start.saturating_sub(1);
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        WebhookMessage { timestamp, digits, start, body }
    }

    /// The timestamp, in seconds since the Unix epoch.
    ///
    /// ```
    /// # use coffer_core::mac::WebhookMessage;
    /// assert_eq!(WebhookMessage::new(42, b"").timestamp(), 42);
    /// ```
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// The timestamp as signed: decimal ASCII without leading zeros.
    ///
    /// ```
    /// # use coffer_core::mac::WebhookMessage;
    /// assert_eq!(WebhookMessage::new(u64::MAX, b"").timestamp_ascii(), b"18446744073709551615");
    /// ```
    pub fn timestamp_ascii(&self) -> &[u8] {
        self.digits.get(self.start..).unwrap_or(&[])
    }

    /// The body.
    ///
    /// ```
    /// # use coffer_core::mac::WebhookMessage;
    /// assert_eq!(WebhookMessage::new(1, b"body").body(), b"body");
    /// ```
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The signed content in three pieces: timestamp, `.`, body.
    ///
    /// ```
    /// use coffer_core::mac::{HmacSha256Key, WebhookMessage};
    ///
    /// let key = HmacSha256Key::new(&[9; 32])?;
    /// let msg = WebhookMessage::new(1_700_000_000, b"body");
    /// assert_eq!(key.sign_parts(&msg.parts()), key.sign(b"1700000000.body"));
    /// # Ok::<(), coffer_core::Error>(())
    /// ```
    pub fn parts(&self) -> [&[u8]; 3] {
        [self.timestamp_ascii(), b".", self.body]
    }

    /// Whether the timestamp is within `tolerance_secs` of `now`, in either
    /// direction (the sender's clock may be ahead). This bounds replay to
    /// the window; a receiver that must refuse every replay also remembers
    /// the signatures it accepted within the window.
    ///
    /// ```
    /// use coffer_core::{mac::WebhookMessage, Error};
    ///
    /// let msg = WebhookMessage::new(1_000, b"");
    /// assert_eq!(msg.check_fresh(1_300, 300), Ok(()));
    /// assert_eq!(msg.check_fresh(1_301, 300), Err(Error::Verify));
    /// assert_eq!(msg.check_fresh(699, 300), Err(Error::Verify));
    /// ```
    ///
    /// # Errors
    /// [`Error::Verify`] outside the window.
    pub fn check_fresh(&self, now: u64, tolerance_secs: u64) -> Result<()> {
        if self.timestamp.abs_diff(now) <= tolerance_secs { Ok(()) } else { Err(Error::Verify) }
    }
}

impl HmacSha256Key {
    /// The webhook signature of `msg`: HMAC-SHA-256 over
    /// `timestamp "." body` (see [`WebhookMessage`]).
    ///
    /// ```
    /// use coffer_core::mac::{HmacSha256Key, WebhookMessage};
    ///
    /// let key = HmacSha256Key::new(b"whsec: shared with the receiver")?;
    /// let tag = key.sign_webhook(&WebhookMessage::new(1_700_000_000, b"{}"));
    /// assert_eq!(tag, key.sign(b"1700000000.{}"));
    /// # Ok::<(), coffer_core::Error>(())
    /// ```
    pub fn sign_webhook(&self, msg: &WebhookMessage<'_>) -> [u8; TAG_LEN] {
        self.sign_parts(&msg.parts())
    }

    /// Checks a webhook signature: the timestamp must be within
    /// `tolerance_secs` of `now` ([`WebhookMessage::check_fresh`]) and the
    /// 32-byte `tag` must match, compared in constant time. Both checks
    /// always run.
    ///
    /// ```
    /// use coffer_core::mac::{HmacSha256Key, WebhookMessage, DEFAULT_WEBHOOK_TOLERANCE_SECS as TOL};
    /// use coffer_core::Error;
    ///
    /// let key = HmacSha256Key::new(b"whsec: shared with the receiver")?;
    /// let sent = WebhookMessage::new(1_700_000_000, b"{\"paid\":true}");
    /// let tag = key.sign_webhook(&sent);
    /// assert_eq!(key.verify_webhook(&sent, &tag, 1_700_000_060, TOL), Ok(()));
    /// // Replayed an hour later.
    /// assert_eq!(key.verify_webhook(&sent, &tag, 1_700_003_600, TOL), Err(Error::Verify));
    /// // Body changed in transit.
    /// let forged = WebhookMessage::new(1_700_000_000, b"{\"paid\":false}");
    /// assert_eq!(key.verify_webhook(&forged, &tag, 1_700_000_060, TOL), Err(Error::Verify));
    /// # Ok::<(), coffer_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Verify`] for a stale or future timestamp, a wrong tag or a
    /// tag that is not 32 bytes. The timestamp is public, so a receiver
    /// that wants to log which check failed may call
    /// [`WebhookMessage::check_fresh`] itself.
    pub fn verify_webhook(
        &self,
        msg: &WebhookMessage<'_>,
        tag: &[u8],
        now: u64,
        tolerance_secs: u64,
    ) -> Result<()> {
        let fresh = msg.check_fresh(now, tolerance_secs);
        let genuine = self.verify_parts(&msg.parts(), tag);
        fresh.and(genuine)
    }
}

/// Longest webhook signature header [`WebhookSignature::parse`] reads, in bytes.
pub const MAX_WEBHOOK_HEADER_LEN: usize = 1024;

/// A webhook signature as its header carries it:
/// `t=<timestamp>,v1=<tag>`, the timestamp in decimal seconds since the
/// Unix epoch and the HMAC-SHA-256 tag of [`WebhookMessage`] as 64
/// lowercase hex digits. Its [`Display`](core::fmt::Display) writes the
/// header; [`parse`](WebhookSignature::parse) reads it.
///
/// ```
/// use coffer_core::mac::{HmacSha256Key, WebhookMessage, WebhookSignature};
///
/// let key = HmacSha256Key::new(b"whsec: shared with the receiver")?;
/// let msg = WebhookMessage::new(1_700_000_000, b"{}");
/// let header = WebhookSignature::new(msg.timestamp(), key.sign_webhook(&msg)).to_string();
/// assert!(header.starts_with("t=1700000000,v1="));
///
/// let got = WebhookSignature::parse(&header)?;
/// key.verify_webhook(&WebhookMessage::new(got.timestamp(), b"{}"), got.tag(), 1_700_000_030, 300)?;
/// # Ok::<(), coffer_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WebhookSignature {
    timestamp: u64,
    tag: [u8; TAG_LEN],
}

impl WebhookSignature {
    /// The signature `tag` of a delivery at `timestamp`.
    pub fn new(timestamp: u64, tag: [u8; TAG_LEN]) -> Self {
        WebhookSignature { timestamp, tag }
    }

    /// The timestamp, in seconds since the Unix epoch.
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// The HMAC-SHA-256 tag.
    pub fn tag(&self) -> &[u8; TAG_LEN] {
        &self.tag
    }

    /// Reads a header: comma-separated `key=value` items with exactly one
    /// `t` (1 to 20 decimal digits, a `u64`) and exactly one `v1` (64 hex
    /// digits, either case), in any order, without spaces. Items with other
    /// keys (a `v0` of another scheme) are ignored.
    ///
    /// ```
    /// use coffer_core::mac::WebhookSignature;
    /// use coffer_core::Error;
    ///
    /// let tag = "ab".repeat(32);
    /// let sig = WebhookSignature::parse(&format!("v0=old,v1={tag},t=42"))?;
    /// assert_eq!((sig.timestamp(), sig.tag()), (42, &[0xab; 32]));
    /// assert_eq!(WebhookSignature::parse("t=42"), Err(Error::Malformed));
    /// assert_eq!(WebhookSignature::parse(&format!("t=42,t=43,v1={tag}")), Err(Error::Malformed));
    /// # Ok::<(), coffer_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidLength`] for a header longer than
    /// [`MAX_WEBHOOK_HEADER_LEN`]; [`Error::Malformed`] for anything else
    /// that breaks the rules above.
    pub fn parse(header: &str) -> Result<Self> {
        if header.len() > MAX_WEBHOOK_HEADER_LEN {
            return Err(Error::InvalidLength);
        }
        let mut timestamp = None;
        let mut tag = None;
        for item in header.split(',') {
            let (key, value) = item.split_once('=').ok_or(Error::Malformed)?;
            let slot_taken = match key {
                "t" => timestamp.replace(parse_timestamp(value)?).is_some(),
                "v1" => tag.replace(parse_tag(value)?).is_some(),
                "" => return Err(Error::Malformed),
                _ => false,
            };
            if slot_taken {
                return Err(Error::Malformed);
            }
        }
        match (timestamp, tag) {
            (Some(timestamp), Some(tag)) => Ok(WebhookSignature { timestamp, tag }),
            _ => Err(Error::Malformed),
        }
    }
}

impl core::fmt::Display for WebhookSignature {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "t={},v1=", self.timestamp)?;
        self.tag.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// A header's `t` value: decimal digits only, no sign, within `u64`.
fn parse_timestamp(value: &str) -> Result<u64> {
    if value.is_empty() || value.len() > MAX_TIMESTAMP_DIGITS || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Malformed);
    }
    value.parse().map_err(|_| Error::Malformed)
}

/// A header's `v1` value: exactly 64 hex digits.
fn parse_tag(value: &str) -> Result<[u8; TAG_LEN]> {
    let digits = value.as_bytes();
    if digits.len() != TAG_LEN.saturating_mul(2) {
        return Err(Error::Malformed);
    }
    let mut tag = [0u8; TAG_LEN];
    for (byte, pair) in tag.iter_mut().zip(digits.chunks_exact(2)) {
        let [hi, lo] = pair else { return Err(Error::Malformed) };
        *byte = (hex_digit(*hi)? << 4) | hex_digit(*lo)?;
    }
    Ok(tag)
}

fn hex_digit(c: u8) -> Result<u8> {
    let digit = match c {
        b'0'..=b'9' => c.wrapping_sub(b'0'),
        b'a'..=b'f' => c.wrapping_sub(b'a').wrapping_add(10),
        b'A'..=b'F' => c.wrapping_sub(b'A').wrapping_add(10),
        _ => return Err(Error::Malformed),
    };
    Ok(digit)
}
