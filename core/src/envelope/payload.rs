//! Key schedule (FORMAT.md §2) and the chunked payload (FORMAT.md §3).
//!
//! [`PayloadSealer`] and [`PayloadOpener`] work chunk by chunk on caller
//! buffers, so memory use does not grow with the payload and no allocator
//! is needed.

use super::header::COMMITMENT_LEN;
use super::recipient::{Dek, commitments_equal};
use crate::aead::{Aes256GcmSivKey, Nonce, TAG_LEN, Tag};
use crate::error::{Error, Result};
use crate::kdf;

const PAYLOAD_KEY_INFO: &[u8] = b"coffer/v1 payload key";
const COMMITMENT_INFO: &[u8] = b"coffer/v1 key commitment";

/// Payload key and commitment derived from a DEK and the header salt.
pub(crate) struct KeySchedule {
    pub payload_key: Aes256GcmSivKey,
    pub commitment: [u8; COMMITMENT_LEN],
}

impl KeySchedule {
    pub(crate) fn derive(dek: &Dek, salt: &[u8; 32]) -> Result<Self> {
        let mut key = [0u8; 32];
        let mut commitment = [0u8; COMMITMENT_LEN];
        let derived = kdf::extract_expand_two(
            salt,
            dek.as_bytes(),
            (PAYLOAD_KEY_INFO, &mut key),
            (COMMITMENT_INFO, &mut commitment),
        );
        let payload_key = Aes256GcmSivKey::from_bytes(key);
        zeroize::Zeroize::zeroize(&mut key);
        derived?;
        Ok(KeySchedule { payload_key, commitment })
    }

    /// Derives and checks the commitment against the header's, in constant time.
    pub(crate) fn derive_checked(
        dek: &Dek,
        salt: &[u8; 32],
        expected: &[u8; COMMITMENT_LEN],
    ) -> Result<Self> {
        let ks = Self::derive(dek, salt).map_err(|_| Error::Decrypt)?;
        if commitments_equal(&ks.commitment, expected) { Ok(ks) } else { Err(Error::Decrypt) }
    }
}

fn chunk_nonce(counter: u32, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    let (_, tail) = n.split_at_mut(7);
    let (ctr, flag) = tail.split_at_mut(4);
    ctr.copy_from_slice(&counter.to_be_bytes());
    flag.copy_from_slice(&[u8::from(last)]);
    Nonce::from_bytes(n)
}

/// Seals a payload chunk by chunk (FORMAT.md §3).
pub struct PayloadSealer {
    key: Aes256GcmSivKey,
    aad: [u8; 32],
    chunk_size: usize,
    counter: u32,
    finished: bool,
}

impl core::fmt::Debug for PayloadSealer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PayloadSealer")
            .field("chunk", &self.counter)
            .field("finished", &self.finished)
            .finish()
    }
}

impl PayloadSealer {
    pub(crate) fn new(ks: KeySchedule, aad: [u8; 32], chunk_size: u32) -> Result<Self> {
        let chunk_size = usize::try_from(chunk_size).map_err(|_| Error::LimitExceeded)?;
        Ok(PayloadSealer { key: ks.payload_key, aad, chunk_size, counter: 0, finished: false })
    }

    /// Plaintext bytes per chunk.
    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    /// Seals the chunk whose plaintext is `buf[..len]`, in place, appending
    /// the tag; returns the sealed length `len + 16`. A non-final chunk must be
    /// exactly [`Self::chunk_size`] bytes; the final one may be 0 to
    /// `chunk_size` bytes. After the final chunk the sealer refuses more.
    pub fn seal_chunk(&mut self, buf: &mut [u8], len: usize, last: bool) -> Result<usize> {
        if self.finished || len > self.chunk_size || (!last && len != self.chunk_size) {
            return Err(Error::InvalidInput);
        }
        if !last && self.counter == u32::MAX {
            return Err(Error::LimitExceeded);
        }
        let n = self.key.seal_in_place(&chunk_nonce(self.counter, last), &self.aad, buf, len)?;
        if last {
            self.finished = true;
        } else {
            self.counter = self.counter.wrapping_add(1);
        }
        Ok(n)
    }

    /// Whether the final chunk has been sealed.
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

/// Opens a payload chunk by chunk, handing out a chunk's plaintext only
/// after its tag verified (FORMAT.md §3, §4 step 5).
pub struct PayloadOpener {
    key: Aes256GcmSivKey,
    aad: [u8; 32],
    chunk_size: usize,
    counter: u32,
    finished: bool,
    failed: bool,
}

impl core::fmt::Debug for PayloadOpener {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PayloadOpener")
            .field("chunk", &self.counter)
            .field("finished", &self.finished)
            .finish()
    }
}

impl PayloadOpener {
    pub(crate) fn new(ks: KeySchedule, aad: [u8; 32], chunk_size: u32) -> Result<Self> {
        let chunk_size = usize::try_from(chunk_size).map_err(|_| Error::Decrypt)?;
        Ok(PayloadOpener { key: ks.payload_key, aad, chunk_size, counter: 0, finished: false, failed: false })
    }

