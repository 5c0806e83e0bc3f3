"""Stored service status: the sync and health of every tenant and resource.

``serve`` writes a :class:`~reconciler.status.TenantStatus` after each
reconcile (:meth:`StatusMixin.record_status`); only resource rows whose sync,
health or message changed are written, so a quiet cycle costs one row per
tenant. ``suspended`` is set only by :meth:`StatusMixin.set_suspended` (the
API's suspend/resume), never by a reconcile, so it survives restarts and is
seen by every replica.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from reconciler.state.models import ResourceStatusRow, TenantStatusRow, utcnow
from reconciler.status import Health, ResourceStatus, Sync, TenantStatus


class StatusMixin:
    """Status methods of :class:`~reconciler.state.StateStore`."""

    _session: Callable[[str], AbstractContextManager[Session]]
    _read_session: Callable[[str], AbstractContextManager[Session]]

    def record_status(self, status: TenantStatus) -> None:
        """Store the tenant's status and its resources' (changed rows only), in one transaction."""
        with self._session(f"recording the status of tenant {status.tenant}") as session:
            row = session.get(TenantStatusRow, status.tenant)
            if row is None:
                row = TenantStatusRow(tenant=status.tenant, suspended=False)
                session.add(row)
            row.sync, row.health = status.sync.value, status.health.value
            row.commit, row.message, row.last_error = (
                status.commit,
                status.message,
                status.last_error,
            )
            row.last_reconcile_at = status.last_reconcile_at
            row.last_apply_at = status.last_apply_at or row.last_apply_at
            row.drift, row.reconciled_by = status.drift, status.reconciled_by
            row.updated_at = utcnow()
            session.flush()
            _write_resources(session, status)
            session.commit()

    def set_suspended(self, tenant: str, suspended: bool) -> None:
        """Suspend or resume the tenant (kept until changed again)."""
        with self._session(f"suspending tenant {tenant}") as session:
            row = session.get(TenantStatusRow, tenant)
            if row is None:
                row = TenantStatusRow(
                    tenant=tenant, sync=Sync.UNKNOWN.value, health=Health.HEALTHY.value,
                    message="", drift=0, updated_at=utcnow(),
                )  # fmt: skip
                session.add(row)
            row.suspended = suspended
            session.commit()

    def tenant_status(self, tenant: str, *, resources: bool = True) -> TenantStatus | None:
        """The tenant's stored status with its resources, or None if never recorded.

        With ``resources=False`` only the tenant's own row is read (its resources
        are then empty: never record such a status back, it would drop them).
        """
        with self._read_session(f"reading the status of tenant {tenant}") as session:
            row = session.get(TenantStatusRow, tenant)
            if row is None:
                return None
            if not resources:
                return _tenant(row, ())
            query = (
                select(ResourceStatusRow)
                .where(ResourceStatusRow.tenant == tenant)
                .order_by(ResourceStatusRow.kind, ResourceStatusRow.name)
            )
            return _tenant(row, tuple(_resource(r) for r in session.scalars(query)))

    def tenant_statuses(self) -> list[TenantStatus]:
        """Every stored tenant status (without resources), by tenant name."""
        with self._read_session("reading tenant statuses") as session:
            rows = session.scalars(select(TenantStatusRow).order_by(TenantStatusRow.tenant))
            return [_tenant(row, ()) for row in rows]

    def resource_status_counts(self) -> dict[tuple[str, str], int]:
        """How many resources are in each (sync, health) pair, over every tenant."""
        with self._read_session("counting resource statuses") as session:
            counts: dict[tuple[str, str], int] = {}
            for sync, health in session.execute(
                select(ResourceStatusRow.sync, ResourceStatusRow.health)
            ):
                counts[(sync, health)] = counts.get((sync, health), 0) + 1
            return counts


def _write_resources(session: Session, status: TenantStatus) -> None:
    existing = {
        (r.kind, r.name): r
        for r in session.scalars(
            select(ResourceStatusRow).where(ResourceStatusRow.tenant == status.tenant)
        )
    }
    wanted = {(r.kind, r.name): r for r in status.resources}
    gone = [key for key in existing if key not in wanted]
    for kind, name in gone:
        session.execute(
            delete(ResourceStatusRow)
            .where(
                ResourceStatusRow.tenant == status.tenant,
                ResourceStatusRow.kind == kind,
                ResourceStatusRow.name == name,
            )
            .execution_options(synchronize_session=False)
        )
    for key, new in wanted.items():
        row = existing.get(key)
        if row is None:
            session.add(
                ResourceStatusRow(
                    tenant=status.tenant,
                    kind=new.kind,
                    name=new.name,
                    sync=new.sync.value,
                    health=new.health.value,
                    message=new.message,
                )
            )
        elif (row.sync, row.health, row.message) != (new.sync.value, new.health.value, new.message):
            row.sync, row.health, row.message = new.sync.value, new.health.value, new.message


def _resource(row: ResourceStatusRow) -> ResourceStatus:
    return ResourceStatus(row.kind, row.name, Sync(row.sync), Health(row.health), row.message)


def _tenant(row: TenantStatusRow, resources: tuple[ResourceStatus, ...]) -> TenantStatus:
    return TenantStatus(
        tenant=row.tenant,
        sync=Sync(row.sync),
        health=Health(row.health),
        commit=row.commit,
        message=row.message,
        last_error=row.last_error,
        last_reconcile_at=row.last_reconcile_at,
        last_apply_at=row.last_apply_at,
        suspended=row.suspended,
        drift=row.drift,
        reconciled_by=row.reconciled_by,
        resources=resources,
    )
