//! The record layout of keystore version 2 (KEYSTORE.md §12): the key of
//! each record kind, how values are sealed, and the plaintext encodings.

use alloc::string::String;
use alloc::vec::Vec;

use coffer_core::aead::{Aes256GcmSivKey, NONCE_LEN, Nonce, TAG_LEN as AEAD_TAG_LEN};
use coffer_core::kdf::hkdf_sha256;
use coffer_core::mac::{HmacSha256Key, TAG_LEN};
use zeroize::Zeroizing;

use crate::audit::{AuditRecord, Role};
use crate::error::{Error, Result};
use crate::keystore::{MASTER_KEY_LEN, MasterKey, SALT_LEN};
use crate::object::{
    Handle, KeyAttributes, KeyObject, KeyState, KeyType, MAX_MATERIAL_LEN, MAX_NAME_LEN, Secret, Usage,
    Version,
};
use crate::pin::PinRecord;
use crate::store::grants::{GRANT_LEN, SEAL_OVERHEAD};
use crate::token::{Config, MAX_SLOTS, MAX_VERSIONS};
use crate::wire::Reader;

/// Record format version, in every record's associated data (§12.2).
pub(crate) const RECORD_VERSION: u8 = 2;
/// Magic of the meta record (§12.3).
pub(crate) const META_MAGIC: &[u8; 4] = b"CFRS";

/// Record kinds: the first byte of every record key (§12.1).
pub(crate) mod kind {
    pub(crate) const META: u8 = 0x00;
    pub(crate) const CONFIG: u8 = 0x01;
    pub(crate) const GENERATION: u8 = 0x02;
    pub(crate) const TOKEN: u8 = 0x10;
    pub(crate) const PIN: u8 = 0x11;
    pub(crate) const KEY: u8 = 0x12;
    pub(crate) const INDEX: u8 = 0x13;
    pub(crate) const AUDIT_HEAD: u8 = 0x14;
    pub(crate) const AUDIT_RECORD: u8 = 0x15;
    pub(crate) const USER: u8 = 0x16;
    pub(crate) const TENANT: u8 = 0x17;
    pub(crate) const SEALED_KEY: u8 = 0x18;
}

/// Record keys (§12.1).
pub(crate) mod id {
    use alloc::vec::Vec;

    pub(crate) fn meta() -> Vec<u8> {
        alloc::vec![super::kind::META]
    }
    pub(crate) fn config() -> Vec<u8> {
        alloc::vec![super::kind::CONFIG]
    }
    pub(crate) fn generation() -> Vec<u8> {
        alloc::vec![super::kind::GENERATION]
    }
    pub(crate) fn token(slot: u8) -> Vec<u8> {
        alloc::vec![super::kind::TOKEN, slot]
    }
    pub(crate) fn pin(slot: u8, role: u8) -> Vec<u8> {
        alloc::vec![super::kind::PIN, slot, role]
    }
    pub(crate) fn key(slot: u8, handle: u64) -> Vec<u8> {
        let mut k = alloc::vec![super::kind::KEY, slot];
        k.extend_from_slice(&handle.to_be_bytes());
        k
    }
    pub(crate) fn sealed_key(slot: u8, handle: u64) -> Vec<u8> {
        let mut k = alloc::vec![super::kind::SEALED_KEY, slot];
        k.extend_from_slice(&handle.to_be_bytes());
        k
    }
    pub(crate) fn tenant_prefix(slot: u8, tenant: &[u8; 16]) -> Vec<u8> {
        let mut k = alloc::vec![super::kind::INDEX, slot];
        k.extend_from_slice(tenant);
        k
    }
    pub(crate) fn index(slot: u8, tenant: &[u8; 16], key: &[u8; 16]) -> Vec<u8> {
        let mut k = tenant_prefix(slot, tenant);
        k.extend_from_slice(key);
        k
    }
    pub(crate) fn audit_head(slot: u8) -> Vec<u8> {
        alloc::vec![super::kind::AUDIT_HEAD, slot]
    }
    pub(crate) fn user(slot: u8, tag: &[u8; 16]) -> Vec<u8> {
        let mut k = alloc::vec![super::kind::USER, slot];
        k.extend_from_slice(tag);
        k
    }
    pub(crate) fn tenant(slot: u8, tag: &[u8; 16]) -> Vec<u8> {
        let mut k = alloc::vec![super::kind::TENANT, slot];
        k.extend_from_slice(tag);
        k
    }
    pub(crate) fn audit_prefix(slot: u8) -> Vec<u8> {
        alloc::vec![super::kind::AUDIT_RECORD, slot]
    }
    pub(crate) fn audit_record(slot: u8, seq: u64) -> Vec<u8> {
        let mut k = audit_prefix(slot);
        k.extend_from_slice(&seq.to_be_bytes());
        k
    }
}