    /// Plaintext bytes per chunk; a sealed non-final chunk is this plus 16.
    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    /// Largest sealed chunk: `chunk_size + 16`.
    pub fn sealed_chunk_size(&self) -> usize {
        self.chunk_size.saturating_add(TAG_LEN)
    }

    /// Opens one sealed chunk (`ciphertext || tag`) in place and returns its
    /// plaintext. `last` says whether the caller has seen the end of the
    /// payload after this chunk. Every failure is [`Error::Decrypt`], and
    /// after a failure the opener refuses further chunks.
    pub fn open_chunk<'b>(&mut self, chunk: &'b mut [u8], last: bool) -> Result<&'b mut [u8]> {
        let Some((ct, tag)) = chunk.split_last_chunk_mut::<TAG_LEN>() else {
            self.failed = true;
            return Err(Error::Decrypt);
        };
        let tag: Tag = *tag;
        self.open_detached(ct, &tag, last)?;
        Ok(ct)
    }

    /// Opens one chunk whose ciphertext is `ct` (decrypted in place) and
    /// whose tag is `tag`: [`Self::open_chunk`] for a caller that keeps
    /// the two apart, with the same checks and the same poisoning.
    pub(crate) fn open_detached(&mut self, ct: &mut [u8], tag: &Tag, last: bool) -> Result<()> {
        let bad_len = ct.len() > self.chunk_size || (!last && ct.len() != self.chunk_size);
        if self.finished || self.failed || bad_len || (!last && self.counter == u32::MAX) {
            self.failed = true;
            return Err(Error::Decrypt);
        }
        match self.key.open_in_place_detached(&chunk_nonce(self.counter, last), &self.aad, ct, tag) {
            Ok(()) => {
                if last {
                    self.finished = true;
                } else {
                    self.counter = self.counter.wrapping_add(1);
                }
                Ok(())
            }
            Err(_) => {
                // Poisoned: `finish` fails even if the caller ignores this error.
                self.failed = true;
                Err(Error::Decrypt)
            }
        }
    }

    /// Checks that the final chunk was opened; a payload that ended early
    /// (truncated at a chunk boundary) fails here.
    pub fn finish(self) -> Result<()> {
        if self.finished && !self.failed { Ok(()) } else { Err(Error::Decrypt) }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, reason = "a failed step is a test failure, reported by panic")]
mod tests {
    use super::*;

    const AAD: [u8; 32] = [0x11; 32];

    fn schedule() -> KeySchedule {
        KeySchedule { payload_key: Aes256GcmSivKey::from_bytes([7; 32]), commitment: [0; COMMITMENT_LEN] }
    }

    fn sealer(chunk_size: u32) -> PayloadSealer {
        PayloadSealer::new(schedule(), AAD, chunk_size).expect("a u32 fits a usize here")
    }

    fn opener(chunk_size: u32) -> PayloadOpener {
        PayloadOpener::new(schedule(), AAD, chunk_size).expect("a u32 fits a usize here")
    }

    /// A sealed chunk of `len` bytes of `fill`, made with the chunk nonce
    /// for (`counter`, `last`) directly: what a sealer would produce at that
    /// position, whatever its chunk size.
    fn sealed(counter: u32, last: bool, len: usize, fill: u8) -> alloc::vec::Vec<u8> {
        let mut buf = alloc::vec![fill; len];
        buf.extend_from_slice(&[0; TAG_LEN]);
        let n = schedule()
            .payload_key
            .seal_in_place(&chunk_nonce(counter, last), &AAD, &mut buf, len)
            .expect("room for the tag");
        assert_eq!(n, buf.len());
        buf
    }

    #[test]
    fn the_sealer_takes_only_full_chunks_before_the_last_and_nothing_after_it() {
        let mut s = sealer(8);
        assert_eq!(s.chunk_size(), 8);
        assert!(!s.is_finished());
        let mut buf = [0u8; 8 + 1 + TAG_LEN];
        // A non-final chunk shorter or longer than the chunk size.
        assert_eq!(s.seal_chunk(&mut buf, 7, false), Err(Error::InvalidInput));
        assert_eq!(s.seal_chunk(&mut buf, 9, false), Err(Error::InvalidInput));
        // A final chunk longer than the chunk size.
        assert_eq!(s.seal_chunk(&mut buf, 9, true), Err(Error::InvalidInput));
        // A full non-final chunk, then a full final one.
        assert_eq!(s.seal_chunk(&mut buf, 8, false), Ok(8 + TAG_LEN));
        assert!(!s.is_finished());
        assert_eq!(alloc::format!("{s:?}"), "PayloadSealer { chunk: 1, finished: false }");
        assert_eq!(s.seal_chunk(&mut buf, 8, true), Ok(8 + TAG_LEN));
        assert!(s.is_finished());
        assert_eq!(alloc::format!("{s:?}"), "PayloadSealer { chunk: 1, finished: true }");
        // Nothing after the final chunk, not even an empty final one.
        assert_eq!(s.seal_chunk(&mut buf, 0, true), Err(Error::InvalidInput));
        assert_eq!(s.seal_chunk(&mut buf, 8, false), Err(Error::InvalidInput));
        // A final chunk shorter than the chunk size, and an empty one.
        assert_eq!(sealer(8).seal_chunk(&mut buf, 3, true), Ok(3 + TAG_LEN));
        assert_eq!(sealer(8).seal_chunk(&mut buf, 0, true), Ok(TAG_LEN));
    }

