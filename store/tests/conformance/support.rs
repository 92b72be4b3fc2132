//! Scaffolding for the tests: temp directories, a tmpfs, child processes
//! of this test binary, and a small random number generator.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use coffer_store::{RecordStore, StoreError};

/// Tells a re-executed test binary which role to play.
pub const ROLE_VAR: &str = "COFFER_STORE_TEST_ROLE";
/// The SQLite path or PostgreSQL URL the child works on.
pub const TARGET_VAR: &str = "COFFER_STORE_TEST_TARGET";
/// The writer number of a `writer-*` child.
pub const WRITER_VAR: &str = "COFFER_STORE_TEST_WRITER";

/// Transactions per counter worker (thread or process).
pub const INCREMENTS: u64 = 50;
/// Counter workers (threads or processes).
pub const WORKERS: u64 = 16;
/// The counter's key.
pub const COUNTER: &[u8] = b"counter";

/// Says on the process's stderr (which the test harness does not
/// capture) that `test` did not check anything, and why.
pub fn skipped(test: &str, why: &str) {
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED: {test}: {why}");
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(what: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
        let dir = std::env::temp_dir().join(format!(
            "coffer-store-{what}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A tmpfs of `size` mounted on a fresh temp dir; unmounted on drop (also
/// when the test panics).
pub struct Tmpfs(TempDir);

impl Tmpfs {
    pub fn mount(size: &str) -> Result<Tmpfs, String> {
        let dir = TempDir::new("tmpfs");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("running mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(Tmpfs(dir))
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // A child process forked by another test holds our files for the
        // moment between fork and exec: the file system may be busy.
        for _ in 0..50 {
            let unmounted = Command::new("umount").arg(self.0.path()).stderr(Stdio::null()).status();
            if unmounted.is_ok_and(|s| s.success()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = Command::new("umount").arg("--lazy").arg(self.0.path()).status();
    }
}

pub fn effective_uid_is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(2) == Some("0")
}

/// xorshift64*: random kill moments, seeded from the clock (the seed is
/// printed so that a failing run can be replayed by hand).
pub struct Rng(u64);

impl Rng {
    pub fn from_clock() -> Rng {
        let seed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
        eprintln!("rng seed {seed:#x}");
        Rng(seed)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// This test binary, run again for exactly the test `test`, playing
/// `role` on `target`.
pub fn child(test: &str, role: &str, target: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([test, "--exact", "--nocapture", "--test-threads=1", "-q"])
        .env(ROLE_VAR, role)
        .env(TARGET_VAR, target)
        .stdin(Stdio::null());
    command
}

/// The role this process plays, if it is a child.
pub fn role() -> Option<(String, String)> {
    let role = std::env::var(ROLE_VAR).ok()?;
    Some((role, std::env::var(TARGET_VAR).unwrap()))
}

/// One counter transaction: read, add one, write, commit. Returns the
/// value read.
pub fn increment(store: &mut dyn RecordStore) -> Result<u64, StoreError> {
    let mut tx = store.begin()?;
    let current = match tx.get(COUNTER)? {
        Some(bytes) => u64::from_be_bytes(bytes.try_into().unwrap()),
        None => 0,
    };
    tx.put(COUNTER, &(current + 1).to_be_bytes())?;
    tx.commit()?;
    Ok(current)
}

pub fn read_counter(store: &mut dyn RecordStore) -> u64 {
    let mut tx = store.begin().unwrap();
    tx.get(COUNTER).unwrap().map_or(0, |b| u64::from_be_bytes(b.try_into().unwrap()))
}

/// Child role `counter`: [`INCREMENTS`] increments, each of which must
/// succeed.
pub fn counter_child(store: &mut dyn RecordStore) {
    for i in 0..INCREMENTS {
        if let Err(e) = increment(store) {
            panic!("increment {i} failed: {e:?} ({e})");
        }
    }
}

/// Runs [`WORKERS`] children of `test` in role `role`, waits for all and
/// asserts that each succeeded.
pub fn run_counter_children(test: &str, role: &str, target: &str) {
    let children: Vec<Child> = (0..WORKERS)
        .map(|_| child(test, role, target).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap())
        .collect();
    for (i, c) in children.into_iter().enumerate() {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "counter process {i} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The key and value a writer commits as its `n`th record.
pub fn record(writer: u64, n: u64) -> (Vec<u8>, Vec<u8>) {
    (format!("w{writer}-{n}").into_bytes(), format!("value {n} of writer {writer}").into_bytes())
}

/// Child role `writer`: commits `record(writer, 0)`, `record(writer, 1)`,
/// ... and prints `acked <n>` after each commit returned, until killed
/// (or 60 s pass, so that an orphan does not run for ever).
pub fn writer_child(store: &mut dyn RecordStore) {
    let writer: u64 = std::env::var(WRITER_VAR).unwrap().parse().unwrap();
    let started = Instant::now();
    let mut stdout = std::io::stdout().lock();
    for n in 0.. {
        let (k, v) = record(writer, n);
        let mut tx = store.begin().unwrap();
        tx.put(&k, &v).unwrap();
        tx.commit().unwrap();
        writeln!(stdout, "acked {n}").unwrap();
        stdout.flush().unwrap();
        if started.elapsed() > Duration::from_secs(60) {
            return;
        }
    }
}

/// A running writer process and the thread collecting its acks.
pub struct Writer {
    pub id: u64,
    child: Child,
    acks: JoinHandle<Vec<u64>>,
}

impl Writer {
    pub fn spawn(test: &str, role: &str, target: &str, id: u64) -> Writer {
        let mut child = child(test, role, target)
            .env(WRITER_VAR, id.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let acks = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|line| line.strip_prefix("acked ").and_then(|n| n.parse().ok()))
                .collect()
        });
        Writer { id, child, acks }
    }

    /// SIGKILLs the writer and returns every `n` it acked.
    pub fn kill(mut self) -> Vec<u64> {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.acks.join().unwrap()
    }
}

/// Runs 8 writers and SIGKILLs one at a random moment, restarting it as a
/// new writer, until `kills` writers died; then kills the rest. Returns
/// (writer, acked n) for every ack read.
pub fn kill_writers_at_random(test: &str, role: &str, target: &str, kills: usize) -> Vec<(u64, u64)> {
    let mut rng = Rng::from_clock();
    let mut next_id = 0;
    let spawn = |next_id: &mut u64| {
        *next_id += 1;
        Writer::spawn(test, role, target, *next_id)
    };
    let mut writers: Vec<Writer> = (0..8).map(|_| spawn(&mut next_id)).collect();
    let mut acked = Vec::new();
    for _ in 0..kills {
        std::thread::sleep(Duration::from_millis(5 + rng.below(45)));
        let slot = rng.below(writers.len() as u64) as usize;
        let fresh = spawn(&mut next_id);
        let victim = std::mem::replace(&mut writers[slot], fresh);
        let id = victim.id;
        acked.extend(victim.kill().into_iter().map(|n| (id, n)));
    }
    for victim in writers {
        let id = victim.id;
        acked.extend(victim.kill().into_iter().map(|n| (id, n)));
    }
    acked
}

/// Asserts that every acked record is in `store` with its value.
pub fn assert_all_acked_present(store: &mut dyn RecordStore, acked: &[(u64, u64)]) {
    let mut tx = store.begin().unwrap();
    for &(writer, n) in acked {
        let (k, v) = record(writer, n);
        assert_eq!(tx.get(&k).unwrap(), Some(v), "writer {writer} acked record {n}, which is missing");
    }
}
