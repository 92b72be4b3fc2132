//! Streaming envelopes for C: a sealer and an opener that take one chunk
//! per call, so memory use does not grow with the payload (FORMAT.md §3).

use coffer_core::envelope::{self, Limits, PayloadOpener, PayloadSealer, Recipient, UnlockKey};
use coffer_core::rng::OsRng;
use zeroize::Zeroizing;

use crate::boundary::{
    buffer_out, bytes_out, capacity_of, coffer_bytes, ffi_boundary, ffi_boundary_void, handle_free,
    handle_out, mut_in, ref_in, require, slice_in, write_out,
};
use crate::envelope::{
    COFFER_ENVELOPE_TAG_LEN, OwnedRecipient, OwnedUnlockKey, coffer_kv, coffer_recipient, coffer_unlock_key,
    context_in, envelope_header, recipients_in, unlock_keys_in,
};
use crate::status::{
    COFFER_ERR_BUFFER_TOO_SMALL, COFFER_ERR_DECRYPT, COFFER_ERR_STREAM_FINISHED, coffer_status,
};

/// Seals an envelope's payload chunk by chunk. Created by
/// `coffer_sealer_new`, freed by `coffer_sealer_free`.
///
/// Thread safety: may be moved between threads, but calls on one sealer
/// must not overlap (it is not synchronized).
pub struct coffer_sealer {
    inner: PayloadSealer,
}

/// Opens an envelope's payload chunk by chunk. Created by
/// `coffer_opener_new`, freed by `coffer_opener_free`.
///
/// Thread safety: may be moved between threads, but calls on one opener
/// must not overlap (it is not synchronized).
pub struct coffer_opener {
    /// `None` once `coffer_opener_finish` ran.
    inner: Option<PayloadOpener>,
    /// Where a chunk is decrypted, so plaintext of a chunk that fails never
    /// reaches the caller; zeroed on drop.
    scratch: Zeroizing<Vec<u8>>,
}

/// Starts a streaming envelope for `recipients` bound to `context`, with
/// `chunk_size` bytes of plaintext per chunk (256..=1048576; 0 means
/// `COFFER_ENVELOPE_DEFAULT_CHUNK_SIZE`). On success `*sealer` is the new
/// sealer and `*header` holds the envelope header: write it first, then
/// the output of each `coffer_sealer_seal_chunk`.
///
/// Errors: as `coffer_envelope_seal` (`COFFER_ERR_INVALID_ARGUMENT` for 0
/// recipients), and `COFFER_ERR_LIMIT_EXCEEDED` for a chunk size out of range.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_sealer_new(
    recipients: *const coffer_recipient,
    recipients_len: usize,
    context: *const coffer_kv,
    context_len: usize,
    chunk_size: u32,
    sealer: *mut *mut coffer_sealer,
    header: *mut coffer_bytes,
) -> coffer_status {
    ffi_boundary(|| {
        require(sealer)?;
        require(header)?;
        // SAFETY: the header's contract for input arrays.
        let recipients = unsafe { recipients_in(recipients, recipients_len) }?;
        // SAFETY: as above.
        let context = unsafe { context_in(context, context_len) }?;
        let chunk_size = if chunk_size == 0 { envelope::DEFAULT_CHUNK_SIZE } else { chunk_size };
        let to: Vec<Recipient<'_>> = recipients.iter().map(OwnedRecipient::as_recipient).collect();
        // An empty payload's envelope is the header plus one tag.
        let room = envelope::sealed_len(&to, &context, 0, chunk_size)?;
        let mut head = vec![0u8; room];
        let (inner, len) = envelope::begin_seal(&mut OsRng, &to, &context, chunk_size, &mut head)?;
        head.truncate(len);
        // SAFETY: both output slots were checked non-NULL.
        unsafe { bytes_out(header, &head) }?;
        // SAFETY: as above.
        unsafe { handle_out(sealer, coffer_sealer { inner }) }
    })
}

/// The sealer's plaintext bytes per chunk, into `*chunk_size`.
///
/// Thread safety: see `coffer_sealer`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_sealer_chunk_size(
    sealer: *const coffer_sealer,
    chunk_size: *mut usize,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for handles.
        let s = unsafe { ref_in(sealer) }?;
        // SAFETY: the caller's output slot.
        unsafe { write_out(chunk_size, s.inner.chunk_size()) }
    })
}

