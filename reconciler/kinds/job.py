"""Job: a Databricks Jobs 2.2 job, in the whole ``JobSettings`` shape.

The spec is ``JobSettings`` in the API's own field names (every task type,
job clusters, environments, parameters, triggers, notifications, health,
git source, queue, run_as, ...; see :mod:`reconciler.kinds.job_models`) plus
``permissions``; the first version's shorthands (``notebook:``, ``cron``...)
still work and mean their long forms. The remote job's name is the document's
``metadata.name`` and is its identity; its numeric ``job_id`` is the remote id.

Both sides are compared in the canonical form of :mod:`reconciler.kinds.job_form`:
tasks, job clusters, environments and parameters by key (a plan reads
``tasks.load.notebook_task.base_parameters.x``), Databricks' defaults filled on
both sides. An update resets the whole settings object (``/jobs/{id}/reset``),
carrying over what neither the document nor the last apply names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from reconciler.kinds.base import (
    ABSENT,
    MANAGED_BY,
    DesiredResource,
    FieldRule,
    Kind,
    Namespace,
    ObservedResource,
    ReadFile,
    Rule,
    TenantContext,
    Verdict,
    etag,
)
from reconciler.kinds.job_form import KEYED, PAUSABLE, canonical, is_v1, to_settings, upgrade_v1
from reconciler.kinds.job_models import PRINCIPALS, JobSpecModel

if TYPE_CHECKING:
    from reconciler.diff import FieldChange
    from reconciler.mcp.client import ConnectorClient


def expand_shorthands(data: dict[str, Any]) -> dict[str, Any]:
    """The spec as written (unset fields left out) in long form: Jobs 2.2 settings."""
    settings = dict(data)
    if isinstance(settings.get("schedule"), dict):
        settings["schedule"] = _long_schedule(settings["schedule"])
    if isinstance(settings.get("tasks"), list):
        settings["tasks"] = [_long_task(t) for t in settings["tasks"]]
    return settings


def _long_schedule(schedule: dict[str, Any]) -> dict[str, Any]:
    result = {k: v for k, v in schedule.items() if k not in ("cron", "timezone", "paused")}
    if "cron" in schedule:
        result["quartz_cron_expression"] = schedule["cron"]
    if "timezone" in schedule:
        result["timezone_id"] = schedule["timezone"]
    if schedule.get("paused") is not None:
        result["pause_status"] = "PAUSED" if schedule["paused"] else "UNPAUSED"
    return result


def _long_task(task: dict[str, Any]) -> dict[str, Any]:
    result = {k: v for k, v in task.items() if k not in ("key", "notebook", "parameters")}
    if "key" in task:
        result["task_key"] = task["key"]
    if "notebook" in task:
        notebook: dict[str, Any] = {"notebook_path": task["notebook"]}
        if task.get("parameters"):
            notebook["base_parameters"] = dict(task["parameters"])
        result["notebook_task"] = notebook
    inner = result.get("for_each_task")
    if isinstance(inner, dict) and isinstance(inner.get("task"), dict):
        result["for_each_task"] = {**inner, "task": _long_task(inner["task"])}
    return result


def _check_task_paths(
    namespace: Namespace, task: Any, field: tuple[str | int, ...], in_git: bool
) -> None:
    """The notebook a task runs (also the task a ``for_each_task`` repeats) is the tenant's."""
    if getattr(task, "notebook", None) is not None:
        namespace.check_path(task.notebook, (*field, "notebook"), "task notebook")
    notebook = getattr(task, "notebook_task", None)
    path = getattr(notebook, "notebook_path", None)
    if isinstance(path, str) and not _in_git(getattr(notebook, "source", None), in_git):
        namespace.check_path(path, (*field, "notebook_task", "notebook_path"), "task notebook")
    repeated = getattr(task, "for_each_task", None)
    if repeated is not None and getattr(repeated, "task", None) is not None:
        _check_task_paths(namespace, repeated.task, (*field, "for_each_task", "task"), in_git)


