"""The state tables, as SQLAlchemy 2 declarative models.

These tables hold everything the reconciler remembers:

``tenants``
    one row per tenant with its *serial*: every apply bumps it, and a plan made
    at an older serial is refused.
``resources``
    what was last applied per (tenant, kind, name): the spec, the remote id,
    what was last observed, and the dependencies.
``applies``
    one row per apply: who ran it, from which git commit, the plan summary and
    the outcome.
``apply_steps``
    one row per step of an apply, written right after the step ran.
``intents``
    the intent journal: a row is written (and committed) before a connector
    call that changes something, and deleted in the same transaction that
    records the call's result; a row left behind means the call's outcome is
    unknown and must be looked up before the next plan.
``tenant_locks``
    one lease row per tenant being applied: who holds it (host, pid, command),
    since when, and until when (renewed by a heartbeat while the apply runs).
``drift_reports``
    drift reports as they were taken, per tenant.
``tenant_status`` and ``resource_status``
    what ``serve`` last found per tenant and resource: sync and health (see
    :mod:`reconciler.status`), the commit in force, the last error, whether
    the tenant is suspended.
``saved_plans`` and ``plan_approvals``
    plans kept for approval (made by an agent through ``reconciler mcp``) and
    the people's approvals of them, each bound to the plan's digest.
``claims``
    which tenant holds each ``tenantId`` and catalog name: one tenant per value,
    written on apply (see :mod:`reconciler.claims`).

JSON columns are JSONB on PostgreSQL (GIN-indexed by the migration) and JSON
text on SQLite. Every text and JSON column but the structural ones (keys,
dependencies, lifecycle) is scrubbed of registered secrets as it is written
(:mod:`reconciler.scrub`), the last line of defence behind the masks. Timestamps are stored and returned as timezone-aware UTC.
The migration in ``migrations/versions`` creates exactly these tables; a test
compares the two.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from reconciler.scrub import scrub, scrub_data

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Stable constraint names, so later SQLite batch migrations can refer to them."""

NAME_LENGTH = 255

JsonDocument = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
"""A JSON document column: JSONB on PostgreSQL; Python ``None`` is stored as SQL NULL."""


