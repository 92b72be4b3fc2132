//! Where a command's output goes, and the rules every output follows
//! (also in `coffer --help` and README "What coffer writes"):
//!
//! - no `--out`, or `--out -`: stdout. Binary output is refused when stdout
//!   is a terminal unless `--out -` was given explicitly.
//! - a path that does not exist: the bytes go to a temporary file (mode 0600)
//!   in the same directory, which is synced and linked into place only when
//!   the command succeeded; a file that appears there meanwhile is kept
//!   (on a file system without hard links the temporary file is renamed
//!   after a last check that the name is free).
//! - an existing regular file: refused unless `--force`, which replaces it
//!   (by rename, so readers see the old or the new file, never a mix) only
//!   when the command succeeded.
//! - a symbolic link or a directory: refused; a link is never followed or replaced.
//! - a character or block device, a FIFO or a socket: written directly.
//!
//! The temporary files are removed on every exit path: errors, and SIGINT,
//! SIGTERM or SIGHUP (see [`crate::interrupt`]); those holding plaintext
//! are overwritten with zeros first on the error path.

use std::fs::{self, File, OpenOptions};
use std::io::{self, IsTerminal, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::fail::{Fail, Result, exit};
use crate::interrupt::Registration;

/// `--force` of this run (set once by `main`).
static FORCE: OnceLock<bool> = OnceLock::new();

/// Records the global `--force` flag for every output of this run.
pub fn set_force(force: bool) {
    let _ = FORCE.set(force);
}

fn force() -> bool {
    FORCE.get().copied().unwrap_or(false)
}

/// Who may read a file coffer writes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Access {
    /// Private keys, unwrapped key material, plaintext: mode 0600, and the
    /// temporary file is overwritten with zeros when the command fails.
    Private,
    /// Certificates, public keys, envelopes, signatures: mode 0644.
    Public,
}

impl Access {
    fn mode(self) -> u32 {
        match self {
            Access::Private => 0o600,
            Access::Public => 0o644,
        }
    }
}

/// What an output is, decided before the command does any work.
#[derive(Debug)]
pub enum Target {
    /// stdout (no `--out`, or `--out -`).
    Stdout,
    /// A device, FIFO or socket, written directly.
    Special(PathBuf),
    /// A regular file, created (`replace: false`) or replaced (`--force`).
    File { path: PathBuf, replace: bool },
}