/// HKDF info strings (§12.2).
const INFO_SEAL: &[u8] = b"coffer records v2 seal";
const INFO_INDEX: &[u8] = b"coffer records v2 index";
const INFO_NONCE: &[u8] = b"coffer records v2 nonce";
/// Associated data prefix (§12.2).
const AAD_LABEL: &[u8] = b"coffer record";

/// The keys derived from the master key, and the nonce generator.
pub(crate) struct RecordKeys {
    seal: Aes256GcmSivKey,
    index: HmacSha256Key,
    nonce: HmacSha256Key,
    /// Random per opening of the store: nonces of different processes differ.
    nonce_salt: [u8; 16],
    nonce_counter: u64,
}

impl core::fmt::Debug for RecordKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("RecordKeys(<redacted>)")
    }
}

fn derive(master: &MasterKey, info: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
    let mut okm = Zeroizing::new([0u8; 32]);
    hkdf_sha256(None, master.as_bytes(), info, okm.as_mut_slice())?;
    Ok(okm)
}

impl RecordKeys {
    pub(crate) fn derive(master: &MasterKey, nonce_salt: [u8; 16]) -> Result<Self> {
        Ok(RecordKeys {
            seal: Aes256GcmSivKey::from_bytes(*derive(master, INFO_SEAL)?),
            index: HmacSha256Key::new(derive(master, INFO_INDEX)?.as_slice())?,
            nonce: HmacSha256Key::new(derive(master, INFO_NONCE)?.as_slice())?,
            nonce_salt,
            nonce_counter: 0,
        })
    }

    /// A fresh nonce: HMAC-SHA-256(nonce key, salt || counter), first 12
    /// bytes (§12.2). Unique per store opening and write; GCM-SIV would
    /// only reveal equal plaintexts even if one repeated.
    pub(crate) fn next_nonce(&mut self) -> Nonce {
        self.nonce_counter = self.nonce_counter.wrapping_add(1);
        let mac = self.nonce.sign_parts(&[&self.nonce_salt, &self.nonce_counter.to_be_bytes()]);
        let mut n = [0u8; NONCE_LEN];
        n.copy_from_slice(mac.get(..NONCE_LEN).unwrap_or(&[0; NONCE_LEN]));
        Nonce::from_bytes(n)
    }

    /// The blinded index of a tenant name (§12.4, kind 0x13).
    pub(crate) fn tenant_tag(&self, tenant: &str) -> [u8; 16] {
        truncate(self.index.sign_parts(&[b"tenant", &[len8(tenant)], tenant.as_bytes()]))
    }

    /// The blinded index of a user name (§12.4, kind 0x16).
    pub(crate) fn user_tag(&self, user: &str) -> [u8; 16] {
        truncate(self.index.sign_parts(&[b"user", &[len8(user)], user.as_bytes()]))
    }

    /// The blinded index of a key id within a tenant.
    pub(crate) fn key_tag(&self, tenant: &str, key_id: &str) -> [u8; 16] {
        truncate(self.index.sign_parts(&[
            b"key",
            &[len8(tenant)],
            tenant.as_bytes(),
            &[len8(key_id)],
            key_id.as_bytes(),
        ]))
    }