    #[test]
    fn the_sealer_refuses_a_chunk_past_the_counters_last_value_but_seals_the_final_one_there() {
        let mut s = sealer(4);
        s.counter = u32::MAX;
        let mut buf = [0x42u8; 4 + TAG_LEN];
        assert_eq!(s.seal_chunk(&mut buf, 4, false), Err(Error::LimitExceeded));
        assert!(!s.is_finished());
        assert_eq!(s.seal_chunk(&mut buf, 4, true), Ok(4 + TAG_LEN));
        assert_eq!(buf.as_slice(), sealed(u32::MAX, true, 4, 0x42).as_slice());
    }

    #[test]
    fn the_opener_refuses_chunks_of_the_wrong_length_even_when_their_tag_verifies() {
        let mut o = opener(16);
        assert_eq!(o.chunk_size(), 16);
        assert_eq!(o.sealed_chunk_size(), 16 + TAG_LEN);
        // A non-final chunk of 8 bytes: the tag verifies, the length does not.
        let mut short = sealed(0, false, 8, 1);
        assert_eq!(o.open_chunk(&mut short, false).err(), Some(Error::Decrypt));
        // A final chunk of 17 bytes, one more than the chunk size.
        let mut long = sealed(0, true, 17, 2);
        assert_eq!(opener(16).open_chunk(&mut long, true).err(), Some(Error::Decrypt));
        // A final chunk of exactly 16, and an empty one (just the tag).
        let mut full = sealed(0, true, 16, 3);
        assert_eq!(opener(16).open_chunk(&mut full, true).map(|p| p.to_vec()), Ok(alloc::vec![3; 16]));
        let mut empty = sealed(0, true, 0, 0);
        assert_eq!(opener(16).open_chunk(&mut empty, true).map(|p| p.len()), Ok(0));
        // Fewer bytes than a tag.
        assert_eq!(opener(16).open_chunk(&mut [0u8; TAG_LEN - 1], true).err(), Some(Error::Decrypt));
    }

    #[test]
    fn the_opener_refuses_a_chunk_past_the_counters_last_value() {
        let mut o = opener(4);
        o.counter = u32::MAX;
        let mut chunk = sealed(u32::MAX, false, 4, 9);
        assert_eq!(o.open_chunk(&mut chunk, false).err(), Some(Error::Decrypt));
        let mut o = opener(4);
        o.counter = u32::MAX;
        let mut last = sealed(u32::MAX, true, 4, 9);
        assert_eq!(o.open_chunk(&mut last, true).map(|p| p.to_vec()), Ok(alloc::vec![9; 4]));
        assert_eq!(o.finish(), Ok(()));
    }

    #[test]
    fn the_opener_takes_nothing_after_the_final_chunk_or_a_failure_and_finish_says_so() {
        let mut o = opener(4);
        assert_eq!(alloc::format!("{o:?}"), "PayloadOpener { chunk: 0, finished: false }");
        let mut first = sealed(0, false, 4, 5);
        assert_eq!(o.open_chunk(&mut first, false).map(|p| p.to_vec()), Ok(alloc::vec![5; 4]));
        let mut last = sealed(1, true, 2, 6);
        assert_eq!(o.open_chunk(&mut last, true).map(|p| p.to_vec()), Ok(alloc::vec![6; 2]));
        assert_eq!(alloc::format!("{o:?}"), "PayloadOpener { chunk: 1, finished: true }");
        // The same final chunk again: its tag verifies, but the payload has ended.
        let mut again = sealed(1, true, 2, 6);
        assert_eq!(o.open_chunk(&mut again, true).err(), Some(Error::Decrypt));
        assert_eq!(o.finish(), Err(Error::Decrypt), "a refused chunk after the end poisons the opener");

        // Truncated at a chunk boundary: the final chunk never came.
        let mut o = opener(4);
        let mut first = sealed(0, false, 4, 5);
        assert!(o.open_chunk(&mut first, false).is_ok());
        assert_eq!(o.finish(), Err(Error::Decrypt));
        // Nothing opened at all.
        assert_eq!(opener(4).finish(), Err(Error::Decrypt));

        // After a failed chunk, a good one is refused and finish fails.
        let mut o = opener(4);
        let mut bad = sealed(0, false, 4, 5);
        if let Some(b) = bad.first_mut() {
            *b ^= 1;
        }
        assert_eq!(o.open_chunk(&mut bad, false).err(), Some(Error::Decrypt));
        let mut good = sealed(0, true, 4, 5);
        assert_eq!(o.open_chunk(&mut good, true).err(), Some(Error::Decrypt));
        assert_eq!(o.finish(), Err(Error::Decrypt));
    }
}