/// Seals one chunk of plaintext into `out` (`*out_len` bytes of room; it
/// needs `chunk_len + COFFER_ENVELOPE_TAG_LEN`). Every chunk but the last
/// must be exactly the chunk size; the last (`last` true) may be 0 to
/// chunk size bytes. On success `*out_len` is the sealed length.
///
/// Errors: `COFFER_ERR_BUFFER_TOO_SMALL` (with the needed size in
/// `*out_len`; the sealer is unchanged, retry with a larger buffer);
/// `COFFER_ERR_INVALID_ARGUMENT` for a wrong chunk length;
/// `COFFER_ERR_STREAM_FINISHED` after the last chunk.
///
/// Thread safety: see `coffer_sealer`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_sealer_seal_chunk(
    sealer: *mut coffer_sealer,
    chunk: *const u8,
    chunk_len: usize,
    last: bool,
    out: *mut u8,
    out_len: *mut usize,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for handles.
        let s = unsafe { mut_in(sealer) }?;
        // SAFETY: the header's contract for in/out lengths.
        let cap = unsafe { capacity_of(out, out_len) }?;
        // SAFETY: the header's contract for input buffers.
        let chunk = unsafe { slice_in(chunk, chunk_len) }?;
        if s.inner.is_finished() {
            return Err(COFFER_ERR_STREAM_FINISHED);
        }
        let needed = chunk.len().saturating_add(COFFER_ENVELOPE_TAG_LEN);
        if cap < needed {
            // SAFETY: checked non-NULL by `capacity_of`.
            unsafe { write_out(out_len, needed) }?;
            return Err(COFFER_ERR_BUFFER_TOO_SMALL);
        }
        let mut buf = Zeroizing::new(vec![0u8; needed]);
        buf.get_mut(..chunk.len()).ok_or(crate::status::COFFER_ERR_INTERNAL)?.copy_from_slice(chunk);
        let n = s.inner.seal_chunk(&mut buf, chunk.len(), last)?;
        let sealed = buf.get(..n).ok_or(crate::status::COFFER_ERR_INTERNAL)?;
        // SAFETY: the header's contract for output buffers.
        unsafe { buffer_out(out, out_len, sealed) }
    })
}

/// Frees a sealer; NULL does nothing. An unfinished envelope stays
/// unfinished (its opener will report `COFFER_ERR_DECRYPT`).
///
/// Thread safety: no other call may be using the sealer.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_sealer_free(sealer: *mut coffer_sealer) {
    ffi_boundary_void(|| {
        // SAFETY: NULL or a pointer from `coffer_sealer_new`, freed once (header contract).
        unsafe { handle_free(sealer) }
    });
}

/// Starts opening a streaming envelope: `header` is the whole header (its
/// length from `coffer_envelope_header_len`), `keys` and `context` as for
/// `coffer_envelope_open`. On success `*opener` is the new opener; feed it
/// the chunks that follow the header.
///
/// Detects the same tampering as `coffer_envelope_open` once
/// `coffer_opener_finish` returns `COFFER_OK`, and no more: another
/// recipient's record is not authenticated for you (FORMAT.md §3.3).
///
/// Errors: the argument errors of `coffer_envelope_open`
/// (`COFFER_ERR_INVALID_ARGUMENT` for 0 keys); `COFFER_ERR_MALFORMED` if
/// `header` is not a whole, well-formed envelope header;
/// `COFFER_ERR_DECRYPT` for every failure to open a well-formed one.
///
/// Thread safety: may be called from any number of threads at once.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_opener_new(
    keys: *const coffer_unlock_key,
    keys_len: usize,
    context: *const coffer_kv,
    context_len: usize,
    header: *const u8,
    header_len: usize,
    opener: *mut *mut coffer_opener,
) -> coffer_status {
    ffi_boundary(|| {
        require(opener)?;
        // SAFETY: the header's contract for input arrays and buffers.
        let keys = unsafe { unlock_keys_in(keys, keys_len) }?;
        // SAFETY: as above.
        let context = unsafe { context_in(context, context_len) }?;
        // SAFETY: as above.
        let header = unsafe { slice_in(header, header_len) }?;
        envelope_header(header)?;
        let unlock: Vec<UnlockKey<'_>> = keys.iter().map(OwnedUnlockKey::as_unlock_key).collect();
        let (inner, _) = envelope::begin_open(&mut OsRng, &unlock, &context, header, &Limits::DEFAULT)?;
        let scratch = Zeroizing::new(Vec::with_capacity(inner.sealed_chunk_size()));
        // SAFETY: checked non-NULL; the caller's output slot.
        unsafe { handle_out(opener, coffer_opener { inner: Some(inner), scratch }) }
    })
}