    /// `nonce || ciphertext || tag` of `plaintext` for the record `key`.
    pub(crate) fn seal(&mut self, key: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let nonce = self.next_nonce();
        let ct = self.seal.seal(&nonce, &aad(key), plaintext)?;
        let mut out = Vec::with_capacity(NONCE_LEN.saturating_add(ct.len()));
        out.extend_from_slice(nonce.as_bytes());
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens a sealed value of the record `key`; any failure is
    /// [`Error::KeystoreAuth`] (a moved, swapped or altered record).
    pub(crate) fn open(&self, key: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let (nonce, body) = sealed.split_at_checked(NONCE_LEN).ok_or(Error::KeystoreAuth)?;
        if body.len() < AEAD_TAG_LEN {
            return Err(Error::KeystoreAuth);
        }
        let nonce = Nonce::from_slice(nonce).map_err(|_| Error::KeystoreAuth)?;
        self.seal.open(&nonce, &aad(key), body).map_err(|_| Error::KeystoreAuth)
    }

    /// The check value of the meta record: the tag of an empty plaintext
    /// with the meta header as extra associated data (§12.3).
    fn meta_check(&mut self, header: &[u8]) -> Result<Vec<u8>> {
        let nonce = self.next_nonce();
        let mut ad = aad(&id::meta());
        ad.extend_from_slice(header);
        let tag = self.seal.seal(&nonce, &ad, &[])?;
        let mut out = nonce.as_bytes().to_vec();
        out.extend_from_slice(&tag);
        Ok(out)
    }

    fn meta_verify(&self, header: &[u8], check: &[u8]) -> Result<()> {
        let (nonce, tag) = check.split_at_checked(NONCE_LEN).ok_or(Error::KeystoreCorrupt)?;
        let nonce = Nonce::from_slice(nonce).map_err(|_| Error::KeystoreCorrupt)?;
        let mut ad = aad(&id::meta());
        ad.extend_from_slice(header);
        self.seal.open(&nonce, &ad, tag).map(|_| ()).map_err(|_| Error::KeystoreAuth)
    }
}

fn len8(s: &str) -> u8 {
    u8::try_from(s.len()).unwrap_or(u8::MAX)
}

fn truncate(mac: [u8; TAG_LEN]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out.copy_from_slice(mac.get(..16).unwrap_or(&[0; 16]));
    out
}

/// `"coffer record" || version || record key` (§12.2).
fn aad(key: &[u8]) -> Vec<u8> {
    let mut ad = Vec::with_capacity(AAD_LABEL.len().saturating_add(1).saturating_add(key.len()));
    ad.extend_from_slice(AAD_LABEL);
    ad.push(RECORD_VERSION);
    ad.extend_from_slice(key);
    ad
}

/// Key derivation recorded in the meta record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MetaKdf {
    Raw,
    Pbkdf2 {
        iterations: u32,
        salt: [u8; SALT_LEN],
    },
    /// The master key wrapped by a [`KeySource::Held`] KEK: `AES-KW(KEK, master key)`.
    ///
    /// [`KeySource::Held`]: crate::keystore::KeySource::Held
    Held {
        wrapped: [u8; HELD_WRAPPED_LEN],
    },
}

/// Length of the wrapped master key of `kdf = 02` (AES-KW of 32 bytes).
pub(crate) const HELD_WRAPPED_LEN: usize = MASTER_KEY_LEN + 8;

/// The meta record (§12.3): public, with a check value that proves the key.
pub(crate) struct Meta {
    pub(crate) kdf: MetaKdf,
}

impl Meta {
    fn header(&self) -> Vec<u8> {
        let mut h = META_MAGIC.to_vec();
        h.push(RECORD_VERSION);
        match self.kdf {
            MetaKdf::Raw => h.push(0),
            MetaKdf::Pbkdf2 { iterations, salt } => {
                h.push(1);
                h.extend_from_slice(&iterations.to_be_bytes());
                h.extend_from_slice(&salt);
            }
            MetaKdf::Held { wrapped } => {
                h.push(2);
                h.extend_from_slice(&wrapped);
            }
        }
        h
    }

    pub(crate) fn encode(&self, keys: &mut RecordKeys) -> Result<Vec<u8>> {
        let mut out = self.header();
        let check = keys.meta_check(&out)?;
        out.extend_from_slice(&check);
        Ok(out)
    }

