"""What the five seed scenarios (test_scenarios.py) share, as tests/tests/scenarios.rs has it: a keystore
in a SQLite file with the tenants, the server user and the auditor; the exact refusal a step must raise;
and the auditor's readings of the log (key uses, refusals of another tenant's handle).

The keystore runs on a coffer.ManualClock, as the Rust fixture's manual clock: at `now` if given, else
at the system clock's time when made. Where the Rust fixture differs (a master key, a rollback guard
file), the Python package has no such option: the keystore is sealed under a passphrase, and
test_scenarios.py says at each step what it cannot do."""

import re
import time
from contextlib import contextmanager

import pytest

import coffer

PASSPHRASE = "scenario passphrase, not a secret"
SO_PIN = "so-pin-2024"
USER_PIN = "server-pin-2024"
AUDITOR_PIN = "auditor-pin-2024"
# The one user (the server role), bound to every tenant of TENANTS.
USER = "user"
AUDITOR = "auditor"
TENANTS = ["agents", "acme", "globex"]

# The messages that tell apart the causes one exception class covers (coffer-hsm's Display).
ROLE = "this role may not perform this operation"
OTHER_TENANT = "not allowed in this tenant"
USAGE = "the key's usage policy does not allow this operation"
STATE = "the key's lifecycle state does not allow this operation"
NOT_FOUND = "no such key, tenant or user"


@contextmanager
def refused(cls, cause=None):
    """The block raises exactly `cls` (not a subclass), and with `cause` a message holding it."""
    with pytest.raises(cls, match=None if cause is None else re.escape(cause)) as raised:
        yield raised
    assert type(raised.value) is cls, f"expected {cls.__name__}, got {type(raised.value).__name__}: {raised.value}"


class Fixture:
    """One keystore (SQLite, in `directory`, guarded against rollback by a generation file beside it:
    `coffer-store.db.generation`, given explicitly here, which is also the default) on the manual clock `clock` (at `now`, seconds since the
    Unix epoch; None means the system clock's time) with the tenants of TENANTS, the user USER bound
    to all of them and the auditor AUDITOR, and an open security officer session `so`."""

    def __init__(self, directory, name, now=None):
        self.dir = directory
        self.store = str(directory / "coffer-store.db")
        self.generation_file = directory / "coffer-store.db.generation"
        self.clock = coffer.ManualClock(int(time.time()) if now is None else now)
        self.ks = coffer.Keystore.create(
            self.store,
            passphrase=PASSPHRASE,
            so_pin=SO_PIN,
            label=name,
            pin_iterations=10_000,
            clock=self.clock,
            generation_file=self.generation_file,
        )
        self.so = self.ks.login_so(SO_PIN)
        for tenant in TENANTS:
            self.so.create_tenant(tenant)
        self.so.create_user(USER, USER_PIN, tenants=TENANTS)
        self.so.create_user(AUDITOR, AUDITOR_PIN, auditor=True)

    def user(self, tenant):
        return self.ks.login(USER, USER_PIN, tenant=tenant)

    def auditor(self):
        return self.ks.login(AUDITOR, AUDITOR_PIN)

    def restart(self):
        """The server restarts: the keystore is closed (every operation was committed) and opened again
        from its file and its generation file; sessions end, so the security officer logs in again."""
        written = self.ks.generation()
        assert int(self.generation_file.read_text()) == written, "the generation file holds the store's generation"
        self.ks.close()
        self.ks = coffer.Keystore.open(
            self.store, passphrase=PASSPHRASE, clock=self.clock, generation_file=self.generation_file
        )
        assert self.ks.generation() == written, "the reopened store is the one written"
        self.so = self.ks.login_so(SO_PIN)

    def close(self):
        self.ks.close()


def tenant_ctx(tenant):
    return {"tenant": tenant}


def key_uses(records):
    """(tenant, key id, operation, denied) of every key use in the log, in order: the uses, and the
    refusals by the key's own state or policy (a refused handle of another tenant is not a use: see
    other_tenant_refusals)."""
    uses = []
    for r in records:
        if r.event == "key-used":
            uses.append((r.tenant, r.key_id, r.operation, False))
        elif r.event == "refused" and r.key_id is not None and r.reason != "other-tenant":
            uses.append((r.tenant, r.key_id, r.operation, True))
    return uses


def other_tenant_refusals(records):
    """Every refused use of another tenant's handle in the log, in order, as other_tenant_refusal
    gives them: the session's tenant (AuditRecord.tenant), the key's own tenant and handle
    (key_tenant, key_handle), its id and the operation. The text says the same."""
    refusals = []
    for r in records:
        if r.event == "refused" and r.reason == "other-tenant":
            assert (r.user, r.role) == (USER, "user"), "only the user tries keys"
            refusal = (r.tenant, r.key_tenant, r.key_id, r.key_handle, r.operation)
            assert r.text == refusal_text(*refusal)
            refusals.append(refusal)
    return refusals


def other_tenant_refusal(session_tenant, key_tenant, key_id, handle, operation):
    """One such refusal, as other_tenant_refusals reads it."""
    return (session_tenant, key_tenant, key_id, int(handle), operation)


def refusal_text(session_tenant, key_tenant, key_id, handle, operation):
    """The text of one such refusal, as coffer-hsm writes it (AuditEvent's Display)."""
    return (
        f"refused: {USER} (user) in tenant {session_tenant} tried {operation} "
        f"on {key_tenant}/{key_id} v1 (handle {handle}): other-tenant"
    )


def used(tenant, key_id, operation):
    return (tenant, key_id, operation, False)


def denied(tenant, key_id, operation):
    return (tenant, key_id, operation, True)
