//! A throwaway PostgreSQL server for tests (feature `postgres-server`,
//! Unix only).
//!
//! [`PostgresServer::start`] runs `initdb` and `pg_ctl` from the local
//! PostgreSQL installation (the highest version under
//! `/usr/lib/postgresql/*/bin/`, else `PATH`) on a fresh data directory in
//! the system's temp directory, on 127.0.0.1 and a free port, with `fsync`
//! on (durability is what the tests check). PostgreSQL refuses to run as
//! root: when the tests do, the server runs as the user `postgres` (which
//! Debian's `postgresql` package creates) through `runuser` (or `su`).
//! Dropping the [`PostgresServer`] stops it (`pg_ctl stop -m immediate`)
//! and removes its directory. Each call starts its own server, so tests
//! may run side by side.
//!
//! ```no_run
//! use coffer_store::testing::PostgresServer;
//! use coffer_store::{PostgresStore, RecordStore};
//!
//! let Some(server) = PostgresServer::start()? else {
//!     return Ok(()); // not installed (and not in CI): a SKIPPED line was printed
//! };
//! let mut store = PostgresStore::connect(&server.url()).map_err(|e| e.to_string())?;
//! let mut tx = store.begin().map_err(|e| e.to_string())?;
//! tx.put(b"k", b"v").map_err(|e| e.to_string())?;
//! tx.commit().map_err(|e| e.to_string())?;
//! # Ok::<(), String>(())
//! ```

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The unprivileged user the server runs as when the tests run as root.
const SERVER_USER: &str = "postgres";
/// The superuser role `initdb` creates, and the database for the tests.
const ROLE: &str = "coffer";
const DATABASE: &str = "coffer";

static SERVERS: AtomicU32 = AtomicU32::new(0);

/// A PostgreSQL server started for one test; stopped and deleted on drop.
#[derive(Debug)]
pub struct PostgresServer {
    dir: PathBuf,
    data: PathBuf,
    pg_ctl: PathBuf,
    run_as: Option<String>,
    port: u16,
}

