"""The typed results of the MCP tools (clients receive them as structured content).

Every value in them has passed the secret masks of the library and, last, the
server's scrub by value; specs hold ``(sensitive) sha256:...`` where a secret was.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Sync = Literal["Synced", "OutOfSync"]
Health = Literal["Healthy", "Suspended", "Progressing", "Missing", "Degraded"]


class SpecFile(BaseModel):
    """A spec file given by the caller: its path in the tenant's folder and its text."""

    path: str = Field(description="path relative to the tenant's folder, e.g. jobs/nightly.yaml")
    text: str = Field(description="the YAML text (one or more documents)")


class TenantInfo(BaseModel):
    name: str
    tenant_id: str | None = None
    catalog: str | None = None
    resources: int = 0
    problems: int = Field(
        default=0, description="problems in the tenant's documents (see validate)"
    )


class TenantList(BaseModel):
    tenants: list[TenantInfo]


class ProblemItem(BaseModel):
    file: str
    line: int
    col: int
    field: str = ""
    message: str
    text: str = Field(description="file:line:col: field: message, as the CLI prints it")


class ValidationResult(BaseModel):
    ok: bool
    problems: list[ProblemItem]
    resources: int = 0
    summary: str


class ApplyInfo(BaseModel):
    id: int
    serial: int
    actor: str
    git_commit: str | None
    started_at: str
    finished_at: str | None
    outcome: str
    summary: dict[str, Any]
    failed_steps: list[str] = Field(default_factory=list)


class ResourceStatus(BaseModel):
    kind: str
    name: str
    sync: Sync
    health: Health
    message: str = ""
    last_error: str | None = None


class TenantStatus(BaseModel):
    tenant: str
    sync: Sync
    health: Health
    suspended: bool = False
    last_apply: ApplyInfo | None
    last_error: str | None
    resources: list[ResourceStatus]


class ResourceView(BaseModel):
    tenant: str
    kind: str
    name: str
    identity: str
    desired: dict[str, Any] | None = Field(description="what the documents ask for")
    last_applied: dict[str, Any] | None = Field(description="what the reconciler last applied")
    observed: dict[str, Any] | None = Field(description="the remote object, projected")
    action: str = Field(description="what apply would do now")
    reason: str


class PlanResult(BaseModel):
    plan_id: str = Field(description="apply this id once a person approved it")
    digest: str
    tenant: str
    has_changes: bool
    counts: dict[str, int]
    plan: dict[str, Any] = Field(description="the JSON plan (specs/plan-json.md)")
    next_step: str


class DriftResult(BaseModel):
    tenant: str
    has_drift: bool
    report: dict[str, Any]


class FieldDifference(BaseModel):
    path: str
    before: Any = None
    after: Any = None
    remote: Any = None
    sensitive: bool = False


class Explanation(BaseModel):
    tenant: str
    address: str
    action: str
    reason: str
    fields: list[FieldDifference]
    drift: list[FieldDifference]


class History(BaseModel):
    tenant: str
    applies: list[ApplyInfo]


class RunTask(BaseModel):
    task_key: str
    state: str
    result: str | None = None
    message: str = ""
    attempt: int = 0
    started_at: str | None = None
    ended_at: str | None = None


class RunInfo(BaseModel):
    run_id: int
    life_cycle_state: str
    result_state: str | None = None
    state_message: str | None = None
    start_time: str | None = None  # ISO 8601, UTC
    end_time: str | None = None
    duration_s: float | None = None
    trigger: str | None = None
    url: str | None = None
    tasks: list[RunTask] = []


class Runs(BaseModel):
    tenant: str
    job: str
    runs: list[RunInfo]


class StepItem(BaseModel):
    address: str
    action: str
    outcome: str
    error: str | None = None


class ApplyOutcome(BaseModel):
    plan_id: str
    tenant: str
    ok: bool
    approved_by: str
    apply_id: int | None
    steps: list[StepItem]
    error: str | None = None
