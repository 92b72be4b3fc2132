"""Envelopes streamed by keystore key (Session.seal_stream / open_stream / open_to_scratch), scratch
files (ScratchFile, coffer.open_to_scratch) and the keystore's rollback guard (generation_file,
Keystore.generation)."""

import gc
import io
import os
import shutil
import stat
import subprocess
import sys

import pytest

import coffer
import keystore_setup
from keystore_setup import PASSPHRASE, login

CTX = {"tenant": "acme", "object": "export-7"}
BIG = bytes(range(256)) * 1200  # 307,200 bytes: five 64 KiB chunks


# Fixtures `path` (a SQLite file in tmp_path) and `ks` (keystore_setup.create on it): conftest.py.


def entries(directory):
    return sorted(os.listdir(directory))


class Boom(Exception):
    pass


class FailingReader(io.RawIOBase):
    """Serves `data` for `good` reads, then raises its own exception."""

    def __init__(self, data, good):
        self.src, self.good, self.error = io.BytesIO(data), good, Boom("the disk went away")

    def readable(self):
        return True

    def read(self, n=-1):
        if self.good == 0:
            raise self.error
        self.good -= 1
        return self.src.read(n)


# ---- streams by handle ----


def test_a_stream_sealed_by_handle_opens_by_handle_in_memory_and_as_a_stream(ks):
    alice = login(ks, "alice")
    kek = alice.generate("exports", "aes256")
    sealed = io.BytesIO()
    assert alice.seal_stream(kek, io.BytesIO(BIG), sealed, CTX) == len(BIG)
    assert BIG[:64] not in sealed.getvalue()
    assert alice.open(kek, sealed.getvalue(), CTX) == BIG
    out = io.BytesIO()
    assert alice.open_stream(kek, io.BytesIO(sealed.getvalue()), out, CTX) == len(BIG)
    assert out.getvalue() == BIG
    # An envelope sealed in memory streams open too, and after a rotation the old version still opens.
    old = alice.seal(kek, b"small", CTX)
    alice.rotate(kek)
    out = io.BytesIO()
    assert alice.open_stream(kek, io.BytesIO(old), out, CTX) == 5
    assert out.getvalue() == b"small"
    uses = [(r.key_id, r.operation) for r in login(ks, "audit").audit() if r.event == "key-used"]
    assert uses == [("exports", "seal"), ("exports", "open"), ("exports", "open"), ("exports", "seal"),
                    ("exports", "open")]


def test_a_failed_open_by_handle_cuts_the_output_back_and_raises_the_right_class(ks):
    alice, bob = login(ks, "alice"), login(ks, "bob")
    kek = alice.generate("exports", "aes256")
    sealed = io.BytesIO()
    alice.seal_stream(kek, io.BytesIO(BIG), sealed, CTX)
    envelope = sealed.getvalue()
    cut = bytearray(envelope)
    cut[-1] ^= 1  # the last chunk does not authenticate: four chunks were written before it
    for bad, context in [(bytes(cut), CTX), (envelope[:-100], CTX), (envelope, {"tenant": "globex"})]:
        out = io.BytesIO(b"kept:")
        out.seek(0, io.SEEK_END)
        with pytest.raises(coffer.DecryptError):
            alice.open_stream(kek, io.BytesIO(bad), out, context)
        assert out.getvalue() == b"kept:"
    # The key's policy is checked before anything is read or written.
    signer = alice.generate("signer", "rsa2048", usage=["sign"])
    untouched = io.BytesIO(envelope)
    with pytest.raises(coffer.PolicyError, match="usage policy"):
        alice.open_stream(signer, untouched, io.BytesIO(), CTX)
    assert untouched.tell() == 0
    with pytest.raises(coffer.PolicyError):
        bob.open_stream(kek, io.BytesIO(envelope), io.BytesIO(), CTX)  # another tenant's key
    with pytest.raises(coffer.PolicyError):
        ks.login_so(keystore_setup.SO_PIN).seal_stream(kek, io.BytesIO(b"x"), io.BytesIO(), CTX)


