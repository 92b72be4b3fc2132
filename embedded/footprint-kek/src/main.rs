//! Symmetric envelopes only: seal and open with an AES-256 KEK recipient
//! (coffer-core without default features, so without P-256: AES-256-GCM-SIV,
//! AES-KW, HKDF, SHA-256). A package of its own: with the other footprint
//! firmwares, coffer-hsm's use of P-256 would turn the feature on here too.
//! on the server's golden KEK envelope and on one sealed here.
#![no_std]
#![no_main]

use coffer_core::envelope::{self, EncryptionContext, Limits, Recipient, UnlockKey};
use coffer_core::keywrap::Kek;
use common::{check, ok};
use measure::{measure, report};

#[path = "../../common.rs"]
mod common;
#[path = "../../footprint/measure.rs"]
mod measure;
mod inputs {
    include!(concat!(env!("OUT_DIR"), "/inputs.rs"));
}

fn run(syst: &mut cortex_m::peripheral::SYST) -> Result<(), common::Failed> {
    use inputs::*;
    let mut rng = common::drbg(DRBG_SEED);
    let kek = ok(Kek::from_slice(KEK_SECRET), "kek")?;
    let mut ctx = EncryptionContext::new();
    ok(ctx.insert(KEK_CTX_KEY, KEK_CTX_VALUE), "context")?;
    let unlock = [UnlockKey::Kek { key_id: KEK_KEY_ID, version: KEK_VERSION, kek: &kek }];

    let mut buf = [0u8; 1024];
    let sealed = buf.get_mut(..KEK_ENVELOPE.len()).ok_or(common::Failed("size"))?;
    sealed.copy_from_slice(KEK_ENVELOPE);
    let (opened, cost) = measure(syst, || {
        envelope::open_in_place(&mut rng, &unlock, &ctx, sealed, &Limits::DEFAULT).map(|p| p.len())
    });
    report("envelope open, KEK, 60-byte payload (golden)", &cost);
    check(ok(opened, "open")? == KEK_PLAINTEXT.len(), "open length")?;

    let to = [Recipient::Kek { key_id: KEK_KEY_ID, version: KEK_VERSION, kek: &kek }];
    let plain = [0x5a; 256];
    let mut out = [0u8; 1024];
    let (n, cost) = measure(syst, || envelope::seal_into(&mut rng, &to, &ctx, &plain, 256, &mut out));
    report("envelope seal, KEK, 256 bytes", &cost);
    let n = ok(n, "seal")?;
    let (opened, cost) = measure(syst, || {
        envelope::open_in_place(&mut rng, &unlock, &ctx, &mut out[..n], &Limits::DEFAULT).map(|p| p == plain)
    });
    report("envelope open, KEK, 256 bytes", &cost);
    check(ok(opened, "open 256")?, "open 256 plaintext")
}

measure::footprint_main!(run);
