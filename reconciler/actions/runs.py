"""Running jobs and notebooks, following their runs, listing and cancelling them.

A start carries an idempotency key (one per invocation of the action), so a
retried request never starts a second run. :func:`follow_run` polls until
the run is terminal and calls back on every change of the run's or a task's
state; the run's exit code is 0 for ``SUCCESS`` and 1 for anything else.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from reconciler.actions.targets import Target
from reconciler.errors import ActionError, NotFoundError
from reconciler.kinds.base import TenantContext

if TYPE_CHECKING:
    from reconciler.mcp.client import ConnectorClient

TERMINAL = frozenset({"TERMINATED", "SKIPPED", "INTERNAL_ERROR"})
POLL_FIRST, POLL_LONGEST = 0.1, 2.0


@dataclass(frozen=True)
class TaskStatus:
    """One task of a run."""

    key: str
    state: str  # life cycle: PENDING, RUNNING, WAITING_FOR_RETRY, TERMINATED, SKIPPED, ...
    result: str | None  # SUCCESS, FAILED, UPSTREAM_FAILED, CANCELED, TIMEDOUT
    message: str
    attempt: int
    started_at: datetime | None
    ended_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_key": self.key,
            "state": self.state,
            "result": self.result,
            "message": self.message,
            "attempt": self.attempt,
            "started_at": _iso(self.started_at),
            "ended_at": _iso(self.ended_at),
        }


@dataclass(frozen=True)
class RunStatus:
    """A run as the connector last reported it."""

    run_id: int
    job_id: int | None
    name: str
    state: str  # QUEUED, PENDING, RUNNING, TERMINATING, TERMINATED, SKIPPED, INTERNAL_ERROR
    result: str | None  # SUCCESS, FAILED, TIMEDOUT, CANCELED (terminal runs only)
    message: str
    url: str
    trigger: str
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None  # execution time, once terminal
    tasks: tuple[TaskStatus, ...] = ()

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    @property
    def succeeded(self) -> bool:
        return self.result == "SUCCESS"

    @property
    def exit_code(self) -> int:
        """0 for SUCCESS; 1 for FAILED, TIMEDOUT, CANCELED, INTERNAL_ERROR, SKIPPED."""
        return 0 if self.succeeded else 1

    @property
    def outcome(self) -> str:
        """The result when terminal, else the life-cycle state."""
        return self.result or self.state

    def failed_tasks(self) -> list[TaskStatus]:
        return [t for t in self.tasks if t.result in ("FAILED", "TIMEDOUT")]

    def fingerprint(self) -> tuple[Any, ...]:
        """What changes when something worth showing changes."""
        return (
            self.state,
            self.result,
            tuple((t.key, t.state, t.result, t.attempt) for t in self.tasks),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "job_id": self.job_id,
            "name": self.name,
            "state": self.state,
            "result": self.result,
            "message": self.message,
            "url": self.url,
            "trigger": self.trigger,
            "started_at": _iso(self.started_at),
            "ended_at": _iso(self.ended_at),
            "duration_s": self.duration_s,
            "tasks": [t.to_dict() for t in self.tasks],
        }


def new_idempotency_key() -> str:
    """A fresh key for one invocation of a start."""
    return f"reconciler-run-{uuid.uuid4()}"


def parse_params(pairs: list[str] | None) -> dict[str, str]:
    """``["k=v", ...]`` as a dict; a pair without ``=`` is an :class:`ActionError`."""
    params: dict[str, str] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ActionError(f"parameter {pair!r} is not KEY=VALUE", hint="write --param day=1")
        params[key.strip()] = value
    return params


async def start_job(
    client: ConnectorClient,
    target: Target,
    params: Mapping[str, str] | None = None,
    *,
    idempotency_key: str | None = None,
) -> RunStatus:
    """Start a run of the job ``target`` now; the answer is the run as just started."""
    _expect(target, "Job")
    body: dict[str, Any] = {"tenant_id": target.tenant.tenant_id}
    if params:
        body["job_parameters"] = dict(params)
    started = await client.post(
        f"/databricks/jobs/{target.remote_id}/run",
        json=body,
        idempotency_key=idempotency_key or new_idempotency_key(),
    )
    return await get_run(client, target.tenant, int(started["run_id"]))


async def start_notebook(
    client: ConnectorClient,
    target: Target,
    params: Mapping[str, str] | None = None,
    *,
    idempotency_key: str | None = None,
) -> RunStatus:
    """Start a one-time run of the notebook ``target``."""
    _expect(target, "Notebook")
    body = {
        "tenant_id": target.tenant.tenant_id,
        "notebook_path": target.identity,
        "parameters": dict(params or {}),
    }
    started = await client.post(
        "/databricks/notebooks/execute",
        json=body,
        idempotency_key=idempotency_key or new_idempotency_key(),
    )
    return await get_run(client, target.tenant, int(started["run_id"]), notebook=True)


async def get_run(
    client: ConnectorClient, tenant: TenantContext, run_id: int, *, notebook: bool = False
) -> RunStatus:
    """The run as the connector reports it now (a run of another tenant is not found)."""
    path = f"/databricks/notebooks/runs/{run_id}" if notebook else f"/databricks/runs/{run_id}"
    try:
        raw = await client.get(path, params={"tenant_id": tenant.tenant_id})
    except NotFoundError as exc:
        raise _no_such_run(tenant, run_id) from exc
    return run_status(raw)


async def follow_run(
    client: ConnectorClient,
    tenant: TenantContext,
    run: RunStatus,
    *,
    timeout: float,
    on_change: Callable[[RunStatus], None] | None = None,
) -> RunStatus:
    """Poll ``run`` until it is terminal; ``on_change`` sees every new state.

    Raises :class:`ActionError` when ``timeout`` seconds pass first (the run
    goes on; its URL is in the message).
    """
    deadline = time.monotonic() + timeout
    interval = POLL_FIRST
    notebook = run.job_id is None
    seen = run.fingerprint()
    if on_change:
        on_change(run)
    while not run.terminal:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ActionError(
                f"run {run.run_id} is still {run.state} after {timeout:g} s",
                hint=f"it goes on: follow it at {run.url} or cancel it with "
                f"`reconciler runs cancel {run.run_id}`",
            )
        await asyncio.sleep(min(interval, remaining))
        interval = min(interval * 1.5, POLL_LONGEST)
        run = await get_run(client, tenant, run.run_id, notebook=notebook)
        if run.fingerprint() != seen:
            seen = run.fingerprint()
            if on_change:
                on_change(run)
    return run


async def list_runs(client: ConnectorClient, target: Target, *, limit: int = 20) -> list[RunStatus]:
    """The job's runs, newest first."""
    _expect(target, "Job")
    raw = await client.get(
        f"/databricks/jobs/{target.remote_id}/runs",
        params={"tenant_id": target.tenant.tenant_id, "limit": limit},
    )
    return [run_status(r) for r in (raw or {}).get("runs") or ()][:limit]


