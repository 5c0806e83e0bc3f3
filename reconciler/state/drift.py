"""Stored drift reports: what drift detection found, per tenant, over time."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reconciler.state.models import DriftReportRow, utcnow
from reconciler.state.records import DriftRecord, to_json


class DriftMixin:
    """Drift report methods of :class:`~reconciler.state.StateStore`."""

    _session: Callable[[str], AbstractContextManager[Session]]
    _read_session: Callable[[str], AbstractContextManager[Session]]

    def record_drift(self, tenant: str, report: dict[str, Any]) -> int:
        """Store one drift report of ``tenant``; returns its id."""
        with self._session(f"recording a drift report of tenant {tenant}") as session:
            row = DriftReportRow(tenant=tenant, at=utcnow(), report=to_json(report))
            session.add(row)
            session.commit()
            return row.id

    def drift_history(self, tenant: str | None = None, limit: int = 20) -> list[DriftRecord]:
        """The newest ``limit`` drift reports (of one tenant, or all), newest first."""
        query = select(DriftReportRow).order_by(DriftReportRow.id.desc()).limit(limit)
        if tenant is not None:
            query = query.where(DriftReportRow.tenant == tenant)
        with self._read_session("reading drift reports") as session:
            return [
                DriftRecord(row.id, row.tenant, row.at, row.report)
                for row in session.scalars(query)
            ]
