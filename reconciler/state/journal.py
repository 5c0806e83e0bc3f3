"""The intent journal: no remote change without a record of it first.

Before a connector call that changes something, apply writes an *intent*
(tenant, resource, action, idempotency key, what it is applying) and commits.
After the call, the result and the new last-applied record are written in the
same transaction that deletes the intent (``intent_id=`` on
:meth:`~reconciler.state.StateStore.record_resource` and friends, or a
:class:`~reconciler.state.batch.StepWrite` of a batch). So at any moment, for
every change, either the intent or its result is in the database, never
neither.

An intent still open at the start of a plan belongs to an apply that died
mid-call (killed, lost its network or database). Its outcome is unknown, so
the plan first looks the object up (:mod:`reconciler.state.recovery`) and then
closes the intent with :meth:`JournalMixin.resolve_intent`: adopting what was
created, forgetting what was deleted, dropping what never happened.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from reconciler.kinds.base import RecordedResource, ResourceKey
from reconciler.state.batch import BatchWritten, IntentWrite, write_resources
from reconciler.state.models import (
    ApplyRow,
    ApplyStepRow,
    IntentRow,
    ResourceRow,
    TenantRow,
    utcnow,
)
from reconciler.state.records import RUNNING, Intent

INTERRUPTED = "interrupted"
"""Outcome of an apply whose process died before finishing it."""


class JournalMixin:
    """Intent journal methods of :class:`~reconciler.state.StateStore`."""

    _session: Callable[[str], AbstractContextManager[Session]]
    _read_session: Callable[[str], AbstractContextManager[Session]]
    write_batch: Callable[..., BatchWritten]

    def open_intent(
        self,
        apply_id: int,
        key: ResourceKey,
        *,
        action: str,
        identity: str,
        idempotency_key: str,
        request: Mapping[str, Any],
        lease_token: str | None = None,
    ) -> int:
        """Journal a change about to be sent; returns the intent id.

        With ``lease_token`` the write happens only while that lease still
        holds the tenant, so an apply that lost its lock sends nothing more.
        """
        intent = IntentWrite(key, action, identity, idempotency_key, request)
        written = self.write_batch(apply_id, key.tenant, intents=[intent], lease_token=lease_token)
        if written.refused is not None:
            raise written.refused
        return written.intent_ids[0]

    def open_intents(self, tenant: str | None = None) -> list[Intent]:
        """Intents never closed (of one tenant, or all), oldest first."""
        query = select(IntentRow).order_by(IntentRow.id)
        if tenant is not None:
            query = query.where(IntentRow.tenant == tenant)
        with self._read_session("reading the intent journal") as session:
            return [_intent(row) for row in session.scalars(query)]

    def running_applies(self, tenant: str) -> int:
        """How many applies of the tenant are marked running (crashed, or in progress)."""
        query = select(func.count()).where(ApplyRow.tenant == tenant, ApplyRow.outcome == RUNNING)
        with self._read_session(f"reading the applies of tenant {tenant}") as session:
            return int(session.scalar(query) or 0)

    def interrupt_running_applies(self, tenant: str) -> int:
        """Mark the tenant's running applies as interrupted; call only holding its lock."""
        with self._session(f"closing interrupted applies of tenant {tenant}") as session:
            done = session.execute(
                update(ApplyRow)
                .where(ApplyRow.tenant == tenant, ApplyRow.outcome == RUNNING)
                .values(outcome=INTERRUPTED, finished_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            session.commit()
            return int(done.rowcount)  # type: ignore[attr-defined]

    def resolve_intent(
        self,
        intent: Intent,
        *,
        adopt: RecordedResource | None = None,
        forget: bool = False,
        outcome: str,
    ) -> bool:
        """Close an open intent, adopting or forgetting its resource, in one transaction.

        Logs a step (``outcome`` says what the lookup found) on the apply that
        opened the intent, and bumps the tenant's serial when state changed, so
        a plan made before the resolution is refused. False if it was closed
        already (someone else resolved it).
        """
        with self._session(f"resolving the open {intent.action} of {intent.key}") as session:
            gone = session.execute(delete(IntentRow).where(IntentRow.id == intent.id))
            if gone.rowcount != 1:  # type: ignore[attr-defined]
                session.rollback()
                return False
            if adopt is not None:
                write_resource(session, adopt)
            if forget:
                key = intent.key
                row = session.get(ResourceRow, (key.tenant, key.kind, key.name))
                if row is not None:
                    session.delete(row)
            if adopt is not None or forget:
                _bump_serial(session, intent.key.tenant)
            session.add(
                ApplyStepRow(
                    apply_id=intent.apply_id,
                    kind=intent.key.kind,
                    name=intent.key.name,
                    action=intent.action,
                    outcome=outcome,
                    at=utcnow(),
                )
            )
            session.commit()
            return True


def write_resource(session: Session, resource: RecordedResource) -> None:
    """Insert or update the resource's row in one statement (no commit)."""
    write_resources(session, [resource])


def _bump_serial(session: Session, tenant: str) -> None:
    session.execute(
        update(TenantRow)
        .where(TenantRow.name == tenant)
        .values(serial=TenantRow.serial + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _intent(row: IntentRow) -> Intent:
    return Intent(
        id=row.id,
        apply_id=row.apply_id,
        key=ResourceKey(row.tenant, row.kind, row.name),
        action=row.action,
        identity=row.identity,
        idempotency_key=row.idempotency_key,
        request=row.request,
        opened_at=row.opened_at,
    )
