//! Parsed private keys kept between operations.
//!
//! Every operation by handle reads its key record from the store and
//! decodes it afresh (the store is the truth, shared by processes). For
//! P-256 and RSA keys, turning that material into a usable key costs as
//! much as the operation or more: for RSA a PKCS#8 parse and the CRT
//! precomputation, and under the aws-lc provider its key check too. Under
//! `std` this process-wide cache maps SHA-256 of (key kind, material) to
//! the parsed key, so the second operation with the same key version finds
//! it ready. A hit needs the same material, read from the store by an
//! operation that the policy has already allowed; the cache never decides
//! who may use a key.
//!
//! The cache is bounded (256 keys, the oldest evicted first), and
//! its lock is held only to look up or insert, never during the crypto, so
//! threads using different keys do not wait for each other. Destroying a
//! key through this process evicts its versions; shredding a tenant, and
//! dropping any `Hsm` (closing a keystore), empties the cache, so no
//! parsed key outlives the keystore handle that used it. A key destroyed by
//! another process stays here until then or until evicted, but no
//! operation can reach it: the store says it is destroyed. Parsed keys
//! zeroize on drop (the last `Arc` to go).
//!
//! Without `std` (the `alloc` build for devices) nothing is cached.

use alloc::sync::Arc;

use coffer_core::p256::P256SecretKey;
use coffer_core::rsa::RsaPrivateKey;

use crate::error::Result;

/// A P-256 key parsed from its 32-byte scalar, cached under `std`.
pub(crate) fn p256(material: &[u8]) -> Result<Arc<P256SecretKey>> {
    #[cfg(feature = "std")]
    {
        cache::get_or_parse(
            cache::Kind::P256,
            material,
            |p| match p {
                cache::Parsed::P256(k) => Some(k.clone()),
                cache::Parsed::Rsa(_) => None,
            },
            |m| Ok(cache::Parsed::P256(Arc::new(P256SecretKey::from_bytes(m)?))),
        )
    }
    #[cfg(not(feature = "std"))]
    Ok(Arc::new(P256SecretKey::from_bytes(material)?))
}

/// An RSA key parsed from its PKCS#8 DER, cached under `std`.
pub(crate) fn rsa(material: &[u8]) -> Result<Arc<RsaPrivateKey>> {
    #[cfg(feature = "std")]
    {
        cache::get_or_parse(
            cache::Kind::Rsa,
            material,
            |p| match p {
                cache::Parsed::Rsa(k) => Some(k.clone()),
                cache::Parsed::P256(_) => None,
            },
            |m| Ok(cache::Parsed::Rsa(Arc::new(RsaPrivateKey::from_pkcs8_der(m)?))),
        )
    }
    #[cfg(not(feature = "std"))]
    Ok(Arc::new(RsaPrivateKey::from_pkcs8_der(material)?))
}

/// Drops the parsed forms of `material` (a key version being destroyed).
pub(crate) fn forget(material: &[u8]) {
    #[cfg(feature = "std")]
    cache::forget(material);
    #[cfg(not(feature = "std"))]
    let _ = material;
}

/// Drops every parsed key (a tenant being shredded).
pub(crate) fn clear() {
    #[cfg(feature = "std")]
    cache::clear();
}

#[cfg(feature = "std")]
mod cache {
    use alloc::collections::{BTreeMap, VecDeque};
    use alloc::sync::Arc;
    use std::sync::{Mutex, MutexGuard, PoisonError};

    use coffer_core::hash::Sha256;
    use coffer_core::p256::P256SecretKey;
    use coffer_core::rsa::RsaPrivateKey;

    use crate::error::Result;

    /// Most parsed keys kept at once.
    pub(super) const CAPACITY: usize = 256;

    #[derive(Clone, Copy)]
    pub(super) enum Kind {
        P256 = 1,
        Rsa = 2,
    }

    pub(super) enum Parsed {
        P256(Arc<P256SecretKey>),
        Rsa(Arc<RsaPrivateKey>),
    }

    type Digest = [u8; 32];

    struct Cache {
        keys: BTreeMap<Digest, Parsed>,
        /// Digests oldest first, for eviction.
        order: VecDeque<Digest>,
    }

    static CACHE: Mutex<Cache> = Mutex::new(Cache { keys: BTreeMap::new(), order: VecDeque::new() });

