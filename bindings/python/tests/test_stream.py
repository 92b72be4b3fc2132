"""seal_stream and open_stream over Python file objects: round trips against seal/open, refusals that
release nothing, the file object's own exceptions, bad file objects, and constant memory."""

import io
import os
import subprocess
import sys
import textwrap
import threading

import pytest

import coffer

CTX = {"tenant": "acme"}
CHUNK = 256  # the smallest chunk size: many chunks from little data


@pytest.fixture(scope="module")
def kek():
    return coffer.Kek.generate()


@pytest.fixture(scope="module")
def recipients(kek):
    return [coffer.Recipient.kek("k", kek)]


@pytest.fixture(scope="module")
def keys(kek):
    return [coffer.UnlockKey.kek("k", kek)]


def stream_sealed(plaintext, recipients, context=CTX, chunk_size=CHUNK):
    out = io.BytesIO()
    assert coffer.seal_stream(io.BytesIO(plaintext), out, recipients, context, chunk_size=chunk_size) == len(plaintext)
    return out.getvalue()


class ChunkReader:
    """A reader that hands out `data` a few bytes at a time (short reads, as pipes give)."""

    def __init__(self, data, step=100):
        self.data, self.step, self.at = data, step, 0

    def read(self, n):
        piece = self.data[self.at:self.at + min(n, self.step)]
        self.at += len(piece)
        return piece


class ListWriter:
    """A non-seekable writer that keeps what it is given."""

    def __init__(self):
        self.parts = []

    def write(self, b):
        self.parts.append(bytes(b))
        return len(b)

    def value(self):
        return b"".join(self.parts)


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 10_000])
def test_a_stream_sealed_envelope_opens_with_open_and_with_open_stream(recipients, keys, size):
    plaintext = os.urandom(size)
    envelope = stream_sealed(plaintext, recipients)
    assert coffer.open(envelope, keys, CTX) == plaintext
    out = io.BytesIO()
    assert coffer.open_stream(io.BytesIO(envelope), out, keys, CTX) == size
    assert out.getvalue() == plaintext
    info = coffer.inspect(envelope)
    assert (info["chunk_size"], info["plaintext_len"]) == (CHUNK, size)


@pytest.mark.parametrize("size", [0, 1, 65_536, 65_537, 200_000])
def test_an_envelope_from_seal_opens_with_open_stream_and_matches_a_stream_sealed_one(recipients, keys, size):
    plaintext = os.urandom(size)
    envelope = coffer.seal(plaintext, recipients, CTX)
    out = io.BytesIO()
    assert coffer.open_stream(io.BytesIO(envelope), out, keys, CTX) == size
    assert out.getvalue() == plaintext
    # Same default chunk size, same layout: only the random parts differ.
    streamed = stream_sealed(plaintext, recipients, chunk_size=65_536)
    a, b = coffer.inspect(envelope), coffer.inspect(streamed)
    assert a == b


def test_short_reads_and_a_non_seekable_writer_round_trip(recipients, keys):
    plaintext = os.urandom(5000)
    sealed = ListWriter()
    coffer.seal_stream(ChunkReader(plaintext, step=7), sealed, recipients, CTX, chunk_size=CHUNK)
    opened = ListWriter()
    coffer.open_stream(ChunkReader(sealed.value(), step=33), opened, keys, CTX)
    assert opened.value() == plaintext


def test_real_files_round_trip(tmp_path, recipients, keys):
    plaintext = os.urandom(70_000)
    (tmp_path / "plain").write_bytes(plaintext)
    with open(tmp_path / "plain", "rb") as src, open(tmp_path / "sealed", "wb") as dst:
        coffer.seal_stream(src, dst, recipients, CTX)
    with open(tmp_path / "sealed", "rb") as src, open(tmp_path / "opened", "wb") as dst:
        coffer.open_stream(src, dst, keys, CTX)
    assert (tmp_path / "opened").read_bytes() == plaintext
    assert coffer.open((tmp_path / "sealed").read_bytes(), keys, CTX) == plaintext