impl Target {
    /// Classifies `path` (`None` or `-` is stdout) and refuses what must
    /// not be written: a symlink, a directory, an existing file without
    /// `--force`, and binary output to a terminal unless `-` was explicit.
    pub fn plan(path: Option<&Path>, binary: bool) -> Result<Target> {
        let path = match path {
            None => {
                if binary && io::stdout().is_terminal() {
                    return Err(Fail::usage("refusing to write binary output to a terminal")
                        .hint("give --out FILE, redirect stdout (> FILE, | program), or --out - to insist"));
                }
                return Ok(Target::Stdout);
            }
            Some(p) if p == Path::new("-") => return Ok(Target::Stdout),
            Some(p) => p,
        };
        match fs::symlink_metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let dir = parent_dir(path);
                match fs::metadata(&dir) {
                    Ok(m) if m.is_dir() => Ok(Target::File { path: path.to_path_buf(), replace: false }),
                    Ok(_) => Err(Fail::new(exit::IO, format!("{}: not a directory", dir.display()))),
                    Err(e) => Err(Fail::io(format!("{}: the output's directory", dir.display()), &e)),
                }
            }
            Err(e) => Err(Fail::io(format!("{}", path.display()), &e)),
            Ok(m) => {
                let t = m.file_type();
                if t.is_symlink() {
                    Err(Fail::usage(format!(
                        "{} is a symbolic link: coffer never writes through one",
                        path.display()
                    ))
                    .hint("give the path it points to, or remove the link"))
                } else if t.is_dir() {
                    Err(Fail::usage(format!("{} is a directory", path.display()))
                        .hint("give a file name inside it"))
                } else if t.is_char_device() || t.is_block_device() || t.is_fifo() || t.is_socket() {
                    Ok(Target::Special(path.to_path_buf()))
                } else if force() {
                    Ok(Target::File { path: path.to_path_buf(), replace: true })
                } else {
                    Err(Fail::usage(format!("{} exists", path.display()))
                        .hint("add --force to replace it (only once the command has succeeded), or choose another path"))
                }
            }
        }
    }

    /// Whether this is stdout or a special file, where nothing can be
    /// taken back once written.
    pub fn is_direct(&self) -> bool {
        !matches!(self, Target::File { .. })
    }

    /// Runs `write` against the output. For a file it writes a temporary
    /// file that is put in place only when `write` and the sync succeeded.
    pub fn write_with<T>(
        &self,
        access: Access,
        write: impl FnOnce(&mut dyn Write) -> Result<T>,
    ) -> Result<T> {
        match self {
            Target::Stdout => {
                let mut out = io::stdout().lock();
                let r = write(&mut out)?;
                out.flush().map_err(|e| stdout_fail(&e))?;
                Ok(r)
            }
            Target::Special(path) => {
                let mut f = open_special(path)?;
                let r = write(&mut f)?;
                f.flush().map_err(|e| Fail::io(format!("writing {}", path.display()), &e))?;
                Ok(r)
            }
            Target::File { path, replace } => {
                let mut pending = Pending::create(path, access)?;
                let r = write(&mut pending.file)?;
                pending.commit(*replace)?;
                Ok(r)
            }
        }
    }

    /// Copies `file` from where it stands to its end into the output
    /// (stdout and special files through `io::copy` on the concrete types,
    /// which lets Linux move the bytes in the kernel).
    pub fn copy_from(&self, file: &mut File) -> Result<()> {
        match self {
            Target::Stdout => {
                let mut out = io::stdout().lock();
                io::copy(file, &mut out).and_then(|_| out.flush()).map_err(|e| stdout_fail(&e))
            }
            Target::Special(path) => {
                let mut out = open_special(path)?;
                io::copy(file, &mut out).map(drop).map_err(|e| self.fail(&e))
            }
            Target::File { .. } => self
                .write_with(Access::Private, |out| io::copy(file, out).map(drop).map_err(|e| self.fail(&e))),
        }
    }

    /// Writes `bytes` whole.
    pub fn write_bytes(&self, access: Access, bytes: &[u8]) -> Result<()> {
        self.write_with(access, |out| out.write_all(bytes).map_err(|e| self.fail(&e)))
    }

    /// The failure of a write to this target, naming it.
    pub fn fail(&self, e: &io::Error) -> Fail {
        match self {
            Target::Stdout => stdout_fail(e),
            Target::Special(p) | Target::File { path: p, .. } => {
                Fail::io(format!("writing {}", p.display()), e)
            }
        }
    }
}

/// A write to stdout failed: the reader going away (`| head`) ends the
/// command quietly with exit 0 ([`Fail::reader_gone`], after the usual
/// clean-up on the way out); anything else is an I/O failure.
pub fn stdout_fail(e: &io::Error) -> Fail {
    if e.kind() == io::ErrorKind::BrokenPipe { Fail::reader_gone() } else { Fail::io("writing to stdout", e) }
}

fn parent_dir(path: &Path) -> PathBuf {
    path.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Opens a device, FIFO or socket for writing, checking that what was
/// opened is what [`Target::plan`] saw (not a file or link swapped in since).
fn open_special(path: &Path) -> Result<File> {
    let seen = fs::symlink_metadata(path).map_err(|e| Fail::io(format!("{}", path.display()), &e))?;
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| Fail::io(format!("opening {}", path.display()), &e))?;
    let opened = f.metadata().map_err(|e| Fail::io(format!("{}", path.display()), &e))?;
    if opened.dev() != seen.dev() || opened.ino() != seen.ino() || opened.file_type().is_file() {
        return Err(Fail::new(exit::IO, format!("{} changed while it was being opened", path.display())));
    }
    Ok(f)
}

