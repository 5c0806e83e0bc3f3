"""Plans that wait for a person: keep one for approval, approve it, apply exactly it.

An agent may plan freely; what it plans is kept in the state database with a
digest of the whole saved-plan document and of the proposed files it was made
with (:func:`keep_for_approval`). A person approves that plan id
(:func:`approve`: ``reconciler approve PLAN_ID`` or the service's admin
``POST /api/v1/plans/{plan_id}/approve``), which binds the approval to
the digest. :func:`apply_approved` then refuses a plan without an approval of
its digest, a plan applied already, and — by planning again under the
tenant's lock and comparing (:func:`reconciler.planfile.verify`, then a
re-read of each object before its first call) — a plan that went stale. A
changed plan is a new plan with a new id and needs its own approval.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from typing import Any

from reconciler.apply import ApplyResult
from reconciler.errors import PlanRefused, ReconcilerError
from reconciler.load import TenantDesired
from reconciler.mcp.client import ConnectorClient
from reconciler.plan import Plan, PlanOptions
from reconciler.plancheck import check_plan
from reconciler.planfile import plan_file_document, recheck, saved_plan_from_document, verify
from reconciler.reconcile import apply_plan, locked_tenants, plan_tenants
from reconciler.state import StateStore
from reconciler.state.plans import ApprovalRecord, SavedPlanRecord


class NotApprovedError(PlanRefused):
    """The saved plan has no person's approval of its digest."""


class PlanNotFoundError(ReconcilerError):
    """No saved plan has this id (or the caller may not see it)."""


def plan_digest(document: Mapping[str, Any], files: Mapping[str, str] | None) -> str:
    """SHA-256 of the saved-plan document and the proposed files, canonically encoded."""
    text = json.dumps({"plan": document, "files": files}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def keep_for_approval(
    store: StateStore,
    plan: Plan,
    *,
    tenant: str,
    options: PlanOptions,
    files: Mapping[str, str] | None,
    created_by: str,
) -> SavedPlanRecord:
    """Save the plan of one tenant for approval; the record carries its new id and digest."""
    document = plan_file_document(plan, source=f"tenant:{tenant}", options=options)
    digest = plan_digest(document, files)
    plan_id = f"plan-{secrets.token_hex(8)}"
    return store.save_plan(
        plan_id,
        tenant=tenant,
        digest=digest,
        document=document,
        files=files,
        created_by=created_by,
    )


def find_plan(store: StateStore, plan_id: str) -> SavedPlanRecord:
    record = store.saved_plan(plan_id)
    if record is None:
        raise PlanNotFoundError(f"plan {plan_id} not found", hint="make one with the plan tool")
    if plan_digest(record.document, record.files) != record.digest:
        raise PlanRefused(
            f"plan {plan_id} does not match its digest",
            hint="the stored plan was altered; make a new plan",
        )
    return record


def approve(
    store: StateStore, plan_id: str, *, by: str, allow_data_loss: bool = False
) -> tuple[SavedPlanRecord, ApprovalRecord]:
    """A person approves the plan as it is now (its digest)."""
    record = find_plan(store, plan_id)
    if record.applied_at is not None:
        raise PlanRefused(f"plan {plan_id} was applied already", hint="make a new plan")
    destructive = record.document.get("plan", {}).get("destructive", [])
    if destructive and not allow_data_loss:
        raise PlanRefused(
            f"plan {plan_id} destroys data: {', '.join(destructive)}",
            hint="read the plan; approve it allowing data loss to accept the loss "
            "(`reconciler approve --allow-data-loss`, or allow_data_loss in the admin API)",
        )
    approval = store.approve_plan(
        plan_id, digest=record.digest, approved_by=by, allow_data_loss=allow_data_loss
    )
    return record, approval


def change_lines(document: Mapping[str, Any]) -> list[str]:
    """One line per change of a saved-plan document (no-ops left out)."""
    lines = []
    for tenant in document.get("plan", {}).get("tenants", []):
        for change in tenant.get("resource_changes", []):
            if change["action"] != "noop":
                lines.append(f"  {change['action']} {change['address']}: {change['reason']}")
    return lines or ["  no changes"]


def approval_of(store: StateStore, record: SavedPlanRecord) -> ApprovalRecord | None:
    """The latest approval of exactly this plan's digest, if any."""
    approvals = [a for a in store.plan_approvals(record.id) if a.digest == record.digest]
    return approvals[-1] if approvals else None


async def apply_approved(
    record: SavedPlanRecord,
    desired: TenantDesired,
    *,
    store: StateStore,
    client: ConnectorClient,
    actor: str,
    git_commit: str | None = None,
    lock_timeout: float = 0.0,
) -> list[ApplyResult]:
    """Apply the approved saved plan, refusing it when unapproved, applied or stale."""
    approval = approval_of(store, record)
    if approval is None:
        raise NotApprovedError(
            f"plan {record.id} is not approved",
            hint=f"a person must run `reconciler approve {record.id}` first",
        )
    if record.applied_at is not None:
        raise PlanRefused(f"plan {record.id} was applied already", hint="make a new plan")
    saved = saved_plan_from_document(record.document)
    async with locked_tenants(
        store, [record.tenant], timeout=lock_timeout, command=f"apply {record.id}"
    ) as leases:
        plan = await plan_tenants(
            [desired], store=store, client=client, options=saved.options, leases=leases
        )
        if plan.failed:
            raise ReconcilerError(plan.failed[0].error, hint="fix it, then plan again")
        check_plan(plan, saved.options, allow_data_loss=approval.allow_data_loss)
        verify(saved, plan)
        if not any(t.actionable for t in plan.tenants):
            store.mark_plan_applied(record.id, apply_id=None)
            return []
        results = await apply_plan(
            plan,
            store=store,
            client=client,
            actor=f"{actor} (approved by {approval.approved_by})",
            git_commit=git_commit,
            leases=leases,
            before_step=recheck(plan, client),
            command=f"apply {record.id}",
        )
    store.mark_plan_applied(record.id, apply_id=results[0].apply_id if results else None)
    return results
