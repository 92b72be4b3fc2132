//! Re-keying the store under a new passphrase or master key (KEYSTORE.md §12.7).

use alloc::vec::Vec;

use coffer_core::rng::TryCryptoRng;
use zeroize::Zeroizing;

use super::{AuditClass, Hsm, SessionId, fill};
use crate::audit::{AuditEvent, Operation, Role};
use crate::error::{Error, Result};
use crate::keystore::{DEFAULT_ITERATIONS, KeySource, MasterKey};
use crate::object::Handle;
use crate::store::records::{self, Meta, MetaKdf, RecordKeys, TenantRecord, UserRecord, id, kind};
use crate::store::tx::{Tx, scan_opened, store_err};

/// The record kinds re-sealed as they are (same record key).
const SAME_KEY: [u8; 7] =
    [kind::CONFIG, kind::TOKEN, kind::PIN, kind::KEY, kind::SEALED_KEY, kind::AUDIT_HEAD, kind::AUDIT_RECORD];
/// The record kinds whose record key is a blinded index, which changes with the keys.
const BLINDED: [u8; 3] = [kind::INDEX, kind::USER, kind::TENANT];

/// How a new key source derives the master key (a fresh salt for a passphrase).
pub(crate) fn new_kdf<R: TryCryptoRng + ?Sized>(rng: &mut R, source: &KeySource<'_>) -> Result<MetaKdf> {
    Ok(match source {
        KeySource::MasterKey(_) => MetaKdf::Raw,
        KeySource::Passphrase(_) => {
            let mut salt = [0u8; crate::keystore::SALT_LEN];
            fill(rng, &mut salt)?;
            MetaKdf::Pbkdf2 { iterations: DEFAULT_ITERATIONS, salt }
        }
        KeySource::Held(holder) => {
            // A fresh random master key, kept only wrapped by the holder.
            let master = MasterKey::generate(rng)?;
            MetaKdf::Held { wrapped: holder.wrap_dek(master.as_bytes()).map_err(Error::Crypto)? }
        }
    })
}

impl Hsm {
    /// Re-keys the store under `new` (a passphrase or a master key): every
    /// record is opened with the current keys and sealed again under keys
    /// derived from `new`, the blinded indexes are recomputed, and the meta
    /// record is replaced, all in one transaction; a
    /// [`AuditEvent::PassphraseChanged`] record is appended to every
    /// token's log. Security officer only. Afterwards the old passphrase
    /// opens nothing; other `Hsm` values still holding the old keys fail
    /// with [`Error::KeystoreAuth`] and must be opened again.
    ///
    /// The whole store passes through memory once: plan for its size.
    ///
    /// # Errors
    /// [`Error::RoleNotAllowed`] for another role; [`Error::AuditFull`] if a
    /// log has no room; [`Error::Store`] (nothing changed).
    pub fn change_passphrase<R: TryCryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        so: SessionId,
        new: &KeySource<'_>,
    ) -> Result<()> {
        self.require(so, Role::SecurityOfficer, Operation::Administer)?;
        let kdf = new_kdf(rng, new)?;
        let master = records::master_key(new, kdf)?;
        let mut salt = [0u8; 16];
        fill(rng, &mut salt)?;
        let mut new_keys = RecordKeys::derive(&master, salt)?;
        let limit = self.config.audit_limit(AuditClass::SecurityOfficer);
        let now = self.clock.now();
        let floor = self.floor;
        let generation = {
            let mut inner = self.store.begin().map_err(store_err)?;
            let generation = match inner.get(&id::generation()).map_err(store_err)? {
                Some(sealed) => records::decode_generation(&self.keys.open(&id::generation(), &sealed)?)?,
                None => 0,
            };
            if generation < floor {
                return Err(Error::KeystoreRollback);
            }
            let mut same = Vec::new();
            let mut blinded = Vec::new();
            for k in SAME_KEY {
                same.extend(read_kind(inner.as_mut(), &self.keys, k)?);
            }
            for k in BLINDED {
                for (key, plain) in read_kind(inner.as_mut(), &self.keys, k)? {
                    inner.delete(&key).map_err(store_err)?;
                    blinded.push((key, plain));
                }
            }
            let mut tx = Tx::continue_with(inner, &mut new_keys, now, generation);
            let mut slots = Vec::new();
            for (key, plain) in &same {
                tx.put(key, plain)?;
                match key.as_slice() {
                    [kind::TOKEN, slot] => slots.push(*slot),
                    [k @ (kind::KEY | kind::SEALED_KEY), slot, handle @ ..] => {
                        let handle = Handle(u64::from_be_bytes(
                            handle.try_into().map_err(|_| Error::KeystoreCorrupt)?,
                        ));
                        let object = if *k == kind::KEY {
                            records::decode_key(handle, plain)?
                        } else {
                            records::decode_sealed_key(handle, plain)?
                        };
                        tx.put_index(*slot, &object.attrs.tenant, &object.attrs.key_id, object.handle)?;
                    }
                    _ => {}
                }
            }
            for (key, plain) in &blinded {
                match key.as_slice() {
                    [kind::USER, slot, ..] => tx.put_user(*slot, &UserRecord::decode(plain)?)?,
                    [kind::TENANT, slot, ..] => tx.put_tenant(*slot, &TenantRecord::decode(plain)?)?,
                    _ => {} // index records: rebuilt from the key records above
                }
            }
            let meta = Meta { kdf }.encode(tx.keys())?;
            tx.put_raw(&id::meta(), &meta)?;
            for slot in slots {
                tx.ensure_room(slot, 1, limit)?;
                tx.log(slot, AuditEvent::PassphraseChanged)?;
            }
            tx.commit()?
        };
        self.keys = new_keys;
        self.advance_floor(generation);
        Ok(())
    }
}

/// A record key and its opened value.
type Opened = (Vec<u8>, Zeroizing<Vec<u8>>);

/// Every record of `kind`, opened with `keys`.
fn read_kind(inner: &mut dyn coffer_store::Transaction, keys: &RecordKeys, kind: u8) -> Result<Vec<Opened>> {
    scan_opened(inner, keys, &[kind], |k, plain| Ok((k.to_vec(), Zeroizing::new(plain.to_vec()))))
}
