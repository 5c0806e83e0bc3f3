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
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Executable,
    Select,
    and_,
    bindparam,
    cast,
    delete,
    exists,
    insert,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from reconciler.errors import StateError
from reconciler.kinds.base import RecordedResource, ResourceKey
from reconciler.state.leases import check_held
from reconciler.state.models import ApplyRow, ApplyStepRow, IntentRow, LockRow, ResourceRow, utcnow
from reconciler.state.records import RUNNING, to_json

MAX_ROWS = 100
"""Steps (results and intents) per batch, one transaction."""

STATEMENT_ROWS = 16
"""Rows per statement (SQLite allows 500 terms in a compound SELECT and, before 3.32,
999 parameters in one statement). Each row count is a statement shape that is built,
compiled and cached once (here and in SQLAlchemy's cache): with up to 100 rows a
statement, the shapes of 10,000 creates held about 45 MB; with 16, a few MB. Batches
of parallel steps rarely hold more than 16 of a kind, so the statements per create
stay about the same."""


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
        keys += [s.record.key for s in steps if s.record is not None]
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
            _close_intents(session, tenant, [s.intent_id for s in steps if s.intent_id is not None])
            if len(intents) > STATEMENT_ROWS:  # several statements: all of them or none
                nested = session.begin_nested()
                ids = _open_intents(session, apply_id, tenant, intents, lease_token)
                (nested.rollback if ids is None else nested.commit)()
            else:
                ids = _open_intents(session, apply_id, tenant, intents, lease_token)
            if ids is None:
                running_apply(session, apply_id, intents[0].key)  # raises, saying what is wrong
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
    if row.outcome != RUNNING:
        raise StateError(
            f"apply {apply_id} of tenant {row.tenant} already finished ({row.outcome})",
            hint="start a new apply with a fresh plan",
        )
    return row


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[i : i + STATEMENT_ROWS] for i in range(0, len(items), STATEMENT_ROWS)]


def _insert_steps(session: Session, apply_id: int, tenant: str, steps: Sequence[StepWrite]) -> bool:
    """The steps' rows, only while the apply runs; False when nothing was written."""
    at = utcnow()
    connection = session.connection()
    for chunk in _chunks(steps):
        rows = [_step_row(apply_id, s, at) for s in chunk]
        statement = _guarded_insert(_dialect(session), "steps", len(rows))
        guard = {"guard_apply": apply_id, "guard_tenant": tenant}
        written = connection.execute(statement, _parameters(STEP_COLUMNS, rows, guard)).all()
        if len(written) != len(rows):
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
    connection = session.connection()
    guard = "intents" if lease_token is None else "leased intents"
    for chunk in _chunks(intents):
        rows = [_intent_row(apply_id, i, opened) for i in chunk]
        statement = _guarded_insert(_dialect(session), guard, len(rows))
        held = {"guard_apply": apply_id, "guard_tenant": tenant, "guard_token": lease_token}
        returned = connection.execute(statement, _parameters(INTENT_COLUMNS, rows, held)).all()
        if len(returned) != len(rows):
            return None
        ids.update({(kind, name): int(id_) for id_, kind, name in returned})
    return tuple(ids[(i.key.kind, i.key.name)] for i in intents)


def _forget(session: Session, tenant: str, keys: Sequence[ResourceKey]) -> None:
    for chunk in _chunks(keys):
        named = or_(*(and_(ResourceRow.kind == k.kind, ResourceRow.name == k.name) for k in chunk))
        session.connection().execute(delete(ResourceRow).where(ResourceRow.tenant == tenant, named))


CLOSE_INTENTS = delete(IntentRow).where(
    IntentRow.id.in_(bindparam("ids", expanding=True)), IntentRow.tenant == bindparam("tenant")
)


def _close_intents(session: Session, tenant: str, ids: Sequence[int]) -> None:
    if ids:
        session.connection().execute(CLOSE_INTENTS, {"ids": list(ids), "tenant": tenant})


def write_resources(session: Session, resources: Sequence[RecordedResource]) -> None:
    """Insert or update the resources' rows, one statement per chunk (no commit)."""
    if not resources:
        return
    dialect = _dialect(session)  # PostgreSQL or SQLite (normalize_database_url refuses others)
    now = utcnow()
    connection = session.connection()
    for chunk in _chunks(resources):
        rows = [_resource_row(r, now) for r in chunk]
        connection.execute(_upsert(dialect, len(rows)), _parameters(RESOURCE_COLUMNS, rows, {}))


STEP_COLUMNS = ("apply_id", "kind", "name", "action", "outcome", "error", "at")
INTENT_COLUMNS = (
    "apply_id",
    "tenant",
    "kind",
    "name",
    "action",
    "identity",
    "idempotency_key",
    "request",
    "opened_at",
)
RESOURCE_COLUMNS = (
    "tenant",
    "kind",
    "name",
    "identity",
    "remote_id",
    "spec",
    "depends_on",
    "observed",
    "status",
    "lifecycle",
    "updated_at",
)
KEY_COLUMNS = ("tenant", "kind", "name")


