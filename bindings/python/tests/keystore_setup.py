"""The keystore the keystore tests start from: a tenant `acme` with its user `alice`, a tenant `globex`
with its user `bob`, and an auditor `audit`. PINs hash with 1,000 PBKDF2 iterations (the default
100,000 only makes the tests slower)."""

import coffer

PASSPHRASE = "correct horse battery staple"
SO_PIN = "so-pin-1"
PINS = {"alice": "alice-pin", "bob": "bob-pin-1", "audit": "audit-pin"}


def create(store, **options):
    """A new keystore in `store` (a path, a postgres:// URL or ":memory:") with the tenants and users above."""
    options.setdefault("pin_iterations", 1000)
    if store != ":memory:":  # in memory, no passphrase (and no PBKDF2) is needed
        options["passphrase"] = PASSPHRASE
    ks = coffer.Keystore.create(store, so_pin=SO_PIN, **options)
    with ks.login_so(SO_PIN) as so:
        so.create_tenant("acme")
        so.create_tenant("globex")
        so.create_user("alice", PINS["alice"], tenants=["acme"])
        so.create_user("bob", PINS["bob"], tenants=["globex"])
        so.create_user("audit", PINS["audit"], auditor=True)
    return ks


def login(ks, user):
    return ks.login(user, PINS[user])
