//! Key holders: a key-encryption key kept somewhere coffer cannot read it
//! (FORMAT.md §1.4, kind `01`).

use zeroize::{Zeroize, Zeroizing};

use super::recipient::{DEK_LEN, KW_DEK_LEN};
use crate::error::{Error, Result};
use crate::keywrap::Kek;

/// A key-encryption key kept somewhere coffer cannot read it (a hardware
/// or software HSM, a PKCS#11 token, a remote KMS), which wraps and unwraps
/// data keys with AES-256-KW inside.
///
/// An envelope's AES-256-KW recipient (FORMAT.md §1.4, kind `01`) is
/// `AES-KW(KEK, DEK)`: RFC 3394 with the default initial value
/// `A6A6A6A6A6A6A6A6` and a 256-bit KEK, 40 bytes for the 32-byte DEK. A
/// holder **must compute exactly that** (PKCS#11's `CKM_AES_KEY_WRAP` with
/// no IV parameter does), so that an envelope sealed through one holder
/// opens with any other holder, or an in-memory [`Kek`], over the same key
/// bytes. [`Recipient::Held`](super::Recipient::Held) and
/// [`UnlockKey::Held`](super::UnlockKey::Held) write and read the same
/// records as [`Recipient::Kek`](super::Recipient::Kek) and
/// [`UnlockKey::Kek`](super::UnlockKey::Kek).
///
/// [`Kek`] implements it (the key in memory), so "a KEK" and "a KEK in an
/// HSM" are one trait to callers.
///
/// ```
/// # #[cfg(feature = "std")] {
/// use coffer_core::envelope::{self, EncryptionContext, KekHolder, Recipient, UnlockKey};
/// use coffer_core::{keywrap::Kek, rng::OsRng};
///
/// // Any holder: here the in-memory KEK; an HSM backend works the same way.
/// let kek = Kek::generate(&mut OsRng)?;
/// let holder: &dyn KekHolder = &kek;
/// let ctx = EncryptionContext::new();
/// let to = [Recipient::Held { key_id: b"hsm-kek", version: 1, holder }];
/// let env = envelope::seal(&mut OsRng, &to, &ctx, b"payroll")?;
///
/// // The same records as a plain KEK recipient: either form opens it.
/// let key = UnlockKey::Kek { key_id: b"hsm-kek", version: 1, kek: &kek };
/// assert_eq!(&envelope::open(&mut OsRng, &[key], &ctx, &env)?[..], b"payroll");
/// let key = UnlockKey::Held { key_id: b"hsm-kek", version: 1, holder };
/// assert_eq!(&envelope::open(&mut OsRng, &[key], &ctx, &env)?[..], b"payroll");
/// # }
/// # Ok::<(), coffer_core::Error>(())
/// ```
pub trait KekHolder {
    /// Wraps a 32-byte data key: `AES-KW(KEK, dek)` per RFC 3394 with the
    /// default IV, 40 bytes.
    ///
    /// # Errors
    /// Whatever the holder reports (a device error, a refused key); the
    /// envelope functions pass it through when sealing.
    fn wrap_dek(&self, dek: &[u8; DEK_LEN]) -> Result<[u8; KW_DEK_LEN]>;

    /// Unwraps a 40-byte `AES-KW(KEK, dek)`, checking its integrity value.
    ///
    /// # Errors
    /// Any failure; opening an envelope turns every one into
    /// [`Error::Decrypt`].
    fn unwrap_dek(&self, wrapped: &[u8; KW_DEK_LEN]) -> Result<Zeroizing<[u8; DEK_LEN]>>;
}

impl core::fmt::Debug for dyn KekHolder + '_ {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("KekHolder(<held>)")
    }
}

/// The in-memory KEK as a holder. Only an AES-256 KEK (32 bytes) is an
/// envelope KEK; others give [`Error::InvalidInput`] (wrap) or
/// [`Error::Decrypt`] (unwrap), as with [`Recipient::Kek`](super::Recipient::Kek).
impl KekHolder for Kek {
    fn wrap_dek(&self, dek: &[u8; DEK_LEN]) -> Result<[u8; KW_DEK_LEN]> {
        if self.as_bytes().len() != 32 {
            return Err(Error::InvalidInput);
        }
        let mut out = [0u8; KW_DEK_LEN];
        let n = self.wrap(dek, &mut out)?;
        if n != KW_DEK_LEN {
            return Err(Error::Internal);
        }
        Ok(out)
    }

    fn unwrap_dek(&self, wrapped: &[u8; KW_DEK_LEN]) -> Result<Zeroizing<[u8; DEK_LEN]>> {
        if self.as_bytes().len() != 32 {
            return Err(Error::Decrypt);
        }
        let mut out = Zeroizing::new([0u8; DEK_LEN]);
        match self.unwrap(wrapped, &mut *out) {
            Ok(DEK_LEN) => Ok(out),
            _ => {
                out.zeroize();
                Err(Error::Decrypt)
            }
        }
    }
}

#[cfg(all(test, feature = "alloc"))]
#[allow(clippy::expect_used, reason = "a failed step is a test failure, reported by panic")]
mod tests {
    use core::cell::Cell;

    use super::*;
    use crate::envelope::recipient::{Dek, MAX_BODY_LEN, RecipientKind};
    use crate::envelope::{self, EncryptionContext, Recipient, UnlockKey};
    use crate::rng::OsRng;

    /// A holder that fails every call with `err`, counting the calls.
    struct Failing {
        err: Error,
        calls: Cell<u32>,
    }

