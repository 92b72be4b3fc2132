//! Temporary plaintext files that are overwritten and removed after use
//! (feature `std`).
//!
//! A [`ScratchFile`] is where decrypted data goes when it must be a file for
//! a while, for example a report attachment handed to a mailer. It is
//! created with a random name in a directory the caller chooses, readable
//! and writable by the owner only, and [`ScratchFile::shred`] (or dropping
//! it) overwrites its bytes with zeros, syncs them to disk and removes it.
//!
//! Errors are [`StreamError`]: [`StreamError::Io`] for the file system, and
//! [`StreamError::Envelope`] for an envelope that does not open
//! ([`open_stream_to_scratch`]), which is always the opaque
//! [`Error::Decrypt`](crate::Error::Decrypt) of [`open_stream`].

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::string::String;

use super::header::Limits;
use super::io::{StreamError, open_stream};
use super::{EncryptionContext, UnlockKey};
use crate::rng::{self, OsRng, TryCryptoRng};

/// Random bytes in a scratch file's name (shown as hex).
const NAME_RANDOM_LEN: usize = 16;
/// Name prefix of every scratch file.
const NAME_PREFIX: &str = ".coffer-scratch-";
/// How many random names [`ScratchFile::create_in`] tries before giving up.
const CREATE_ATTEMPTS: usize = 8;
/// Size of the buffer of zeros written over a file's contents.
const ZERO_BLOCK_LEN: usize = 64 * 1024;

/// A temporary plaintext file that is overwritten with zeros and removed
/// when [`shred`](ScratchFile::shred) is called or when it is dropped.
///
/// - Created with [`ScratchFile::create_in`] under a random name
///   (`.coffer-scratch-` and 32 hex digits) in the given directory, with
///   `create_new` (an existing file or symbolic link of that name is never
///   opened or followed) and, on Unix, permissions `0600`.
/// - Read, written and sought through its `Read`, `Write` and `Seek`
///   implementations or [`file`](ScratchFile::file) /
///   [`file_mut`](ScratchFile::file_mut); [`path`](ScratchFile::path) names it
///   for another program.
/// - [`shred`](ScratchFile::shred) writes zeros over its whole current
///   length, syncs the file (`fsync`) and removes it, and reports any
///   failure. Dropping an unshredded `ScratchFile` does the same on a best
///   effort basis: errors are ignored and it never panics.
///
/// Use a directory only its owner can write to: anyone who may rename files
/// in it could swap the file under its name. Overwriting defeats reading
/// the old bytes through the file system; it cannot reach copies a
/// copy-on-write file system, a journal or an SSD's wear levelling keep
/// elsewhere, so put scratch files on encrypted storage when that matters.
///
/// ```
/// use std::io::{Read, Seek, Write};
/// use coffer_core::envelope::ScratchFile;
///
/// let dir = std::env::temp_dir();
/// let mut scratch = ScratchFile::create_in(&dir)?;
/// scratch.write_all(b"attachment body")?;
/// scratch.rewind()?;
/// let mut back = String::new();
/// scratch.read_to_string(&mut back)?;
/// assert_eq!(back, "attachment body");
///
/// let path = scratch.path().to_path_buf();
/// scratch.shred()?;
/// assert!(!path.exists());
/// # Ok::<(), coffer_core::envelope::StreamError>(())
/// ```
pub struct ScratchFile {
    file: File,
    path: PathBuf,
    /// Whether the file has been removed (by a successful shred).
    removed: bool,
}

impl fmt::Debug for ScratchFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScratchFile").field("path", &self.path).field("removed", &self.removed).finish()
    }
}

impl ScratchFile {
    /// Creates a new, empty scratch file with a random name in `dir`,
    /// opened for reading and writing (Unix permissions `0600`).
    ///
    /// ```
    /// use coffer_core::envelope::ScratchFile;
    ///
    /// let scratch = ScratchFile::create_in(&std::env::temp_dir())?;
    /// assert!(scratch.path().starts_with(std::env::temp_dir()));
    /// assert_eq!(scratch.file().metadata()?.len(), 0);
    /// # scratch.shred()?;
    /// # Ok::<(), coffer_core::envelope::StreamError>(())
    /// ```
    ///
    /// # Errors
    /// [`StreamError::Io`] if `dir` does not exist or is not writable, or
    /// if eight random names in a row were taken;
    /// [`StreamError::Envelope`]`(`[`Error::Rng`](crate::Error::Rng)`)` if
    /// the OS random number generator fails.
    pub fn create_in(dir: &Path) -> Result<ScratchFile, StreamError> {
        Self::create_with_names(dir, core::iter::repeat_with(random_name).take(CREATE_ATTEMPTS))
    }

