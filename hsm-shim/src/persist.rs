//! The HSM state inside the sealed keystore: a strict binary encoding
//! (KEYSTORE.md §3), and saving/loading through a [`Storage`].

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use coffer_core::rng::TryCryptoRng;
use zeroize::Zeroizing;

use crate::audit::{AuditEvent, AuditLog};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::keystore::{self, KeySource};
use crate::object::{
    Handle, KeyAttributes, KeyObject, KeyState, KeyType, MAX_MATERIAL_LEN, MAX_NAME_LEN, Secret, Usage,
    Version,
};
use crate::pin::PinRecord;
use crate::storage::Storage;
use crate::token::{Config, Hsm, MAX_KEYS_PER_TOKEN, MAX_SLOTS, MAX_VERSIONS, Token};
use crate::wire::Reader;

const STATE_MAGIC: &[u8; 4] = b"CFHS";
/// State version written; versions 1 (without the audit limits) and 2
/// (without key expiry) are still read.
const STATE_VERSION: u8 = 3;
/// Largest encoded audit log accepted inside a state, in bytes: a full log
/// (1,000,000 records of at most 187 bytes) fits, and with it the keys stay
/// under the keystore's 256 MiB state limit for all but extreme key counts.
const MAX_AUDIT_LEN: usize = 192 * 1024 * 1024;

struct Enc(Zeroizing<Vec<u8>>);

impl Enc {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    fn str(&mut self, s: &str) -> Result<()> {
        self.u8(u8::try_from(s.len()).map_err(|_| Error::InvalidInput)?);
        self.bytes(s.as_bytes());
        Ok(())
    }
    fn opt_pin(&mut self, p: Option<&PinRecord>) {
        match p {
            None => self.u8(0),
            Some(p) => {
                self.u8(1);
                self.bytes(&p.to_bytes());
            }
        }
    }
}

fn encode_token(e: &mut Enc, t: &Token) -> Result<()> {
    e.str(&t.label)?;
    e.bytes(&t.so_pin.to_bytes());
    e.opt_pin(t.user_pin.as_ref());
    e.opt_pin(t.auditor_pin.as_ref());
    e.u64(t.next_handle);
    e.bytes(&t.audit_key.bytes);
    let audit = t.audit.encode();
    e.u32(u32::try_from(audit.len()).map_err(|_| Error::Capacity)?);
    e.bytes(&audit);
    e.u32(u32::try_from(t.keys.len()).map_err(|_| Error::Capacity)?);
    for k in t.keys.values() {
        e.u64(k.handle.0);
        e.u8(k.key_type.code());
        e.str(&k.attrs.label)?;
        e.str(&k.attrs.tenant)?;
        e.str(&k.attrs.key_id)?;
        e.u8(k.attrs.usage.bits());
        e.u8(u8::from(k.attrs.extractable));
        e.u8(u8::from(k.attrs.active));
        e.u8(k.state.code());
        e.u64(k.expires_at.unwrap_or(0));
        e.u32(k.latest);
        e.u16(u16::try_from(k.versions.len()).map_err(|_| Error::Capacity)?);
        for v in &k.versions {
            e.u32(v.number);
            e.u16(u16::try_from(v.secret.bytes.len()).map_err(|_| Error::Capacity)?);
            e.bytes(&v.secret.bytes);
        }
    }
    Ok(())
}

fn decode_token(d: &mut Reader<'_>, version: u8) -> Result<Token> {
    let label = d.str(1, MAX_NAME_LEN)?;
    let so_pin = d.pin()?;
    let user_pin = d.opt_pin()?;
    let auditor_pin = d.opt_pin()?;
    let next_handle = d.u64()?;
    let audit_key = Secret { bytes: d.arr::<32>()?.to_vec() };
    let audit_len = usize::try_from(d.u32()?).map_err(|_| Error::KeystoreCorrupt)?;
    if audit_len > MAX_AUDIT_LEN {
        return Err(Error::KeystoreCorrupt);
    }
    let audit = AuditLog::decode(audit_key.hmac()?, d.take(audit_len)?)?;
    let count = usize::try_from(d.u32()?).map_err(|_| Error::KeystoreCorrupt)?;
    if count > MAX_KEYS_PER_TOKEN {
        return Err(Error::KeystoreCorrupt);
    }
    let mut keys = BTreeMap::new();
    let mut index = BTreeMap::new();
    for _ in 0..count {
        let handle = Handle(d.u64()?);
        let key_type = KeyType::from_code(d.u8()?)?;
        let attrs = KeyAttributes {
            label: d.str(1, MAX_NAME_LEN)?,
            tenant: d.str(1, MAX_NAME_LEN)?,
            key_id: d.str(1, MAX_NAME_LEN)?,
            usage: Usage::from_bits(d.u8()?)?,
            extractable: d.bool()?,
            active: d.bool()?,
        };
        let state = KeyState::from_code(d.u8()?)?;
        // Versions 1 and 2 of the state have no expiry.
        let expires_at = if version >= 3 { Some(d.u64()?).filter(|&t| t != 0) } else { None };
        let latest = d.u32()?;
        let nver = usize::from(d.u16()?);
        if nver > MAX_VERSIONS || handle.0 >= next_handle {
            return Err(Error::KeystoreCorrupt);
        }
        let mut versions = Vec::with_capacity(nver);
        for _ in 0..nver {
            let number = d.u32()?;
            let len = usize::from(d.u16()?);
            if len == 0 || len > MAX_MATERIAL_LEN {
                return Err(Error::KeystoreCorrupt);
            }
            versions.push(Version { number, secret: Secret { bytes: d.take(len)?.to_vec() } });
        }
        let ix = (attrs.tenant.clone(), attrs.key_id.clone());
        if index.insert(ix, handle).is_some() {
            return Err(Error::KeystoreCorrupt);
        }
        let obj = KeyObject { handle, key_type, attrs, state, versions, latest, expires_at };
        if keys.insert(handle, obj).is_some() {
            return Err(Error::KeystoreCorrupt);
        }
    }
    Ok(Token { label, so_pin, user_pin, auditor_pin, keys, index, next_handle, audit_key, audit })
}