/// A temporary file beside an output, put in place by [`Pending::commit`],
/// otherwise removed when dropped (overwritten first if private).
pub struct Pending {
    pub file: File,
    tmp: PathBuf,
    target: PathBuf,
    access: Access,
    done: bool,
    registration: Registration,
}

impl Pending {
    /// Creates `.<name>.coffer-tmp-<pid>-<n>` beside `target`, mode 0600.
    pub fn create(target: &Path, access: Access) -> Result<Pending> {
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let dir = parent_dir(target);
        let mut last = None;
        // The name need not be secret: it is created exclusively (O_EXCL), 0600.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        for attempt in 0..8u32 {
            let tmp = dir.join(format!(".{name}.coffer-tmp-{}-{nanos:x}{attempt}", std::process::id()));
            // Registered before it exists, so a signal during the create still removes it.
            let registration = Registration::new(&tmp);
            match OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp) {
                Ok(file) => {
                    return Ok(Pending {
                        file,
                        tmp,
                        target: target.to_path_buf(),
                        access,
                        done: false,
                        registration,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => {
                    return Err(Fail::io(format!("creating a temporary file in {}", dir.display()), &e));
                }
            }
        }
        let e = last.unwrap_or_else(|| io::Error::other("no free temporary name"));
        Err(Fail::io(format!("creating a temporary file in {}", dir.display()), &e))
    }

    /// Syncs the file and puts it in place: linked to a free name
    /// (`replace: false`, never over a file that appeared meanwhile) or
    /// renamed over the existing regular file (`--force`).
    pub fn commit(mut self, replace: bool) -> Result<()> {
        let name = self.target.display().to_string();
        self.file.sync_all().map_err(|e| Fail::io(format!("writing {name}"), &e))?;
        self.file
            .set_permissions(fs::Permissions::from_mode(self.access.mode()))
            .map_err(|e| Fail::io(format!("setting the mode of {name}"), &e))?;
        // Holding the registry lock: a signal arriving now waits until the
        // file is either in place or still a temporary to remove.
        let held = self.registration.hold();
        if replace {
            match fs::symlink_metadata(&self.target) {
                Ok(m) if m.file_type().is_file() => {}
                Ok(_) => {
                    return Err(Fail::new(
                        exit::IO,
                        format!("{name} is no longer a regular file; not replaced"),
                    ));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Fail::io(name, &e)),
            }
            fs::rename(&self.tmp, &self.target).map_err(|e| Fail::io(format!("renaming into {name}"), &e))?;
        } else {
            match fs::hard_link(&self.tmp, &self.target) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(appeared(&name)),
                // A file system without hard links (FAT, some network
                // mounts): rename, after checking the name is still free.
                Err(_) => match fs::symlink_metadata(&self.target) {
                    Err(e) if e.kind() == io::ErrorKind::NotFound => fs::rename(&self.tmp, &self.target)
                        .map_err(|e| Fail::io(format!("renaming into {name}"), &e))?,
                    _ => return Err(appeared(&name)),
                },
            }
            // The file now has two names; the temporary one goes.
            let _ = fs::remove_file(&self.tmp);
        }
        held.unregister();
        self.done = true;
        // The new directory entry survives a crash.
        if let Ok(dir) = File::open(parent_dir(&self.target)) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if self.access == Access::Private {
            let _ = crate::interrupt::overwrite_with_zeros(&mut self.file);
        }
        let _ = fs::remove_file(&self.tmp);
    }
}

/// A file that took the output's name while coffer was writing: it is kept.
fn appeared(name: &str) -> Fail {
    Fail::usage(format!("{name} appeared while coffer was writing; it was kept"))
        .hint("add --force to replace it, or choose another path")
}
