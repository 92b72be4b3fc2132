//! [`FileStorage`]: the sealed keystore in one file, replaced atomically
//! (KEYSTORE.md §8).

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::vec::Vec;

use crate::error::{Error, Result};
use crate::keystore::MAX_SEALED_LEN;
use crate::storage::Storage;

/// How many temporary names [`FileStorage::write`] tries before giving up
/// when a name is already taken.
const TEMP_NAME_ATTEMPTS: u32 = 16;

/// Distinguishes the temporary files of one process.
static TEMP_SEQUENCE: AtomicUsize = AtomicUsize::new(0);

/// The steps of [`FileStorage::write`], in order. A failure at any step
/// before [`WriteStep::Rename`] leaves the old file; a failure at
/// [`WriteStep::SyncDir`] comes after the new file is in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WriteStep {
    /// Create the temporary file beside the target.
    CreateTemp,
    /// Write the bytes to it (an injected failure writes half, then fails).
    Write,
    /// fsync the temporary file.
    SyncFile,
    /// Rename it over the target.
    Rename,
    /// fsync the directory so the rename is durable.
    SyncDir,
}

impl WriteStep {
    /// Every step, in the order `write` runs them (step N is `ALL[N - 1]`).
    pub(crate) const ALL: [WriteStep; 5] =
        [WriteStep::CreateTemp, WriteStep::Write, WriteStep::SyncFile, WriteStep::Rename, WriteStep::SyncDir];
}

/// The keystore in a file, for `std` targets.
///
/// [`Storage::read`] returns the file's bytes as they are, or `None` if the
/// file does not exist; it never repairs or rewrites anything.
/// [`Storage::write`] replaces the file atomically: it writes a temporary
/// file in the same directory (created exclusively, mode 0600 on Unix),
/// fsyncs it, renames it over the target and fsyncs the directory. If any
/// step before the rename fails, the temporary file is removed and the old
/// file is untouched. If only the final directory fsync fails, the new
/// content is already in place but may not survive a power cut; `write`
/// still reports [`Error::Storage`].
///
/// One writer at a time: two processes writing the same path each replace
/// the file atomically, but the last rename wins. A process killed
/// mid-write can leave a `.<name>.<pid>.<n>.tmp` file beside the target;
/// it is never read and can be deleted.
#[derive(Debug)]
pub struct FileStorage {
    path: PathBuf,
    dir: PathBuf,
    file_name: OsString,
    fail_at: Option<WriteStep>,
}

impl FileStorage {
    /// Storage in the file at `path`. Nothing is touched until the first
    /// read or write.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if `path` does not end in a file name (empty,
    /// `/`, `..`).
    pub fn new(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let file_name = path.file_name().ok_or(Error::InvalidInput)?.to_os_string();
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Ok(FileStorage { path, dir, file_name, fail_at: None })
    }

    /// The path of the keystore file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Fault injection for tests: makes the next [`Storage::write`] fail at
    /// step `step` (1 create the temporary file, 2 write it, 3 fsync it,
    /// 4 rename it over the target, 5 fsync the directory), as a real I/O
    /// error at that point would. One-shot: the write after that runs
    /// normally. Not part of the stable API.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if `step` is not 1..=5.
    #[doc(hidden)]
    pub fn fail_next_write_at_step(&mut self, step: usize) -> Result<()> {
        let index = step.checked_sub(1).ok_or(Error::InvalidInput)?;
        let step = WriteStep::ALL.get(index).ok_or(Error::InvalidInput)?;
        self.fail_next_write_at(*step);
        Ok(())
    }

    /// Makes the next [`Storage::write`] fail at `step`.
    pub(crate) fn fail_next_write_at(&mut self, step: WriteStep) {
        self.fail_at = Some(step);
    }