    /// Parses the public part; [`Error::KeystoreCorrupt`] if malformed.
    pub(crate) fn decode(bytes: &[u8]) -> Result<(Meta, &[u8])> {
        let mut r = Reader(bytes);
        if r.take(4)? != META_MAGIC || r.u8()? != RECORD_VERSION {
            return Err(Error::KeystoreCorrupt);
        }
        let kdf = match r.u8()? {
            0 => MetaKdf::Raw,
            1 => {
                let iterations = r.u32()?;
                if !(crate::keystore::MIN_ITERATIONS..=crate::keystore::MAX_ITERATIONS).contains(&iterations)
                {
                    return Err(Error::KeystoreCorrupt);
                }
                MetaKdf::Pbkdf2 { iterations, salt: r.arr()? }
            }
            2 => MetaKdf::Held { wrapped: r.arr()? },
            _ => return Err(Error::KeystoreCorrupt),
        };
        let check = r.take(NONCE_LEN.saturating_add(AEAD_TAG_LEN))?;
        if !r.is_empty() {
            return Err(Error::KeystoreCorrupt);
        }
        Ok((Meta { kdf }, check))
    }

    pub(crate) fn verify(&self, keys: &RecordKeys, check: &[u8]) -> Result<()> {
        keys.meta_verify(&self.header(), check)
    }
}

/// The master key from a key source and the meta record's kdf.
pub(crate) fn master_key(source: &crate::keystore::KeySource<'_>, kdf: MetaKdf) -> Result<MasterKey> {
    use crate::keystore::KeySource;
    match (source, kdf) {
        (KeySource::MasterKey(k), MetaKdf::Raw) => {
            let bytes: [u8; MASTER_KEY_LEN] = *k.as_bytes();
            Ok(MasterKey::from_bytes(bytes))
        }
        (KeySource::Passphrase(p), MetaKdf::Pbkdf2 { iterations, salt }) => {
            MasterKey::derive_from_passphrase(p, &salt, iterations)
        }
        (KeySource::Held(holder), MetaKdf::Held { wrapped }) => {
            // An integrity failure is another KEK (or an altered record);
            // the holder's other failures (a device error) pass through.
            let master = holder.unwrap_dek(&wrapped).map_err(|e| match e {
                coffer_core::Error::Decrypt => Error::KeystoreAuth,
                other => Error::Crypto(other),
            })?;
            Ok(MasterKey::from_bytes(*master))
        }
        _ => Err(Error::KeystoreAuth),
    }
}

/// A little-endian-free writer for record plaintexts (all big-endian).
pub(crate) struct Enc(pub(crate) Zeroizing<Vec<u8>>);

impl Enc {
    pub(crate) fn new() -> Self {
        Enc(Zeroizing::new(Vec::new()))
    }
    pub(crate) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    pub(crate) fn str(&mut self, s: &str) -> Result<()> {
        self.u8(u8::try_from(s.len()).map_err(|_| Error::InvalidInput)?);
        self.bytes(s.as_bytes());
        Ok(())
    }
}

fn finish(r: &Reader<'_>) -> Result<()> {
    if r.is_empty() { Ok(()) } else { Err(Error::KeystoreCorrupt) }
}

/// Config record (kind 0x01).
pub(crate) fn encode_config(config: &Config, slots: u8) -> Zeroizing<Vec<u8>> {
    let mut e = Enc::new();
    e.u8(config.max_pin_failures);
    e.u32(config.pin_iterations);
    e.u8(u8::from(config.allow_plain_import));
    e.u32(config.audit_max_records);
    e.u32(config.audit_reserve);
    e.u8(slots);
    e.0
}

pub(crate) fn decode_config(bytes: &[u8]) -> Result<(Config, u8)> {
    let mut r = Reader(bytes);
    let config = Config {
        max_pin_failures: r.u8()?,
        pin_iterations: r.u32()?,
        allow_plain_import: r.bool()?,
        audit_max_records: r.u32()?,
        audit_reserve: r.u32()?,
    };
    let slots = r.u8()?;
    finish(&r)?;
    if !config.is_valid() || slots == 0 || usize::from(slots) > MAX_SLOTS {
        return Err(Error::KeystoreCorrupt);
    }
    Ok((config, slots))
}

/// Generation record (kind 0x02).
pub(crate) fn decode_generation(bytes: &[u8]) -> Result<u64> {
    let mut r = Reader(bytes);
    let generation = r.u64()?;
    finish(&r)?;
    Ok(generation)
}

/// Token record (kind 0x10).
pub(crate) struct TokenRecord {
    pub(crate) label: String,
    pub(crate) next_handle: u64,
    pub(crate) audit_key: Secret,
}