def damaged(envelope):
    """Each way to damage an envelope: a flipped byte late in the payload, a cut, an extra byte."""
    flipped = bytearray(envelope)
    flipped[-CHUNK] ^= 1
    last_len = coffer.inspect(envelope)["payload_len"] % (CHUNK + 16) or CHUNK + 16
    last_chunk_dropped = envelope[:-last_len]
    return {
        "flipped in the last chunk": bytes(flipped),
        "last chunk dropped": last_chunk_dropped,
        "cut mid-chunk": envelope[:-5],
        "one byte extra": envelope + b"\0",
    }


def test_a_damaged_stream_is_a_decrypt_error_and_a_seekable_dst_is_cut_back_to_where_it_was(recipients, keys):
    plaintext = os.urandom(10 * CHUNK + 17)
    for how, bad in damaged(stream_sealed(plaintext, recipients)).items():
        out = io.BytesIO()
        out.write(b"earlier output ")
        with pytest.raises(coffer.DecryptError):
            coffer.open_stream(io.BytesIO(bad), out, keys, CTX)
        assert out.getvalue() == b"earlier output ", how
        assert out.tell() == len(b"earlier output "), how


def test_a_damaged_stream_leaves_nothing_in_a_real_file(tmp_path, recipients, keys):
    plaintext = os.urandom(10 * CHUNK)
    for how, bad in damaged(stream_sealed(plaintext, recipients)).items():
        path = tmp_path / "opened"
        with open(path, "wb") as dst, pytest.raises(coffer.DecryptError):
            coffer.open_stream(io.BytesIO(bad), dst, keys, CTX)
        assert path.read_bytes() == b"", how


def test_a_damaged_stream_into_a_non_seekable_dst_raises_after_earlier_chunks_went_out(recipients, keys):
    # Documented: such output is untrusted until open_stream returns; it cannot be taken back.
    plaintext = os.urandom(10 * CHUNK)
    bad = damaged(stream_sealed(plaintext, recipients))["flipped in the last chunk"]
    out = ListWriter()
    with pytest.raises(coffer.DecryptError):
        coffer.open_stream(io.BytesIO(bad), out, keys, CTX)
    assert 0 < len(out.value()) < len(plaintext)
    assert plaintext.startswith(out.value())
    assert "untrusted" in coffer.open_stream.__doc__


def test_a_wrong_key_or_context_is_a_decrypt_error_that_writes_nothing(recipients, keys):
    envelope = stream_sealed(b"secret", recipients)
    for ks, ctx in [([coffer.UnlockKey.kek("k", coffer.Kek.generate())], CTX), (keys, None), (keys, {"tenant": "x"})]:
        out = ListWriter()
        with pytest.raises(coffer.DecryptError):
            coffer.open_stream(io.BytesIO(envelope), out, ks, ctx)
        assert out.value() == b""


def test_a_dst_that_cannot_be_cut_back_raises_that_failure_with_the_decrypt_error_as_cause(recipients, keys):
    class NoTruncate(io.BytesIO):
        def truncate(self, size=None):
            raise OSError("cannot truncate here")

    bad = damaged(stream_sealed(os.urandom(4 * CHUNK), recipients))["cut mid-chunk"]
    with pytest.raises(OSError, match="cannot truncate here") as raised:
        coffer.open_stream(io.BytesIO(bad), NoTruncate(), keys, CTX)
    assert isinstance(raised.value.__cause__, coffer.DecryptError)


class Boom(Exception):
    pass


def test_an_exception_raised_by_the_reader_comes_back_as_it_was(recipients, keys):
    boom = Boom("the disk went away")

    class FailingReader(ChunkReader):
        def read(self, n):
            if self.at >= 3 * CHUNK:
                raise boom
            return super().read(n)

    with pytest.raises(Boom) as raised:
        coffer.seal_stream(FailingReader(os.urandom(10 * CHUNK)), io.BytesIO(), recipients, CTX, chunk_size=CHUNK)
    assert raised.value is boom

    envelope = stream_sealed(os.urandom(10 * CHUNK), recipients)
    out = io.BytesIO()
    with pytest.raises(Boom) as raised:
        coffer.open_stream(FailingReader(envelope), out, keys, CTX)
    assert raised.value is boom
    assert out.getvalue() == b""  # what was opened before the failure is taken back


