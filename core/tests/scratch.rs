//! `ScratchFile`: temporary plaintext files are private while in use, are
//! overwritten with zeros before they are removed (by `shred` and by drop),
//! and a failed `open_stream_to_scratch` leaves nothing behind.
// miri: works on files in the temp directory, which miri's isolation refuses.
#![cfg(not(miri))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::fs;
use std::io::{ErrorKind, Read, Seek, Write};
use std::path::{Path, PathBuf};

use coffer_core::Error;
use coffer_core::envelope::{
    self, EncryptionContext, Limits, MIN_CHUNK_SIZE, Recipient, ScratchFile, StreamError, UnlockKey,
};
use coffer_core::keywrap::Kek;
use coffer_core::rng::OsRng;

/// A fresh, empty directory for one test, removed when dropped.
struct TestDir(PathBuf);

impl TestDir {
    fn new(name: &str) -> TestDir {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir().join(format!("coffer-scratch-{name}-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        TestDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// Names of the entries in the directory, sorted.
    fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Bytes that are nowhere zero, so an all-zero file proves an overwrite.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 + 1).collect()
}

fn context() -> EncryptionContext<'static> {
    EncryptionContext::from_pairs(&[(b"tenant", b"acme"), (b"kind", b"report")]).unwrap()
}

/// `plain` sealed for `kek` (key id `k`, version 1) under [`context`].
fn seal_for(kek: &Kek, plain: &[u8], chunk_size: u32) -> Vec<u8> {
    let to = [Recipient::Kek { key_id: b"k", version: 1, kek }];
    envelope::seal_with_chunk_size(&mut OsRng, &to, &context(), plain, chunk_size).unwrap()
}

/// Opens `env` with `kek` (key id `k`, version 1) into a scratch file in `dir`.
fn open_into(dir: &TestDir, kek: &Kek, env: &[u8]) -> Result<ScratchFile, StreamError> {
    let key = UnlockKey::Kek { key_id: b"k", version: 1, kek };
    envelope::open_stream_to_scratch(&mut OsRng, &[key], &context(), &Limits::DEFAULT, env, dir.path())
}

/// Asserts that `result` is the opaque decryption error and that `dir` is empty.
fn assert_decrypt_and_nothing_left(result: Result<ScratchFile, StreamError>, dir: &TestDir) {
    let err = result.unwrap_err();
    assert!(matches!(err, StreamError::Envelope(Error::Decrypt)), "got {err:?}");
    assert_eq!(dir.entries(), Vec::<String>::new());
}

#[cfg(unix)]
#[test]
fn scratch_file_exists_while_in_use_with_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TestDir::new("mode");
    let mut scratch = ScratchFile::create_in(dir.path()).unwrap();
    scratch.write_all(b"smtp attachment").unwrap();

