"""Runs of jobs and of notebooks, moving through their states like real ones.

A run is planned when it starts and everything it shows later is computed
from timestamps when it is read (:mod:`reconciler.emulator.run_timeline`):
``QUEUED`` while the job's ``max_concurrent_runs`` runs are active (Jobs 2.2
queues by default; a job with ``queue: {enabled: false}`` skips the run
instead, and ``max_concurrent_runs: 0`` skips every run), then ``PENDING``,
``RUNNING`` task by task in dependency order with retries, ``TERMINATING``
and ``TERMINATED`` with ``SUCCESS``, ``FAILED``, ``CANCELED`` or ``TIMEDOUT``.
A task whose notebook is gone when the run starts fails.

The pace follows the emulator's ready delay (and ``slow_ops_factor``); the
emulator-only ``GET|POST /_emulator/runs`` shows or replaces it and the fault
switch that fails tasks::

    POST /_emulator/runs {"pace": {"pending": 0.1, "task": 0.5, "retry": 0.2,
                                   "terminating": 0.1},
                          "fail_tasks": ["report", "ingest:1"]}

``report`` fails every attempt of tasks keyed ``report`` (of runs started from
then on); ``ingest:1`` fails only the first attempt, so a retry succeeds. A
notebook run has one task, keyed by the notebook's name.
"""

from __future__ import annotations

import sys
import weakref
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request

from reconciler.emulator.common import (
    WORKSPACE_HOST,
    Body,
    StoreDep,
    check_tenant,
    enforce_tenant,
    named_tenant,
)
from reconciler.emulator.errors import invalid, not_found
from reconciler.emulator.run_timeline import Pace, Timeline, queue_begin, run_state, task_state
from reconciler.emulator.run_timeline import timeline as plan_timeline
from reconciler.emulator.store import Record, Store, now, public, to_ms

router = APIRouter(tags=["runs"])
admin_router = APIRouter(include_in_schema=False)

TERMINAL = frozenset({"TERMINATED", "SKIPPED", "INTERNAL_ERROR"})
RUN_ID_BASE = 500_000_000


@dataclass
class RunControls:
    """The emulator's run settings: an optional fixed pace and the tasks told to fail."""

    pace: Pace | None = None
    fail_tasks: dict[str, int] = field(default_factory=dict)  # task key -> failing attempts

    def pace_for(self, store: Store) -> Pace:
        return self.pace or Pace.from_delay(store.ready_delay)


_CONTROLS: weakref.WeakKeyDictionary[Store, RunControls] = weakref.WeakKeyDictionary()


def controls(store: Store) -> RunControls:
    """The run controls of ``store`` (created on first use)."""
    found = _CONTROLS.get(store)
    if found is None:
        found = _CONTROLS[store] = RunControls()
    return found


class RunCancel(Body):
    tenant_id: str | None = None


class PaceBody(Body):
    pending: float
    task: float
    retry: float
    terminating: float


class ControlsBody(Body):
    pace: PaceBody | None = None
    fail_tasks: list[str] = []


# ---- starting runs --------------------------------------------------------------------


def start_job_run(store: Store, job: Record, parameters: dict[str, Any]) -> Record:
    """Start a run of ``job`` (the caller holds the store's mutation lock)."""
    settings = job["settings"]
    limit = int(settings.get("max_concurrent_runs", 1))
    queue = (settings.get("queue") or {}).get("enabled", True) is not False
    skip = None
    if limit == 0:
        skip = "Skipping this run: max_concurrent_runs is 0"
    elif not queue:
        active = sum(1 for r in job_records(store, job["job_id"]) if is_active(r, store))
        if active >= limit:
            skip = f"Skipping this run: {active} run(s) active, max_concurrent_runs is {limit}"
    tasks = [_planned_task(store, task) for task in settings["tasks"]]
    return _insert(
        store,
        tenant_id=job["tenant_id"],
        job_id=job["job_id"],
        run_name=settings["name"],
        parameters=parameters,
        tasks=tasks,
        extra={
            "_limit": max(limit, 1),
            "_timeout": settings.get("timeout_seconds") or 0,
            "_skipped": skip,
        },
    )


def start_notebook_run(
    store: Store, *, tenant_id: str, notebook_path: str, parameters: dict[str, Any]
) -> Record:
    """Start a one-time run of one notebook (the caller holds the mutation lock)."""
    key = notebook_path.rsplit("/", 1)[-1]
    task = {"task_key": key, "notebook_task": {"notebook_path": notebook_path}}
    return _insert(
        store,
        tenant_id=tenant_id,
        job_id=None,
        run_name=key,
        parameters=parameters,
        tasks=[_planned_task(store, task)],
        extra={},
    )


