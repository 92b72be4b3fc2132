"""Shared key objects used from 8 threads at once give correct results; long operations release the GIL."""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import coffer
from gil_probe import watch_gil


def test_eight_threads_sealing_and_opening_with_shared_keys_all_get_their_own_plaintext(coffer_rsa, coffer_p256):
    kek = coffer.Kek.generate()
    aead = coffer.Aead.generate()
    recipients = [
        coffer.Recipient.kek("kek", kek),
        coffer.Recipient.rsa("rsa", coffer_rsa.public_key()),
        coffer.Recipient.p256("p256", coffer_p256.public_key()),
    ]
    keys = [coffer.UnlockKey.kek("kek", kek), coffer.UnlockKey.rsa("rsa", coffer_rsa),
            coffer.UnlockKey.p256("p256", coffer_p256)]
    start = threading.Barrier(8)

    def work(worker):
        start.wait()
        for i in range(12):
            plaintext = os.urandom(worker * 1000 + i * 7000)
            ctx = {"worker": str(worker), "i": str(i)}
            envelope = coffer.seal(plaintext, recipients, context=ctx)
            key = keys[(worker + i) % 3]
            assert coffer.open(envelope, [key], context=ctx) == plaintext
            nonce = os.urandom(12)
            assert aead.open(nonce, aead.seal(nonce, plaintext, ctx["i"].encode()), ctx["i"].encode()) == plaintext
            assert kek.unwrap(kek.wrap(plaintext[:32].ljust(32, b"\0"))) == plaintext[:32].ljust(32, b"\0")
            sig = coffer_rsa.sign(plaintext)
            coffer_rsa.public_key().verify(plaintext, sig)
            coffer_p256.public_key().verify(plaintext, coffer_p256.sign(plaintext))
        return worker

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sorted(pool.map(work, range(8))) == list(range(8))


def test_rsa_key_generation_releases_the_gil():
    watch, key = watch_gil(lambda: coffer.RsaPrivateKey.generate(3072))
    assert key.key_size == 3072
    assert watch.released(), watch


def test_sealing_and_opening_a_large_envelope_release_the_gil():
    kek = coffer.Kek.generate()
    plaintext = bytes(128 << 20)
    watch, envelope = watch_gil(lambda: coffer.seal(plaintext, [coffer.Recipient.kek("k", kek)]))
    assert watch.released(), watch
    watch, opened = watch_gil(lambda: coffer.open(envelope, [coffer.UnlockKey.kek("k", kek)]))
    assert watch.released(), watch
    assert len(opened) == len(plaintext)