def test_an_exception_raised_by_the_writer_comes_back_as_it_was(recipients, keys):
    boom = Boom("pipe closed")

    class FailingWriter(ListWriter):
        def write(self, b):
            if len(self.parts) == 2:
                raise boom
            return super().write(b)

    with pytest.raises(Boom) as raised:
        coffer.seal_stream(io.BytesIO(os.urandom(10 * CHUNK)), FailingWriter(), recipients, chunk_size=CHUNK)
    assert raised.value is boom
    with pytest.raises(Boom) as raised:
        coffer.open_stream(io.BytesIO(stream_sealed(os.urandom(10 * CHUNK), recipients)), FailingWriter(), keys, CTX)
    assert raised.value is boom


def test_closed_files_are_refused_with_value_error(recipients, keys):
    closed = io.BytesIO()
    closed.close()
    with pytest.raises(ValueError, match="src is closed"):
        coffer.seal_stream(closed, io.BytesIO(), recipients)
    with pytest.raises(ValueError, match="dst is closed"):
        coffer.seal_stream(io.BytesIO(b"x"), closed, recipients)
    with pytest.raises(ValueError, match="src is closed"):
        coffer.open_stream(closed, io.BytesIO(), keys)
    with pytest.raises(ValueError, match="dst is closed"):
        coffer.open_stream(io.BytesIO(stream_sealed(b"x", recipients)), closed, keys, CTX)


def test_text_mode_files_are_refused_with_type_error(tmp_path, recipients, keys):
    with open(tmp_path / "t", "w+") as text:
        with pytest.raises(TypeError, match="binary mode"):
            coffer.seal_stream(text, io.BytesIO(), recipients)
        with pytest.raises(TypeError, match="binary mode"):
            coffer.seal_stream(io.BytesIO(b"x"), text, recipients)
        with pytest.raises(TypeError, match="binary mode"):
            coffer.open_stream(io.BytesIO(), text, keys)
    with pytest.raises(TypeError, match="binary mode"):
        coffer.open_stream(io.StringIO("CFRE"), io.BytesIO(), keys)


def test_objects_that_are_not_binary_files_are_refused_with_type_error(recipients, keys):
    class ReadsStr:
        def read(self, n):
            return "text"

    for src in [b"bytes are not a file", None, 42]:
        with pytest.raises(TypeError):
            coffer.seal_stream(src, io.BytesIO(), recipients)
    with pytest.raises(TypeError, match="must return bytes"):
        coffer.seal_stream(ReadsStr(), io.BytesIO(), recipients)
    with pytest.raises(TypeError):
        coffer.open_stream(io.BytesIO(), bytearray(), keys)
    with pytest.raises(TypeError):
        coffer.seal_stream(io.BytesIO(b"x"), io.BytesIO(), [coffer.UnlockKey.kek("k", coffer.Kek.generate())])
    with pytest.raises(TypeError):
        coffer.open_stream(io.BytesIO(), io.BytesIO(), recipients)
    with pytest.raises(TypeError):
        coffer.seal_stream(io.BytesIO(b"x"), io.BytesIO(), recipients, chunk_size="big")


def test_a_reader_that_misbehaves_is_refused_with_value_error(recipients):
    class TooMuch:
        def read(self, n):
            return b"x" * (n + 1)

    class NonBlocking:
        def read(self, n):
            return None

    class TooMuchBytearray:
        def read(self, n):
            return bytearray(n + 1)

    with pytest.raises(ValueError, match="more than asked"):
        coffer.seal_stream(TooMuch(), io.BytesIO(), recipients)
    with pytest.raises(ValueError, match="more than asked"):
        coffer.seal_stream(TooMuchBytearray(), io.BytesIO(), recipients)
    with pytest.raises(ValueError, match="non-blocking"):
        coffer.seal_stream(NonBlocking(), io.BytesIO(), recipients)


def test_a_writer_returning_none_took_everything_unless_it_is_a_non_blocking_raw_file(recipients):
    class NoCount(ListWriter):
        def write(self, b):
            super().write(b)

    class WouldBlock(io.RawIOBase):
        def writable(self):
            return True

        def write(self, b):
            return None

    out = NoCount()
    coffer.seal_stream(io.BytesIO(b"x" * 1000), out, recipients, chunk_size=CHUNK)
    assert coffer.inspect(out.value())["plaintext_len"] == 1000
    with pytest.raises(ValueError, match="non-blocking"):
        coffer.seal_stream(io.BytesIO(b"x"), WouldBlock(), recipients)


