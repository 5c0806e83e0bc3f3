"""The intent journal: no remote change without a record of it first.

Before a connector call that changes something, apply writes an *intent*
(tenant, resource, action, idempotency key, what it is applying) and commits.
After the call, the result and the new last-applied record are written in the
same transaction that deletes the intent (``intent_id=`` on
:meth:`~reconciler.state.StateStore.record_resource` and friends). So at any
moment, for every change, either the intent or its result is in the database,
never neither.

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

from sqlalchemy import Insert, cast, delete, exists, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from reconciler.kinds.base import RecordedResource, ResourceKey
from reconciler.state.leases import check_held
from reconciler.state.models import (
    ApplyRow,
    ApplyStepRow,
    IntentRow,
    LockRow,
    ResourceRow,
    TenantRow,
    utcnow,
)
from reconciler.state.records import Intent, to_json

INTERRUPTED = "interrupted"
"""Outcome of an apply whose process died before finishing it."""


class JournalMixin:
    """Intent journal methods of :class:`~reconciler.state.StateStore`."""

    _session: Callable[[str], AbstractContextManager[Session]]
    _read_session: Callable[[str], AbstractContextManager[Session]]

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
        values = {
            "apply_id": apply_id,
            "tenant": key.tenant,
            "kind": key.kind,
            "name": key.name,
            "action": action,
            "identity": identity,
            "idempotency_key": idempotency_key,
            "request": to_json(request),
            "opened_at": utcnow(),
        }
        with self._session(f"journaling the {action} of {key}") as session:
            if lease_token is None:
                statement = insert(IntentRow).values(values)
            else:  # one statement: the row is written only while the lease holds
                statement = _insert_where(
                    session, IntentRow, values, _lease_held(key.tenant, lease_token)
                )
            intent_id = session.scalar(statement.returning(IntentRow.id))
            if intent_id is None:
                assert lease_token is not None
                check_held(session, key.tenant, lease_token)  # raises, naming what was lost
                raise AssertionError("the lease check let an unjournaled intent through")
            session.commit()
            return int(intent_id)

    def open_intents(self, tenant: str | None = None) -> list[Intent]:
        """Intents never closed (of one tenant, or all), oldest first."""
        query = select(IntentRow).order_by(IntentRow.id)
        if tenant is not None:
            query = query.where(IntentRow.tenant == tenant)
        with self._read_session("reading the intent journal") as session:
            return [_intent(row) for row in session.scalars(query)]

    def running_applies(self, tenant: str) -> int:
        """How many applies of the tenant are marked running (crashed, or in progress)."""
        query = select(func.count()).where(ApplyRow.tenant == tenant, ApplyRow.outcome == "running")
        with self._read_session(f"reading the applies of tenant {tenant}") as session:
            return int(session.scalar(query) or 0)

    def interrupt_running_applies(self, tenant: str) -> int:
        """Mark the tenant's running applies as interrupted; call only holding its lock."""
        with self._session(f"closing interrupted applies of tenant {tenant}") as session:
            done = session.execute(
                update(ApplyRow)
                .where(ApplyRow.tenant == tenant, ApplyRow.outcome == "running")
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
    key = resource.key
    values = {
        "identity": resource.identity,
        "remote_id": resource.remote_id,
        "spec": to_json(resource.spec),
        "depends_on": [[k.tenant, k.kind, k.name] for k in resource.depends_on],
        "observed": None if resource.observed is None else to_json(resource.observed),
        "status": resource.status,
        "lifecycle": to_json(resource.lifecycle) if resource.lifecycle else None,
        "updated_at": utcnow(),
    }
    row_key = {"tenant": key.tenant, "kind": key.kind, "name": key.name}
    dialect = session.get_bind().dialect.name
    upsert: Any
    if dialect == "postgresql":
        upsert = postgresql.insert(ResourceRow)
    elif dialect == "sqlite":
        upsert = sqlite.insert(ResourceRow)
    else:  # another database: the portable read-then-write
        _write_resource_orm(session, resource, values)
        return
    upsert = upsert.values({**row_key, **values})
    session.execute(
        upsert.on_conflict_do_update(
            index_elements=list(row_key), set_={c: upsert.excluded[c] for c in values}
        ),
        execution_options={"synchronize_session": False},
    )


def _write_resource_orm(
    session: Session, resource: RecordedResource, values: Mapping[str, Any]
) -> None:
    key = resource.key
    row = session.get(ResourceRow, (key.tenant, key.kind, key.name))
    if row is None:
        row = ResourceRow(tenant=key.tenant, kind=key.kind, name=key.name)
        session.add(row)
    for column, value in values.items():
        setattr(row, column, value)


def insert_step(
    session: Session,
    apply_id: int,
    key: ResourceKey,
    action: str,
    *,
    error: str | None = None,
) -> bool:
    """Log a step of a running apply of the key's tenant, in one statement (no commit).

    False when no such apply is running (nothing was written); the caller
    then looks the apply up to say why.
    """
    values = {
        "apply_id": apply_id,
        "kind": key.kind,
        "name": key.name,
        "action": action,
        "outcome": "ok" if error is None else "failed",
        "error": error,
        "at": utcnow(),
    }
    running = exists().where(
        ApplyRow.id == apply_id, ApplyRow.tenant == key.tenant, ApplyRow.outcome == "running"
    )
    statement = _insert_where(session, ApplyStepRow, values, running)
    return session.scalar(statement.returning(ApplyStepRow.id)) is not None


def _insert_where(
    session: Session, table: Any, values: Mapping[str, Any], condition: Any
) -> Insert:
    """``INSERT INTO table (...) SELECT <values> WHERE <condition>``.

    PostgreSQL types the selected parameters by explicit casts (it would take
    an untyped one for text); SQLite needs none, and a cast there would apply
    its numeric affinity to timestamps.
    """
    columns = table.__table__.c
    typed = session.get_bind().dialect.name == "postgresql"
    selected = []
    for column, value in values.items():
        expression: Any = literal(value, columns[column].type)
        if typed:
            expression = cast(expression, columns[column].type)
        selected.append(expression.label(column))
    return insert(table).from_select(list(values), select(*selected).where(condition))


def _lease_held(tenant: str, token: str) -> Any:
    return exists().where(LockRow.tenant == tenant, LockRow.token == token)


def close_intent(session: Session, intent_id: int | None) -> None:
    """Delete an intent inside the caller's transaction (no-op for None)."""
    if intent_id is not None:
        session.execute(
            delete(IntentRow)
            .where(IntentRow.id == intent_id)
            .execution_options(synchronize_session=False)
        )


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