    /// [`create_in`](Self::create_in) with the candidate names given: the
    /// first that does not exist yet is taken.
    fn create_with_names(
        dir: &Path,
        names: impl Iterator<Item = Result<String, StreamError>>,
    ) -> Result<ScratchFile, StreamError> {
        for name in names {
            let path = dir.join(name?);
            match create_private(&path) {
                Ok(file) => return Ok(ScratchFile { file, path, removed: false }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(StreamError::Io(e)),
            }
        }
        Err(StreamError::Io(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "no free scratch file name after several random tries",
        )))
    }

    /// Where the file is, for handing it to another program. The path is
    /// valid until the file is shredded or dropped.
    ///
    /// ```
    /// use coffer_core::envelope::ScratchFile;
    ///
    /// let scratch = ScratchFile::create_in(&std::env::temp_dir())?;
    /// let name = scratch.path().file_name().and_then(|n| n.to_str()).unwrap_or_default();
    /// assert!(name.starts_with(".coffer-scratch-"));
    /// # Ok::<(), coffer_core::envelope::StreamError>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open file, for reading through `&File` or reading its metadata.
    ///
    /// ```
    /// use std::io::Write;
    /// use coffer_core::envelope::ScratchFile;
    ///
    /// let mut scratch = ScratchFile::create_in(&std::env::temp_dir())?;
    /// scratch.write_all(b"12345")?;
    /// assert_eq!(scratch.file().metadata()?.len(), 5);
    /// # Ok::<(), coffer_core::envelope::StreamError>(())
    /// ```
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The open file, mutably (for `set_len`, `sync_all`, ...). Do not
    /// replace it: the shred overwrites the file this `ScratchFile` opened.
    ///
    /// ```
    /// use std::io::Write;
    /// use coffer_core::envelope::ScratchFile;
    ///
    /// let mut scratch = ScratchFile::create_in(&std::env::temp_dir())?;
    /// scratch.file_mut().write_all(b"draft")?;
    /// scratch.file_mut().sync_all()?;
    /// assert_eq!(scratch.file().metadata()?.len(), 5);
    /// # Ok::<(), coffer_core::envelope::StreamError>(())
    /// ```
    pub fn file_mut(&mut self) -> &mut File {
        &mut self.file
    }

    /// Overwrites the whole file with zeros, syncs it to disk and removes
    /// it. The file is removed even when overwriting fails; the first
    /// failure is returned.
    ///
    /// ```
    /// use std::io::Write;
    /// use coffer_core::envelope::ScratchFile;
    ///
    /// let mut scratch = ScratchFile::create_in(&std::env::temp_dir())?;
    /// scratch.write_all(b"db password")?;
    /// let path = scratch.path().to_path_buf();
    /// scratch.shred()?;
    /// assert!(!path.exists());
    /// # Ok::<(), coffer_core::envelope::StreamError>(())
    /// ```
    ///
    /// # Errors
    /// [`StreamError::Io`] if writing, syncing or removing fails. If the
    /// removal failed, dropping the value (which happens on return) tries
    /// once more.
    pub fn shred(mut self) -> Result<(), StreamError> {
        self.overwrite_and_remove().map_err(StreamError::Io)
    }

    /// Truncates the file to nothing and removes it, without overwriting
    /// it first: for when its plaintext has been handed on (copied to the
    /// reader it was for), so a second pass over the disk protects nothing
    /// the destination does not hold anyway. Truncating frees the blocks
    /// even where another descriptor keeps the file open.
    ///
    /// ```
    /// use std::io::Write;
    /// use coffer_core::envelope::ScratchFile;
    ///
    /// let mut scratch = ScratchFile::create_in(&std::env::temp_dir())?;
    /// scratch.write_all(b"already delivered")?;
    /// let path = scratch.path().to_path_buf();
    /// scratch.remove()?;
    /// assert!(!path.exists());
    /// # Ok::<(), coffer_core::envelope::StreamError>(())
    /// ```
    ///
    /// # Errors
    /// [`StreamError::Io`] if truncating or removing fails; if the removal
    /// failed, dropping the value (on return) overwrites and removes it.
    pub fn remove(mut self) -> Result<(), StreamError> {
        let truncated = self.file.set_len(0);
        fs::remove_file(&self.path)?;
        self.removed = true;
        truncated.map_err(StreamError::Io)
    }