impl TokenRecord {
    pub(crate) fn encode(&self) -> Result<Zeroizing<Vec<u8>>> {
        let mut e = Enc::new();
        e.str(&self.label)?;
        e.u64(self.next_handle);
        e.bytes(&self.audit_key.bytes);
        Ok(e.0)
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader(bytes);
        let label = r.str(1, MAX_NAME_LEN)?;
        let next_handle = r.u64()?;
        let audit_key = Secret { bytes: r.arr::<32>()?.to_vec() };
        finish(&r)?;
        if next_handle == 0 {
            return Err(Error::KeystoreCorrupt);
        }
        Ok(TokenRecord { label, next_handle, audit_key })
    }
}

/// PIN record (kind 0x11): the 53-byte PIN encoding of §3.1.
pub(crate) fn decode_pin(bytes: &[u8]) -> Result<PinRecord> {
    let mut r = Reader(bytes);
    let pin = r.pin()?;
    finish(&r)?;
    Ok(pin)
}

/// User record (kind 0x16): a credential other than the security officer's
/// (§13.2): its tenants, each with the grant of the tenant key under the
/// credential's PIN (none for a tenant without a tenant key), its PIN, and
/// the audit record of its last change.
pub(crate) struct UserRecord {
    pub(crate) name: String,
    pub(crate) role: Role,
    pub(crate) tenants: Vec<(String, Option<[u8; GRANT_LEN]>)>,
    pub(crate) pin: PinRecord,
    pub(crate) created: u64,
    /// Sequence number and MAC of the audit record written with the last
    /// change of this record (§13.4).
    pub(crate) last_seq: u64,
    pub(crate) last_mac: [u8; TAG_LEN],
}

impl UserRecord {
    pub(crate) fn encode(&self) -> Result<Zeroizing<Vec<u8>>> {
        let mut e = Enc::new();
        e.str(&self.name)?;
        e.u8(self.role.code());
        e.u8(u8::try_from(self.tenants.len()).map_err(|_| Error::InvalidInput)?);
        for (t, grant) in &self.tenants {
            e.str(t)?;
            match grant {
                None => e.u8(0),
                Some(g) => {
                    e.u8(1);
                    e.bytes(g);
                }
            }
        }
        e.bytes(&self.pin.to_bytes());
        e.u64(self.created);
        e.u64(self.last_seq);
        e.bytes(&self.last_mac);
        Ok(e.0)
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader(bytes);
        let name = r.str(1, MAX_NAME_LEN)?;
        let role = Role::from_code(r.u8()?).ok_or(Error::KeystoreCorrupt)?;
        let count = usize::from(r.u8()?);
        let tenants_ok = match role {
            Role::User => (1..=crate::audit::MAX_TENANTS_PER_USER).contains(&count),
            Role::Auditor => count == 0,
            Role::SecurityOfficer => count == 0 && name == crate::audit::Actor::SECURITY_OFFICER,
        };
        if !tenants_ok {
            return Err(Error::KeystoreCorrupt);
        }
        let mut tenants = Vec::with_capacity(count);
        for _ in 0..count {
            let t = r.str(1, MAX_NAME_LEN)?;
            let grant = if r.bool()? { Some(r.arr()?) } else { None };
            tenants.push((t, grant));
        }
        let pin = r.pin()?;
        let created = r.u64()?;
        let last_seq = r.u64()?;
        let last_mac = r.arr()?;
        finish(&r)?;
        Ok(UserRecord { name, role, tenants, pin, created, last_seq, last_mac })
    }

    /// The names of its tenants.
    pub(crate) fn tenant_names(&self) -> Vec<String> {
        self.tenants.iter().map(|(t, _)| t.clone()).collect()
    }
}

/// Whether a tenant has a tenant key (§13.1).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum TenantState {
    /// Made before tenant keys (or imported from version 1): its keys'
    /// material is in the clear inside their records.
    Legacy,
    /// Has a tenant key; the security officer's grant of it.
    Sealed([u8; GRANT_LEN]),
    /// Crypto-shredded: its tenant key is gone, with every grant of it.
    Shredded,
}

/// Tenant record (kind 0x17).
pub(crate) struct TenantRecord {
    pub(crate) name: String,
    pub(crate) created: u64,
    pub(crate) state: TenantState,
}