    impl KekHolder for Failing {
        fn wrap_dek(&self, _: &[u8; DEK_LEN]) -> Result<[u8; KW_DEK_LEN]> {
            self.calls.set(self.calls.get().saturating_add(1));
            Err(self.err)
        }
        fn unwrap_dek(&self, _: &[u8; KW_DEK_LEN]) -> Result<Zeroizing<[u8; DEK_LEN]>> {
            self.calls.set(self.calls.get().saturating_add(1));
            Err(self.err)
        }
    }

    fn kek() -> Kek {
        Kek::from_slice(&[0x5a; 32]).expect("32 bytes")
    }

    #[test]
    fn a_held_recipient_writes_the_same_record_as_a_kek_recipient() {
        let kek = kek();
        let dek = Dek::from_slice(&[0x42; DEK_LEN]).expect("32 bytes");
        let (mut a, mut b) = ([0u8; MAX_BODY_LEN], [0u8; MAX_BODY_LEN]);
        let plain = Recipient::Kek { key_id: b"k", version: 3, kek: &kek };
        let held = Recipient::Held { key_id: b"k", version: 3, holder: &kek };
        let ra = plain.wrap(&mut OsRng, &dek, &mut a).expect("wraps");
        let rb = held.wrap(&mut OsRng, &dek, &mut b).expect("wraps");
        assert_eq!(ra, rb);
        assert_eq!(
            (rb.kind, rb.key_id, rb.key_version, rb.body.len()),
            (RecipientKind::Aes256Kw, &b"k"[..], 3, 40)
        );
        assert_eq!(held.record_len(), plain.record_len());
    }

    #[test]
    fn a_kek_holder_computes_rfc_3394_with_the_default_iv() {
        // RFC 3394 §4.6: 256 bits of key data with a 256-bit KEK.
        let kek = Kek::from_slice(
            &hex::decode("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F").expect("hex"),
        )
        .expect("32 bytes");
        let data: [u8; 32] = hex::decode("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F")
            .expect("hex")
            .try_into()
            .expect("32");
        let want =
            hex::decode("28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21")
                .expect("hex");
        let wrapped = kek.wrap_dek(&data).expect("wraps");
        assert_eq!(&wrapped[..], &want[..]);
        assert_eq!(*kek.unwrap_dek(&wrapped).expect("unwraps"), data);
    }

    #[test]
    fn an_envelope_sealed_with_a_kek_opens_with_the_held_kek_and_the_other_way_round() {
        let kek = kek();
        let ctx = EncryptionContext::new();
        let by_kek = envelope::seal(
            &mut OsRng,
            &[Recipient::Kek { key_id: b"k", version: 1, kek: &kek }],
            &ctx,
            b"one",
        )
        .expect("seals");
        let by_held = envelope::seal(
            &mut OsRng,
            &[Recipient::Held { key_id: b"k", version: 1, holder: &kek }],
            &ctx,
            b"two",
        )
        .expect("seals");
        let held = UnlockKey::Held { key_id: b"k", version: 1, holder: &kek };
        let plain = UnlockKey::Kek { key_id: b"k", version: 1, kek: &kek };
        assert_eq!(&envelope::open(&mut OsRng, &[held], &ctx, &by_kek).expect("opens")[..], b"one");
        assert_eq!(&envelope::open(&mut OsRng, &[plain], &ctx, &by_held).expect("opens")[..], b"two");
        // Another key, or another version, does not.
        let other = Kek::from_slice(&[0x5b; 32]).expect("32 bytes");
        let wrong = UnlockKey::Held { key_id: b"k", version: 1, holder: &other };
        assert_eq!(envelope::open(&mut OsRng, &[wrong], &ctx, &by_kek).err(), Some(Error::Decrypt));
        let v2 = UnlockKey::Held { key_id: b"k", version: 2, holder: &kek };
        assert_eq!(envelope::open(&mut OsRng, &[v2], &ctx, &by_kek).err(), Some(Error::Decrypt));
    }

    #[test]
    fn a_holder_error_on_unwrap_is_decrypt_and_on_wrap_is_passed_through() {
        let kek = kek();
        let ctx = EncryptionContext::new();
        let env =
            envelope::seal(&mut OsRng, &[Recipient::Kek { key_id: b"k", version: 1, kek: &kek }], &ctx, b"x")
                .expect("seals");
        let failing = Failing { err: Error::Internal, calls: Cell::new(0) };
        let key = UnlockKey::Held { key_id: b"k", version: 1, holder: &failing };
        assert_eq!(envelope::open(&mut OsRng, &[key], &ctx, &env).err(), Some(Error::Decrypt));
        assert_eq!(failing.calls.get(), 1, "the holder was asked");
        let to = [Recipient::Held { key_id: b"k", version: 1, holder: &failing }];
        assert_eq!(envelope::seal(&mut OsRng, &to, &ctx, b"x").err(), Some(Error::Internal));
    }

    #[test]
    fn only_an_aes_256_kek_is_an_envelope_holder() {
        let short = Kek::from_slice(&[1; 16]).expect("16 bytes");
        assert_eq!(short.wrap_dek(&[2; DEK_LEN]).err(), Some(Error::InvalidInput));
        assert_eq!(short.unwrap_dek(&[3; KW_DEK_LEN]).err(), Some(Error::Decrypt));
    }

    #[test]
    fn a_holder_prints_without_key_bytes() {
        let kek = kek();
        let r = Recipient::Held { key_id: b"k", version: 1, holder: &kek };
        assert!(alloc::format!("{r:?}").contains("KekHolder(<held>)"));
    }
}