impl PostgresServer {
    /// Starts a server with an empty database `coffer` that the role
    /// `coffer` owns (trust authentication, 127.0.0.1 only).
    ///
    /// Returns `Ok(None)` when PostgreSQL is not installed and the
    /// environment variable `CI` is not `true`, after printing one line
    /// `SKIPPED: <test>: PostgreSQL server not installed; ...` to stderr
    /// (`<test>` is the name of the current thread, which the test harness
    /// names after the test).
    ///
    /// # Errors
    /// A message saying what failed: PostgreSQL missing under `CI=true`
    /// (CI must fail loudly, not skip), no `postgres` user to run it as
    /// under root, or `initdb`, `pg_ctl start` or `CREATE DATABASE`
    /// failing (with their output).
    pub fn start() -> Result<Option<PostgresServer>, String> {
        let Some((initdb, pg_ctl)) = find_binaries() else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                return Err("postgresql is not installed (no initdb and pg_ctl under /usr/lib/postgresql/*/bin/ or on PATH) \
                     and CI=true: install it with: apt-get install -y postgresql"
                    .to_string());
            }
            let current = std::thread::current();
            let test = current.name().unwrap_or("a PostgreSQL test");
            // Straight to the process's stderr: the test harness captures
            // `eprintln!` and drops what a passing test printed.
            let _ = writeln!(
                std::io::stderr().lock(),
                "SKIPPED: {test}: PostgreSQL server not installed; install it with: apt-get install -y postgresql"
            );
            return Ok(None);
        };
        let run_as = if effective_uid_is_root() { Some(SERVER_USER.to_string()) } else { None };
        let dir = make_dir(run_as.as_deref())?;
        let mut server = PostgresServer { data: dir.join("data"), dir, pg_ctl, run_as, port: 0 };

        let data = path_str(&server.data)?;
        let out = server.run(
            &initdb,
            &["-D", &data, "-A", "trust", "-U", ROLE, "-E", "UTF8", "--locale=C", "--no-sync"],
        )?;
        check(&out, "initdb")?;

        // A port picked by the kernel may be taken again before the server
        // binds it (by another test's server): try a few.
        let socket_dir = path_str(&server.dir)?;
        let log = path_str(&server.dir.join("server.log"))?;
        let mut last = String::new();
        for _ in 0..5 {
            server.port = free_port()?;
            let options = format!(
                "-c listen_addresses=127.0.0.1 -p {} -k '{socket_dir}' -c fsync=on -c synchronous_commit=on \
                 -c shared_buffers=16MB -c max_connections=64",
                server.port
            );
            let out = server
                .run(&server.pg_ctl, &["-D", &data, "-l", &log, "-w", "-t", "60", "-o", &options, "start"])?;
            if out.status.success() {
                server.create_database()?;
                return Ok(Some(server));
            }
            last = format!(
                "pg_ctl start failed: {}{}\nserver log:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        Err(last)
    }

    /// The URL of the `coffer` database, for
    /// [`crate::PostgresStore::connect`]: `postgres://coffer@127.0.0.1:PORT/coffer`.
    pub fn url(&self) -> String {
        format!("postgres://{ROLE}@127.0.0.1:{}/{DATABASE}", self.port)
    }

    /// The TCP port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    fn create_database(&self) -> Result<(), String> {
        let admin = format!("host=127.0.0.1 port={} user={ROLE} dbname=postgres", self.port);
        let mut client = postgres::Client::connect(&admin, postgres::NoTls)
            .map_err(|e| format!("connecting to the test server: {e}"))?;
        client
            .batch_execute(&format!("CREATE DATABASE {DATABASE}"))
            .map_err(|e| format!("CREATE DATABASE {DATABASE}: {e}"))
    }

    /// Runs `program` with `args`, as [`SERVER_USER`] when we are root.
    fn run(&self, program: &Path, args: &[&str]) -> Result<Output, String> {
        let program = path_str(program)?;
        let mut command = match &self.run_as {
            None => {
                let mut c = Command::new(&program);
                c.args(args);
                c
            }
            Some(user) if Path::new("/usr/sbin/runuser").exists() || Path::new("/sbin/runuser").exists() => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--", &program]).args(args);
                c
            }
            Some(user) => {
                let mut line = shell_quote(&program);
                for a in args {
                    line.push(' ');
                    line.push_str(&shell_quote(a));
                }
                let mut c = Command::new("su");
                c.args([user.as_str(), "-s", "/bin/sh", "-c", &line]);
                c
            }
        };
        // The server user may not be able to enter the test's directory.
        command.current_dir(&self.dir).stdin(Stdio::null());
        command.output().map_err(|e| format!("running {program}: {e}"))
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        if self.data.join("postmaster.pid").exists()
            && let Ok(data) = path_str(&self.data)
        {
            // Errors are ignored: the directory goes below in any case.
            let _ = self.run(&self.pg_ctl, &["-D", &data, "-m", "immediate", "-w", "stop"]);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `initdb` and `pg_ctl`: the highest version under
/// `/usr/lib/postgresql/*/bin/`, else the first on `PATH`.
fn find_binaries() -> Option<(PathBuf, PathBuf)> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some((bin.join("initdb"), bin.join("pg_ctl")));
    }
    let path = std::env::var_os("PATH")?;
    let find = |name: &str| std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file());
    Some((find("initdb")?, find("pg_ctl")?))
}

/// Whether this process runs with effective uid 0 (from
/// `/proc/self/status`, else `id -u`).
fn effective_uid_is_root() -> bool {
    let from_proc = std::fs::read_to_string("/proc/self/status").ok().and_then(|status| {
        let line = status.lines().find(|l| l.starts_with("Uid:"))?;
        line.split_whitespace().nth(2).map(|euid| euid == "0")
    });
    from_proc.unwrap_or_else(|| {
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
    })
}

/// A new directory for one server, owned by `owner` when given.
fn make_dir(owner: Option<&str>) -> Result<PathBuf, String> {
    let n = SERVERS.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("coffer-pg-{}-{n}-{nanos}", std::process::id()));
    let mut builder = std::fs::DirBuilder::new();
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    if let Some(user) = owner {
        let (uid, gid) = user_ids(user)?;
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
            .map_err(|e| format!("chown {user} {}: {e}", dir.display()))?;
    }
    Ok(dir)
}

/// The uid and gid of `user`, from `/etc/passwd`.
fn user_ids(user: &str) -> Result<(u32, u32), String> {
    let passwd = std::fs::read_to_string("/etc/passwd").map_err(|e| format!("reading /etc/passwd: {e}"))?;
    passwd
        .lines()
        .find_map(|line| {
            let mut fields = line.split(':');
            if fields.next()? != user {
                return None;
            }
            let _password = fields.next()?;
            Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
        })
        .ok_or_else(|| {
            format!(
                "running as root, and there is no user '{user}' to run PostgreSQL as (it refuses root): \
                 install the postgresql package, which creates it"
            )
        })
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("picking a free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| format!("picking a free port: {e}"))
}

fn check(out: &Output, what: &str) -> Result<(), String> {
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn path_str(path: &Path) -> Result<String, String> {
    path.to_str().map(ToString::to_string).ok_or_else(|| format!("path is not UTF-8: {}", path.display()))
}

/// `s` in single quotes for `sh -c`.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