impl TenantRecord {
    pub(crate) fn encode(&self) -> Result<Zeroizing<Vec<u8>>> {
        let mut e = Enc::new();
        e.str(&self.name)?;
        e.u64(self.created);
        match &self.state {
            TenantState::Legacy => e.u8(0),
            TenantState::Sealed(grant) => {
                e.u8(1);
                e.bytes(grant);
            }
            TenantState::Shredded => e.u8(2),
        }
        Ok(e.0)
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader(bytes);
        let name = r.str(1, MAX_NAME_LEN)?;
        let created = r.u64()?;
        let state = match r.u8()? {
            0 => TenantState::Legacy,
            1 => TenantState::Sealed(r.arr()?),
            2 => TenantState::Shredded,
            _ => return Err(Error::KeystoreCorrupt),
        };
        finish(&r)?;
        Ok(TenantRecord { name, created, state })
    }
}

/// Key record (kind 0x12), or sealed key record (kind 0x18) when `sealed`
/// gives each version's sealed material (§13.3).
pub(crate) fn encode_key(k: &KeyObject, sealed: Option<&[Vec<u8>]>) -> Result<Zeroizing<Vec<u8>>> {
    let mut e = Enc::new();
    e.u8(k.key_type.code());
    e.str(&k.attrs.label)?;
    e.str(&k.attrs.tenant)?;
    e.str(&k.attrs.key_id)?;
    e.u8(k.attrs.usage.bits());
    e.u8(key_flags(k.attrs.extractable, k.local));
    e.u8(u8::from(k.attrs.active));
    e.u8(k.state.code());
    e.u64(k.expires_at.unwrap_or(0));
    e.u32(k.latest);
    e.u16(u16::try_from(k.versions.len()).map_err(|_| Error::Capacity)?);
    for (i, v) in k.versions.iter().enumerate() {
        let material = match sealed {
            Some(blobs) => blobs.get(i).ok_or(Error::KeystoreCorrupt)?.as_slice(),
            None => v.secret.bytes.as_slice(),
        };
        e.u32(v.number);
        e.u16(u16::try_from(material.len()).map_err(|_| Error::Capacity)?);
        e.bytes(material);
    }
    Ok(e.0)
}

/// Bit 0 of the key encoding's `extractable` byte: extractable (§3.1).
const KEY_EXTRACTABLE: u8 = 0x01;
/// Bit 1 of the same byte: some material of the key came in from outside
/// the token (not local). Zero in every record written before it existed,
/// so those read as generated.
const KEY_IMPORTED: u8 = 0x02;

/// The `extractable` byte of a key encoding (§3.1).
fn key_flags(extractable: bool, local: bool) -> u8 {
    let mut flags = 0;
    if extractable {
        flags |= KEY_EXTRACTABLE;
    }
    if !local {
        flags |= KEY_IMPORTED;
    }
    flags
}

/// `(extractable, local)` of an `extractable` byte; any other bit set is
/// [`Error::KeystoreCorrupt`].
fn read_key_flags(flags: u8) -> Result<(bool, bool)> {
    if flags & !(KEY_EXTRACTABLE | KEY_IMPORTED) != 0 {
        return Err(Error::KeystoreCorrupt);
    }
    Ok((flags & KEY_EXTRACTABLE != 0, flags & KEY_IMPORTED == 0))
}

/// A key record (kind 0x12): material in the clear.
pub(crate) fn decode_key(handle: Handle, bytes: &[u8]) -> Result<KeyObject> {
    let mut r = Reader(bytes);
    let key = read_key(&mut r, handle, true)?;
    finish(&r)?;
    Ok(key)
}

/// A sealed key record (kind 0x18): the versions hold sealed material.
pub(crate) fn decode_sealed_key(handle: Handle, bytes: &[u8]) -> Result<KeyObject> {
    let mut r = Reader(bytes);
    let mut key = read_key_with(&mut r, handle, true, MAX_MATERIAL_LEN.saturating_add(SEAL_OVERHEAD))?;
    finish(&r)?;
    if key.versions.iter().any(|v| v.secret.bytes.len() <= SEAL_OVERHEAD) {
        return Err(Error::KeystoreCorrupt);
    }
    key.material = crate::object::Material::Sealed;
    Ok(key)
}