/// The largest sealed chunk, into `*sealed_chunk_size`: the chunk size plus
/// `COFFER_ENVELOPE_TAG_LEN`. Read the payload in pieces of this size; the
/// last piece may be shorter.
///
/// Thread safety: see `coffer_opener`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_opener_sealed_chunk_size(
    opener: *const coffer_opener,
    sealed_chunk_size: *mut usize,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for handles.
        let o = unsafe { ref_in(opener) }?;
        let inner = o.inner.as_ref().ok_or(COFFER_ERR_STREAM_FINISHED)?;
        // SAFETY: the caller's output slot.
        unsafe { write_out(sealed_chunk_size, inner.sealed_chunk_size()) }
    })
}

/// Opens one sealed chunk into `out` (`*out_len` bytes of room; it needs
/// `chunk_len - COFFER_ENVELOPE_TAG_LEN`). `last` says the payload ends
/// after this chunk. Plaintext is written only after the chunk's tag
/// verified. On success `*out_len` is the plaintext length.
///
/// Errors: `COFFER_ERR_DECRYPT` for any failure (after which the opener
/// refuses further chunks); `COFFER_ERR_BUFFER_TOO_SMALL` (the opener is
/// unchanged); `COFFER_ERR_STREAM_FINISHED` after `coffer_opener_finish`.
///
/// Thread safety: see `coffer_opener`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_opener_open_chunk(
    opener: *mut coffer_opener,
    chunk: *const u8,
    chunk_len: usize,
    last: bool,
    out: *mut u8,
    out_len: *mut usize,
) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for handles.
        let o = unsafe { mut_in(opener) }?;
        // SAFETY: the header's contract for in/out lengths.
        let cap = unsafe { capacity_of(out, out_len) }?;
        // SAFETY: the header's contract for input buffers.
        let chunk = unsafe { slice_in(chunk, chunk_len) }?;
        let inner = o.inner.as_mut().ok_or(COFFER_ERR_STREAM_FINISHED)?;
        let needed = chunk.len().saturating_sub(COFFER_ENVELOPE_TAG_LEN);
        if cap < needed && chunk.len() <= inner.sealed_chunk_size() {
            // SAFETY: checked non-NULL by `capacity_of`.
            unsafe { write_out(out_len, needed) }?;
            return Err(COFFER_ERR_BUFFER_TOO_SMALL);
        }
        o.scratch.clear();
        o.scratch.extend_from_slice(chunk);
        let plaintext = inner.open_chunk(&mut o.scratch, last)?;
        let result = {
            // SAFETY: the header's contract for output buffers.
            unsafe { buffer_out(out, out_len, plaintext) }
        };
        zeroize::Zeroize::zeroize(&mut *o.scratch);
        result
    })
}

/// Checks that the payload ended properly: the last chunk was opened and no
/// chunk failed. A payload cut short at a chunk boundary fails here with
/// `COFFER_ERR_DECRYPT`. Until this returns `COFFER_OK`, treat the
/// plaintext received so far as untrusted. The opener takes no chunks
/// afterwards (`COFFER_ERR_STREAM_FINISHED`); free it as usual.
///
/// Thread safety: see `coffer_opener`.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_opener_finish(opener: *mut coffer_opener) -> coffer_status {
    ffi_boundary(|| {
        // SAFETY: the header's contract for handles.
        let o = unsafe { mut_in(opener) }?;
        let inner = o.inner.take().ok_or(COFFER_ERR_STREAM_FINISHED)?;
        inner.finish().map_err(|_| COFFER_ERR_DECRYPT)
    })
}

/// Frees an opener; NULL does nothing.
///
/// Thread safety: no other call may be using the opener.
#[unsafe(no_mangle)]
pub extern "C" fn coffer_opener_free(opener: *mut coffer_opener) {
    ffi_boundary_void(|| {
        // SAFETY: NULL or a pointer from `coffer_opener_new`, freed once (header contract).
        unsafe { handle_free(opener) }
    });
}
