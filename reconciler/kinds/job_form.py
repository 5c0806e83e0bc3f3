"""The comparable form of a job's settings, and the way back to Jobs 2.2 settings.

Desired settings (from the document) and observed ones (from the connector)
are brought to one *canonical* form before they are diffed, so that only real
differences show:

- lists whose items have a key become mappings by that key — ``tasks`` by
  ``task_key``, ``job_clusters`` by ``job_cluster_key``, ``environments`` by
  ``environment_key``, ``parameters`` by ``name`` — so reordering the YAML
  changes nothing and a plan reads ``tasks.load.notebook_task.base_parameters.x``;
  a task's ``depends_on`` is sorted;
- the values Databricks fills when they are left out are filled on both sides
  (:data:`JOB_DEFAULTS`, :data:`TASK_DEFAULTS`, a schedule's ``timezone_id`` and
  ``pause_status``, a task's file ``source``);
- ``None``, empty lists and empty mappings are dropped (Databricks leaves them
  out of what it returns).

:func:`upgrade_v1` turns a spec recorded by the first version of the ``Job``
kind (notebook tasks only, ``cron``/``timezone``/``paused``) into this form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeGuard

KEYED: dict[str, str] = {
    "tasks": "task_key",
    "job_clusters": "job_cluster_key",
    "environments": "environment_key",
    "parameters": "name",
    "environment_variables": "environment_variables_key",
}
"""Job-level lists compared by key, not position (the item field that is the key)."""

JOB_DEFAULTS: dict[str, Any] = {"max_concurrent_runs": 1, "timeout_seconds": 0}
UNMANAGED_DEFAULTS: dict[str, Any] = {"format": "MULTI_TASK"}
"""Values the server fills that mean nothing to compare: left out when they have them."""
TASK_DEFAULTS: dict[str, Any] = {"timeout_seconds": 0, "max_retries": 0, "run_if": "ALL_SUCCESS"}
PAUSABLE = ("schedule", "continuous", "trigger")
"""Settings that carry a ``pause_status`` (UNPAUSED when left out)."""
SOURCED = (("notebook_task",), ("spark_python_task",), ("sql_task", "file"), ("dbt_task",))
"""Task parts that read files from the workspace or from ``git_source`` (``source``)."""


def canonical(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The comparable form of Jobs 2.2 settings (``name`` left out)."""
    git = bool(settings.get("git_source"))
    result: dict[str, Any] = {}
    for field, value in settings.items():
        if field == "name" or value is None or UNMANAGED_DEFAULTS.get(field, ...) == value:
            continue
        if field in KEYED and isinstance(value, list):
            key = KEYED[field]
            value = {
                str(item[key]): {k: v for k, v in item.items() if k != key}
                for item in value
                if _is_mapping(item) and key in item
            }
            if field == "tasks":
                value = {k: canonical_task(v, git=git) for k, v in value.items()}
        result[field] = value
    for field, default in JOB_DEFAULTS.items():
        result.setdefault(field, default)
    for field in PAUSABLE:
        if _is_mapping(result.get(field)):
            result[field] = {"pause_status": "UNPAUSED", **result[field]}
    if _is_mapping(result.get("schedule")):
        schedule = {"timezone_id": "UTC", **result["schedule"]}
        cron = schedule.get("quartz_cron_expression")
        if isinstance(cron, str):
            schedule["quartz_cron_expression"] = " ".join(cron.split())
        result["schedule"] = schedule
    if isinstance(result.get("permissions"), list):
        result["permissions"] = sorted(result["permissions"], key=_principal)
    return _clean(result)


def canonical_task(task: Mapping[str, Any], *, git: bool) -> dict[str, Any]:
    """One task's comparable form (``task_key`` stays when the task is nested)."""
    result = {**TASK_DEFAULTS, **{k: v for k, v in task.items() if v is not None}}
    deps = result.get("depends_on")
    if isinstance(deps, list):
        items = [{"task_key": d} if isinstance(d, str) else dict(d) for d in deps]
        result["depends_on"] = sorted(items, key=lambda d: str(d.get("task_key")))
    for path in SOURCED:
        part = _get(result, path)
        if _is_mapping(part) and part.get("source") is None:
            _set(result, path, {**part, "source": "GIT" if git else "WORKSPACE"})
    inner = result.get("for_each_task")
    if _is_mapping(inner) and _is_mapping(inner.get("task")):
        result["for_each_task"] = {**inner, "task": canonical_task(inner["task"], git=git)}
    return result


