"""``POST /api/v1/plans/{plan_id}/approve``: a person approves a saved plan (admin token).

The same library call as ``reconciler approve PLAN_ID``
(:func:`reconciler.approvals.approve`): the approval is recorded with who and
when, bound to the plan's digest, so the MCP ``apply`` of that id may go on
(while the plan stays current). A plan of a tenant the service does not
serve is "not found", like one that does not exist; a plan applied already,
or one destroying data without ``allow_data_loss``, is 409.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field

from reconciler import approvals
from reconciler.errors import PlanRefused
from reconciler.service.app import PROBLEM
from reconciler.service.auth import require_admin_forbid_read
from reconciler.service.runtime import Runtime, runtime_of

PlanId = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="The id the MCP plan tool returned")
]
RuntimeDep = Annotated[Runtime, Depends(runtime_of)]
API = "service admin API"


def _problem(why: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": why, "content": {PROBLEM: {"schema": schema}}}


router = APIRouter(prefix="/api/v1/plans", tags=["plans"])


class ApproveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approved_by: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="who approves (recorded with the approval, marked as given through the API)",
    )
    allow_data_loss: bool = Field(
        default=False, description="approve a plan that deletes or replaces datasets or catalogs"
    )


class ApprovalAnswer(BaseModel):
    plan_id: str
    tenant: str
    created_by: str
    digest: str = Field(description="the digest the approval is bound to")
    approved_by: str
    approved_at: datetime
    allow_data_loss: bool
    changes: list[str] = Field(description="one line per change of the plan")


@router.post(
    "/{plan_id}/approve",
    response_model=ApprovalAnswer,
    responses={
        403: _problem("a read token: approving needs the admin token"),
        404: _problem("no saved plan of this id among the service's tenants"),
        409: _problem("the plan was applied already, or destroys data without allow_data_loss"),
    },
    dependencies=[Depends(require_admin_forbid_read)],
    openapi_extra={"x-token": "admin"},
)
async def approve_plan(
    plan_id: PlanId,
    runtime: RuntimeDep,
    body: Annotated[ApproveRequest | None, Body()] = None,
) -> ApprovalAnswer:
    """Approve the saved plan as it is now (its digest)."""
    request = body or ApproveRequest()
    by = f"{request.approved_by} ({API})" if request.approved_by else API
    try:
        record = await asyncio.to_thread(approvals.find_plan, runtime.store, plan_id)
        if record.tenant not in runtime.controller.entries:
            raise approvals.PlanNotFoundError(f"plan {plan_id} not found")
        record, approval = await asyncio.to_thread(
            approvals.approve,
            runtime.store,
            plan_id,
            by=by,
            allow_data_loss=request.allow_data_loss,
        )
    except approvals.PlanNotFoundError as exc:
        raise HTTPException(404, f"{exc.message} (make one with the MCP plan tool)") from None
    except PlanRefused as exc:
        raise HTTPException(409, str(exc)) from None
    return ApprovalAnswer(
        plan_id=record.id,
        tenant=record.tenant,
        created_by=record.created_by,
        digest=approval.digest,
        approved_by=approval.approved_by,
        approved_at=approval.approved_at,
        allow_data_loss=approval.allow_data_loss,
        changes=[line.strip() for line in approvals.change_lines(record.document)],
    )