@pytest.mark.parametrize("chunk_size", [0, 255, 2**20 + 1, 2**32 - 1])
def test_a_chunk_size_out_of_range_is_invalid_input(recipients, chunk_size):
    with pytest.raises(coffer.InvalidInput):
        coffer.seal_stream(io.BytesIO(b"x"), io.BytesIO(), recipients, chunk_size=chunk_size)
    with pytest.raises(coffer.InvalidInput):
        coffer.seal_stream(io.BytesIO(b"x"), io.BytesIO(), recipients, chunk_size=-1)


def test_no_recipients_or_keys_is_invalid_input(recipients):
    with pytest.raises(coffer.InvalidInput):
        coffer.seal_stream(io.BytesIO(b"x"), io.BytesIO(), [])
    with pytest.raises(coffer.InvalidInput):
        coffer.open_stream(io.BytesIO(stream_sealed(b"x", recipients)), io.BytesIO(), [])


def test_streams_in_four_threads_at_once_each_round_trip(recipients, keys):
    # Each stream takes the GIL per read/write and lets it go for the crypto.
    plaintexts = [os.urandom(200_000 + i) for i in range(4)]
    results = [None] * 4

    def work(i):
        sealed = io.BytesIO()
        coffer.seal_stream(ChunkReader(plaintexts[i], step=5000), sealed, recipients, CTX, chunk_size=4096)
        out = io.BytesIO()
        coffer.open_stream(io.BytesIO(sealed.getvalue()), out, keys, CTX)
        results[i] = out.getvalue()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results == plaintexts


MEMORY_SCRIPT = textwrap.dedent(
    """
    import hashlib, os, re, tempfile
    import coffer

    SIZE, BLOCK = 64 << 20, 1 << 16
    block = os.urandom(BLOCK)

    class Generated:
        # 64 MiB of plaintext made on the fly: never held in memory at once.
        def __init__(self):
            self.left, self.hash = SIZE, hashlib.sha256()
        def read(self, n):
            piece = (block * (n // BLOCK + 1))[: min(n, self.left)]
            self.left -= len(piece)
            self.hash.update(piece)
            return piece

    class Hashing:
        def __init__(self):
            self.hash, self.count = hashlib.sha256(), 0
        def write(self, b):
            self.hash.update(b)
            self.count += len(b)
            return len(b)

    def status_mib(field):
        with open("/proc/self/status") as f:
            return int(re.search(field + r":\\s+(\\d+) kB", f.read()).group(1)) / 1024

    def reset_peak():
        # Linux: writing 5 to clear_refs resets VmHWM (peak RSS) to the current RSS.
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return status_mib("VmRSS")

    kek = coffer.Kek.generate()
    baseline = reset_peak()
    src = Generated()
    with tempfile.TemporaryFile() as sealed:
        assert coffer.seal_stream(src, sealed, [coffer.Recipient.kek("k", kek)]) == SIZE
        sealed.seek(0)
        out = Hashing()
        assert coffer.open_stream(sealed, out, [coffer.UnlockKey.kek("k", kek)]) == SIZE
    assert out.count == SIZE and out.hash.digest() == src.hash.digest()
    streamed = status_mib("VmHWM") - baseline
    # Control: 64 MiB held at once does show in the same measure.
    before = reset_peak()
    held = bytearray(SIZE)
    held[:: 4096] = b"x" * len(held[:: 4096])
    control = status_mib("VmHWM") - before
    print(streamed, control)
    """
)


def test_sealing_and_opening_64_mib_through_file_objects_stays_in_constant_memory(tmp_path):
    script = tmp_path / "memory.py"
    script.write_text(MEMORY_SCRIPT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    streamed, control = map(float, done.stdout.split())
    assert streamed < 8, f"streaming 64 MiB raised peak RSS by {streamed:.1f} MiB"
    assert control > 60, f"the peak RSS measure saw {control:.1f} MiB of 64 MiB held at once"