def to_settings(name: str, form: Mapping[str, Any]) -> dict[str, Any]:
    """Jobs 2.2 settings for a canonical form: keyed mappings back to lists."""
    settings: dict[str, Any] = {"name": name}
    for field, value in form.items():
        if field == "permissions":
            continue
        if field in KEYED and isinstance(value, Mapping):
            key = KEYED[field]
            value = [{key: k, **v} for k, v in value.items()]
        settings[field] = value
    return settings


def _principal(entry: Any) -> str:
    if not isinstance(entry, Mapping):
        return ""
    return str(
        entry.get("user_name") or entry.get("group_name") or entry.get("service_principal_name")
    )


_LEAVES = frozenset({str, int, float, bool})


def _is_mapping(node: Any) -> TypeGuard[Mapping[str, Any]]:
    """``isinstance(node, Mapping)``, the common ``dict`` decided without the ABC check."""
    return node.__class__ is dict or isinstance(node, Mapping)


def _clean(node: Any) -> Any:
    """``node`` without ``None`` values, and without empty mappings and lists in mappings."""
    kind = node.__class__
    if kind in _LEAVES:
        return node
    if kind is list:
        return [_clean(v) for v in node if v is not None]
    if _is_mapping(node):
        cleaned: dict[Any, Any] = {}
        for key, value in node.items():
            if value is None:
                continue
            if value.__class__ not in _LEAVES:
                value = _clean(value)
                if not value and isinstance(value, dict | list):
                    continue
            cleaned[key] = value
        return cleaned
    if isinstance(node, list):
        return [_clean(v) for v in node if v is not None]
    return node


def _get(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = data
    for part in path:
        node = node.get(part) if _is_mapping(node) else None
    return node


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    if len(path) == 1:
        data[path[0]] = value
        return
    data[path[0]] = {**data[path[0]], path[1]: value}


# ---- the first version's recorded shape ------------------------------------------------


def is_v1(spec: Mapping[str, Any]) -> bool:
    """Whether ``spec`` was recorded by the first version (notebook-only) of the kind."""
    schedule = spec.get("schedule")
    if isinstance(schedule, Mapping) and "cron" in schedule:
        return True
    tasks = spec.get("tasks")
    return isinstance(tasks, Mapping) and any(
        isinstance(t, Mapping) and "notebook_path" in t for t in tasks.values()
    )


def upgrade_v1(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A first-version record in today's canonical form (what it asked for, unchanged)."""
    if not is_v1(spec):
        return dict(spec)
    settings: dict[str, Any] = {
        "tasks": [
            {
                "task_key": key,
                "depends_on": [{"task_key": dep} for dep in task.get("depends_on") or ()],
                "notebook_task": {
                    "notebook_path": task.get("notebook_path"),
                    "base_parameters": dict(task.get("parameters") or {}),
                    "source": "WORKSPACE",
                },
                "timeout_seconds": task.get("timeout_seconds") or 0,
                "max_retries": task.get("max_retries") or 0,
            }
            for key, task in (spec.get("tasks") or {}).items()
        ],
        "max_concurrent_runs": spec.get("max_concurrent_runs", 1),
        "timeout_seconds": spec.get("timeout_seconds", 0),
        "tags": dict(spec.get("tags") or {}),
        "email_notifications": dict(spec.get("email_notifications") or {}),
    }
    schedule = spec.get("schedule")
    if isinstance(schedule, Mapping):
        settings["schedule"] = {
            "quartz_cron_expression": schedule.get("cron"),
            "timezone_id": schedule.get("timezone") or "UTC",
            "pause_status": "PAUSED" if schedule.get("paused") else "UNPAUSED",
        }
    return canonical(settings)