def _in_git(source: Any, job_has_git: bool) -> bool:
    """Whether a task's notebook comes from the job's git repository (``source``, else
    ``git_source``)."""
    value = getattr(source, "value", source)
    return value == "GIT" or (value is None and job_has_git)


def merged_settings(
    current: Mapping[str, Any], wanted: dict[str, Any], changed: frozenset[str]
) -> dict[str, Any]:
    """The ``new_settings`` of a reset: ours, with what nobody's documents name kept.

    A reset replaces every setting, so the fields another tool or a person added
    (a queue, libraries on a task, ...) are carried over as they are. A field the
    documents no longer name but the last apply did shows in ``changed`` (dotted
    paths): it is dropped, so the server resets it.
    """
    kept = {k: v for k, v in current.items() if k not in wanted and k not in changed}
    theirs = {t.get("task_key"): t for t in current.get("tasks") or ()}
    tasks = []
    for task in wanted.get("tasks") or ():
        key = task["task_key"]
        extra = {
            k: v
            for k, v in theirs.get(key, {}).items()
            if k not in task and f"tasks.{key}.{k}" not in changed
        }
        tasks.append({**extra, **task})
    return {**kept, **wanted, "tasks": tasks}


def permissions_of(raw: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The job's access control list as the spec writes it (None when not set)."""
    acl = raw.get("access_control_list")
    if not isinstance(acl, list):
        return None
    return [
        {
            "level": entry.get("permission_level"),
            **{k: v for k, v in entry.items() if k in PRINCIPALS},
        }
        for entry in acl
        if isinstance(entry, Mapping)
    ]


def access_control_list(permissions: Any) -> list[dict[str, Any]]:
    """The spec's ``permissions`` as the API's ``access_control_list``."""
    return [
        {"permission_level": p["level"], **{k: v for k, v in p.items() if k in PRINCIPALS}}
        for p in permissions or ()
    ]


class Job(Kind):
    """A Jobs 2.2 job; updates reset the whole settings object."""

    kind = "Job"
    noun = "job"
    collection = "jobs"
    list_path = "/databricks/jobs"
    list_items = "jobs"
    unique_names = False  # two tenants may each have a job of one name
    spec_model = JobSpecModel()  # built from the SDK's ``JobSettings`` when first read
    rules = (
        FieldRule("max_concurrent_runs", Rule.SERVER_DEFAULT, "Jobs default to 1", 1),
        FieldRule("timeout_seconds", Rule.SERVER_DEFAULT, "0 means no timeout", 0),
        FieldRule("tasks.*.timeout_seconds", Rule.SERVER_DEFAULT, "the server fills 0", 0),
        FieldRule("tasks.*.max_retries", Rule.SERVER_DEFAULT, "absent means no retries", 0),
        FieldRule("tasks.*.run_if", Rule.SERVER_DEFAULT, "the server fills it", "ALL_SUCCESS"),
        FieldRule("schedule.timezone_id", Rule.SERVER_DEFAULT, "the server fills UTC", "UTC"),
        FieldRule("schedule.pause_status", Rule.SERVER_DEFAULT, "UNPAUSED", "UNPAUSED"),
    )

    # ---- pure side -------------------------------------------------------------------

    def assess(self, change: FieldChange) -> Verdict:
        """Reasons in the job's own words: "task `load` notebook_task notebook_path changed"."""
        parts = change.parts
        if parts[0] not in KEYED or len(parts) < 2:
            return super().assess(change)
        noun = {"tasks": "task", "job_clusters": "job cluster", "environments": "environment",
                "parameters": "parameter", "environment_variables": "environment variables"}[
            parts[0]
        ]  # fmt: skip
        item = parts[1]
        if len(parts) == 2:
            if change.after is ABSENT:
                return Verdict(f"{noun} `{item}` removed")
            if change.remote is ABSENT:
                return Verdict(f"{noun} `{item}` added")
            return Verdict(f"{noun} `{item}` changed")
        return Verdict(f"{noun} `{item}` {'.'.join(parts[2:])} changed")

    def identity(self, tenant: TenantContext, name: str, spec: BaseModel) -> str:
        return name

    def attributes(self, tenant: TenantContext, name: str, spec: BaseModel) -> dict[str, str]:
        return {"name": name}

    def normalize(
        self, tenant: TenantContext, name: str, spec: BaseModel, read_file: ReadFile
    ) -> tuple[dict[str, Any], dict[str, bytes]]:
        """The canonical form of the settings (see :mod:`reconciler.kinds.job_form`)."""
        written = spec.model_dump(exclude_unset=True, exclude={"adopt"})
        settings = expand_shorthands(written)
        return canonical(settings), {}

    def check_namespace(
        self, namespace: Namespace, identity: str, spec: BaseModel, normalized: Mapping[str, Any]
    ) -> None:
        """Every workspace notebook a task runs is in the tenant's folder; paths in the
        job's git repository are not workspace paths."""
        in_git = getattr(spec, "git_source", None) is not None
        for index, task in enumerate(getattr(spec, "tasks", None) or ()):
            _check_task_paths(namespace, task, ("spec", "tasks", index), in_git)

    def with_presets(
        self, identity: str, spec: dict[str, Any], presets: Any
    ) -> tuple[str, dict[str, Any]]:
        """A target's name prefix, paused triggers and extra tags."""
        spec = dict(spec)
        if presets.pause_triggers:
            for field in PAUSABLE:
                if isinstance(spec.get(field), Mapping):
                    spec[field] = {**spec[field], "pause_status": "PAUSED"}
        if presets.tags:
            spec["tags"] = {**presets.tags, **(spec.get("tags") or {})}
        return presets.name_prefix + identity, spec

    def document_spec(self, observed: ObservedResource) -> dict[str, Any] | None:
        """The job's settings as a spec (its name is the document's name)."""
        spec = {k: v for k, v in to_settings("", observed.spec).items() if k != "name"}
        if observed.spec.get("permissions"):
            spec["permissions"] = list(observed.spec["permissions"])
        return spec

    def upgrade_recorded(self, spec: Mapping[str, Any]) -> Mapping[str, Any]:
        """A spec recorded by the first version of this kind, in today's form."""
        return upgrade_v1(spec) if is_v1(spec) else spec

    def project(self, raw: Mapping[str, Any]) -> ObservedResource:
        settings = raw.get("settings") or {}
        spec = canonical(settings)
        permissions = permissions_of(raw)
        if permissions:
            spec["permissions"] = canonical({"permissions": permissions})["permissions"]
        return ObservedResource(
            kind=self.kind,
            identity=str(settings.get("name")),
            remote_id=str(raw["job_id"]),
            spec=spec,
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
        values = desired.values()
        body: dict[str, Any] = {"tenant_id": tenant.tenant_id, "managed_by": MANAGED_BY}
        body.update(to_settings(desired.identity, values))
        if values.get("permissions"):
            body["access_control_list"] = access_control_list(values["permissions"])
        result = await client.post("/databricks/jobs", idempotency_key=idempotency_key, json=body)
        return str(result["job_id"])

    async def update(
        self,
        client: ConnectorClient,
        tenant: TenantContext,
        desired: DesiredResource,
        observed: ObservedResource,
        changed: frozenset[str],
    ) -> None:
        """Reset the job's settings (one call whatever changed), keeping fields nobody owns."""
        values = desired.values()
        body: dict[str, Any] = {
            "tenant_id": tenant.tenant_id,
            "new_settings": merged_settings(
                observed.raw.get("settings") or {},
                to_settings(desired.identity, values),
                changed,
            ),
        }
        if "permissions" in changed or values.get("permissions"):
            body["access_control_list"] = access_control_list(values.get("permissions"))
        await client.post(
            f"/databricks/jobs/{observed.remote_id}/reset", if_match=etag(observed), json=body
        )
