//! Temporary files that must not outlive the command, even when it is
//! interrupted: SIGINT (Ctrl-C), SIGTERM and SIGHUP are caught by a thread
//! that truncates and removes every registered file, then exits with
//! 128 + the signal number (130 for Ctrl-C). SIGKILL cannot be caught: a
//! `kill -9` can leave a `.coffer-tmp-` or `.coffer-scratch-` file, mode 0600.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// The paths of the live temporary files.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn live() -> MutexGuard<'static, Vec<PathBuf>> {
    // A thread that panicked while holding the lock left a usable list.
    LIVE.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Starts the thread that cleans up on SIGINT, SIGTERM and SIGHUP. Without
/// it (if the handlers cannot be installed) the default actions apply.
pub fn install() {
    let Ok(mut signals) = Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    let _ = std::thread::Builder::new().name("coffer-signals".into()).spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let paths = live();
            for path in paths.iter() {
                // Truncating frees the bytes even if another name or an open
                // descriptor keeps the file; then the name goes.
                if let Ok(f) = OpenOptions::new().write(true).open(path) {
                    let _ = f.set_len(0);
                }
                let _ = fs::remove_file(path);
            }
            let code = 128_i32.saturating_add(signal);
            std::process::exit(code);
        }
    });
}

/// A temporary file's path in the registry, for as long as this lives.
pub struct Registration {
    path: PathBuf,
}

impl Registration {
    /// Registers `path` (before the file is created, so a signal during the
    /// creation still removes it).
    pub fn new(path: &Path) -> Registration {
        live().push(path.to_path_buf());
        Registration { path: path.to_path_buf() }
    }

    /// Holds the registry: a signal arriving meanwhile is handled after
    /// the guard is dropped or [`Held::unregister`] ran.
    pub fn hold(&self) -> Held<'_> {
        Held { guard: live(), path: &self.path }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        forget(&mut live(), &self.path);
    }
}

fn forget(paths: &mut Vec<PathBuf>, path: &Path) {
    if let Some(i) = paths.iter().position(|p| p == path) {
        paths.swap_remove(i);
    }
}

/// The registry, held. See [`Registration::hold`].
pub struct Held<'a> {
    guard: MutexGuard<'static, Vec<PathBuf>>,
    path: &'a Path,
}

impl Held<'_> {
    /// Takes the path out of the registry (the file has been put in place
    /// under another name and must survive a signal now).
    pub fn unregister(mut self) {
        forget(&mut self.guard, self.path);
    }
}

/// Overwrites the whole of `file` with zeros and syncs it.
pub fn overwrite_with_zeros(file: &mut File) -> io::Result<()> {
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(0))?;
    let zeros = [0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(zeros.len());
        file.write_all(zeros.get(..n).unwrap_or_default())?;
        left = left.saturating_sub(n as u64);
    }
    file.sync_all()
}
