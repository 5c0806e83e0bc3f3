"""Job: a Databricks Jobs 2.2 multi-task job of notebook tasks, optionally scheduled.

The remote job's name is the document's ``metadata.name`` and is its identity;
its numeric ``job_id`` is the remote id. Tasks are keyed by their ``key`` in
the normalised form, so a plan reads ``tasks.load.notebook_path``. Every value
the server would fill when left out (task timeouts, retries, schedule timezone
and pause status, notification lists) is filled the same way on both sides so
a job that was just applied plans no change. An update resets the whole
settings object (``/jobs/{id}/reset``).
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reconciler.kinds.base import (
    ABSENT,
    MANAGED_BY,
    DesiredResource,
    FieldRule,
    Kind,
    ObservedResource,
    ReadFile,
    Rule,
    SpecBase,
    TenantContext,
    Verdict,
    etag,
)

if TYPE_CHECKING:
    from reconciler.diff import FieldChange
    from reconciler.mcp.client import ConnectorClient

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
CRON_FIELD = re.compile(r"^[0-9A-Za-z*?/,#-]+$")
NOTIFICATION_EVENTS = ("on_start", "on_success", "on_failure")


class JobTask(BaseModel):
    """One notebook task of the job."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(
        pattern=r"^[A-Za-z0-9_-]{1,100}$",
        description="Task key, unique in the job (letters, digits, - and _).",
    )
    notebook: str = Field(
        min_length=1,
        description="Workspace path of the notebook to run, usually ${notebooks.<name>.path}.",
    )
    parameters: dict[str, str] = Field(
        default_factory=dict, description="Notebook widget values (base_parameters)."
    )
    depends_on: list[str] = Field(
        default_factory=list, description="Keys of tasks of this job that must finish first."
    )
    timeout_seconds: int | None = Field(
        default=None, ge=0, description="Task timeout in seconds; 0 or absent means none."
    )
    max_retries: int | None = Field(
        default=None, ge=-1, description="Retries on failure; -1 retries forever; absent means 0."
    )


class JobSchedule(BaseModel):
    """When the job runs by itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cron: str = Field(
        description="Quartz cron expression: 6 or 7 fields, seconds first "
        "(e.g. '0 0 2 * * ?' runs at 02:00)."
    )
    timezone: str = Field(default="UTC", description="Time zone id the cron is read in.")
    paused: bool = Field(default=False, description="Keep the schedule but do not trigger runs.")

    @field_validator("cron")
    @classmethod
    def _quartz(cls, value: str) -> str:
        fields = value.split()
        if len(fields) not in (6, 7):
            raise ValueError(
                f"a Quartz cron expression has 6 or 7 fields (seconds first), got {len(fields)}"
            )
        bad = [f for f in fields if not CRON_FIELD.match(f)]
        if bad:
            raise ValueError(f"cron field {bad[0]!r} has characters Quartz does not accept")
        return " ".join(fields)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zones = zoneinfo.available_timezones()
        if zones and value not in zones and value != "UTC":
            raise ValueError(f"unknown time zone {value!r} (use an IANA id like 'Europe/Paris')")
        return value


class EmailNotifications(BaseModel):
    """Who is mailed when runs start, succeed or fail."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    on_start: list[str] = Field(default_factory=list, description="Mailed when a run starts.")
    on_success: list[str] = Field(default_factory=list, description="Mailed when a run succeeds.")
    on_failure: list[str] = Field(default_factory=list, description="Mailed when a run fails.")

    @field_validator("on_start", "on_success", "on_failure")
    @classmethod
    def _emails(cls, values: list[str]) -> list[str]:
        for value in values:
            if not re.match(EMAIL, value):
                raise ValueError(f"{value!r} is not an email address")
        return values


class JobSpec(SpecBase):
    """A multi-task job of notebook tasks."""

    tasks: list[JobTask] = Field(
        min_length=1, description="The job's tasks; depends_on orders them."
    )
    schedule: JobSchedule | None = Field(
        default=None, description="Cron schedule; absent means the job only runs when triggered."
    )
    max_concurrent_runs: int = Field(
        default=1, ge=1, description="How many runs of the job may run at once."
    )
    timeout_seconds: int = Field(
        default=0, ge=0, description="Timeout of a whole run in seconds; 0 means none."
    )
    tags: dict[str, str] = Field(default_factory=dict, description="Tags set on the job.")
    email_notifications: EmailNotifications | None = Field(
        default=None, description="Email addresses notified of run events."
    )

    @model_validator(mode="after")
    def _task_graph(self) -> JobSpec:
        keys = [t.key for t in self.tasks]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise ValueError(f"task key {duplicates[0]!r} is used more than once")
        for task in self.tasks:
            for dep in task.depends_on:
                if dep == task.key:
                    raise ValueError(f"task {task.key!r} depends on itself")
                if dep not in keys:
                    raise ValueError(
                        f"task {task.key!r} depends on {dep!r}, which is not a task of this job"
                    )
        _check_acyclic({t.key: t.depends_on for t in self.tasks})
        return self