def test_stream_arguments_are_checked_and_a_file_objects_own_exception_comes_back(ks, tmp_path):
    alice = login(ks, "alice")
    kek = alice.generate("exports", "aes256")
    with pytest.raises(TypeError, match="text file"):
        alice.seal_stream(kek, io.StringIO("text"), io.BytesIO())
    closed = io.BytesIO()
    closed.close()
    with pytest.raises(ValueError, match="closed"):
        alice.open_stream(kek, io.BytesIO(b""), closed)
    with pytest.raises(TypeError):
        alice.seal_stream(kek, b"not a file", io.BytesIO())
    with pytest.raises(TypeError):
        alice.seal_stream("exports", io.BytesIO(b"x"), io.BytesIO())
    reader = FailingReader(BIG, good=2)
    with pytest.raises(Boom) as raised:
        alice.seal_stream(kek, reader, io.BytesIO(), CTX)
    assert raised.value is reader.error
    envelope = alice.seal(kek, BIG, CTX)
    reader = FailingReader(envelope, good=3)
    out = io.BytesIO()
    with pytest.raises(Boom) as raised:
        alice.open_stream(kek, reader, out, CTX)
    assert raised.value is reader.error and out.getvalue() == b""
    # The keystore is still usable after each failure.
    assert alice.open(kek, envelope, CTX) == BIG


# A lock taken twice would hang, not fail: these two run in a child process with a time limit, so a
# deadlock is a red test, not a stuck suite.
REENTRANT = """
import io, coffer, keystore_setup
from keystore_setup import login
ks = keystore_setup.create(":memory:")
alice = login(ks, "alice")
kek = alice.generate("exports", "aes256")
seen = []

class Reentrant(io.RawIOBase):
    def readable(self):
        return True

    def read(self, n=-1):
        try:
            alice.seal(kek, b"inner")
        except coffer.KeystoreError as e:
            seen.append(e)
            raise
        return b""

try:
    alice.seal_stream(kek, Reentrant(), io.BytesIO())
except coffer.KeystoreError as e:
    assert len(seen) == 1 and e is seen[0], (seen, e)
    assert "from inside one of its own operations" in str(e), e
else:
    raise AssertionError("the reentrant call was not refused")
assert alice.open(kek, alice.seal(kek, b"after")) == b"after"

class Closing(io.RawIOBase):
    def readable(self):
        return True

    def read(self, n=-1):
        ks.close()
        return b""

try:
    alice.seal_stream(kek, Closing(), io.BytesIO())
except coffer.KeystoreError as e:
    assert "from inside one of its own operations" in str(e), e
else:
    raise AssertionError("closing the keystore from inside its stream was not refused")
assert alice.open(kek, alice.seal(kek, b"still open")) == b"still open"
ks.close()
print("ok")
"""

FREED_DURING_STREAM = """
import io, threading, coffer, keystore_setup
from keystore_setup import login
ks = keystore_setup.create(":memory:")
alice = login(ks, "alice")
kek = alice.generate("exports", "aes256")
spare = login(ks, "bob")
started, go_on = threading.Event(), threading.Event()
BIG = bytes(range(256)) * 1200

class Slow(io.RawIOBase):
    def __init__(self):
        self.src = io.BytesIO(BIG)

    def readable(self):
        return True

    def read(self, n=-1):
        started.set()
        go_on.wait()
        return self.src.read(n)

out = io.BytesIO()
worker = threading.Thread(target=lambda: alice.seal_stream(kek, Slow(), out))
worker.start()
started.wait()
del spare  # Session's drop runs here, with the GIL held, while the stream holds the keystore's lock
go_on.set()
worker.join()
assert alice.open(kek, out.getvalue()) == BIG
# The freed session was logged out by the next operation: a new login still works, and so does bob.
assert login(ks, "bob").tenant == "globex"
print("ok")
"""


