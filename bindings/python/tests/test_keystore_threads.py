"""One keystore object shared by 8 Python threads (issue 20, point 3): every result right, every
operation audited exactly once, the chain intact; keystore operations release the GIL."""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import coffer
import keystore_setup
from keystore_setup import login
from gil_probe import watch_gil

THREADS = 8
ROUNDS = 6


def test_eight_threads_sharing_one_keystore_get_their_own_results_and_lose_no_audit_record(tmp_path):
    ks = keystore_setup.create(str(tmp_path / "keys.db"))
    shared = login(ks, "alice")  # half the threads share this session; the others log in themselves
    kek = shared.generate("records", "aes256")
    signer = shared.generate("signer", "p256")
    start = threading.Barrier(THREADS)

    def work(worker):
        session = shared if worker % 2 == 0 else login(ks, "alice")
        start.wait()
        for i in range(ROUNDS):
            plaintext = os.urandom(100 + worker * 1000 + i)
            ctx = {"worker": str(worker), "round": str(i)}
            envelope = session.seal(kek, plaintext, ctx)
            assert session.open(kek, envelope, ctx) == plaintext
            signature = session.sign(signer, plaintext)
            session.verify(signer, plaintext, signature)
        return worker

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        assert sorted(pool.map(work, range(THREADS))) == list(range(THREADS))

    audit = login(ks, "audit")
    records = audit.audit()
    assert [r.seq for r in records] == list(range(len(records)))
    used = [r.operation for r in records if r.event == "key-used"]
    for operation in ("seal", "open", "sign", "verify"):
        assert used.count(operation) == THREADS * ROUNDS, operation
    assert len(used) == 4 * THREADS * ROUNDS
    audit.verify_audit()
    ks.close()


def test_a_keystore_operation_releases_the_gil():
    """RSA-3072 generation inside the keystore takes long enough to watch: this thread keeps
    ticking (each tick needs the GIL) while it runs."""
    ks = keystore_setup.create(":memory:")
    alice = login(ks, "alice")
    watch, key = watch_gil(lambda: alice.generate("big", "rsa3072"))
    assert key.key_type == "rsa3072"
    assert watch.released(), watch
    ks.close()


def test_keystore_objects_of_their_own_on_one_sqlite_file_run_in_parallel_on_one_audit_chain(tmp_path):
    path = str(tmp_path / "keys.db")
    first = keystore_setup.create(path)
    kek = login(first, "alice").generate("records", "aes256")
    first.close()
    start = threading.Barrier(4)

    def work(worker):
        ks = coffer.Keystore.open(path, passphrase=keystore_setup.PASSPHRASE)
        alice = login(ks, "alice")
        key = alice.find("records")
        start.wait()
        for i in range(ROUNDS):
            plaintext = b"%d/%d" % (worker, i)
            assert alice.open(key, alice.seal(key, plaintext)) == plaintext
        ks.close()
        return worker

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert sorted(pool.map(work, range(4))) == list(range(4))
    ks = coffer.Keystore.open(path, passphrase=keystore_setup.PASSPHRASE)
    audit = login(ks, "audit")
    used = [r.operation for r in audit.audit() if r.event == "key-used" and r.key_id == kek.key_id]
    assert used.count("seal") == used.count("open") == 4 * ROUNDS
    audit.verify_audit()
    ks.close()