/// Reads one key encoding (§3.1 `key` after its handle; the same in a
/// version-1 state and a version-2 key record). States of version 1 and 2
/// have no `expires_at` (`with_expiry` false).
pub(crate) fn read_key(r: &mut Reader<'_>, handle: Handle, with_expiry: bool) -> Result<KeyObject> {
    read_key_with(r, handle, with_expiry, MAX_MATERIAL_LEN)
}

fn read_key_with(r: &mut Reader<'_>, handle: Handle, with_expiry: bool, max_len: usize) -> Result<KeyObject> {
    let key_type = KeyType::from_code(r.u8()?)?;
    let label = r.str(1, MAX_NAME_LEN)?;
    let tenant = r.str(1, MAX_NAME_LEN)?;
    let key_id = r.str(1, MAX_NAME_LEN)?;
    let usage = Usage::from_bits(r.u8()?)?;
    let (extractable, local) = read_key_flags(r.u8()?)?;
    let attrs = KeyAttributes { label, tenant, key_id, usage, extractable, active: r.bool()? };
    let state = KeyState::from_code(r.u8()?)?;
    let expires_at = if with_expiry { Some(r.u64()?).filter(|&t| t != 0) } else { None };
    let latest = r.u32()?;
    let count = usize::from(r.u16()?);
    if count > MAX_VERSIONS {
        return Err(Error::KeystoreCorrupt);
    }
    let mut versions = Vec::with_capacity(count);
    for _ in 0..count {
        let number = r.u32()?;
        let len = usize::from(r.u16()?);
        if len == 0 || len > max_len {
            return Err(Error::KeystoreCorrupt);
        }
        versions.push(Version { number, secret: Secret { bytes: r.take(len)?.to_vec() } });
    }
    Ok(KeyObject {
        material: crate::object::Material::Clear,
        handle,
        key_type,
        attrs,
        state,
        versions,
        latest,
        expires_at,
        local,
    })
}

/// Index record (kind 0x13): the handle.
pub(crate) fn decode_handle(bytes: &[u8]) -> Result<Handle> {
    let mut r = Reader(bytes);
    let h = r.u64()?;
    finish(&r)?;
    Ok(Handle(h))
}

/// Audit head record (kind 0x14): where the live records start and end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AuditHeadRecord {
    /// Sequence number of the first live record, and the MAC before it.
    pub(crate) anchor_seq: u64,
    pub(crate) anchor_mac: [u8; TAG_LEN],
    /// Sequence number the next record gets, and the last record's MAC.
    pub(crate) next_seq: u64,
    pub(crate) last_mac: [u8; TAG_LEN],
}

impl AuditHeadRecord {
    pub(crate) const GENESIS: AuditHeadRecord =
        AuditHeadRecord { anchor_seq: 0, anchor_mac: [0; TAG_LEN], next_seq: 0, last_mac: [0; TAG_LEN] };

    pub(crate) fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut e = Enc::new();
        e.u64(self.anchor_seq);
        e.bytes(&self.anchor_mac);
        e.u64(self.next_seq);
        e.bytes(&self.last_mac);
        e.0
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader(bytes);
        let h = AuditHeadRecord {
            anchor_seq: r.u64()?,
            anchor_mac: r.arr()?,
            next_seq: r.u64()?,
            last_mac: r.arr()?,
        };
        finish(&r)?;
        if h.next_seq < h.anchor_seq {
            return Err(Error::KeystoreCorrupt);
        }
        Ok(h)
    }

    /// Records held (not archived).
    pub(crate) fn live(&self) -> u64 {
        self.next_seq.saturating_sub(self.anchor_seq)
    }
}

/// Audit record (kind 0x15): `time (8) || mac (32) || event`.
pub(crate) fn encode_audit(record: &AuditRecord) -> Zeroizing<Vec<u8>> {
    let mut e = Enc::new();
    e.u64(record.time);
    e.bytes(&record.mac);
    crate::audit::put_event(&mut e.0, &record.event);
    e.0
}

pub(crate) fn decode_audit(seq: u64, bytes: &[u8]) -> Result<AuditRecord> {
    let mut r = Reader(bytes);
    let time = r.u64()?;
    let mac = r.arr()?;
    let event = r.event()?;
    finish(&r)?;
    Ok(AuditRecord { seq, time, event, mac })
}

/// The role byte of a PIN record key.
pub(crate) fn role_code(role: Role) -> u8 {
    role.code()
}