def _step_row(apply_id: int, step: StepWrite, at: Any) -> tuple[Any, ...]:
    outcome = "ok" if step.error is None else "failed"
    return (apply_id, step.key.kind, step.key.name, step.action, outcome, step.error, at)


def _intent_row(apply_id: int, intent: IntentWrite, opened: Any) -> tuple[Any, ...]:
    key = intent.key
    return (
        apply_id,
        key.tenant,
        key.kind,
        key.name,
        intent.action,
        intent.identity,
        intent.idempotency_key,
        to_json(intent.request),
        opened,
    )


def _resource_row(resource: RecordedResource, now: Any) -> tuple[Any, ...]:
    key = resource.key
    return (
        key.tenant,
        key.kind,
        key.name,
        resource.identity,
        resource.remote_id,
        to_json(resource.spec),
        [[k.tenant, k.kind, k.name] for k in resource.depends_on],
        None if resource.observed is None else to_json(resource.observed),
        resource.status,
        to_json(resource.lifecycle) if resource.lifecycle else None,
        now,
    )


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _parameters(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], extra: Mapping[str, Any]
) -> dict[str, Any]:
    """The bound values of a multi-row statement: ``r<row>_<column>`` (see :func:`_row`)."""
    values = dict(extra)
    for number, row in enumerate(rows):
        values.update({f"r{number}_{c}": v for c, v in zip(columns, row, strict=True)})
    return values


def _row(table: Any, columns: Sequence[str], number: int, typed: bool) -> list[Any]:
    """Row ``number`` of a multi-row statement as typed bound parameters.

    PostgreSQL types the selected parameters by explicit casts (it would take
    an untyped one for text); SQLite needs none, and a cast there would apply
    its numeric affinity to timestamps.
    """
    selected: list[Any] = []
    for column in columns:
        kind = table.c[column].type
        value: Any = bindparam(f"r{number}_{column}", type_=kind)
        selected.append((cast(value, kind) if typed else value).label(column))
    return selected


@lru_cache(maxsize=1024)
def _guarded_insert(dialect: str, what: str, count: int) -> Executable:
    """``INSERT INTO t (...) SELECT * FROM (<row> UNION ALL ...) WHERE <guard> RETURNING ...``
    for ``count`` rows, built once per shape: SQLAlchemy then reuses its compiled form."""
    table: Any
    columns: tuple[str, ...]
    returned: tuple[Any, ...]
    if what == "steps":
        table, columns, returned = ApplyStepRow.__table__, STEP_COLUMNS, (ApplyStepRow.id,)
        guard: Any = exists().where(
            ApplyRow.id == bindparam("guard_apply"),
            ApplyRow.tenant == bindparam("guard_tenant"),
            ApplyRow.outcome == RUNNING,
        )
    else:  # intents: of a running apply of this tenant, and with a lease, while it holds
        table, columns = IntentRow.__table__, INTENT_COLUMNS
        returned = (IntentRow.id, IntentRow.kind, IntentRow.name)
        guard = exists().where(
            ApplyRow.id == bindparam("guard_apply"),
            ApplyRow.tenant == bindparam("guard_tenant"),
            ApplyRow.outcome == RUNNING,
        )
        if what == "leased intents":
            guard = guard & exists().where(
                LockRow.tenant == bindparam("guard_tenant"),
                LockRow.token == bindparam("guard_token"),
            )
    source = _rows(dialect, table, columns, count).where(guard)
    return insert(table).from_select(list(columns), source).returning(*returned)


@lru_cache(maxsize=256)
def _upsert(dialect: str, count: int) -> Executable:
    """``INSERT INTO resources ... SELECT <rows> ON CONFLICT DO UPDATE`` of ``count`` rows."""
    table: Any = ResourceRow.__table__
    dialect_insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # SQLite needs a WHERE before ON CONFLICT, or it reads ON as a join's
    source = _rows(dialect, table, RESOURCE_COLUMNS, count).where(true())
    upsert = dialect_insert(table).from_select(list(RESOURCE_COLUMNS), source)
    changing = {c: upsert.excluded[c] for c in RESOURCE_COLUMNS if c not in KEY_COLUMNS}
    return upsert.on_conflict_do_update(index_elements=list(KEY_COLUMNS), set_=changing)


def _rows(dialect: str, table: Any, columns: Sequence[str], count: int) -> Select[Any]:
    """``SELECT <row 0> UNION ALL SELECT <row 1> ...`` as one selectable of ``columns``."""
    typed = dialect == "postgresql"
    rows = [select(*_row(table, columns, n, typed)) for n in range(count)]
    if count == 1:
        return rows[0]
    union = union_all(*rows).subquery("rows")
    return select(*union.c)