def _insert(
    store: Store,
    *,
    tenant_id: str,
    job_id: int | None,
    run_name: str,
    parameters: dict[str, Any],
    tasks: list[dict[str, Any]],
    extra: dict[str, Any],
) -> Record:
    run_id = store.next("run_id") + RUN_ID_BASE
    number = 1 + sum(1 for _ in job_records(store, job_id)) if job_id else run_id
    created = now()
    record: Record = {
        "run_id": run_id,
        "job_id": job_id,
        "tenant_id": tenant_id,
        "number_in_job": number,
        "run_name": run_name,
        "run_type": "JOB_RUN" if job_id else "SUBMIT_RUN",
        "trigger": "ONE_TIME",
        "job_parameters": parameters,
        "run_page_url": f"{WORKSPACE_HOST}/jobs/{job_id or 'runs'}/runs/{run_id}",
        "start_time": to_ms(created),
        "_created": created,
        "_tasks": tasks,
        "_pace": controls(store).pace_for(store).to_dict(),
        "_limit": 1,
        "_timeout": 0,
        "_skipped": None,
        "_canceled_at": None,
        **extra,
    }
    return store.insert("runs", str(run_id), record)


def _planned_task(store: Store, task: dict[str, Any]) -> dict[str, Any]:
    """A task as the run plans it: its upstream, retries and whether it fails."""
    key = task["task_key"]
    path = (task.get("notebook_task") or {}).get("notebook_path")
    fail_attempts = controls(store).fail_tasks.get(key, 0)
    failure = f"task {key} failed (emulator fault switch)" if fail_attempts else ""
    if path and task.get("notebook_task", {}).get("source", "WORKSPACE") == "WORKSPACE":
        stored = _stored_path(store, path)
        if stored is None:
            fail_attempts, failure = -1, f"notebook not found: {path}"
        else:
            path = stored
    return {
        "task_key": key,
        "depends_on": [d["task_key"] for d in task.get("depends_on") or ()],
        "max_retries": task.get("max_retries") or 0,
        "fail_attempts": fail_attempts,
        "failure": failure,
        "notebook_path": path,
    }


def _stored_path(store: Store, path: str) -> str | None:
    """The key the notebook at ``path`` is stored under (``/Workspace`` optional), or None."""
    notebooks = store.table("notebooks")
    alternative = (
        path.removeprefix("/Workspace") if path.startswith("/Workspace/") else "/Workspace" + path
    )
    for candidate in (path, alternative):
        if candidate in notebooks:
            return candidate
    return None


# ---- reading runs ---------------------------------------------------------------------


def job_records(store: Store, job_id: int | None) -> list[Record]:
    """The job's runs in the order they were started."""
    if job_id is None:
        return []
    owned = [r for r in store.table("runs").values() if r["job_id"] == job_id]
    return sorted(owned, key=lambda r: r["_seq"])


def _timeline(record: Record, begin: float) -> Timeline:
    return plan_timeline(
        created=record["_created"],
        begin=begin,
        tasks=record.get("_tasks") or [],
        pace=Pace(**record["_pace"]),
        canceled_at=record["_canceled_at"],
        timeout=float(record.get("_timeout") or 0),
    )


def timelines(store: Store, records: list[Record]) -> dict[int, Timeline]:
    """Each run's timeline; a job's runs share its ``max_concurrent_runs`` slots in order."""
    lines: dict[int, Timeline] = {}
    by_job: dict[int | None, list[Record]] = {}
    for record in records:
        by_job.setdefault(record["job_id"], []).append(record)
    for job_id, own in by_job.items():
        if job_id is None:
            lines.update((r["run_id"], _timeline(r, r["_created"])) for r in own)
            continue
        lines.update(_job_timelines(job_records(store, job_id)))
    return lines


def _job_timelines(records: list[Record]) -> dict[int, Timeline]:
    lines: dict[int, Timeline] = {}
    ends: list[float] = []
    last_begin = 0.0
    for record in records:
        if record["_skipped"]:
            continue
        begin = queue_begin(record["_created"], ends, last_begin, record["_limit"])
        line = _timeline(record, begin)
        lines[record["run_id"]] = line
        if line.begin is not None:
            last_begin = line.begin
            ends.append(line.end)
    return lines


def _state(record: Record, line: Timeline | None, at: float) -> tuple[str, str | None, str]:
    if line is None:
        return "SKIPPED", None, record["_skipped"] or "Skipped"
    waiting = f"Waiting for a free slot (max_concurrent_runs is {record['_limit']})"
    return run_state(line, at, waiting)


def is_active(record: Record, store: Store) -> bool:
    line = timelines(store, [record]).get(record["run_id"])
    return _state(record, line, now())[0] not in TERMINAL


def render_run(record: Record, line: Timeline | None, at: float) -> dict[str, Any]:
    """The run as the contract shows it at ``at``."""
    life, result, message = _state(record, line, at)
    ended = None if life not in TERMINAL else (line.end if line else record["_created"])
    running = line.running if line else None
    view = public(record)
    view.update(
        state={"life_cycle_state": life, "result_state": result, "state_message": message},
        life_cycle_state=life,
        result_state=result,
        state_message=message,
        end_time=0 if ended is None else to_ms(ended),
        queue_duration=_ms_between(record["_created"], line.begin if line else None, at),
        execution_duration=_ms_between(running, line.stopped if line else None, at),
        tasks=_tasks(record, line, at),
    )
    return view


