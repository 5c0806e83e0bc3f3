"""SQLite is for one replica: notice when a second ``serve`` shares the file.

On SQLite every ``serve`` holds a lease row of its own, named
``:serve:<replica>`` (no tenant can be named so), renewed by the lease's
heartbeat until the process stops. Another such row that is still alive (not
expired, and not left by a dead process of this host) means a second replica
uses the same database file: a warning at startup, in the log, and in every
``/readyz`` answer of both replicas while it lasts. Tenants are still never
reconciled twice at once (their own leases hold), but SQLite cannot be shared
across hosts, so the advice is PostgreSQL. Rows of dead replicas are removed.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime

from reconciler.state import StateStore
from reconciler.state.leases import TenantLease
from reconciler.state.records import LockHolder

log = logging.getLogger("reconciler.service")

PREFIX = ":serve:"
ADVICE = (
    "SQLite is for one replica: tenants are still never applied twice at once (the leases "
    "hold), but a SQLite file cannot be shared across hosts; run replicas on PostgreSQL "
    "(DATABASE_URL=postgresql://...)"
)


class ReplicaMarker:
    """This replica's lease row on an SQLite state database (nothing on PostgreSQL)."""

    def __init__(self, store: StateStore, replica: str) -> None:
        self.store, self.replica = store, replica
        self.name = f"{PREFIX}{replica}"
        self.lease: TenantLease | None = None
        self.enabled = store.description.startswith("SQLite")
        if not self.enabled:
            return
        held = store.try_lock(self.name, command=f"reconciler serve ({replica})")
        if isinstance(held, TenantLease):
            self.lease = held
        others = self.others()
        if others:
            log.warning("%s", self.warning(others))

    def others(self) -> list[LockHolder]:
        """The other live replicas on this SQLite database (always none on PostgreSQL)."""
        if not self.enabled:
            return []
        live = []
        for holder in self.store.locks():
            if not holder.tenant.startswith(PREFIX) or holder.tenant == self.name:
                continue
            if _alive(holder):
                live.append(holder)
            else:
                self.store.force_unlock(holder.tenant)
        return live

    @staticmethod
    def warning(others: list[LockHolder]) -> str:
        who = "; ".join(h.describe() for h in others)
        return f"another `reconciler serve` uses this SQLite state database ({who}). {ADVICE}"

    def release(self) -> None:
        if self.lease is not None:
            self.lease.release()
            self.lease = None


def _alive(holder: LockHolder) -> bool:
    expires = holder.expires_at
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    if expires <= datetime.now(UTC):
        return False
    if holder.host != socket.gethostname():
        return True
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