@pytest.mark.parametrize("script", [REENTRANT, FREED_DURING_STREAM], ids=["reentrant-read", "session-freed"])
def test_a_stream_by_handle_never_deadlocks_its_keystore(script):
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        done = subprocess.run([sys.executable, "-c", script], cwd=here, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the keystore deadlocked (the child process did not finish in 60 s)")
    assert done.returncode == 0 and done.stdout == "ok\n", done.stderr


# ---- scratch files ----


def test_open_to_scratch_by_handle_gives_a_private_file_and_failures_leave_nothing(ks, tmp_path):
    alice = login(ks, "alice")
    kek = alice.generate("db-credentials", "aes256")
    envelope = alice.seal(kek, BIG, CTX)
    run = tmp_path / "run"
    run.mkdir()
    with alice.open_to_scratch(kek, io.BytesIO(envelope), run, CTX) as plain:
        assert os.path.dirname(plain.path) == str(run)
        assert os.path.basename(plain.path).startswith(".coffer-scratch-")
        assert stat.S_IMODE(os.stat(plain.path).st_mode) == 0o600
        assert plain.tell() == 0
        assert plain.read() == BIG
    assert plain.closed and entries(run) == []
    # Every failure: the partial file is gone before the exception arrives.
    cut = bytearray(envelope)
    cut[-1] ^= 1
    with pytest.raises(coffer.DecryptError):
        alice.open_to_scratch(kek, io.BytesIO(bytes(cut)), run, CTX)
    assert entries(run) == []
    with pytest.raises(coffer.DecryptError):
        alice.open_to_scratch(kek, io.BytesIO(envelope), run, {"tenant": "globex"})
    assert entries(run) == []
    reader = FailingReader(envelope, good=3)
    with pytest.raises(Boom) as raised:
        alice.open_to_scratch(kek, reader, run, CTX)
    assert raised.value is reader.error and entries(run) == []
    with pytest.raises(coffer.PolicyError):
        login(ks, "bob").open_to_scratch(kek, io.BytesIO(envelope), run, CTX)
    assert entries(run) == []
    with pytest.raises(OSError):
        alice.open_to_scratch(kek, io.BytesIO(envelope), tmp_path / "no-such-dir", CTX)


def test_coffer_open_to_scratch_and_the_shred_overwrites_with_zeros(tmp_path):
    kek = coffer.Kek.generate()
    envelope = coffer.seal(BIG, [coffer.Recipient.kek("reports", kek)], CTX)
    key = [coffer.UnlockKey.kek("reports", kek)]
    plain = coffer.open_to_scratch(io.BytesIO(envelope), key, tmp_path, CTX)
    assert plain.read(10) == BIG[:10] and plain.read() == BIG[10:]
    witness = tmp_path / "witness"
    os.link(plain.path, witness)  # what the disk holds after the shred
    plain.shred()
    assert not os.path.exists(plain.path) and plain.closed
    assert witness.read_bytes() == bytes(len(BIG)), "the scratch file was not overwritten with zeros"
    witness.unlink()
    plain.shred()  # again: nothing to do
    with pytest.raises(ValueError, match="shredded"):
        plain.read()
    with pytest.raises(coffer.DecryptError):
        coffer.open_to_scratch(io.BytesIO(envelope), [coffer.UnlockKey.kek("reports", coffer.Kek.generate())],
                               tmp_path, CTX)
    assert entries(tmp_path) == []
    with pytest.raises(TypeError):
        coffer.open_to_scratch(io.BytesIO(envelope), key, 42, CTX)


def test_a_scratch_file_behaves_as_a_binary_file_and_a_with_block_shreds_it_on_an_exception(tmp_path):
    with pytest.raises(Boom):
        with coffer.ScratchFile.create(tmp_path) as scratch:
            assert scratch.write(b"0123456789") == 10
            assert scratch.seek(2) == 2 and scratch.read(3) == b"234" and scratch.tell() == 5
            assert scratch.seek(-1, 2) == 9 and scratch.read() == b"9"
            assert scratch.seek(2, 0) == 2 and scratch.seek(1, 1) == 3
            assert scratch.truncate() == 3 and scratch.seek(0) == 0 and scratch.read() == b"012"
            assert os.fstat(scratch.fileno()).st_size == 3
            assert scratch.readable() and scratch.writable() and scratch.seekable()
            raise Boom()
    assert scratch.closed and entries(tmp_path) == []
    assert repr(scratch).endswith(", shredded)")
    for call in [lambda: scratch.write(b"x"), scratch.tell, scratch.flush, scratch.fileno]:
        with pytest.raises(ValueError):
            call()
    other = coffer.ScratchFile.create(tmp_path)
    with pytest.raises(ValueError, match="whence"):
        other.seek(0, 3)
    with pytest.raises(ValueError, match="negative"):
        other.seek(-1)
    other.write(b"handed on")
    other.remove()
    assert entries(tmp_path) == []
    # Freed without a shred: removed all the same.
    left = coffer.ScratchFile.create(tmp_path)
    left.write(b"forgotten")
    del left
    gc.collect()
    assert entries(tmp_path) == []
    with pytest.raises(OSError):
        coffer.ScratchFile.create(tmp_path / "missing")


def test_a_scratch_file_is_an_output_for_open_stream_and_is_cut_back_on_failure(tmp_path):
    kek = coffer.Kek.generate()
    envelope = coffer.seal(BIG, [coffer.Recipient.kek("k", kek)], CTX)
    with coffer.ScratchFile.create(tmp_path) as scratch:
        assert coffer.open_stream(io.BytesIO(envelope), scratch, [coffer.UnlockKey.kek("k", kek)], CTX) == len(BIG)
        scratch.seek(0)
        assert scratch.read() == BIG
        with pytest.raises(coffer.DecryptError):
            coffer.open_stream(io.BytesIO(envelope[:-1]), scratch, [coffer.UnlockKey.kek("k", kek)], CTX)
        assert os.path.getsize(scratch.path) == len(BIG), "the failed open was not cut back"


# ---- the rollback guard ----


def test_a_store_restored_from_an_older_copy_is_refused_by_its_generation_file(ks, path, tmp_path):
    counter = path + ".generation"  # the default, as the CLI's --generation-file
    alice = login(ks, "alice")
    kek = alice.generate("records", "aes256")
    first = ks.generation()
    assert int(open(counter).read()) == first
    ks.close()
    backup = tmp_path / "backup.db"
    shutil.copyfile(path, backup)

    again = coffer.Keystore.open(path, passphrase=PASSPHRASE)
    assert again.generation() == first
    login(again, "alice").rotate(kek)
    later = again.generation()
    assert later > first and int(open(counter).read()) == later
    again.close()

    shutil.copyfile(backup, path)  # restored from the older copy
    with pytest.raises(coffer.KeystoreError, match="older than its generation file") as refused:
        coffer.Keystore.open(path, passphrase=PASSPHRASE)
    assert type(refused.value) is coffer.KeystoreError
    # Another generation file (where this copy is known) opens it; the guard then follows it.
    elsewhere = tmp_path / "elsewhere.generation"
    restored = coffer.Keystore.open(path, passphrase=PASSPHRASE, generation_file=elsewhere)
    assert restored.generation() == first and int(elsewhere.read_text()) == first
    restored.close()


def test_the_generation_file_is_never_a_link_or_a_directory(path, tmp_path):
    target = tmp_path / "target"
    target.write_text("5\n")
    link = tmp_path / "link.generation"
    link.symlink_to(target)
    with pytest.raises(coffer.InvalidInput, match="not a regular file"):
        keystore_setup.create(path, generation_file=link)
    assert not os.path.exists(path), "a refused create left a store behind"
    ks = keystore_setup.create(path)
    ks.close()
    with pytest.raises(coffer.InvalidInput, match="not a regular file"):
        coffer.Keystore.open(path, passphrase=PASSPHRASE, generation_file=tmp_path)
    assert target.read_text() == "5\n"


def test_a_generation_file_ahead_of_a_new_store_is_refused_at_create(path, tmp_path):
    counter = tmp_path / "ahead.generation"
    counter.write_text("1000000\n")
    with pytest.raises(coffer.KeystoreError, match="older than its generation file"):
        keystore_setup.create(path, generation_file=counter)
    assert not os.path.exists(path)
    assert counter.read_text() == "1000000\n"
