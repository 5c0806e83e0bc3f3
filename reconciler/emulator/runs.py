"""Runs of jobs and of notebooks, progressing over time like real ones.

A run's state is computed from timestamps when it is read, so no background
work is needed: with ``d`` the store's ready delay, a run is ``PENDING`` for
the first ``0.3·d`` seconds, ``RUNNING`` until ``d``, then ``TERMINATED`` with
result ``SUCCESS`` (or ``FAILED`` when a notebook it runs was missing at start).
Cancelling a run that has not finished ends it at once as ``TERMINATED`` /
``CANCELED``. A job run started while ``max_concurrent_runs`` runs are still
active is ``SKIPPED``, as in Databricks.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from reconciler.emulator.common import (
    WORKSPACE_HOST,
    Body,
    StoreDep,
    enforce_tenant,
    named_tenant,
)
from reconciler.emulator.errors import not_found
from reconciler.emulator.store import Record, Store, now, public, to_ms

router = APIRouter(tags=["runs"])

PENDING_SHARE = 0.3
TERMINAL = frozenset({"TERMINATED", "SKIPPED", "INTERNAL_ERROR"})


class RunCancel(Body):
    tenant_id: str | None = None


def start_run(
    store: Store,
    *,
    tenant_id: str,
    job_id: int | None,
    run_name: str,
    parameters: dict[str, Any],
    notebook_paths: list[str],
    skip_reason: str | None = None,
) -> Record:
    """Record a new run (the caller holds the store's mutation lock)."""
    run_id = store.next("run_id") + 500_000_000
    missing = [p for p in notebook_paths if p not in store.table("notebooks")]
    number = 1 + sum(1 for r in store.table("runs").values() if job_id and r["job_id"] == job_id)
    created = now()
    record: Record = {
        "run_id": run_id,
        "job_id": job_id,
        "tenant_id": tenant_id,
        "number_in_job": number if job_id else run_id,
        "run_name": run_name,
        "run_type": "JOB_RUN" if job_id else "SUBMIT_RUN",
        "job_parameters": parameters,
        "run_page_url": f"{WORKSPACE_HOST}/jobs/{job_id or 'runs'}/runs/{run_id}",
        "start_time": to_ms(created),
        "_created": created,
        "_failure": f"notebook not found: {', '.join(missing)}" if missing else None,
        "_skipped": skip_reason,
        "_canceled_at": None,
    }
    return store.insert("runs", str(run_id), record)


def _phase(record: Record, delay: float, at: float) -> tuple[str, str | None, str, float | None]:
    """``(life_cycle_state, result_state, state_message, ended_at)`` at time ``at``."""
    created = record["_created"]
    if record["_skipped"]:
        return "SKIPPED", None, record["_skipped"], created
    finish = created + delay
    canceled = record["_canceled_at"]
    if canceled is not None and canceled < finish:
        return "TERMINATED", "CANCELED", "Run cancelled.", canceled
    if at < created + PENDING_SHARE * delay:
        return "PENDING", None, "Waiting for cluster", None
    if at < finish:
        return "RUNNING", None, "In run", None
    if record["_failure"]:
        return "TERMINATED", "FAILED", record["_failure"], finish
    return "TERMINATED", "SUCCESS", "", finish


def is_active(record: Record, store: Store) -> bool:
    return _phase(record, store.ready_delay, now())[0] not in TERMINAL


def render_run(record: Record, store: Store) -> dict[str, Any]:
    life, result, message, ended = _phase(record, store.ready_delay, now())
    view = public(record)
    state = {"life_cycle_state": life, "result_state": result, "state_message": message}
    running_from = record["_created"] + PENDING_SHARE * store.ready_delay
    duration = 0 if ended is None else max(0, to_ms(ended) - to_ms(running_from))
    view.update(
        state=state,
        life_cycle_state=life,
        result_state=result,
        state_message=message,
        end_time=0 if ended is None else to_ms(ended),
        execution_duration=duration,
    )
    return view


def find_run(store: Store, run_id: int, tenant_id: str | None) -> Record:
    record = store.table("runs").get(str(run_id))
    if record is None:
        raise not_found(f"run {run_id} not found")
    return enforce_tenant(record, tenant_id, f"run {run_id}")


def read_run(store: Store, run_id: int, tenant_id: str | None) -> dict[str, Any]:
    with store.lock:
        return render_run(find_run(store, run_id, tenant_id), store)


def job_runs(store: Store, job_id: int, limit: int) -> list[dict[str, Any]]:
    """The job's runs, newest first."""
    owned = [r for r in store.table("runs").values() if r["job_id"] == job_id]
    owned.sort(key=lambda r: r["_seq"], reverse=True)
    return [render_run(r, store) for r in owned[:limit]]


@router.get("/databricks/runs/{run_id}")
def get_run(
    store: StoreDep, request: Request, run_id: int, tenant_id: str | None = None
) -> dict[str, Any]:
    return read_run(store, run_id, named_tenant(request, tenant_id, unnamed_ok=True))


@router.post("/databricks/runs/{run_id}/cancel")
def cancel_run(
    store: StoreDep,
    request: Request,
    run_id: int,
    body: RunCancel | None = None,
    tenant_id: str | None = None,
) -> dict[str, Any]:
    given = body.tenant_id if body else None
    tenant = named_tenant(request, tenant_id, given, unnamed_ok=True)
    with store.mutate():
        record = find_run(store, run_id, tenant)
        if is_active(record, store):
            record["_canceled_at"] = now()
    return {}