class ScrubbedJson(TypeDecorator[Any]):
    """A :data:`JsonDocument` whose string values are scrubbed of secrets as they are written."""

    impl = JSON(none_as_null=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB(none_as_null=True))
        return dialect.type_descriptor(JSON(none_as_null=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return scrub_data(value)


class ScrubbedText(TypeDecorator[str]):
    """``Text`` scrubbed of secrets as it is written (identities, errors, messages)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return scrub(value) if value is not None else None


POSTGRES_ONLY_INDEXES = frozenset({"ix_resources_spec_gin", "ix_resources_observed_gin"})
"""GIN indexes over JSONB; they exist only on PostgreSQL (see ``ResourceRow``)."""


def schema_filter(dialect_name: str) -> Callable[..., bool]:
    """An Alembic ``include_object`` hook that leaves PostgreSQL-only indexes out elsewhere.

    Alembic's autogenerate does not honour ``Index.ddl_if``, so without this
    a comparison on SQLite would ask to add the GIN indexes.
    """

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        return not (
            type_ == "index" and name in POSTGRES_ONLY_INDEXES and dialect_name != "postgresql"
        )

    return include


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that always hands back aware UTC datetimes.

    PostgreSQL keeps the offset; SQLite stores text without one, so values read
    back from SQLite are marked as UTC (which is what was written).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("state timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of the state tables."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TenantRow(Base):
    """A tenant and its serial (0 means "never applied", so no row exists yet)."""

    __tablename__ = "tenants"

    name: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    serial: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class ResourceRow(Base):
    """The last applied state of one resource."""

    __tablename__ = "resources"

    tenant: Mapped[str] = mapped_column(
        String(NAME_LENGTH), ForeignKey("tenants.name", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    identity: Mapped[str] = mapped_column(ScrubbedText, nullable=False)
    remote_id: Mapped[str] = mapped_column(ScrubbedText, nullable=False)
    spec: Mapped[dict[str, Any]] = mapped_column(ScrubbedJson, nullable=False)
    depends_on: Mapped[list[list[str]]] = mapped_column(JsonDocument, nullable=False)
    observed: Mapped[dict[str, Any] | None] = mapped_column(ScrubbedJson, nullable=True)
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    lifecycle: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument, nullable=True)

    __table_args__ = (
        # Search inside specs and observations; JSONB + GIN exists on PostgreSQL only.
        Index("ix_resources_spec_gin", "spec", postgresql_using="gin").ddl_if(dialect="postgresql"),
        Index("ix_resources_observed_gin", "observed", postgresql_using="gin").ddl_if(
            dialect="postgresql"
        ),
    )


class ApplyRow(Base):
    """One apply of one tenant; ``(tenant, serial)`` is unique, so a serial is claimed once."""

    __tablename__ = "applies"
    __table_args__ = (UniqueConstraint("tenant", "serial"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(
        String(NAME_LENGTH), ForeignKey("tenants.name", ondelete="CASCADE"), nullable=False
    )
    serial: Mapped[int] = mapped_column(Integer, nullable=False)
    actor: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    git_commit: Mapped[str | None] = mapped_column(String(64), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str] = mapped_column(String(32), nullable=False)
    summary: Mapped[dict[str, Any]] = mapped_column(ScrubbedJson, nullable=False)

    steps: Mapped[list[ApplyStepRow]] = relationship(
        back_populates="apply",
        order_by="ApplyStepRow.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class ApplyStepRow(Base):
    """One step of an apply: which resource, what was done, and how it went."""

    __tablename__ = "apply_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    apply_id: Mapped[int] = mapped_column(
        ForeignKey("applies.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    outcome: Mapped[str] = mapped_column(String(32), nullable=False)
    error: Mapped[str | None] = mapped_column(ScrubbedText, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    apply: Mapped[ApplyRow] = relationship(back_populates="steps")


class IntentRow(Base):
    """An open intent: a connector call that was about to change something.

    Written and committed before the call; deleted in the transaction that
    records the call's result. ``request`` holds what was being applied (spec,
    dependencies, lifecycle, the remote id being replaced or deleted), never
    secrets.
    """

    __tablename__ = "intents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    apply_id: Mapped[int] = mapped_column(
        ForeignKey("applies.id", ondelete="CASCADE"), nullable=False
    )
    tenant: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    identity: Mapped[str] = mapped_column(ScrubbedText, nullable=False)
    idempotency_key: Mapped[str] = mapped_column(Text, nullable=False)
    request: Mapped[dict[str, Any]] = mapped_column(ScrubbedJson, nullable=False)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class LockRow(Base):
    """The lease on one tenant: held by one apply, renewed until ``expires_at``."""

    __tablename__ = "tenant_locks"

    tenant: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    token: Mapped[str] = mapped_column(String(64), nullable=False)
    host: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    pid: Mapped[int] = mapped_column(Integer, nullable=False)
    command: Mapped[str] = mapped_column(ScrubbedText, nullable=False)
    since: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class DriftReportRow(Base):
    """One drift report of one tenant, as it was taken."""

    __tablename__ = "drift_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    report: Mapped[dict[str, Any]] = mapped_column(ScrubbedJson, nullable=False)


class TenantStatusRow(Base):
    """The service's view of one tenant (one row per tenant it ever reconciled)."""

    __tablename__ = "tenant_status"

    tenant: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    sync: Mapped[str] = mapped_column(String(32), nullable=False)
    health: Mapped[str] = mapped_column(String(32), nullable=False)
    commit: Mapped[str | None] = mapped_column(String(64), nullable=True)
    message: Mapped[str] = mapped_column(ScrubbedText, nullable=False)
    last_error: Mapped[str | None] = mapped_column(ScrubbedText, nullable=True)
    last_reconcile_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_apply_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    suspended: Mapped[bool] = mapped_column(Boolean, nullable=False)
    drift: Mapped[int] = mapped_column(Integer, nullable=False)
    reconciled_by: Mapped[str | None] = mapped_column(String(NAME_LENGTH), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class ResourceStatusRow(Base):
    """Sync and health of one resource, as the service last found it."""

    __tablename__ = "resource_status"

    tenant: Mapped[str] = mapped_column(
        String(NAME_LENGTH),
        ForeignKey("tenant_status.tenant", ondelete="CASCADE"),
        primary_key=True,
    )
    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    sync: Mapped[str] = mapped_column(String(32), nullable=False)
    health: Mapped[str] = mapped_column(String(32), nullable=False)
    message: Mapped[str] = mapped_column(ScrubbedText, nullable=False)


class SavedPlanRow(Base):
    """A plan kept for a person to approve and an agent to apply (``reconciler mcp``).

    ``document`` is the saved-plan document of :mod:`reconciler.planfile` (no
    secrets); ``files`` the proposed documents it was made with, by path in the
    tenant's folder (None: the tenant's own documents). ``digest`` covers both,
    so an approval of this digest approves exactly this plan.
    """

    __tablename__ = "saved_plans"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False, index=True)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    document: Mapped[dict[str, Any]] = mapped_column(ScrubbedJson, nullable=False)
    files: Mapped[dict[str, Any] | None] = mapped_column(ScrubbedJson, nullable=True)
    created_by: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    apply_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class PlanApprovalRow(Base):
    """A person's approval of one saved plan, bound to the plan's digest."""

    __tablename__ = "plan_approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(
        ForeignKey("saved_plans.id", ondelete="CASCADE"), nullable=False, index=True
    )
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    approved_by: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    allow_data_loss: Mapped[bool] = mapped_column(Boolean, nullable=False)


class ClaimRow(Base):
    """A value only one tenant of the state database may use: a tenantId or a catalog name."""

    __tablename__ = "claims"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)  # "tenant_id" | "catalog"
    value: Mapped[str] = mapped_column(String(NAME_LENGTH), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False, index=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