    /// The lock, even after a panic elsewhere: the map is never left half
    /// changed (each change is one call on it).
    fn lock() -> MutexGuard<'static, Cache> {
        CACHE.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn digest(kind: Kind, material: &[u8]) -> Digest {
        let mut h = Sha256::new();
        h.update(&[kind as u8]);
        h.update(material);
        h.finalize()
    }

    pub(super) fn get_or_parse<T>(
        kind: Kind,
        material: &[u8],
        pick: impl Fn(&Parsed) -> Option<T>,
        parse: impl FnOnce(&[u8]) -> Result<Parsed>,
    ) -> Result<T> {
        let d = digest(kind, material);
        if let Some(hit) = lock().keys.get(&d).and_then(&pick) {
            return Ok(hit);
        }
        // Parsed outside the lock: another thread may parse the same key
        // meanwhile, and the second insert just replaces the first.
        let parsed = parse(material)?;
        let out = pick(&parsed).ok_or(crate::error::Error::InvalidInput)?;
        let mut cache = lock();
        if cache.keys.insert(d, parsed).is_none() {
            cache.order.push_back(d);
            while cache.order.len() > CAPACITY {
                if let Some(old) = cache.order.pop_front() {
                    cache.keys.remove(&old);
                }
            }
        }
        Ok(out)
    }

    pub(super) fn forget(material: &[u8]) {
        let mut cache = lock();
        for kind in [Kind::P256, Kind::Rsa] {
            let d = digest(kind, material);
            if cache.keys.remove(&d).is_some() {
                cache.order.retain(|x| *x != d);
            }
        }
    }

    pub(super) fn clear() {
        let mut cache = lock();
        cache.keys.clear();
        // Gives the buffer back too: an empty cache holds no memory.
        cache.order = VecDeque::new();
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used, reason = "test code")]

    use alloc::sync::Arc;
    use alloc::vec::Vec;

    use super::{cache, clear, forget, p256, rsa};

    const RSA2048: &[u8] = include_bytes!("../../core/tests/data/rsa2048.pkcs8.der");

    fn scalar(i: u32) -> [u8; 32] {
        let mut s = [0u8; 32];
        s[28..].copy_from_slice(&i.to_be_bytes());
        s[0] = 0x42; // well below the group order
        s
    }

    /// One test, so that `clear` cannot race another test's expectations
    /// (the cache is process-wide).
    #[test]
    fn keys_are_parsed_once_forgotten_on_destroy_evicted_oldest_first_and_cleared_on_shred_or_close() {
        // Cached: the same material gives the same parsed key.
        let a = p256(&scalar(1)).unwrap();
        assert!(Arc::ptr_eq(&a, &p256(&scalar(1)).unwrap()));
        let r = rsa(RSA2048).unwrap();
        assert!(Arc::ptr_eq(&r, &rsa(RSA2048).unwrap()));

        // Forgotten: parsed again.
        forget(&scalar(1));
        assert!(!Arc::ptr_eq(&a, &p256(&scalar(1)).unwrap()));
        forget(RSA2048);
        assert!(!Arc::ptr_eq(&r, &rsa(RSA2048).unwrap()));

        // Bounded: CAPACITY newer keys push the oldest out, not the newest.
        let first = p256(&scalar(1_000)).unwrap();
        let newer: Vec<_> = (1..=cache::CAPACITY as u32).map(|i| p256(&scalar(1_000 + i)).unwrap()).collect();
        assert!(Arc::ptr_eq(newer.last().unwrap(), &p256(&scalar(1_000 + cache::CAPACITY as u32)).unwrap()));
        assert!(!Arc::ptr_eq(&first, &p256(&scalar(1_000)).unwrap()), "the oldest key was not evicted");

        // Cleared (a tenant shredded): everything is parsed again.
        let b = p256(&scalar(2)).unwrap();
        let r = rsa(RSA2048).unwrap();
        clear();
        assert!(!Arc::ptr_eq(&b, &p256(&scalar(2)).unwrap()));
        assert!(!Arc::ptr_eq(&r, &rsa(RSA2048).unwrap()));

        // Closed (an Hsm dropped): everything is parsed again.
        let c = p256(&scalar(3)).unwrap();
        drop(
            crate::Hsm::new(1, crate::Config::default(), alloc::boxed::Box::new(crate::SystemClock)).unwrap(),
        );
        assert!(!Arc::ptr_eq(&c, &p256(&scalar(3)).unwrap()));

        // Bad material is an error, and nothing is cached for it.
        assert!(p256(&[0u8; 32]).is_err());
        assert!(rsa(b"not a key").is_err());
    }
}