def _ms_between(start: float | None, end: float | None, at: float) -> int:
    """Milliseconds from ``start`` to ``end`` (or to ``at`` while ``end`` is ahead)."""
    if start is None or at < start:
        return 0
    return max(0, to_ms(min(end if end is not None else at, at)) - to_ms(start))


def _tasks(record: Record, line: Timeline | None, at: float) -> list[dict[str, Any]]:
    planned = record.get("_tasks") or []
    spans = {span.key: span for span in line.tasks} if line else {}
    shown = []
    for number, task in enumerate(planned):
        span = spans.get(task["task_key"])
        if span is None or line is None or line.running is None or at < line.running:
            life, result, message = _state(record, line, at)
            life = "SKIPPED" if life in TERMINAL else "PENDING"
            state = {"life_cycle_state": life, "result_state": result, "state_message": ""}
            started = ended = None
            attempt = 0
        else:
            now_state = task_state(span, line.stop, at)
            life, result, message = now_state.state
            state = {"life_cycle_state": life, "result_state": result, "state_message": message}
            started, ended, attempt = now_state.started, now_state.ended, now_state.attempt
        shown.append(
            {
                "run_id": record["run_id"] * 1000 + number + 1,
                "task_key": task["task_key"],
                "depends_on": [{"task_key": key} for key in task["depends_on"]],
                "notebook_path": task.get("notebook_path"),
                "state": state,
                "attempt_number": attempt,
                "start_time": 0 if started is None else to_ms(started),
                "end_time": 0 if ended is None else to_ms(ended),
            }
        )
    return shown


def find_run(store: Store, run_id: int, tenant_id: str | None) -> Record:
    record = store.table("runs").get(str(run_id))
    if record is None:
        raise not_found(f"run {run_id} not found")
    return enforce_tenant(record, tenant_id, f"run {run_id}")


def read_run(store: Store, run_id: int, tenant_id: str | None) -> dict[str, Any]:
    with store.lock:
        record = find_run(store, run_id, tenant_id)
        return render_run(record, timelines(store, [record]).get(record["run_id"]), now())


def job_runs(store: Store, job_id: int, limit: int) -> list[dict[str, Any]]:
    """The job's runs, newest first."""
    records = job_records(store, job_id)
    lines = _job_timelines(records)
    at = now()
    newest = list(reversed(records))[:limit]
    return [render_run(r, lines.get(r["run_id"]), at) for r in newest]


@router.get("/databricks/jobs/runs/latest")
def list_latest_runs(store: StoreDep, tenant_id: str) -> dict[str, Any]:
    """The newest run of each of the tenant's jobs that has run, newest first: what job
    health needs in one request per tenant instead of one per job."""
    check_tenant(tenant_id)
    with store.lock:
        records, _ = store.owned_page("runs", tenant_id, 0, sys.maxsize)  # in start order
        by_job: dict[int, list[Record]] = {}
        for record in records:
            if record["job_id"] is not None:
                by_job.setdefault(record["job_id"], []).append(record)
        at = now()
        newest = [
            (
                runs[-1]["_seq"],
                render_run(runs[-1], _job_timelines(runs).get(runs[-1]["run_id"]), at),
            )
            for runs in by_job.values()  # a job's queue decides when its newest run began
        ]
        return {"runs": [run for _, run in sorted(newest, key=lambda n: n[0], reverse=True)]}


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


# ---- the emulator's run controls --------------------------------------------------------


def _show(store: Store) -> dict[str, Any]:
    current = controls(store)
    fail = [key if n < 0 else f"{key}:{n}" for key, n in sorted(current.fail_tasks.items())]
    return {"pace": current.pace_for(store).to_dict(), "fail_tasks": fail}


@admin_router.get("/_emulator/runs")
def get_controls(request: Request) -> dict[str, Any]:
    return _show(request.app.state.store)


@admin_router.post("/_emulator/runs")
def set_controls(request: Request, body: ControlsBody) -> dict[str, Any]:
    store: Store = request.app.state.store
    fail: dict[str, int] = {}
    for entry in body.fail_tasks:
        key, _, attempts = entry.partition(":")
        if not key or (attempts and not attempts.isdigit()):
            raise invalid(f"fail_tasks entry {entry!r}: write TASK_KEY or TASK_KEY:ATTEMPTS")
        fail[key] = int(attempts) if attempts else -1
    pace = body.pace
    if pace is not None and min(pace.pending, pace.task, pace.retry, pace.terminating) < 0:
        raise invalid("pace seconds must not be negative")
    _CONTROLS[store] = RunControls(
        pace=Pace(pace.pending, pace.task, pace.retry, pace.terminating) if pace else None,
        fail_tasks=fail,
    )
    return _show(store)
