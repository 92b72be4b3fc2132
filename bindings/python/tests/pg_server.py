"""A throwaway PostgreSQL server for the keystore tests, started as the Rust tests start theirs
(store/src/testing.rs, PostgresServer::start): initdb and pg_ctl from the local installation (the
highest version under /usr/lib/postgresql/*/bin/, else PATH), a fresh data directory in the temp
directory, 127.0.0.1 and a free port, trust authentication. PostgreSQL refuses to run as root, so as
root the server runs as the user `postgres` (which Debian's postgresql package creates) through runuser.

start() returns None when PostgreSQL is not installed and CI is not "true"; under CI=true a missing
PostgreSQL raises (CI must fail loudly, not skip).
"""

import glob
import os
import pathlib
import pwd
import shutil
import socket
import subprocess
import tempfile

SERVER_USER = "postgres"
ROLE = "coffer"
INSTALL_HINT = "apt-get install postgresql"


class PostgresMissing(Exception):
    """PostgreSQL is not installed (no initdb and pg_ctl)."""


def find_binaries():
    """(initdb, pg_ctl): the highest version under /usr/lib/postgresql/*/bin/, else PATH; or None."""
    versions = []
    for bin_dir in glob.glob("/usr/lib/postgresql/*/bin"):
        version = pathlib.Path(bin_dir).parent.name
        initdb, pg_ctl = os.path.join(bin_dir, "initdb"), os.path.join(bin_dir, "pg_ctl")
        if version.isdigit() and os.path.isfile(initdb) and os.path.isfile(pg_ctl):
            versions.append((int(version), initdb, pg_ctl))
    if versions:
        _, initdb, pg_ctl = max(versions)
        return initdb, pg_ctl
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    return (initdb, pg_ctl) if initdb and pg_ctl else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """A running server; stop() stops it (pg_ctl stop -m immediate) and removes its directory."""

    def __init__(self, initdb, pg_ctl):
        self.pg_ctl = pg_ctl
        self.run_as = SERVER_USER if os.geteuid() == 0 else None
        self.dir = tempfile.mkdtemp(prefix="coffer-py-pg-")
        os.chmod(self.dir, 0o700)
        if self.run_as:
            try:
                user = pwd.getpwnam(self.run_as)
            except KeyError:
                raise RuntimeError(
                    f"running as root, and there is no user {self.run_as!r} to run PostgreSQL as "
                    f"(it refuses root): {INSTALL_HINT}, which creates it"
                ) from None
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        self.data = os.path.join(self.dir, "data")
        self.port = None
        self._run(initdb, "-D", self.data, "-A", "trust", "-U", ROLE, "-E", "UTF8", "--locale=C", "--no-sync")
        log = os.path.join(self.dir, "server.log")
        last = ""
        for _ in range(5):  # a port picked here may be taken before the server binds it
            self.port = free_port()
            options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k '{self.dir}' "
                       "-c shared_buffers=16MB -c max_connections=64")
            out = self._run(self.pg_ctl, "-D", self.data, "-l", log, "-w", "-t", "60", "-o", options, "start",
                            check=False)
            if out.returncode == 0:
                return
            last = out.stdout + out.stderr + (open(log).read() if os.path.exists(log) else "")
        self.stop()
        raise RuntimeError(f"pg_ctl start failed:\n{last}")

    def url(self):
        """The URL of the server's `postgres` database (PostgresStore creates its table there)."""
        return f"postgres://{ROLE}@127.0.0.1:{self.port}/postgres"

    def _run(self, program, *args, check=True):
        command = [program, *args]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        out = subprocess.run(command, cwd=self.dir, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if check and out.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({out.returncode}): {out.stdout}{out.stderr}")
        return out

    def stop(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self._run(self.pg_ctl, "-D", self.data, "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def start():
    """A new server, or None when PostgreSQL is not installed outside CI.

    Raises PostgresMissing when it is not installed and CI=true."""
    binaries = find_binaries()
    if binaries is None:
        if os.environ.get("CI") == "true":
            raise PostgresMissing(
                "postgresql is not installed (no initdb and pg_ctl under /usr/lib/postgresql/*/bin/ or on PATH) "
                f"and CI=true: install it with: {INSTALL_HINT}"
            )
        return None
    return PostgresServer(*binaries)