    let meta = fs::symlink_metadata(scratch.path()).unwrap();
    assert!(meta.file_type().is_file());
    assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
    assert_eq!(meta.len(), 15);
    assert_eq!(scratch.path().parent(), Some(dir.path()));
    let name = scratch.path().file_name().unwrap().to_str().unwrap().to_owned();
    assert_eq!(name.len(), ".coffer-scratch-".len() + 32);
    assert!(name.starts_with(".coffer-scratch-"));
    assert!(name[16..].bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(dir.entries(), vec![name]);
    scratch.shred().unwrap();
}

#[test]
fn written_bytes_read_back_through_the_scratch_file_and_through_its_path() {
    let dir = TestDir::new("rw");
    let mut scratch = ScratchFile::create_in(dir.path()).unwrap();
    scratch.write_all(b"line one\nline two\n").unwrap();
    scratch.flush().unwrap();
    scratch.rewind().unwrap();
    let mut back = String::new();
    scratch.read_to_string(&mut back).unwrap();
    assert_eq!(back, "line one\nline two\n");
    // Another program reading the path sees the same bytes.
    assert_eq!(fs::read(scratch.path()).unwrap(), b"line one\nline two\n");
    assert_eq!(scratch.file().metadata().unwrap().len(), 18);
}

#[test]
fn two_scratch_files_in_one_directory_get_different_random_names() {
    let dir = TestDir::new("names");
    let a = ScratchFile::create_in(dir.path()).unwrap();
    let b = ScratchFile::create_in(dir.path()).unwrap();
    assert_ne!(a.path(), b.path());
    assert_eq!(dir.entries().len(), 2);
}

#[test]
fn shred_removes_the_file_and_leaves_the_directory_empty() {
    let dir = TestDir::new("shred");
    let mut scratch = ScratchFile::create_in(dir.path()).unwrap();
    scratch.write_all(b"postgres://app:hunter2@db/prod").unwrap();
    let path = scratch.path().to_path_buf();
    scratch.shred().unwrap();
    assert_eq!(fs::symlink_metadata(&path).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(dir.entries(), Vec::<String>::new());
}

#[test]
fn shred_overwrites_every_byte_with_zeros_before_removing_the_file() {
    let dir = TestDir::new("zeros");
    let mut scratch = ScratchFile::create_in(dir.path()).unwrap();
    // More than one 64 KiB block of zeros, and not a multiple of it.
    let secret = pattern(200_003);
    scratch.write_all(&secret).unwrap();
    let link = dir.path().join("link-made-by-the-test");
    fs::hard_link(scratch.path(), &link).unwrap();
    assert_eq!(fs::read(&link).unwrap(), secret);
    let path = scratch.path().to_path_buf();

    scratch.shred().unwrap();

    assert_eq!(fs::symlink_metadata(&path).unwrap_err().kind(), ErrorKind::NotFound);
    let after = fs::read(&link).unwrap();
    assert_eq!(after.len(), secret.len());
    assert!(after.iter().all(|&b| b == 0), "the shredded file's bytes were not all zeroed");
    assert_eq!(dir.entries(), vec!["link-made-by-the-test".to_owned()]);
}

#[test]
fn shred_overwrites_bytes_written_past_a_seek_beyond_the_end() {
    let dir = TestDir::new("sparse");
    let mut scratch = ScratchFile::create_in(dir.path()).unwrap();
    scratch.write_all(b"head").unwrap();
    scratch.seek(std::io::SeekFrom::Start(100_000)).unwrap();
    scratch.write_all(b"tail").unwrap();
    let link = dir.path().join("link");
    fs::hard_link(scratch.path(), &link).unwrap();
    scratch.shred().unwrap();
    let after = fs::read(&link).unwrap();
    assert_eq!(after.len(), 100_004);
    assert!(after.iter().all(|&b| b == 0));
}

#[test]
fn dropping_a_scratch_file_overwrites_it_with_zeros_and_removes_it() {
    let dir = TestDir::new("drop");
    let secret = pattern(70_000);
    let link = dir.path().join("link");
    let path;
    {
        let mut scratch = ScratchFile::create_in(dir.path()).unwrap();
        scratch.write_all(&secret).unwrap();
        fs::hard_link(scratch.path(), &link).unwrap();
        path = scratch.path().to_path_buf();
        assert!(path.exists());
    }
    assert_eq!(fs::symlink_metadata(&path).unwrap_err().kind(), ErrorKind::NotFound);
    let after = fs::read(&link).unwrap();
    assert_eq!(after.len(), secret.len());
    assert!(after.iter().all(|&b| b == 0));
}

#[test]
fn dropping_a_scratch_file_whose_path_was_already_removed_does_not_panic() {
    let dir = TestDir::new("gone");
    let mut scratch = ScratchFile::create_in(dir.path()).unwrap();
    scratch.write_all(b"x").unwrap();
    fs::remove_file(scratch.path()).unwrap();
    drop(scratch);
    assert_eq!(dir.entries(), Vec::<String>::new());
}

#[test]
fn shredding_a_scratch_file_whose_path_was_already_removed_is_a_not_found_io_error() {
    let dir = TestDir::new("gone-shred");
    let scratch = ScratchFile::create_in(dir.path()).unwrap();
    fs::remove_file(scratch.path()).unwrap();
    let result = scratch.shred();
    assert!(matches!(&result, Err(StreamError::Io(e)) if e.kind() == ErrorKind::NotFound), "got {result:?}");
}

#[test]
fn remove_truncates_the_file_to_nothing_and_removes_its_name() {
    let dir = TestDir::new("remove");
    let mut scratch = ScratchFile::create_in(dir.path()).unwrap();
    scratch.write_all(&pattern(5000)).unwrap();
    // A second name for the same file shows what `remove` left in it.
    let link = dir.path().join("link");
    fs::hard_link(scratch.path(), &link).unwrap();
    scratch.remove().unwrap();
    assert_eq!(dir.entries(), vec!["link".to_owned()]);
    assert_eq!(fs::metadata(&link).unwrap().len(), 0, "truncated, not overwritten in place");
}

#[test]
fn removing_a_scratch_file_whose_path_was_already_removed_is_a_not_found_io_error() {
    let dir = TestDir::new("gone-remove");
    let scratch = ScratchFile::create_in(dir.path()).unwrap();
    fs::remove_file(scratch.path()).unwrap();
    let result = scratch.remove();
    assert!(matches!(&result, Err(StreamError::Io(e)) if e.kind() == ErrorKind::NotFound), "got {result:?}");
}

#[test]
fn creating_a_scratch_file_in_a_missing_directory_is_a_not_found_io_error() {
    let dir = TestDir::new("missing");
    let result = ScratchFile::create_in(&dir.path().join("no-such-dir"));
    assert!(matches!(&result, Err(StreamError::Io(e)) if e.kind() == ErrorKind::NotFound), "got {result:?}");
}

#[test]
fn open_stream_to_scratch_returns_the_plaintext_rewound_to_the_start() {
    let dir = TestDir::new("open");
    let kek = Kek::generate(&mut OsRng).unwrap();
    let plain = pattern(150_000);
    let env = seal_for(&kek, &plain, envelope::DEFAULT_CHUNK_SIZE);
    let mut scratch = open_into(&dir, &kek, &env).unwrap();
    assert_eq!(scratch.stream_position().unwrap(), 0);
    let mut back = Vec::new();
    scratch.read_to_end(&mut back).unwrap();
    assert_eq!(back, plain);
    assert_eq!(dir.entries().len(), 1);
    scratch.shred().unwrap();
    assert_eq!(dir.entries(), Vec::<String>::new());
}

#[test]
fn open_stream_to_scratch_with_the_wrong_key_fails_with_decrypt_and_leaves_nothing() {
    let dir = TestDir::new("wrong-key");
    let (kek, other) = (Kek::generate(&mut OsRng).unwrap(), Kek::generate(&mut OsRng).unwrap());
    let env = seal_for(&kek, b"secret", envelope::DEFAULT_CHUNK_SIZE);
    assert_decrypt_and_nothing_left(open_into(&dir, &other, &env), &dir);
}

#[test]
fn open_stream_to_scratch_with_another_context_fails_with_decrypt_and_leaves_nothing() {
    let dir = TestDir::new("wrong-context");
    let kek = Kek::generate(&mut OsRng).unwrap();
    let env = seal_for(&kek, b"secret", envelope::DEFAULT_CHUNK_SIZE);
    let key = UnlockKey::Kek { key_id: b"k", version: 1, kek: &kek };
    let globex = EncryptionContext::from_pairs(&[(b"tenant", b"globex"), (b"kind", b"report")]).unwrap();
    let result =
        envelope::open_stream_to_scratch(&mut OsRng, &[key], &globex, &Limits::DEFAULT, &env[..], dir.path());
    assert_decrypt_and_nothing_left(result, &dir);
}

#[test]
fn open_stream_to_scratch_failing_in_a_late_chunk_removes_the_plaintext_already_written() {
    let dir = TestDir::new("late-chunk");
    let kek = Kek::generate(&mut OsRng).unwrap();
    let plain = pattern(10 * MIN_CHUNK_SIZE as usize);
    let mut env = seal_for(&kek, &plain, MIN_CHUNK_SIZE);
    // Flip a byte in the last chunk: the first nine chunks authenticate and
    // are written to the scratch file before the failure.
    let last = env.len() - 3;
    env[last] ^= 0x01;
    assert_decrypt_and_nothing_left(open_into(&dir, &kek, &env), &dir);

    // The same stream through plain open_stream does write the early chunks,
    // which is what the scratch helper has to clean up.
    let key = UnlockKey::Kek { key_id: b"k", version: 1, kek: &kek };
    let mut partial = Vec::new();
    let err = envelope::open_stream(&mut OsRng, &[key], &context(), &Limits::DEFAULT, &env[..], &mut partial)
        .unwrap_err();
    assert!(matches!(err, StreamError::Envelope(Error::Decrypt)));
    assert_eq!(partial, plain[..9 * MIN_CHUNK_SIZE as usize]);
}

#[test]
fn open_stream_to_scratch_of_a_truncated_envelope_fails_with_decrypt_and_leaves_nothing() {
    let dir = TestDir::new("truncated");
    let kek = Kek::generate(&mut OsRng).unwrap();
    let env = seal_for(&kek, &pattern(1000), MIN_CHUNK_SIZE);
    for cut in [0, 10, env.len() / 2, env.len() - 1] {
        assert_decrypt_and_nothing_left(open_into(&dir, &kek, &env[..cut]), &dir);
    }
}
