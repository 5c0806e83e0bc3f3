"""Saved plans and approvals in the state database: an approval binds to the plan's digest."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from reconciler.approvals import approval_of, approve, find_plan, plan_digest
from reconciler.errors import PlanRefused, ReconcilerError
from reconciler.state import StateStore
from reconciler.state.models import PlanApprovalRow, SavedPlanRow

DOCUMENT = {"plan": {"destructive": [], "tenants": []}, "tenants": {"acme": {"serial": 3}}}


def _saved(store: StateStore, document: dict = DOCUMENT) -> str:
    store.save_plan(
        "plan-1",
        tenant="acme",
        digest=plan_digest(document, {"jobs.yaml": "x"}),
        document=document,
        files={"jobs.yaml": "x"},
        created_by="mcp (token a)",
    )
    return "plan-1"


def test_an_approval_records_who_when_and_the_digest(db_url: str) -> None:
    with StateStore.open(db_url) as store:
        plan_id = _saved(store)
        assert approval_of(store, find_plan(store, plan_id)) is None
        record, approval = approve(store, plan_id, by="ada@laptop")
        assert (approval.approved_by, approval.digest) == ("ada@laptop", record.digest)
        assert approval_of(store, record) == approval
        assert store.mark_plan_applied(plan_id, apply_id=None) is True
        assert store.mark_plan_applied(plan_id, apply_id=None) is False, "applied once only"
        with pytest.raises(PlanRefused, match="applied already"):
            approve(store, plan_id, by="ada@laptop")


def test_an_approval_of_another_digest_or_an_altered_plan_counts_for_nothing(db_url: str) -> None:
    with StateStore.open(db_url) as store:
        plan_id = _saved(store)
        approve(store, plan_id, by="ada@laptop")
        with store._session("test") as session:  # someone edits the approval row's digest
            session.execute(update(PlanApprovalRow).values(digest="0" * 64))
            session.commit()
        assert approval_of(store, find_plan(store, plan_id)) is None
        with store._session("test") as session:  # ... or the stored plan itself
            altered = {**DOCUMENT, "tenants": {"acme": {"serial": 4}}}
            session.execute(update(SavedPlanRow).values(document=altered))
            session.commit()
        with pytest.raises(PlanRefused, match="does not match its digest"):
            find_plan(store, plan_id)


def test_destructive_plans_need_consent_and_unknown_ids_are_not_found(db_url: str) -> None:
    with StateStore.open(db_url) as store:
        plan_id = _saved(store, {**DOCUMENT, "plan": {"destructive": ["acme/Dataset/sales"]}})
        with pytest.raises(PlanRefused, match="destroys data"):
            approve(store, plan_id, by="ada@laptop")
        assert approve(store, plan_id, by="ada@laptop", allow_data_loss=True)[1].allow_data_loss
        with pytest.raises(ReconcilerError, match="plan nope not found"):
            approve(store, "nope", by="ada@laptop")
