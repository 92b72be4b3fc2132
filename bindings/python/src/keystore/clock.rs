//! `ManualClock`: a clock the caller sets by hand, for the keystore's audit
//! times and key expiry (coffer-hsm's `Clock` trait). The time is shared
//! state (an `Arc<AtomicU64>`): the HSM reads it with the GIL released,
//! under the keystore's mutex, and never needs Python.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use coffer_hsm::{Clock, SystemClock};
use pyo3::prelude::*;

use crate::args;
use crate::errors;

/// The HSM's view of a [`PyManualClock`]: clones share the time.
#[derive(Clone)]
pub(crate) struct SharedClock(Arc<AtomicU64>);

impl Clock for SharedClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The clock a keystore runs on: `clock=` if given (a `ManualClock`),
/// else the system clock. The keystore keeps one to read the time the HSM
/// sees (the default `timestamp` and `now` of the session's webhooks).
pub(crate) enum KeystoreClock {
    System,
    Manual(SharedClock),
}

impl KeystoreClock {
    pub(crate) fn of(clock: Option<&PyManualClock>) -> Self {
        match clock {
            Some(c) => KeystoreClock::Manual(SharedClock(Arc::clone(&c.secs))),
            None => KeystoreClock::System,
        }
    }

    /// The clock to give the HSM: it shares the time with this one.
    pub(crate) fn for_hsm(&self) -> Box<dyn Clock + Send + Sync> {
        match self {
            KeystoreClock::Manual(c) => Box::new(c.clone()),
            KeystoreClock::System => Box::new(SystemClock),
        }
    }

    /// Seconds since the Unix epoch, as the HSM sees them.
    pub(crate) fn now(&self) -> u64 {
        match self {
            KeystoreClock::Manual(c) => c.now(),
            KeystoreClock::System => SystemClock.now(),
        }
    }
}

/// A clock set by hand, for tests and simulations: pass it as `clock=` to
/// `Keystore.create()` or `Keystore.open()` and the keystore stamps its
/// audit records and judges key expiry by it. `now` is seconds since the
/// Unix epoch; the keystore sees every `set()` and `advance()` at once.
///
/// >>> import coffer
/// >>> clock = coffer.ManualClock(1700000000)
/// >>> ks = coffer.Keystore.create(":memory:", so_pin="so-pin-1", pin_iterations=1000, clock=clock)
/// >>> so = ks.login_so("so-pin-1"); so.create_tenant("acme")
/// >>> clock.advance(60)
/// >>> so.create_user("audit", "audit-pin", auditor=True)
/// >>> [r.time for r in ks.login("audit", "audit-pin").audit()][2:4]
/// [1700000000, 1700000060]
#[pyclass(frozen, name = "ManualClock", module = "coffer")]
pub(crate) struct PyManualClock {
    secs: Arc<AtomicU64>,
}

#[pymethods]
impl PyManualClock {
    /// A clock showing `now` (seconds since the Unix epoch, 0 to 2**64 - 1).
    ///
    /// >>> import coffer
    /// >>> coffer.ManualClock(1700000000).now
    /// 1700000000
    #[new]
    fn new(now: &Bound<'_, PyAny>) -> PyResult<Self> {
        let secs = args::int_u64(now, "now")?;
        Ok(PyManualClock { secs: Arc::new(AtomicU64::new(secs)) })
    }

    /// The time the clock shows, in seconds since the Unix epoch.
    ///
    /// >>> import coffer
    /// >>> clock = coffer.ManualClock(5)
    /// >>> clock.now
    /// 5
    #[getter]
    fn now(&self) -> u64 {
        self.secs.load(Ordering::SeqCst)
    }

    /// Sets the clock to `t` (seconds since the Unix epoch); it may go back.
    ///
    /// >>> import coffer
    /// >>> clock = coffer.ManualClock(1700000000)
    /// >>> clock.set(1600000000)
    /// >>> clock.now
    /// 1600000000
    fn set(&self, t: &Bound<'_, PyAny>) -> PyResult<()> {
        let t = args::int_u64(t, "t")?;
        self.secs.store(t, Ordering::SeqCst);
        Ok(())
    }

    /// Moves the clock forward by `seconds` (0 or more). A move past
    /// 2**64 - 1 raises InvalidInput and leaves the clock as it was.
    ///
    /// >>> import coffer
    /// >>> clock = coffer.ManualClock(1700000000)
    /// >>> clock.advance(300)
    /// >>> clock.now
    /// 1700000300
    fn advance(&self, seconds: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = seconds.py();
        let step = args::int_u64(seconds, "seconds")?;
        self.secs
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| t.checked_add(step))
            .map(|_| ())
            .map_err(|_| errors::invalid_input(py, "the clock cannot move past 2**64 - 1 seconds".to_owned()))
    }

    fn __repr__(&self) -> String {
        format!("ManualClock({})", self.now())
    }
}
