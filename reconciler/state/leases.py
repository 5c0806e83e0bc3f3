"""Tenant locks as lease rows: two applies of one tenant never interleave.

The serial compare-and-swap refuses a plan made before another apply, but a
plan made *while* another apply runs would still pass it. Holding the tenant's
lease from ``begin_apply`` to ``finish_apply`` closes that gap.

A lease is one row of ``tenant_locks`` (the same on SQLite and PostgreSQL):
the holder's host, pid and command, since when it holds the lease, and until
when (``expires_at``). While an apply runs, a heartbeat thread pushes
``expires_at`` forward every few seconds. Taking a lease succeeds when there is
no row, when the row expired (its holder stopped renewing: crashed, or lost
the database), or at once when the holder ran on this host and its process is
gone (``kill -9``). Every take is a compare-and-swap on the row's ``token``, so
of two racing processes exactly one wins.

The lease also *fences* writes: an intent is journaled only while the
apply's token is still in the row (see :mod:`reconciler.state.journal`), and
just before a step's connector calls the apply checks :attr:`TenantLease.lost`,
which says so once a renewal found the row no longer ours, or once no renewal
has succeeded for ``LEASE_SECONDS - HEARTBEAT_SECONDS`` (this process cannot
reach the database, another may, and the row may expire before the next beat;
in memory: no query). An apply whose lease was taken over (expired, or
``reconciler state unlock``) stops as soon as either tells it: no step sends
its calls after that (calls in flight finish). Until then a step whose intent
was journaled before the loss (up to ``parallelism`` of them wait for a call
slot) still sends its calls; that window lasts until the next renewal, at most
``HEARTBEAT_SECONDS``.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reconciler.errors import StateError
from reconciler.state.models import LockRow, utcnow
from reconciler.state.records import LockHolder

LEASE_SECONDS = 30.0
"""How long a lease lives without a heartbeat."""

HEARTBEAT_SECONDS = 5.0
"""How often a held lease is renewed."""

COMMAND_LIMIT = 200


@dataclass(frozen=True)
class Claimant:
    """Who asks for a lease: this host, this process, this command line."""

    host: str
    pid: int
    command: str

    @classmethod
    def current(cls, command: str | None = None) -> Claimant:
        return cls(socket.gethostname(), os.getpid(), (command or _command_line())[:COMMAND_LIMIT])


def _command_line() -> str:
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
    if program in ("cli.py", "__main__.py", "reconciler"):
        program = "reconciler"
    return " ".join([program, *sys.argv[1:]])


def busy(holder: LockHolder | None, tenant: str) -> StateError:
    """The error for a tenant whose lease someone else holds."""
    who = f": {holder.describe()}" if holder is not None else ""
    return StateError(
        f"tenant {tenant} is being applied by another process{who}",
        hint="wait for it to finish and re-run plan, pass --lock-timeout SECONDS to wait, "
        f"or, if that process is gone, run `reconciler state unlock {tenant}`",
    )


def try_acquire(session: Session, tenant: str, claimant: Claimant, token: str) -> LockHolder | None:
    """Take the lease (None) or return who holds it; commits either way."""
    now = utcnow()
    values = {
        "token": token,
        "host": claimant.host,
        "pid": claimant.pid,
        "command": claimant.command,
        "since": now,
        "expires_at": now + timedelta(seconds=LEASE_SECONDS),
    }
    row = _read(session, tenant)
    if row is None:
        try:
            with session.begin_nested():
                session.add(LockRow(tenant=tenant, **values))
            session.commit()
            return None
        except IntegrityError:
            row = _read(session, tenant)
    if row is not None and (row.expires_at <= now or _abandoned(row)):
        taken = session.execute(
            update(LockRow)
            .where(LockRow.tenant == tenant, LockRow.token == row.token)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            session.commit()
            return None
        row = _read(session, tenant)
    session.commit()
    return None if row is None else holder_of(row)


def renew(session: Session, tenant: str, token: str) -> bool:
    """Push the lease's expiry forward; False when it is no longer ours."""
    renewed = session.execute(
        update(LockRow)
        .where(LockRow.tenant == tenant, LockRow.token == token)
        .values(expires_at=utcnow() + timedelta(seconds=LEASE_SECONDS))
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(renewed.rowcount == 1)  # type: ignore[attr-defined]


def release(session: Session, tenant: str, token: str | None) -> None:
    """Delete the lease row (only ours, unless ``token`` is None: a forced release)."""
    statement = delete(LockRow).where(LockRow.tenant == tenant)
    if token is not None:
        statement = statement.where(LockRow.token == token)
    session.execute(statement.execution_options(synchronize_session=False))
    session.commit()


def check_held(session: Session, tenant: str, token: str) -> None:
    """Raise StateError unless ``token`` still holds the tenant's lease (no commit)."""
    current = session.scalar(select(LockRow.token).where(LockRow.tenant == tenant))
    if current != token:
        raise lost(tenant)


def lost(tenant: str) -> StateError:
    """The error for an apply whose lease on ``tenant`` was taken from it."""
    return StateError(
        f"the lock on tenant {tenant} was lost (it expired or was force-released); "
        "the apply stopped before its next connector call",
        hint="run plan again: it looks up whatever was in flight",
    )


def holder_of(row: LockRow) -> LockHolder:
    return LockHolder(row.tenant, row.host, row.pid, row.command, row.since, row.expires_at)


def _read(session: Session, tenant: str) -> LockRow | None:
    query = select(LockRow).where(LockRow.tenant == tenant)
    return session.scalars(query.execution_options(populate_existing=True)).one_or_none()


def _abandoned(row: LockRow) -> bool:
    """The holder ran on this host and its process no longer exists."""
    if row.host != socket.gethostname():
        return False
    try:
        os.kill(row.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class TenantLease(AbstractContextManager["TenantLease"]):
    """A held lease: renewed by a daemon thread until :meth:`release`."""

    def __init__(
        self,
        tenant: str,
        token: str,
        sessions: Callable[[], Session],
        *,
        heartbeat: bool = True,
    ) -> None:
        self.tenant, self.token = tenant, token
        self._sessions = sessions
        self._stop = threading.Event()
        self._taken_over = False
        self._renewed = time.monotonic()  # taken just now
        self._heartbeat = heartbeat
        self._thread: threading.Thread | None = None
        if heartbeat:
            self._thread = threading.Thread(target=self._beat, name=f"lease-{tenant}", daemon=True)
            self._thread.start()

    @property
    def lost(self) -> bool:
        """Whether the lease may be someone else's now: a renewal found the row no longer
        ours, or no renewal has succeeded for so long that the row may have expired (the
        database is away from here; another replica may reach it) before the next beat."""
        if self._taken_over:
            return True
        silent = time.monotonic() - self._renewed
        return self._heartbeat and silent > LEASE_SECONDS - HEARTBEAT_SECONDS

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                with self._sessions() as session:
                    if not renew(session, self.tenant, self.token):
                        self._taken_over = True
                        return
                self._renewed = time.monotonic()
            except Exception:  # the database is away: `lost` once the row may have expired
                continue

    def release(self) -> None:
        """Stop the heartbeat and delete the row (best effort: it expires anyway)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=HEARTBEAT_SECONDS)
        try:
            with self._sessions() as session:
                release(session, self.tenant, self.token)
        except Exception:  # the lease expires on its own
            return

    def __exit__(self, *_exc: object) -> None:
        self.release()


def new_token() -> str:
    return uuid.uuid4().hex