    /// Creates a fresh temporary file beside the target. Never opens an
    /// existing file: a taken name is retried with the next sequence number.
    fn create_temp(&self) -> io::Result<(PathBuf, File)> {
        let mut last_error = io::Error::from(io::ErrorKind::AlreadyExists);
        for _ in 0..TEMP_NAME_ATTEMPTS {
            let sequence = TEMP_SEQUENCE.fetch_add(1, Ordering::Relaxed);
            let mut name = OsString::from(".");
            name.push(&self.file_name);
            name.push(std::format!(".{}.{sequence}.tmp", std::process::id()));
            let temp = self.dir.join(name);
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            match options.open(&temp) {
                Ok(file) => return Ok((temp, file)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_error = e,
                Err(e) => return Err(e),
            }
        }
        Err(last_error)
    }
}

/// An injected I/O error if `fail_at` is `step`.
fn injected(fail_at: Option<WriteStep>, step: WriteStep) -> io::Result<()> {
    if fail_at == Some(step) { Err(io::Error::other("injected failure")) } else { Ok(()) }
}

/// Steps 2–4: write, fsync, close and rename the temporary file.
fn fill_and_rename(
    mut file: File,
    bytes: &[u8],
    temp: &Path,
    target: &Path,
    fail_at: Option<WriteStep>,
) -> io::Result<()> {
    if fail_at == Some(WriteStep::Write) {
        // A short write, as a full disk gives.
        let half = bytes.get(..bytes.len().div_ceil(2)).unwrap_or(bytes);
        file.write_all(half)?;
        return injected(fail_at, WriteStep::Write);
    }
    file.write_all(bytes)?;
    injected(fail_at, WriteStep::SyncFile)?;
    file.sync_all()?;
    // Closed before the rename (required on Windows).
    drop(file);
    injected(fail_at, WriteStep::Rename)?;
    fs::rename(temp, target)
}

/// fsyncs a directory so that a rename in it is durable.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Directories cannot be opened for fsync here; the rename is as durable as
/// the platform makes it.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

impl Storage for FileStorage {
    /// The file's length, `None` if it does not exist.
    ///
    /// # Errors
    /// [`Error::Storage`] if the file exists but its metadata cannot be read.
    fn stored_len(&mut self) -> Result<Option<usize>> {
        match fs::metadata(&self.path) {
            Ok(m) => usize::try_from(m.len()).map(Some).map_err(|_| Error::KeystoreCorrupt),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(_) => Err(Error::Storage),
        }
    }

    /// Reads the file into `out` (see [`Storage::read_into`]).
    ///
    /// # Errors
    /// As [`FileStorage::read`], and [`Error::Capacity`] if `out` is shorter than the file.
    fn read_into(&mut self, out: &mut [u8]) -> Result<Option<usize>> {
        let Some(bytes) = self.read()? else { return Ok(None) };
        let dest = out.get_mut(..bytes.len()).ok_or(Error::Capacity)?;
        dest.copy_from_slice(&bytes);
        Ok(Some(bytes.len()))
    }

