//! What the benches share: running a worker on several threads at once, and
//! opening an HSM on a record store under the benches' fixed master key.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use coffer_core::rng::OsRng;
use coffer_hsm::keystore::{KeySource, MasterKey};
use coffer_hsm::{Hsm, RecordStore, SystemClock};

/// The master key of every bench keystore.
pub const MASTER: [u8; 32] = [7; 32];

/// An HSM over `store`, unlocked with [`MASTER`].
pub fn open_hsm(store: Box<dyn RecordStore + Send>) -> Hsm {
    Hsm::open(&mut OsRng, store, &KeySource::MasterKey(&MasterKey::from_bytes(MASTER)), Box::new(SystemClock))
        .unwrap()
}

/// Operations per second of `threads` workers together, counted over
/// `secs` seconds after one second of warm-up. `worker(t, step)` sets up
/// thread `t` and returns the operation it repeats until told to stop.
pub fn throughput<W, F>(threads: usize, secs: f64, worker: W) -> f64
where
    W: Fn(usize) -> F + Send + Sync + 'static,
    F: FnMut(),
{
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let worker = Arc::new(worker);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (stop, done, worker) = (stop.clone(), done.clone(), worker.clone());
            std::thread::spawn(move || {
                let mut op = worker(t);
                while !stop.load(Ordering::Relaxed) {
                    op();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    let start = done.load(Ordering::Relaxed);
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(secs));
    let n = done.load(Ordering::Relaxed) - start;
    let elapsed = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().unwrap();
    }
    n as f64 / elapsed.as_secs_f64()
}
