//! [`CounterFile`]: the store's generation kept in a file, so that a
//! restored older store is refused (KEYSTORE.md §12.5).

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::string::String;

use crate::error::{Error, Result};
use crate::file::FileStorage;
use crate::storage::Storage;
use crate::token::GenerationGuard;

/// The highest generation of a store, as decimal text in a file.
///
/// [`GenerationGuard::advance`] takes an exclusive lock on `<path>.lock`,
/// reads the file and, only if the new generation is higher, replaces it
/// atomically (temporary file, fsync, rename, directory fsync), so many
/// processes advancing it at once never lower it. Keep it where the
/// store's own backups and restores do not reach (another disk, another
/// host's mount), or it is rolled back with the store.
///
/// ```
/// use coffer_hsm::{CounterFile, GenerationGuard};
///
/// let dir = std::env::temp_dir().join(format!("coffer-doc-counter-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let mut counter = CounterFile::new(dir.join("store.generation"))?;
/// assert_eq!(counter.last()?, None);
/// counter.advance(7)?;
/// counter.advance(5)?; // never lowered
/// assert_eq!(counter.last()?, Some(7));
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct CounterFile {
    path: PathBuf,
    lock_path: PathBuf,
}

impl CounterFile {
    /// A counter file at `path` (created on the first advance).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if `path` exists and is not a regular file
    /// (a symlink, FIFO, device or directory is never replaced).
    pub fn new(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        refuse_special(&path)?;
        let mut lock = path.clone().into_os_string();
        lock.push(".lock");
        let lock_path = PathBuf::from(lock);
        refuse_special(&lock_path)?;
        Ok(CounterFile { path, lock_path })
    }

    /// Where the counter is kept.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<Option<u64>> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => text.trim().parse::<u64>().map(Some).map_err(|_| Error::KeystoreCorrupt),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(_) => Err(Error::Storage),
        }
    }
}

fn refuse_special(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_file() => Err(Error::InvalidInput),
        _ => Ok(()),
    }
}

impl GenerationGuard for CounterFile {
    fn last(&mut self) -> Result<Option<u64>> {
        self.read()
    }

    fn advance(&mut self, generation: u64) -> Result<()> {
        refuse_special(&self.lock_path)?;
        let mut options = OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let lock: File = options.open(&self.lock_path).map_err(|_| Error::Storage)?;
        lock.lock().map_err(|_| Error::Storage)?;
        let result = match self.read() {
            Ok(Some(current)) if current >= generation => Ok(()),
            Ok(_) => {
                refuse_special(&self.path)?;
                let text: String = std::format!("{generation}\n");
                FileStorage::new(&self.path)?.write(text.as_bytes())
            }
            Err(e) => Err(e),
        };
        // Dropping the file releases the lock.
        drop(lock);
        result
    }
}
