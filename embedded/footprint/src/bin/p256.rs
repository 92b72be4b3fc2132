//! Symmetric envelopes plus P-256: ECDSA key generation, signing and
//! verification, and the server's golden P-256 (ECDH-ES) envelope opened.
#![no_std]
#![no_main]

use coffer_core::envelope::{self, EncryptionContext, Limits, UnlockKey};
use coffer_core::p256::P256SecretKey;
use common::{check, ok};
use measure::{measure, report};

#[path = "../../../common.rs"]
mod common;
#[path = "../../measure.rs"]
mod measure;
mod inputs {
    include!(concat!(env!("OUT_DIR"), "/inputs.rs"));
}

fn run(syst: &mut cortex_m::peripheral::SYST) -> Result<(), common::Failed> {
    use inputs::*;
    let mut rng = common::drbg(DRBG_SEED);
    let (key, cost) = measure(syst, || P256SecretKey::generate(&mut rng));
    report("P-256 key generation", &cost);
    let key = ok(key, "generate")?;
    let (sig, cost) = measure(syst, || key.sign(b"boot measurement"));
    report("ECDSA P-256 sign", &cost);
    let public = key.public_key();
    let (verified, cost) = measure(syst, || public.verify(b"boot measurement", &sig));
    report("ECDSA P-256 verify", &cost);
    ok(verified, "verify")?;

    let secret = ok(P256SecretKey::from_pkcs8_der(P256_SECRET), "golden key")?;
    let mut ctx = EncryptionContext::new();
    ok(ctx.insert(P256_CTX_KEY, P256_CTX_VALUE), "context")?;
    let unlock = [UnlockKey::P256 { key_id: P256_KEY_ID, version: P256_VERSION, secret_key: &secret }];
    let mut buf = [0u8; 1024];
    let sealed = buf.get_mut(..P256_ENVELOPE.len()).ok_or(common::Failed("size"))?;
    sealed.copy_from_slice(P256_ENVELOPE);
    let (opened, cost) = measure(syst, || {
        envelope::open_in_place(&mut rng, &unlock, &ctx, sealed, &Limits::DEFAULT).map(|p| p.len())
    });
    report("envelope open, P-256 ECDH-ES, 1000 bytes (golden)", &cost);
    check(ok(opened, "open")? == P256_PLAINTEXT.len(), "open length")
}

measure::footprint_main!(run);