def _check_acyclic(graph: Mapping[str, list[str]]) -> None:
    """Raise ValueError naming a task on a dependency cycle."""
    done: set[str] = set()
    for start in graph:
        path: set[str] = set()
        stack: list[tuple[str, bool]] = [(start, False)]
        while stack:
            node, leaving = stack.pop()
            if leaving:
                path.discard(node)
                done.add(node)
                continue
            if node in done:
                continue
            if node in path:
                raise ValueError(f"tasks depend on each other in a cycle through {node!r}")
            path.add(node)
            stack.append((node, True))
            stack.extend((dep, False) for dep in graph[node])


# ---- normalised form <-> Jobs 2.2 settings --------------------------------------------


def _normal_task(task: JobTask) -> dict[str, Any]:
    return {
        "notebook_path": task.notebook,
        "parameters": dict(task.parameters),
        "depends_on": sorted(task.depends_on),
        "timeout_seconds": task.timeout_seconds or 0,
        "max_retries": task.max_retries or 0,
    }


def _notifications(source: Mapping[str, Any] | None) -> dict[str, list[str]]:
    source = source or {}
    return {event: list(source.get(event) or ()) for event in NOTIFICATION_EVENTS}


def settings_from_spec(name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The Jobs 2.2 settings object for a normalised job spec."""
    settings: dict[str, Any] = {
        "name": name,
        "tasks": [_settings_task(key, task) for key, task in spec["tasks"].items()],
        "max_concurrent_runs": spec["max_concurrent_runs"],
        "timeout_seconds": spec["timeout_seconds"],
        "tags": dict(spec["tags"]),
        "email_notifications": {k: v for k, v in spec["email_notifications"].items() if v},
    }
    schedule = spec["schedule"]
    if schedule is not None:
        settings["schedule"] = {
            "quartz_cron_expression": schedule["cron"],
            "timezone_id": schedule["timezone"],
            "pause_status": "PAUSED" if schedule["paused"] else "UNPAUSED",
        }
    return settings


OWNED_SETTINGS = frozenset(
    {"name", "tasks", "schedule", "max_concurrent_runs", "timeout_seconds", "tags"}
    | {"email_notifications"}
)
"""Settings the spec models; everything else in a job's settings belongs to someone else."""

OWNED_TASK_FIELDS = frozenset(
    {"task_key", "depends_on", "notebook_task", "timeout_seconds", "max_retries"}
)


def merged_settings(current: Mapping[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The ``new_settings`` of a reset: ours, with what the spec does not model kept.

    A reset replaces every setting, so the fields another tool or a person added
    (job clusters, a queue, libraries on a task, ...) are carried over as they
    are; the fields the spec owns come from the spec, and an owned field the spec
    no longer has is dropped.
    """
    kept = {k: v for k, v in current.items() if k not in OWNED_SETTINGS}
    theirs = {t.get("task_key"): t for t in current.get("tasks") or ()}
    tasks = [
        {
            **{
                k: v
                for k, v in theirs.get(task["task_key"], {}).items()
                if k not in OWNED_TASK_FIELDS
            },
            **task,
        }
        for task in wanted["tasks"]
    ]
    return {**kept, **wanted, "tasks": tasks}


def _settings_task(key: str, task: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "task_key": key,
        "depends_on": [{"task_key": dep} for dep in task["depends_on"]],
        "notebook_task": {
            "notebook_path": task["notebook_path"],
            "base_parameters": dict(task["parameters"]),
            "source": "WORKSPACE",
        },
        "timeout_seconds": task["timeout_seconds"],
        "max_retries": task["max_retries"],
    }


def _observed_task(raw: Mapping[str, Any]) -> dict[str, Any]:
    notebook = raw.get("notebook_task") or {}
    return {
        "notebook_path": notebook.get("notebook_path"),
        "parameters": dict(notebook.get("base_parameters") or {}),
        "depends_on": sorted(d["task_key"] for d in raw.get("depends_on") or ()),
        "timeout_seconds": raw.get("timeout_seconds") or 0,
        "max_retries": raw.get("max_retries") or 0,
    }


def _observed_schedule(raw: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not raw:
        return None
    return {
        "cron": " ".join(str(raw.get("quartz_cron_expression", "")).split()),
        "timezone": raw.get("timezone_id") or "UTC",
        "paused": raw.get("pause_status") == "PAUSED",
    }


class Job(Kind):
    """A Jobs 2.2 job; updates reset the whole settings object."""

    kind = "Job"
    noun = "job"
    collection = "jobs"
    list_path = "/databricks/jobs"
    list_items = "jobs"
    spec_model = JobSpec
    rules = (
        FieldRule("max_concurrent_runs", Rule.SERVER_DEFAULT, "Jobs default to 1", 1),
        FieldRule("timeout_seconds", Rule.SERVER_DEFAULT, "0 means no timeout", 0),
        FieldRule("tags", Rule.SERVER_DEFAULT, "absent tags read as {}", {}),
        FieldRule("tasks.*.timeout_seconds", Rule.SERVER_DEFAULT, "the server fills 0", 0),
        FieldRule("tasks.*.max_retries", Rule.SERVER_DEFAULT, "absent means no retries", 0),
        FieldRule("schedule.timezone", Rule.SERVER_DEFAULT, "the server fills UTC", "UTC"),
        FieldRule("schedule.paused", Rule.SERVER_DEFAULT, "the server fills UNPAUSED", False),
    )

    # ---- pure side -------------------------------------------------------------------

    def assess(self, change: FieldChange) -> Verdict:
        """Reasons in the job's own words: "task `load` notebook path changed"."""
        parts = change.parts
        if parts[0] != "tasks" or len(parts) < 2:
            return super().assess(change)
        task = parts[1]
        if len(parts) == 2:
            if change.after is ABSENT:
                return Verdict(f"task `{task}` removed")
            if change.remote is ABSENT:
                return Verdict(f"task `{task}` added")
            return Verdict(f"task `{task}` changed")
        what = " ".join(parts[2:]).replace("_", " ")
        return Verdict(f"task `{task}` {what} changed")

    def identity(self, tenant: TenantContext, name: str, spec: BaseModel) -> str:
        return name

    def attributes(self, tenant: TenantContext, name: str, spec: BaseModel) -> dict[str, str]:
        return {"name": name}

    def normalize(
        self, tenant: TenantContext, name: str, spec: BaseModel, read_file: ReadFile
    ) -> tuple[dict[str, Any], dict[str, bytes]]:
        """``{tasks{key: {...}}, schedule|None, max_concurrent_runs, timeout_seconds, tags,
        email_notifications{on_start, on_success, on_failure}}``."""
        assert isinstance(spec, JobSpec)
        notes = spec.email_notifications.model_dump() if spec.email_notifications else None
        schedule = spec.schedule.model_dump() if spec.schedule else None
        return {
            "tasks": {t.key: _normal_task(t) for t in spec.tasks},
            "schedule": schedule,
            "max_concurrent_runs": spec.max_concurrent_runs,
            "timeout_seconds": spec.timeout_seconds,
            "tags": dict(spec.tags),
            "email_notifications": _notifications(notes),
        }, {}

    def project(self, raw: Mapping[str, Any]) -> ObservedResource:
        settings = raw.get("settings") or {}
        return ObservedResource(
            kind=self.kind,
            identity=str(settings.get("name")),
            remote_id=str(raw["job_id"]),
            spec={
                "tasks": {t["task_key"]: _observed_task(t) for t in settings.get("tasks") or ()},
                "schedule": _observed_schedule(settings.get("schedule")),
                "max_concurrent_runs": settings.get("max_concurrent_runs") or 1,
                "timeout_seconds": settings.get("timeout_seconds") or 0,
                "tags": dict(settings.get("tags") or {}),
                "email_notifications": _notifications(settings.get("email_notifications")),
            },
            raw=dict(raw),
            managed=raw.get("managed_by") == MANAGED_BY,
        )

    # ---- connector side --------------------------------------------------------------

    def object_path(
        self, tenant: TenantContext, identity: str, remote_id: str
    ) -> tuple[str, dict[str, str]]:
        return f"/databricks/jobs/{remote_id}", {"tenant_id": tenant.tenant_id}

    async def create(
        self,
        client: ConnectorClient,
        tenant: TenantContext,
        desired: DesiredResource,
        *,
        idempotency_key: str | None = None,
    ) -> str:
        settings = settings_from_spec(desired.identity, desired.values())
        result = await client.post(
            "/databricks/jobs",
            idempotency_key=idempotency_key,
            json={"tenant_id": tenant.tenant_id, "managed_by": MANAGED_BY, **settings},
        )
        return str(result["job_id"])

    async def update(
        self,
        client: ConnectorClient,
        tenant: TenantContext,
        desired: DesiredResource,
        observed: ObservedResource,
        changed: frozenset[str],
    ) -> None:
        """Reset the job's settings (one call whatever changed), keeping fields we don't own."""
        await client.post(
            f"/databricks/jobs/{observed.remote_id}/reset",
            if_match=etag(observed),
            json={
                "tenant_id": tenant.tenant_id,
                "new_settings": merged_settings(
                    observed.raw.get("settings") or {},
                    settings_from_spec(desired.identity, desired.values()),
                ),
            },
        )