    fn overwrite_and_remove(&mut self) -> io::Result<()> {
        if self.removed {
            return Ok(());
        }
        let overwritten = overwrite_with_zeros(&mut self.file);
        let removed = fs::remove_file(&self.path);
        if removed.is_ok() {
            self.removed = true;
        }
        overwritten.and(removed)
    }
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        // Best effort: a destructor has nobody to report to. `shred`
        // reports the same failures to callers who need to know.
        let _ = self.overwrite_and_remove();
    }
}

impl Read for ScratchFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file.read(buf)
    }
}

impl Write for ScratchFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Seek for ScratchFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.file.seek(pos)
    }
}

/// Opens an envelope from `input` (as [`open_stream`] does) into a new
/// [`ScratchFile`] in `dir`, and returns it rewound to its start.
///
/// [`open_stream`] writes each chunk once it authenticated, so a stream
/// that fails part-way has already written some plaintext; here that
/// partial file is shredded before the error is returned, so a failed open
/// leaves nothing behind in `dir`.
///
/// ```
/// use std::io::Read;
/// use coffer_core::envelope::{self, EncryptionContext, Limits, Recipient, UnlockKey};
/// use coffer_core::{keywrap::Kek, rng::OsRng, Error};
///
/// let kek = Kek::generate(&mut OsRng)?;
/// let mut ctx = EncryptionContext::new();
/// ctx.insert(b"report", b"2024-q3")?;
/// let to = [Recipient::Kek { key_id: b"reports", version: 1, kek: &kek }];
/// let env = envelope::seal(&mut OsRng, &to, &ctx, b"revenue,42")?;
///
/// let key = UnlockKey::Kek { key_id: b"reports", version: 1, kek: &kek };
/// let dir = std::env::temp_dir();
/// let mut plain = envelope::open_stream_to_scratch(&mut OsRng, &[key], &ctx, &Limits::DEFAULT, &env[..], &dir)?;
/// let mut csv = String::new();
/// plain.read_to_string(&mut csv)?;
/// assert_eq!(csv, "revenue,42");
/// plain.shred()?;
///
/// // A wrong context fails with the opaque decryption error.
/// let err = envelope::open_stream_to_scratch(&mut OsRng, &[key], &EncryptionContext::new(), &Limits::DEFAULT, &env[..], &dir);
/// assert!(matches!(err, Err(envelope::StreamError::Envelope(Error::Decrypt))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// What [`open_stream`] returns ([`StreamError::Envelope`]`(`[`Error::Decrypt`](crate::Error::Decrypt)`)`
/// for every failure to open, [`StreamError::Io`] when `input` fails), or the
/// errors of [`ScratchFile::create_in`]. If shredding the partial file fails
/// too, that [`StreamError::Io`] is returned instead, since a file may then remain.
pub fn open_stream_to_scratch<R: TryCryptoRng + ?Sized, I: Read>(
    rng: &mut R,
    keys: &[UnlockKey<'_>],
    context: &EncryptionContext<'_>,
    limits: &Limits,
    input: I,
    dir: &Path,
) -> Result<ScratchFile, StreamError> {
    let mut scratch = ScratchFile::create_in(dir)?;
    match open_stream(rng, keys, context, limits, input, &mut scratch) {
        Ok(_) => {
            // On failure `scratch` is dropped here, which shreds it.
            scratch.rewind()?;
            Ok(scratch)
        }
        Err(e) => {
            scratch.shred()?;
            Err(e)
        }
    }
}

/// `.coffer-scratch-` followed by 32 random hex digits.
fn random_name() -> Result<String, StreamError> {
    let mut bytes = [0u8; NAME_RANDOM_LEN];
    rng::fill(&mut OsRng, &mut bytes)?;
    let mut name = String::with_capacity(NAME_PREFIX.len().saturating_add(NAME_RANDOM_LEN.saturating_mul(2)));
    name.push_str(NAME_PREFIX);
    for b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            name.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
        }
    }
    Ok(name)
}

