"""The state store: what the reconciler last applied, per tenant.

Planning only reads (:class:`StateReader`: :meth:`~StateStore.tenants` and
:meth:`~StateStore.read_tenant`). Applying writes, and every write is one
short transaction, committed before the method returns:

1. :meth:`~StateStore.begin_apply` claims the next serial of the tenant with
   a compare-and-swap. A plan made at an older serial is refused, and of two
   processes racing with the same plan exactly one wins.
2. After each connector call, :meth:`~StateStore.record_resource`,
   :meth:`~StateStore.forget_resource` or :meth:`~StateStore.record_failure`
   writes the resource and a step row together, so a crash loses at most the
   step in flight. Apply itself hands its steps to
   :meth:`~StateStore.write_batch`, which writes the results of the steps
   that finished together and the intents of the steps about to start in one
   transaction (see :mod:`.batch`).
3. :meth:`~StateStore.finish_apply` stamps the outcome.

Wrapping the three in :meth:`~StateStore.tenant_lock` (a lease row, see
:mod:`.leases`) keeps a second apply of the same tenant from starting (from a
plan made meanwhile) until the first is done. Before each connector call that
changes something, :meth:`~StateStore.open_intent` journals it; the step's
write closes the intent in the same transaction (see :mod:`.journal`).

The store keeps only what it is given; specs hold file hashes, never secrets.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

from sqlalchemy import Engine, null, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from reconciler.errors import StateError
from reconciler.kinds.base import RecordedResource, ResourceKey
from reconciler.state.batch import BatchMixin, StepWrite, running_apply
from reconciler.state.claims import ClaimsMixin
from reconciler.state.db import READ_ONLY_OPTION, describe_database, normalize_database_url
from reconciler.state.drift import DriftMixin
from reconciler.state.journal import JournalMixin
from reconciler.state.locking import LockingMixin
from reconciler.state.models import ApplyRow, ResourceRow, TenantRow, utcnow
from reconciler.state.open import open_engine
from reconciler.state.plans import PlansMixin
from reconciler.state.records import (
    RUNNING,
    ApplyRecord,
    StepRecord,
    TenantSnapshot,
    canonical_json,
    keys_from_json,
    to_json,
)
from reconciler.state.status import StatusMixin

FINISHED_OUTCOMES = ("succeeded", "failed")
OWNER_CHUNK = 500  # identities per IN (...) of :meth:`StateStore.owners`


class StateReader(Protocol):
    """The read-only side of the store: all that planning needs."""

    def tenants(self) -> list[str]: ...

    def read_tenant(self, tenant: str, *, observed: bool = True) -> TenantSnapshot: ...

    def claims_of(self, tenant: str) -> dict[str, str]: ...


class StateStore(
    BatchMixin, JournalMixin, LockingMixin, DriftMixin, StatusMixin, PlansMixin, ClaimsMixin
):
    """Recorded state in PostgreSQL or SQLite; open it with :meth:`StateStore.open`.

    The intent journal, the tenant locks, the drift reports, the service
    status, the saved plans and the claims live in the mixins of :mod:`.journal`,
    :mod:`.locking`, :mod:`.drift`, :mod:`.status`, :mod:`.plans` and :mod:`.claims`.

    Every method is synchronous and short; async callers (apply, ``serve``)
    run them in worker threads (``asyncio.to_thread``) so a slow database
    never stalls the event loop. Reads run in read transactions, which on
    SQLite do not take the write lock (see :func:`~.db.create_state_engine`).
    """

    def __init__(self, engine: Engine, *, description: str) -> None:
        """Wrap an engine whose database is already migrated (use :meth:`open`)."""
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            engine.execution_options(**{READ_ONLY_OPTION: True}), expire_on_commit=False
        )
        self.description = description

    @classmethod
    def open(cls, url: str) -> StateStore:
        """Open (and create or upgrade) the state database at ``url``.

        ``url`` may be anything :func:`normalize_database_url` accepts. For
        SQLite the file's directory is created. Raises :class:`StateError`
        naming the database (never its password) when it cannot be reached.
        """
        normalized = normalize_database_url(url)
        return cls(open_engine(normalized), description=describe_database(normalized))

    def close(self) -> None:
        """Release every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"StateStore({self.description})"

    # ---- reading ------------------------------------------------------------------

    def tenants(self) -> list[str]:
        """Names of every tenant that was ever applied, sorted."""
        with self._read_session("listing tenants") as session:
            return list(session.scalars(select(TenantRow.name).order_by(TenantRow.name)))

    def read_tenant(self, tenant: str, *, observed: bool = True) -> TenantSnapshot:
        """The tenant's serial (0 if never applied) and every recorded resource, in one query.

        Columns, not ORM objects (no identity map for thousands of rows). With
        ``observed=False`` the stored observations are not read (a plan does not
        use them; ``state show`` and the MCP tools do): their records say None.
        """
        r = ResourceRow
        columns = [TenantRow.serial, r.tenant, r.kind, r.name, r.identity, r.remote_id]
        columns += [r.spec, r.depends_on, r.status, r.lifecycle]
        query = (
            select(*columns, r.observed if observed else null().label("observed"))
            .outerjoin(r, r.tenant == TenantRow.name)
            .where(TenantRow.name == tenant)
            .order_by(r.kind, r.name)
        )
        with self._read_session(f"reading tenant {tenant}") as session:
            rows = session.execute(query).all()
        serial = rows[0].serial if rows else 0
        recorded = (_recorded(row) for row in rows if row.kind is not None)
        return TenantSnapshot(tenant, serial, {item.key: item for item in recorded})

    def owners(
        self, excluding: str, wanted: Collection[tuple[str, str]] | None = None
    ) -> dict[tuple[str, str], str]:
        """(kind, identity) -> the tenant recording it, for every tenant but ``excluding``;
        with ``wanted``, only for those (kind, identity) pairs (none: no query at all).

        Three columns, no specs decoded; a plan asks only for the identities its
        tenant does not record yet, so a no-change plan asks nothing, and planning
        every tenant does not read every other tenant's rows once per tenant.
        """
        query = select(ResourceRow.kind, ResourceRow.identity, ResourceRow.tenant).where(
            ResourceRow.tenant != excluding
        )
        if wanted is None:
            queries = [query]
        else:
            pairs = set(wanted)
            names = sorted({identity for _, identity in pairs})
            queries = [
                query.where(ResourceRow.identity.in_(names[start : start + OWNER_CHUNK]))
                for start in range(0, len(names), OWNER_CHUNK)
            ]
        owners: dict[tuple[str, str], str] = {}
        with self._read_session("reading the other tenants' objects") as session:
            for chosen in queries:
                for kind, identity, tenant in session.execute(chosen.order_by(ResourceRow.tenant)):
                    if wanted is None or (kind, identity) in pairs:
                        owners.setdefault((kind, identity), tenant)
        return owners

    def history(self, tenant: str | None = None, limit: int = 20) -> list[ApplyRecord]:
        """The newest ``limit`` applies (of one tenant, or of all), newest first, with steps."""
        query = select(ApplyRow).options(selectinload(ApplyRow.steps))
        if tenant is not None:
            query = query.where(ApplyRow.tenant == tenant)
        query = query.order_by(ApplyRow.id.desc()).limit(limit)
        with self._read_session("reading the apply history") as session:
            return [_apply_record(row) for row in session.scalars(query)]

    # ---- writing ------------------------------------------------------------------

    def begin_apply(
        self,
        tenant: str,
        *,
        expected_serial: int,
        actor: str,
        git_commit: str | None,
        summary: Mapping[str, Any],
    ) -> int:
        """Claim serial ``expected_serial + 1`` of ``tenant`` and open an apply; return its id.

        Raises :class:`StateError` ("state of tenant X moved") when another apply
        got there first: the plan is stale and must be made again.
        """
        now = utcnow()
        with self._session(f"starting an apply of tenant {tenant}") as session:
            serial = _claim_next_serial(session, tenant, expected_serial)
            row = ApplyRow(
                tenant=tenant,
                serial=serial,
                actor=actor,
                git_commit=git_commit,
                started_at=now,
                outcome=RUNNING,
                summary=to_json(summary),
            )
            session.add(row)
            session.commit()
            return row.id

    def record_resource(
        self,
        apply_id: int,
        resource: RecordedResource,
        *,
        action: str,
        intent_id: int | None = None,
    ) -> None:
        """Store what was just applied to ``resource``, log the step, close its intent."""
        step = StepWrite(resource.key, action, record=resource, intent_id=intent_id)
        self.write_batch(apply_id, resource.key.tenant, steps=[step])

    def forget_resource(
        self, apply_id: int, key: ResourceKey, *, action: str, intent_id: int | None = None
    ) -> None:
        """Drop the resource from state (deleted, or no longer ours), log the step, close intent."""
        step = StepWrite(key, action, forget=True, intent_id=intent_id)
        self.write_batch(apply_id, key.tenant, steps=[step])

    def remove_resource(self, key: ResourceKey) -> bool:
        """Forget a resource outside any apply (``state rm``); the remote object stays.

        Bumps the tenant's serial so plans made before are refused. False when
        nothing was recorded under ``key``.
        """
        with self._session(f"removing {key} from state") as session:
            row = session.get(ResourceRow, (key.tenant, key.kind, key.name))
            if row is None:
                return False
            session.delete(row)
            session.execute(
                update(TenantRow)
                .where(TenantRow.name == key.tenant)
                .values(serial=TenantRow.serial + 1, updated_at=utcnow())
            )
            session.commit()
            return True

    def record_failure(self, apply_id: int, key: ResourceKey, *, action: str, error: str) -> None:
        """Log a failed step; the resource's recorded state stays as it was."""
        self.write_batch(apply_id, key.tenant, steps=[StepWrite(key, action, error=error)])

    def refresh_observed(
        self, tenant: str, observed: Mapping[ResourceKey, Mapping[str, Any]]
    ) -> None:
        """Update what was last observed of recorded resources, in one transaction.

        Keys without a recorded resource are skipped; rows whose observation is
        unchanged are not written at all (``updated_at`` stays put).
        """
        foreign = sorted(str(key) for key in observed if key.tenant != tenant)
        if foreign:
            raise StateError(
                f"refresh of tenant {tenant} was given resources of other tenants: {foreign[:3]}",
                hint="refresh each tenant with its own observations",
            )
        now = utcnow()
        wanted = {(key.kind, key.name): to_json(value) for key, value in observed.items()}
        with self._session(f"refreshing observed state of tenant {tenant}") as session:
            rows = session.scalars(select(ResourceRow).where(ResourceRow.tenant == tenant))
            for row in rows:
                new = wanted.get((row.kind, row.name))
                if new is not None and canonical_json(new) != canonical_json(row.observed):
                    row.observed = new
                    row.updated_at = now
            session.commit()

    def finish_apply(self, apply_id: int, *, outcome: str, summary: Mapping[str, Any]) -> None:
        """Close an apply with ``"succeeded"`` or ``"failed"``.

        ``summary`` is merged over the one given to :meth:`begin_apply` (its keys
        win), so the plan summary and the results are both kept.
        """
        if outcome not in FINISHED_OUTCOMES:
            raise ValueError(f"outcome must be one of {FINISHED_OUTCOMES}, not {outcome!r}")
        with self._session(f"finishing apply {apply_id}") as session:
            row = running_apply(session, apply_id, None)
            row.outcome = outcome
            row.finished_at = utcnow()
            row.summary = {**row.summary, **to_json(summary)}
            session.commit()

    # ---- plumbing -----------------------------------------------------------------

    @contextmanager
    def _session(self, doing: str) -> Iterator[Session]:
        """A session whose database failures become one-line StateErrors."""
        with self._guarded(doing, self._sessions) as session:
            yield session

    @contextmanager
    def _read_session(self, doing: str) -> Iterator[Session]:
        """A session for reading only: on SQLite it never waits for the write lock."""
        with self._guarded(doing, self._read_sessions) as session:
            yield session

    @contextmanager
    def _guarded(self, doing: str, sessions: Callable[[], Session]) -> Iterator[Session]:
        try:
            with sessions() as session:
                yield session
        except StateError:
            raise
        except SQLAlchemyError as exc:
            raise StateError(
                f"state database ({self.description}) failed while {doing}: {_reason(exc)}",
                hint="check that the database is reachable, then run the command again",
            ) from exc