impl Hsm {
    /// The whole state, encoded (KEYSTORE.md §3). Secret: seal it.
    fn encode_state(&self) -> Result<Zeroizing<Vec<u8>>> {
        let mut e = Enc(Zeroizing::new(Vec::new()));
        e.bytes(STATE_MAGIC);
        e.u8(STATE_VERSION);
        e.u8(self.config.max_pin_failures);
        e.u32(self.config.pin_iterations);
        e.u8(u8::from(self.config.allow_plain_import));
        e.u32(self.config.audit_max_records);
        e.u32(self.config.audit_reserve);
        e.u8(u8::try_from(self.slots.len()).map_err(|_| Error::Capacity)?);
        for slot in &self.slots {
            match slot {
                None => e.u8(0),
                Some(t) => {
                    e.u8(1);
                    encode_token(&mut e, t)?;
                }
            }
        }
        Ok(e.0)
    }

    fn decode_state(bytes: &[u8], counter: u64, clock: Box<dyn Clock + Send + Sync>) -> Result<Hsm> {
        let mut d = Reader(bytes);
        if d.take(4)? != STATE_MAGIC {
            return Err(Error::KeystoreCorrupt);
        }
        let version = d.u8()?;
        if !(1..=STATE_VERSION).contains(&version) {
            return Err(Error::KeystoreCorrupt);
        }
        let defaults = Config::default();
        let mut config = Config {
            max_pin_failures: d.u8()?,
            pin_iterations: d.u32()?,
            allow_plain_import: d.bool()?,
            ..defaults
        };
        if version >= 2 {
            config.audit_max_records = d.u32()?;
            config.audit_reserve = d.u32()?;
        }
        if !config.is_valid() {
            return Err(Error::KeystoreCorrupt);
        }
        let n = usize::from(d.u8()?);
        if n == 0 || n > MAX_SLOTS {
            return Err(Error::KeystoreCorrupt);
        }
        let mut slots = Vec::with_capacity(n);
        for _ in 0..n {
            slots.push(if d.bool()? { Some(decode_token(&mut d, version)?) } else { None });
        }
        if !d.is_empty() {
            return Err(Error::KeystoreCorrupt);
        }
        Ok(Hsm::from_parts(config, counter, slots, clock))
    }

    /// Seals the whole state (keys, PIN records, audit logs) and writes it
    /// to `storage` atomically, with the keystore counter one higher than
    /// the last one saved or loaded. Returns that counter: keep it
    /// somewhere the keystore's storage cannot roll back, and pass it to
    /// [`Hsm::load`] as `min_counter`.
    pub fn save<R: TryCryptoRng + ?Sized, S: Storage + ?Sized>(
        &mut self,
        rng: &mut R,
        storage: &mut S,
        source: &KeySource<'_>,
    ) -> Result<u64> {
        let counter = self.counter.checked_add(1).ok_or(Error::Capacity)?;
        self.log_all_slots(|| AuditEvent::KeystoreSaved { counter })?;
        let state = self.encode_state()?;
        let sealed = keystore::seal(rng, source, counter, &state)?;
        storage.write(&sealed)?;
        self.counter = counter;
        Ok(counter)
    }

    /// Reads, authenticates and opens the keystore in `storage`. With
    /// `min_counter`, an older keystore is refused as a rollback.
    ///
    /// # Errors
    /// [`Error::TokenState`] if the storage is empty; the keystore errors of
    /// [`keystore::open`] otherwise. Nothing is written.
    pub fn load<S: Storage + ?Sized>(
        storage: &mut S,
        source: &KeySource<'_>,
        min_counter: Option<u64>,
        clock: Box<dyn Clock + Send + Sync>,
    ) -> Result<Hsm> {
        let bytes = storage.read()?.ok_or(Error::TokenState)?;
        let (state, counter) = keystore::open(source, &bytes, min_counter)?;
        Hsm::decode_state(&state, counter, clock)
    }
}