/// Creates `path` exclusively (never an existing file, never through a
/// symbolic link), owner read/write only on Unix.
fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path)?;
        // The umask can only clear bits of the mode above; set it exactly.
        if let Err(e) = file.set_permissions(fs::Permissions::from_mode(0o600)) {
            // Still empty: nothing to overwrite, only the name to take back.
            let _ = fs::remove_file(path);
            return Err(e);
        }
        Ok(file)
    }
    #[cfg(not(unix))]
    {
        options.open(path)
    }
}

/// Writes zeros over the whole current length of `file` and syncs it.
fn overwrite_with_zeros(file: &mut File) -> io::Result<()> {
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(0))?;
    let zeros = [0u8; ZERO_BLOCK_LEN];
    let mut left = len;
    while left > 0 {
        let n = usize::try_from(left).map_or(ZERO_BLOCK_LEN, |l| l.min(ZERO_BLOCK_LEN));
        file.write_all(zeros.get(..n).unwrap_or(&zeros))?;
        left = left.saturating_sub(u64::try_from(n).unwrap_or(u64::MAX));
    }
    file.flush()?;
    file.sync_all()
}

#[cfg(test)]
#[allow(clippy::expect_used, reason = "a failed step is a test failure, reported by panic")]
mod tests {
    use super::*;

    /// A fresh directory under the system's temporary one, removed when dropped.
    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let mut random = [0u8; 8];
            rng::fill(&mut OsRng, &mut random).expect("OS RNG");
            let dir = std::env::temp_dir()
                .join(std::format!("coffer-scratch-unit-{name}-{}", u64::from_le_bytes(random)));
            fs::create_dir(&dir).expect("a fresh directory");
            Dir(dir)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn names(list: &[&str]) -> impl Iterator<Item = Result<String, StreamError>> {
        list.iter().map(|n| Ok(String::from(*n))).collect::<std::vec::Vec<_>>().into_iter()
    }

    #[test]
    #[cfg_attr(miri, ignore = "draws from the OS RNG, which miri's isolation refuses")]
    fn names_are_the_prefix_and_32_random_lowercase_hex_digits() {
        let digits: std::vec::Vec<std::vec::Vec<char>> = (0..64)
            .map(|_| {
                let name = random_name().expect("OS RNG");
                let hex = name.strip_prefix(NAME_PREFIX).expect("the prefix");
                assert_eq!(hex.len(), 2 * NAME_RANDOM_LEN, "{name}");
                assert!(hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')), "{name}");
                hex.chars().collect()
            })
            .collect();
        // Every position varies: 64 draws of a random hex digit show at
        // least 3 distinct values except with probability below 2^-180.
        for pos in 0..2 * NAME_RANDOM_LEN {
            let seen: std::collections::BTreeSet<char> =
                digits.iter().filter_map(|d| d.get(pos).copied()).collect();
            assert!(seen.len() >= 3, "digit {pos} took only {seen:?}");
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "creates files, which miri's isolation refuses")]
    fn a_taken_name_is_skipped_for_the_next_one() {
        let dir = Dir::new("taken");
        fs::write(dir.0.join("first"), b"someone else's").expect("write");
        let scratch = ScratchFile::create_with_names(&dir.0, names(&["first", "second"]))
            .expect("the second name is free");
        assert_eq!(scratch.path(), dir.0.join("second"));
        assert_eq!(fs::read(dir.0.join("first")).expect("read"), b"someone else's", "never opened");
        // Every name taken: AlreadyExists, and nothing else created.
        let taken = ScratchFile::create_with_names(&dir.0, names(&["first", "second"]));
        assert!(
            matches!(&taken, Err(StreamError::Io(e)) if e.kind() == io::ErrorKind::AlreadyExists),
            "{taken:?}"
        );
        // Another failure than a taken name is reported at once, without
        // trying the next name.
        let missing = dir.0.join("missing");
        let failed = ScratchFile::create_with_names(&missing, names(&["a", "b"]));
        assert!(
            matches!(&failed, Err(StreamError::Io(e)) if e.kind() == io::ErrorKind::NotFound),
            "{failed:?}"
        );
        let debug = std::format!("{scratch:?}");
        assert_eq!(debug, std::format!("ScratchFile {{ path: {:?}, removed: false }}", dir.0.join("second")));
    }
}
