"""Group commit: the state writes of several apply steps in one transaction.

Apply steps that finish together, and the steps about to start, are written
by one :meth:`BatchMixin.write_batch` call (see :mod:`reconciler.apply_writer`),
in this order:

1. the finished steps' rows, in one ``INSERT ... SELECT`` guarded by their
   apply still running (an apply that was interrupted meanwhile logs nothing);
2. their resources, in one upsert (``insert ... on conflict do update``);
3. the resources they forgot, in one ``DELETE``;
4. the intents they close, in one ``DELETE``;
5. the intents of the steps about to start, in one ``INSERT ... SELECT``
   guarded by the tenant's lease.

So a batch costs a ``BEGIN`` and at most five statements however many steps
it carries. The journal's promise holds per step: an intent is committed
before its call is sent (the caller waits for the batch), and a result is
committed in the same transaction that deletes its intent.

When the lease is lost, step 5 writes nothing but the results of steps 1-4
are still committed (their calls were sent): the batch returns the refusal
for the caller to fail the steps that wanted to start.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Insert, and_, cast, delete, exists, insert, literal, or_, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from reconciler.errors import StateError
from reconciler.kinds.base import RecordedResource, ResourceKey
from reconciler.state.leases import check_held
from reconciler.state.models import ApplyRow, ApplyStepRow, IntentRow, LockRow, ResourceRow, utcnow
from reconciler.state.records import to_json

MAX_ROWS = 200
"""Rows per statement (SQLite allows 500 terms in a compound SELECT)."""


@dataclass(frozen=True)
class IntentWrite:
    """A change about to be sent: what the journal keeps of it."""

    key: ResourceKey
    action: str
    identity: str
    idempotency_key: str
    request: Mapping[str, Any]


@dataclass(frozen=True)
class StepWrite:
    """A finished step: its row, what it did to the resource, the intent it closes.

    ``record`` is upserted, ``forget`` deletes the resource's row, ``error``
    marks the step failed (the resource stays as it was).
    """

    key: ResourceKey
    action: str
    record: RecordedResource | None = None
    forget: bool = False
    error: str | None = None
    intent_id: int | None = None


@dataclass(frozen=True)
class BatchWritten:
    """The intent ids (in the order asked), or why the intents were refused."""

    intent_ids: tuple[int, ...] = ()
    refused: StateError | None = field(default=None)


class BatchMixin:
    """The group-commit write of :class:`~reconciler.state.StateStore`."""

    _session: Callable[[str], AbstractContextManager[Session]]

    def write_batch(
        self,
        apply_id: int,
        tenant: str,
        *,
        steps: Sequence[StepWrite] = (),
        intents: Sequence[IntentWrite] = (),
        lease_token: str | None = None,
    ) -> BatchWritten:
        """Write finished steps and open intents of one running apply in one transaction.

        Raises :class:`StateError` (nothing written) when the apply is not
        running, is another tenant's, or the database fails. With
        ``lease_token``, intents are written only while that lease holds the
        tenant; otherwise the steps are committed and ``refused`` says why.
        """
        keys = [s.key for s in steps] + [i.key for i in intents]
        foreign = sorted({str(k) for k in keys if k.tenant != tenant})
        if foreign:
            raise StateError(
                f"a batch of tenant {tenant} names other tenants' resources: {foreign}"
            )
        doing = f"recording {len(steps)} step(s) and journaling {len(intents)} change(s)"
        with self._session(f"{doing} of tenant {tenant}") as session:
            if steps and not _insert_steps(session, apply_id, tenant, steps):
                running_apply(session, apply_id, steps[0].key)  # raises, saying what is wrong
                raise StateError(f"apply {apply_id} could not log the steps of tenant {tenant}")
            write_resources(session, [s.record for s in steps if s.record is not None])
            _forget(session, tenant, [s.key for s in steps if s.forget])
            _close_intents(session, [s.intent_id for s in steps if s.intent_id is not None])
            ids = _open_intents(session, apply_id, tenant, intents, lease_token)
            if ids is None:
                assert lease_token is not None
                session.commit()
                try:
                    check_held(session, tenant, lease_token)
                except StateError as exc:
                    return BatchWritten(refused=exc)
                raise AssertionError("the lease check let unjournaled intents through")
            session.commit()
            return BatchWritten(ids)


def running_apply(session: Session, apply_id: int, key: ResourceKey | None) -> ApplyRow:
    """The apply row, checked to be running and (if ``key`` is given) of the key's tenant."""
    row = session.get(ApplyRow, apply_id)
    if row is None:
        raise StateError(f"apply {apply_id} does not exist", hint="start one with begin_apply")
    if key is not None and row.tenant != key.tenant:
        raise StateError(
            f"{key} cannot be recorded in apply {apply_id}, which belongs to tenant {row.tenant}",
            hint="record each resource in an apply of its own tenant",
        )
    if row.outcome != "running":
        raise StateError(
            f"apply {apply_id} of tenant {row.tenant} already finished ({row.outcome})",
            hint="start a new apply with a fresh plan",
        )
    return row


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[i : i + MAX_ROWS] for i in range(0, len(items), MAX_ROWS)]


