"""Tenant lock methods of the state store (the lease rows of :mod:`.leases`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from reconciler.state.leases import (
    Claimant,
    TenantLease,
    busy,
    holder_of,
    new_token,
    release,
    try_acquire,
)
from reconciler.state.models import LockRow
from reconciler.state.records import LockHolder

POLL_SECONDS = 0.25


class LockingMixin:
    """Lease-based tenant locks of :class:`~reconciler.state.StateStore`."""

    _engine: Engine
    _sessions: Callable[[], Session]
    _session: Callable[[str], AbstractContextManager[Session]]
    _read_session: Callable[[str], AbstractContextManager[Session]]

    def try_lock(self, tenant: str, *, command: str | None = None) -> TenantLease | LockHolder:
        """Take the tenant's lease now (a :class:`TenantLease`), or say who holds it."""
        token = new_token()
        with self._session(f"locking tenant {tenant}") as session:
            holder = try_acquire(session, tenant, Claimant.current(command), token)
        if holder is not None:
            return holder
        memory = self._engine.url.database in (None, "", ":memory:")
        return TenantLease(tenant, token, self._sessions, heartbeat=not memory)

    @contextmanager
    def tenant_lock(
        self, tenant: str, *, timeout: float = 0.0, command: str | None = None
    ) -> Iterator[TenantLease]:
        """Hold the tenant's lock for a ``with`` block, waiting up to ``timeout`` seconds.

        Raises :class:`StateError` naming the holder (host, pid, since,
        command) when it stays busy. A crashed holder's lease expires
        (at once when it ran on this host).
        """
        deadline = time.monotonic() + timeout
        while True:
            got = self.try_lock(tenant, command=command)
            if isinstance(got, TenantLease):
                break
            if time.monotonic() >= deadline:
                raise busy(got, tenant)
            time.sleep(POLL_SECONDS)
        with got:
            yield got

    def lock_holder(self, tenant: str) -> LockHolder | None:
        """Who holds the tenant's lease right now (expired leases included)."""
        with self._read_session(f"reading the lock of tenant {tenant}") as session:
            row = session.get(LockRow, tenant)
            return None if row is None else holder_of(row)

    def locks(self) -> list[LockHolder]:
        """Every lease row, by tenant."""
        with self._read_session("reading tenant locks") as session:
            return [holder_of(r) for r in session.scalars(select(LockRow).order_by(LockRow.tenant))]

    def force_unlock(self, tenant: str) -> LockHolder | None:
        """Delete the tenant's lease whoever holds it; returns who held it.

        The holder, if still running, stops when its next intent is refused (intents
        are fenced by the lease) or its heartbeat finds the lease gone, at most
        ``HEARTBEAT_SECONDS`` later; until then the steps whose intents it journaled
        before may still send their calls.
        """
        with self._session(f"unlocking tenant {tenant}") as session:
            row = session.get(LockRow, tenant)
            holder = None if row is None else holder_of(row)
            release(session, tenant, None)
            return holder
