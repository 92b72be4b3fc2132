//! coffer-core with a heap on a Cortex-M4 under QEMU (`mps2-an386`): the
//! server's golden RSA-OAEP envelope opened on the device (RSA-2048
//! private-key operation), an envelope sealed there to the same RSA key for
//! the server (`device-rsa-envelope:` in the log), and a certificate chain
//! made by OpenSSL (`embedded/data/chain`: RSA-2048 root, P-256
//! intermediate, P-256 server leaf) validated by `verify_path` for its
//! name and purpose, and refused for another name, after it expires and
//! without its intermediate.
//!
//! Run from `embedded/`:
//! `cargo run --release -p coffer-fw-heap | defmt-print -e target/thumbv7em-none-eabihf/release/heap`
#![no_std]
#![no_main]

extern crate alloc;

use coffer_core::cert::{Certificate, ExpectedName, PathOptions, Purpose, verify_path};
use coffer_core::envelope::{self, EncryptionContext, Recipient, UnlockKey};
use coffer_core::rsa::RsaPrivateKey;
use cortex_m_rt::entry;
use defmt_semihosting as _;
use embedded_alloc::LlffHeap as Heap;

#[path = "../../common.rs"]
mod common;
use common::{Failed, check, finish, log_hex, ok};

mod inputs {
    include!(concat!(env!("OUT_DIR"), "/inputs.rs"));
}

#[global_allocator]
static HEAP: Heap = Heap::empty();
/// Bytes of heap.
const HEAP_SIZE: usize = 256 * 1024;

const ROOT: &str = include_str!("../../data/chain/root.pem");
const INTERMEDIATE: &str = include_str!("../../data/chain/intermediate.pem");
const LEAF: &str = include_str!("../../data/chain/leaf.pem");
/// 2027-01-15, inside the chain's validity (2026-11-26 to 2046-11-21).
const NOW: u64 = 1_800_000_000;

fn rsa_envelopes<R: rand_core::TryCryptoRng>(rng: &mut R) -> Result<(), Failed> {
    use inputs::*;
    let key = ok(RsaPrivateKey::from_pkcs8_der(RSA_SECRET), "golden rsa key")?;
    let mut ctx = EncryptionContext::new();
    ok(ctx.insert(RSA_CTX_KEY, RSA_CTX_VALUE), "context")?;
    let unlock = [UnlockKey::Rsa { key_id: RSA_KEY_ID, version: RSA_VERSION, private_key: &key }];
    let plain = ok(envelope::open(rng, &unlock, &ctx, RSA_ENVELOPE), "golden rsa open")?;
    check(&plain[..] == RSA_PLAINTEXT, "golden rsa plaintext")?;
    let mut changed = alloc::vec::Vec::from(RSA_ENVELOPE);
    if let Some(b) = changed.last_mut() {
        *b ^= 1;
    }
    check(envelope::open(rng, &unlock, &ctx, &changed).is_err(), "a changed envelope does not open")?;

    let public = key.public_key();
    let to = [Recipient::Rsa { key_id: RSA_KEY_ID, version: RSA_VERSION, public_key: &public }];
    let sealed = ok(envelope::seal(rng, &to, &ctx, b"sealed for rsa on a cortex-m4"), "rsa seal")?;
    log_hex("device-rsa-envelope", &sealed);
    defmt::info!("RSA-OAEP: the server's envelope opens on the device; one sealed here for the server");
    Ok(())
}

fn certificate_chain() -> Result<(), Failed> {
    let root = ok(Certificate::from_pem(ROOT), "root pem")?;
    let intermediate = ok(Certificate::from_pem(INTERMEDIATE), "intermediate pem")?;
    let leaf = ok(Certificate::from_pem(LEAF), "leaf pem")?;
    let opts = PathOptions {
        now: NOW,
        purpose: Some(Purpose::ServerAuth),
        name: Some(ExpectedName::Dns("device-7.example")),
        crls: &[],
    };
    let (inters, anchors) = (core::slice::from_ref(&intermediate), core::slice::from_ref(&root));
    let path = ok(verify_path(&leaf, inters, anchors, &opts), "chain verify")?;
    check(path.chain().len() == 3, "a path of three")?;
    let other_name = PathOptions { name: Some(ExpectedName::Dns("device-8.example")), ..opts };
    check(verify_path(&leaf, inters, anchors, &other_name).is_err(), "other name")?;
    let expired = PathOptions { now: 2_500_000_000, ..opts };
    check(verify_path(&leaf, inters, anchors, &expired).is_err(), "expired")?;
    check(verify_path(&leaf, &[], anchors, &opts).is_err(), "no path without the intermediate")?;
    defmt::info!(
        "certificate chain: OpenSSL's root, intermediate and leaf verify; other name, expiry, missing link refused"
    );
    Ok(())
}

#[entry]
fn main() -> ! {
    {
        use core::mem::MaybeUninit;
        static mut HEAP_MEM: [MaybeUninit<u8>; HEAP_SIZE] = [MaybeUninit::uninit(); HEAP_SIZE];
        // SAFETY: called once, before any allocation; HEAP_MEM is used by nothing else.
        unsafe { HEAP.init(core::ptr::addr_of_mut!(HEAP_MEM) as usize, HEAP_SIZE) }
    }
    defmt::info!(
        "coffer heap firmware on {=str}, {=usize} KiB of heap",
        "cortex-m4 (qemu mps2-an386)",
        HEAP_SIZE / 1024
    );
    let mut rng = common::drbg(inputs::DRBG_SEED);
    finish(rsa_envelopes(&mut rng).and_then(|()| certificate_chain()))
}