def _claim_next_serial(session: Session, tenant: str, expected: int) -> int:
    """Compare-and-swap the tenant's serial from ``expected`` to ``expected + 1``.

    ``UPDATE ... WHERE serial = :expected`` changes one row only if nobody moved
    the serial; a brand-new tenant is inserted at 1, and the primary key makes a
    racing second insert fail. Either way the loser learns the current serial.
    """
    bump = (
        update(TenantRow)
        .where(TenantRow.name == tenant, TenantRow.serial == expected)
        .values(serial=TenantRow.serial + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if session.execute(bump).rowcount == 1:  # type: ignore[attr-defined]
        return expected + 1
    if expected == 0 and _insert_tenant(session, tenant):
        return 1
    current = session.scalar(select(TenantRow.serial).where(TenantRow.name == tenant)) or 0
    raise StateError(
        f"state of tenant {tenant} moved (serial {current}, plan was made at {expected})",
        hint="re-run plan",
    )


def _insert_tenant(session: Session, tenant: str) -> bool:
    """Create the tenant at serial 1; False if it exists already (someone else won)."""
    now = utcnow()
    try:
        with session.begin_nested():
            session.add(TenantRow(name=tenant, serial=1, created_at=now, updated_at=now))
    except IntegrityError:
        return False
    return True


def _recorded(row: Any) -> RecordedResource:
    """A record from a resources row (an ORM row or a row of its columns)."""
    return RecordedResource(
        key=ResourceKey(row.tenant, row.kind, row.name),
        identity=row.identity,
        remote_id=row.remote_id,
        spec=row.spec,
        depends_on=keys_from_json(row.depends_on),
        observed=row.observed,
        status=row.status,
        lifecycle=row.lifecycle or {},
    )


def _apply_record(row: ApplyRow) -> ApplyRecord:
    steps = tuple(
        StepRecord(step.kind, step.name, step.action, step.outcome, step.error, step.at)
        for step in row.steps
    )
    return ApplyRecord(
        id=row.id,
        tenant=row.tenant,
        serial=row.serial,
        actor=row.actor,
        git_commit=row.git_commit,
        started_at=row.started_at,
        finished_at=row.finished_at,
        outcome=row.outcome,
        summary=row.summary,
        steps=steps,
    )


def _reason(exc: SQLAlchemyError) -> str:
    """The driver's first line, without the SQL statement or parameters."""
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().splitlines()[0] if str(original).strip() else type(exc).__name__
