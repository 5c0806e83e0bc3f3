"""Saved plans awaiting a person's approval, and the approvals themselves.

An agent's ``plan`` keeps the plan here (:meth:`PlansMixin.save_plan`) and
gets its id; a person approves that id (:meth:`PlansMixin.approve_plan`), which
records who, when and the digest approved; ``apply`` of the id checks that an
approval of the *same digest* exists, then re-plans and compares (the saved
plan's compare-and-swap, :func:`reconciler.planfile.verify`). A saved plan is
never changed, only stamped once applied.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from reconciler.errors import StateError
from reconciler.state.models import PlanApprovalRow, SavedPlanRow, utcnow
from reconciler.state.records import to_json


@dataclass(frozen=True)
class SavedPlanRecord:
    """A plan kept for approval; ``files`` are the proposed documents (None: none)."""

    id: str
    tenant: str
    digest: str
    document: Mapping[str, Any]
    files: Mapping[str, str] | None
    created_by: str
    created_at: datetime
    applied_at: datetime | None
    apply_id: int | None


@dataclass(frozen=True)
class ApprovalRecord:
    """Who approved which digest of a plan, and when."""

    plan_id: str
    digest: str
    approved_by: str
    approved_at: datetime
    allow_data_loss: bool


class PlansMixin:
    """Saved-plan and approval methods of :class:`~reconciler.state.StateStore`."""

    _session: Callable[[str], AbstractContextManager[Session]]

    def save_plan(
        self,
        plan_id: str,
        *,
        tenant: str,
        digest: str,
        document: Mapping[str, Any],
        files: Mapping[str, str] | None,
        created_by: str,
    ) -> SavedPlanRecord:
        """Keep a plan for approval under ``plan_id``."""
        row = SavedPlanRow(
            id=plan_id,
            tenant=tenant,
            digest=digest,
            document=to_json(document),
            files=dict(files) if files is not None else None,
            created_by=created_by,
            created_at=utcnow(),
        )
        with self._session(f"saving plan {plan_id}") as session:
            session.add(row)
            session.commit()
        return _plan_record(row)

    def saved_plan(self, plan_id: str) -> SavedPlanRecord | None:
        with self._session(f"reading plan {plan_id}") as session:
            row = session.get(SavedPlanRow, plan_id)
            return _plan_record(row) if row is not None else None

    def approve_plan(
        self, plan_id: str, *, digest: str, approved_by: str, allow_data_loss: bool = False
    ) -> ApprovalRecord:
        """Record a person's approval of ``digest`` of the plan."""
        with self._session(f"approving plan {plan_id}") as session:
            if session.get(SavedPlanRow, plan_id) is None:
                raise StateError(f"no plan {plan_id}", hint="check the id the plan tool returned")
            row = PlanApprovalRow(
                plan_id=plan_id,
                digest=digest,
                approved_by=approved_by,
                approved_at=utcnow(),
                allow_data_loss=allow_data_loss,
            )
            session.add(row)
            session.commit()
            return _approval_record(row)

    def plan_approvals(self, plan_id: str) -> list[ApprovalRecord]:
        """Every approval of the plan, oldest first."""
        query = (
            select(PlanApprovalRow)
            .where(PlanApprovalRow.plan_id == plan_id)
            .order_by(PlanApprovalRow.id)
        )
        with self._session(f"reading approvals of plan {plan_id}") as session:
            return [_approval_record(row) for row in session.scalars(query)]

    def mark_plan_applied(self, plan_id: str, *, apply_id: int | None) -> bool:
        """Stamp the plan as applied, once: False when it was applied already."""
        query = (
            update(SavedPlanRow)
            .where(SavedPlanRow.id == plan_id, SavedPlanRow.applied_at.is_(None))
            .values(applied_at=utcnow(), apply_id=apply_id)
        )
        with self._session(f"marking plan {plan_id} applied") as session:
            done = session.execute(query).rowcount == 1  # type: ignore[attr-defined]
            session.commit()
            return bool(done)


def _plan_record(row: SavedPlanRow) -> SavedPlanRecord:
    return SavedPlanRecord(
        id=row.id,
        tenant=row.tenant,
        digest=row.digest,
        document=row.document,
        files=row.files,
        created_by=row.created_by,
        created_at=row.created_at,
        applied_at=row.applied_at,
        apply_id=row.apply_id,
    )


def _approval_record(row: PlanApprovalRow) -> ApprovalRecord:
    return ApprovalRecord(
        plan_id=row.plan_id,
        digest=row.digest,
        approved_by=row.approved_by,
        approved_at=row.approved_at,
        allow_data_loss=row.allow_data_loss,
    )
