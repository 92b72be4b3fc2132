//! Key schedule (FORMAT.md §2) and the chunked payload (FORMAT.md §3).
//!
//! [`PayloadSealer`] and [`PayloadOpener`] work chunk by chunk on caller
//! buffers, so memory use does not grow with the payload and no allocator
//! is needed.

use super::header::COMMITMENT_LEN;
use super::recipient::{Dek, commitments_equal};
use crate::aead::{Aes256GcmSivKey, Nonce, TAG_LEN};
use crate::error::{Error, Result};
use crate::kdf::Prk;

const PAYLOAD_KEY_INFO: &[u8] = b"coffer/v1 payload key";
const COMMITMENT_INFO: &[u8] = b"coffer/v1 key commitment";

/// Payload key and commitment derived from a DEK and the header salt.
pub(crate) struct KeySchedule {
    pub payload_key: Aes256GcmSivKey,
    pub commitment: [u8; COMMITMENT_LEN],
}

impl KeySchedule {
    pub(crate) fn derive(dek: &Dek, salt: &[u8; 32]) -> Result<Self> {
        let prk = Prk::extract(Some(salt), dek.as_bytes());
        let mut key = [0u8; 32];
        prk.expand(PAYLOAD_KEY_INFO, &mut key)?;
        let payload_key = Aes256GcmSivKey::from_bytes(key);
        zeroize::Zeroize::zeroize(&mut key);
        let mut commitment = [0u8; COMMITMENT_LEN];
        prk.expand(COMMITMENT_INFO, &mut commitment)?;
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
        let bad_len = chunk.len() < TAG_LEN
            || chunk.len() > self.sealed_chunk_size()
            || (!last && chunk.len() != self.sealed_chunk_size());
        if self.finished || self.failed || bad_len || (!last && self.counter == u32::MAX) {
            self.failed = true;
            return Err(Error::Decrypt);
        }
        match self.key.open_in_place(&chunk_nonce(self.counter, last), &self.aad, chunk) {
            Ok(pt) => {
                if last {
                    self.finished = true;
                } else {
                    self.counter = self.counter.wrapping_add(1);
                }
                Ok(pt)
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
