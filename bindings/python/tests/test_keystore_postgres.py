"""The keystore over PostgreSQL, on a server each test starts (tests/pg_server.py, as the Rust tests
do). Without PostgreSQL the tests skip with one SKIPPED line, except under CI=true, where they fail."""

import threading

import pytest

import coffer
import keystore_setup
import pg_server
from keystore_setup import PASSPHRASE, login


@pytest.fixture
def postgres_url():
    try:
        server = pg_server.start()
    except pg_server.PostgresMissing as e:
        pytest.fail(str(e))
    if server is None:
        pytest.skip(f"SKIPPED: PostgreSQL server not installed ({pg_server.INSTALL_HINT})")
    try:
        yield server.url()
    finally:
        server.stop()


def test_a_postgres_keystore_keeps_keys_across_objects_and_shreds_and_audits(postgres_url):
    ks = keystore_setup.create(postgres_url)
    assert repr(ks) == "Keystore(PostgreSQL)"  # never the URL
    alice = login(ks, "alice")
    kek = alice.generate("records", "aes256")
    envelope = alice.seal(kek, b"stored in postgres", {"tenant": "acme"})
    ks.close()

    with pytest.raises(coffer.AuthError):
        coffer.Keystore.open(postgres_url, passphrase="not the passphrase")
    with pytest.raises(coffer.KeystoreError, match="already holds a keystore"):
        coffer.Keystore.create(postgres_url, passphrase=PASSPHRASE, so_pin="so-pin-1")

    again = coffer.Keystore.open(postgres_url, passphrase=PASSPHRASE)
    alice = login(again, "alice")
    assert alice.open(alice.find("records"), envelope, {"tenant": "acme"}) == b"stored in postgres"
    assert again.login_so(keystore_setup.SO_PIN).shred("acme").keys == [("records", 1)]
    with pytest.raises(coffer.PolicyError):
        alice.open(kek, envelope, {"tenant": "acme"})
    audit = login(again, "audit")
    tail = [(r.event, r.reason) for r in audit.audit()][-3:]
    assert tail == [("tenant-shredded", None), ("refused", "wrong-state"), ("login", None)]
    audit.verify_audit()
    again.close()


def test_two_keystore_objects_on_one_postgres_store_share_keys_and_one_audit_chain(postgres_url):
    first = keystore_setup.create(postgres_url)
    second = coffer.Keystore.open(postgres_url, passphrase=PASSPHRASE)
    kek = login(first, "alice").generate("records", "aes256")
    errors = []

    def work(ks, n):
        try:
            alice = login(ks, "alice")
            key = alice.find("records")
            for i in range(n):
                assert alice.open(key, alice.seal(key, b"%d" % i)) == b"%d" % i
        except Exception as e:  # reported below, with the thread's error
            errors.append(e)

    threads = [threading.Thread(target=work, args=(ks, 10)) for ks in (first, second, first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    audit = login(second, "audit")
    used = [r.operation for r in audit.audit() if r.event == "key-used" and r.key_id == kek.key_id]
    assert used.count("seal") == used.count("open") == 40
    audit.verify_audit()
    first.close()
    second.close()
