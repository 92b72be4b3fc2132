//! A deterministic RNG for property tests, so a failing case replays from
//! its proptest seed: ChaCha8 from the `chacha20` crate, never used outside tests.

pub use chacha20::ChaCha8Rng as SeededRng;
pub use rand_core::SeedableRng;
