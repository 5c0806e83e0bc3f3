"""Tenant locks: two applies of one tenant never interleave.

The serial compare-and-swap refuses a plan made before another apply, but a
plan made *while* another apply runs would still pass it. Holding the tenant
lock from ``begin_apply`` to ``finish_apply`` closes that gap.

Both kinds of lock die with their holder, so a crashed apply never leaves a
tenant locked:

* PostgreSQL: a session-level advisory lock on a dedicated connection
  (``pg_try_advisory_lock``), keyed by a hash of the tenant name;
* SQLite: an exclusive ``flock`` on a small file per tenant in a
  ``<database>.locks`` directory next to the database file (an in-memory
  database uses an in-process lock).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, text

from reconciler.errors import StateError

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]

ADVISORY_NAMESPACE = 0x5EC0
"""First half of the advisory lock key: marks the lock as a reconciler tenant lock."""

_memory_locks: dict[str, threading.Lock] = {}
_memory_guard = threading.Lock()


def busy(tenant: str) -> StateError:
    return StateError(
        f"tenant {tenant} is being applied by another process",
        hint="wait for that apply to finish, then re-run plan",
    )


@contextlib.contextmanager
def postgres_tenant_lock(engine: Engine, tenant: str) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock for ``tenant`` on a connection of its own."""
    key = {"ns": ADVISORY_NAMESPACE, "key": _int4(tenant)}
    with engine.connect() as connection:
        taken = connection.scalar(text("SELECT pg_try_advisory_lock(:ns, :key)"), key)
        connection.commit()
        if not taken:
            raise busy(tenant)
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), key)
            connection.commit()


@contextlib.contextmanager
def file_tenant_lock(database: Path | None, tenant: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` for ``tenant`` next to an SQLite file."""
    if database is None or fcntl is None:
        with _memory_lock(tenant):
            yield
        return
    directory = database.with_name(database.name + ".locks")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (hashlib.sha256(tenant.encode()).hexdigest()[:24] + ".lock")
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy(tenant) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _memory_lock(tenant: str) -> Iterator[None]:
    with _memory_guard:
        lock = _memory_locks.setdefault(tenant, threading.Lock())
    if not lock.acquire(blocking=False):
        raise busy(tenant)
    try:
        yield
    finally:
        lock.release()


def _int4(tenant: str) -> int:
    """A stable signed 32-bit hash of the tenant name (an advisory lock key half)."""
    value = zlib.crc32(tenant.encode())
    return value - (1 << 32) if value >= (1 << 31) else value