async def cancel_run(client: ConnectorClient, tenant: TenantContext, run_id: int) -> RunStatus:
    """Ask the connector to cancel the run; answers the run as it is right after."""
    body = {"tenant_id": tenant.tenant_id}
    try:
        await client.post(f"/databricks/runs/{run_id}/cancel", json=body)
    except NotFoundError as exc:
        raise _no_such_run(tenant, run_id) from exc
    return await get_run(client, tenant, run_id)


def _no_such_run(tenant: TenantContext, run_id: int) -> ActionError:
    return ActionError(
        f"tenant {tenant.name} has no run {run_id}",
        hint="see the runs of a job with `reconciler runs NAME`",
    )


def run_status(raw: Mapping[str, Any]) -> RunStatus:
    """A connector run object (Jobs API shape) as a :class:`RunStatus`."""
    state = raw.get("state") or {}
    life = str(state.get("life_cycle_state") or raw.get("life_cycle_state") or "PENDING")
    result = state.get("result_state") or raw.get("result_state")
    duration = raw.get("execution_duration")
    return RunStatus(
        run_id=int(raw["run_id"]),
        job_id=int(raw["job_id"]) if raw.get("job_id") is not None else None,
        name=str(raw.get("run_name") or ""),
        state=life,
        result=str(result) if result else None,
        message=str(state.get("state_message") or raw.get("state_message") or ""),
        url=str(raw.get("run_page_url") or ""),
        trigger=str(raw.get("trigger") or "ONE_TIME"),
        started_at=_time(raw.get("start_time")),
        ended_at=_time(raw.get("end_time")),
        duration_s=duration / 1000 if life in TERMINAL and isinstance(duration, int) else None,
        tasks=tuple(_task(t) for t in raw.get("tasks") or ()),
    )


def _task(raw: Mapping[str, Any]) -> TaskStatus:
    state = raw.get("state") or {}
    return TaskStatus(
        key=str(raw.get("task_key") or ""),
        state=str(state.get("life_cycle_state") or "PENDING"),
        result=state.get("result_state") or None,
        message=str(state.get("state_message") or ""),
        attempt=int(raw.get("attempt_number") or 0),
        started_at=_time(raw.get("start_time")),
        ended_at=_time(raw.get("end_time")),
    )


def _time(ms: Any) -> datetime | None:
    if not isinstance(ms, int | float) or ms <= 0:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _expect(target: Target, kind: str) -> None:
    if target.kind != kind:
        raise ActionError(f"{target.describe()} is a {target.kind}, not a {kind}")