    /// The file's bytes as they are, `None` if it does not exist.
    ///
    /// # Errors
    /// [`Error::Storage`] if the file exists but cannot be read;
    /// [`Error::KeystoreCorrupt`] if it is longer than
    /// [`crate::keystore::MAX_SEALED_LEN`] (it is not read into memory).
    fn read(&mut self) -> Result<Option<Vec<u8>>> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(_) => return Err(Error::Storage),
        };
        let max = u64::try_from(MAX_SEALED_LEN).map_err(|_| Error::Storage)?;
        if file.metadata().map_err(|_| Error::Storage)?.len() > max {
            return Err(Error::KeystoreCorrupt);
        }
        // The file may grow between the check and the read: read at most one
        // byte past the limit.
        let mut bytes = Vec::new();
        file.take(max.saturating_add(1)).read_to_end(&mut bytes).map_err(|_| Error::Storage)?;
        if bytes.len() > MAX_SEALED_LEN {
            return Err(Error::KeystoreCorrupt);
        }
        Ok(Some(bytes))
    }

    /// Replaces the file atomically (see [`FileStorage`]).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if `bytes` is empty; [`Error::Storage`] if
    /// any step fails.
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if bytes.is_empty() {
            return Err(Error::InvalidInput);
        }
        let fail_at = self.fail_at.take();
        injected(fail_at, WriteStep::CreateTemp).map_err(|_| Error::Storage)?;
        let (temp, file) = self.create_temp().map_err(|_| Error::Storage)?;
        if fill_and_rename(file, bytes, &temp, &self.path, fail_at).is_err() {
            // Best effort: the temporary file is ours and not the target.
            let _ = fs::remove_file(&temp);
            return Err(Error::Storage);
        }
        injected(fail_at, WriteStep::SyncDir).and_then(|()| sync_dir(&self.dir)).map_err(|_| Error::Storage)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use std::string::String;
    use std::vec;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let sequence = TEMP_SEQUENCE.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir()
                .join(std::format!("coffer-hsm-file-{name}-{}-{sequence}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        /// The names of the files in the directory, sorted.
        fn names(&self) -> Vec<String> {
            let mut names: Vec<String> = fs::read_dir(&self.0)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            names.sort();
            names
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_failure_at_every_step_leaves_the_old_or_the_new_file_complete_and_no_temp_file() {
        for step in WriteStep::ALL {
            let dir = TempDir::new("every-step");
            let mut storage = FileStorage::new(dir.0.join("keystore")).unwrap();
            let old = vec![0x11u8; 4096];
            let new = vec![0x22u8; 8192];
            storage.write(&old).unwrap();

            storage.fail_next_write_at(step);
            assert_eq!(storage.write(&new), Err(Error::Storage), "step {step:?} must report the failure");

            let expected = if step == WriteStep::SyncDir { &new } else { &old };
            assert_eq!(fs::read(storage.path()).unwrap(), *expected, "content after a failure at {step:?}");
            assert_eq!(storage.read().unwrap().as_ref(), Some(expected), "read after a failure at {step:?}");
            assert_eq!(
                dir.names(),
                ["keystore"],
                "no temporary file may be left after a failure at {step:?}"
            );

            // The hook is one-shot: the next write goes through.
            storage.write(&new).unwrap();
            assert_eq!(fs::read(storage.path()).unwrap(), new);
            assert_eq!(dir.names(), ["keystore"]);
        }
    }

    #[test]
    fn a_failure_before_the_rename_of_a_first_write_leaves_no_file_at_all() {
        for step in [WriteStep::CreateTemp, WriteStep::Write, WriteStep::SyncFile, WriteStep::Rename] {
            let dir = TempDir::new("first-write");
            let mut storage = FileStorage::new(dir.0.join("keystore")).unwrap();
            storage.fail_next_write_at(step);
            assert_eq!(storage.write(b"new"), Err(Error::Storage));
            assert_eq!(storage.read().unwrap(), None, "no keystore after a failure at {step:?}");
            assert!(dir.names().is_empty(), "nothing may be left after a failure at {step:?}");
        }
    }

    #[test]
    fn the_numbered_hook_maps_steps_one_to_five_in_order_and_refuses_others() {
        let mut storage = FileStorage::new("keystore").unwrap();
        for (n, step) in (1..=5).zip(WriteStep::ALL) {
            storage.fail_next_write_at_step(n).unwrap();
            assert_eq!(storage.fail_at, Some(step));
        }
        assert_eq!(storage.fail_next_write_at_step(0), Err(Error::InvalidInput));
        assert_eq!(storage.fail_next_write_at_step(6), Err(Error::InvalidInput));
    }

    #[test]
    fn a_real_rename_failure_removes_the_temp_file_and_keeps_the_target() {
        // The target is a non-empty directory, so renaming a file over it fails.
        let dir = TempDir::new("rename-fails");
        let target = dir.0.join("keystore");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("inside"), b"x").unwrap();
        let mut storage = FileStorage::new(&target).unwrap();
        assert_eq!(storage.write(b"new"), Err(Error::Storage));
        assert_eq!(dir.names(), ["keystore"]);
        assert_eq!(fs::read(target.join("inside")).unwrap(), b"x");
    }

    #[test]
    fn a_missing_directory_is_a_storage_error_on_write_and_none_on_read() {
        let dir = TempDir::new("missing-dir");
        let mut storage = FileStorage::new(dir.0.join("absent").join("keystore")).unwrap();
        assert_eq!(storage.read().unwrap(), None);
        assert_eq!(storage.write(b"new"), Err(Error::Storage));
        assert!(dir.names().is_empty());
    }

    #[test]
    fn an_empty_write_is_refused_and_touches_nothing() {
        let dir = TempDir::new("empty-write");
        let mut storage = FileStorage::new(dir.0.join("keystore")).unwrap();
        storage.write(b"old").unwrap();
        assert_eq!(storage.write(b""), Err(Error::InvalidInput));
        assert_eq!(fs::read(storage.path()).unwrap(), b"old");
    }

    #[test]
    fn a_path_without_a_file_name_is_refused() {
        assert_eq!(FileStorage::new("").unwrap_err(), Error::InvalidInput);
        assert_eq!(FileStorage::new("/").unwrap_err(), Error::InvalidInput);
        assert_eq!(FileStorage::new("a/..").unwrap_err(), Error::InvalidInput);
        assert_eq!(FileStorage::new("keystore").unwrap().dir, PathBuf::from("."));
    }

    #[cfg(unix)]
    #[test]
    fn the_keystore_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new("mode");
        let mut storage = FileStorage::new(dir.0.join("keystore")).unwrap();
        storage.write(b"sealed").unwrap();
        let mode = fs::metadata(storage.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