def _insert_steps(session: Session, apply_id: int, tenant: str, steps: Sequence[StepWrite]) -> bool:
    """The steps' rows, only while the apply runs; False when nothing was written."""
    at = utcnow()
    running = exists().where(
        ApplyRow.id == apply_id, ApplyRow.tenant == tenant, ApplyRow.outcome == "running"
    )
    for chunk in _chunks(steps):
        rows = [
            {
                "apply_id": apply_id,
                "kind": s.key.kind,
                "name": s.key.name,
                "action": s.action,
                "outcome": "ok" if s.error is None else "failed",
                "error": s.error,
                "at": at,
            }
            for s in chunk
        ]
        statement = insert_rows_where(session, ApplyStepRow, rows, running)
        if len(session.execute(statement.returning(ApplyStepRow.id)).all()) != len(rows):
            return False
    return True


def _open_intents(
    session: Session,
    apply_id: int,
    tenant: str,
    intents: Sequence[IntentWrite],
    lease_token: str | None,
) -> tuple[int, ...] | None:
    """Journal the intents (in one statement per chunk); None when the lease is lost."""
    opened = utcnow()
    ids: dict[tuple[str, str], int] = {}
    for chunk in _chunks(intents):
        rows = [
            {
                "apply_id": apply_id,
                "tenant": tenant,
                "kind": i.key.kind,
                "name": i.key.name,
                "action": i.action,
                "identity": i.identity,
                "idempotency_key": i.idempotency_key,
                "request": to_json(i.request),
                "opened_at": opened,
            }
            for i in chunk
        ]
        condition = None if lease_token is None else _lease_held(tenant, lease_token)
        statement = insert_rows_where(session, IntentRow, rows, condition)
        returned = session.execute(
            statement.returning(IntentRow.id, IntentRow.kind, IntentRow.name)
        ).all()
        if len(returned) != len(rows):
            return None
        ids.update({(kind, name): int(id_) for id_, kind, name in returned})
    return tuple(ids[(i.key.kind, i.key.name)] for i in intents)


def _forget(session: Session, tenant: str, keys: Sequence[ResourceKey]) -> None:
    for chunk in _chunks(keys):
        named = or_(*(and_(ResourceRow.kind == k.kind, ResourceRow.name == k.name) for k in chunk))
        session.execute(
            delete(ResourceRow)
            .where(ResourceRow.tenant == tenant, named)
            .execution_options(synchronize_session=False)
        )


def _close_intents(session: Session, ids: Sequence[int]) -> None:
    for chunk in _chunks(ids):
        session.execute(
            delete(IntentRow)
            .where(IntentRow.id.in_(chunk))
            .execution_options(synchronize_session=False)
        )


def _lease_held(tenant: str, token: str) -> Any:
    return exists().where(LockRow.tenant == tenant, LockRow.token == token)


def write_resources(session: Session, resources: Sequence[RecordedResource]) -> None:
    """Insert or update the resources' rows, one statement per chunk (no commit)."""
    if not resources:
        return
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):  # another database: the portable read-then-write
        for resource in resources:
            _write_resource_orm(session, resource)
        return
    dialect_insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    for chunk in _chunks(resources):
        upsert = dialect_insert(ResourceRow).values([_resource_row(r, now) for r in chunk])
        changing = [c for c in _resource_row(chunk[0], now) if c not in KEY_COLUMNS]
        session.execute(
            upsert.on_conflict_do_update(
                index_elements=list(KEY_COLUMNS), set_={c: upsert.excluded[c] for c in changing}
            ),
            execution_options={"synchronize_session": False},
        )


KEY_COLUMNS = ("tenant", "kind", "name")


def _resource_row(resource: RecordedResource, now: Any) -> dict[str, Any]:
    key = resource.key
    return {
        "tenant": key.tenant,
        "kind": key.kind,
        "name": key.name,
        "identity": resource.identity,
        "remote_id": resource.remote_id,
        "spec": to_json(resource.spec),
        "depends_on": [[k.tenant, k.kind, k.name] for k in resource.depends_on],
        "observed": None if resource.observed is None else to_json(resource.observed),
        "status": resource.status,
        "lifecycle": to_json(resource.lifecycle) if resource.lifecycle else None,
        "updated_at": now,
    }


def _write_resource_orm(session: Session, resource: RecordedResource) -> None:
    key = resource.key
    row = session.get(ResourceRow, (key.tenant, key.kind, key.name))
    if row is None:
        row = ResourceRow(tenant=key.tenant, kind=key.kind, name=key.name)
        session.add(row)
    for column, value in _resource_row(resource, utcnow()).items():
        if column not in KEY_COLUMNS:
            setattr(row, column, value)


def insert_rows_where(
    session: Session, table: Any, rows: Sequence[Mapping[str, Any]], condition: Any | None
) -> Insert:
    """``INSERT INTO table (...) SELECT * FROM (<rows> UNION ALL ...) WHERE <condition>``.

    Every row has the same columns. PostgreSQL types the selected parameters
    by explicit casts (it would take an untyped one for text); SQLite needs
    none, and a cast there would apply its numeric affinity to timestamps.
    """
    columns = table.__table__.c
    typed = session.get_bind().dialect.name == "postgresql"
    names = list(rows[0])

    def selected(values: Mapping[str, Any]) -> Any:
        expressions = []
        for column in names:
            expression: Any = literal(values[column], columns[column].type)
            if typed:
                expression = cast(expression, columns[column].type)
            expressions.append(expression.label(column))
        return select(*expressions)

    if len(rows) == 1:
        source = selected(rows[0])
        if condition is not None:
            source = source.where(condition)
        return insert(table).from_select(names, source)
    rows_of = union_all(*(selected(values) for values in rows)).subquery("rows")
    source = select(*rows_of.c)
    if condition is not None:
        source = source.where(condition)
    return insert(table).from_select(names, source)
