"""Validation and server defaults of Jobs 2.2 settings.

Settings arrive as plain JSON objects and are checked against the whole
``JobSettings`` shape (the table generated from databricks-sdk's dataclasses,
``reconciler/kinds/job_settings.json``): every field known, of its type, enums
within their values, required fields present. Then the rules Databricks keeps
across fields, each refused with INVALID_ARGUMENT and a message naming the
task: a task has exactly one task type; ``depends_on`` names tasks of the job
and forms no cycle; a ``job_cluster_key`` / ``environment_key`` is defined by
the job; at most 1,000 tasks; a workspace notebook task names a notebook of
the same tenant. The defaults Databricks fills are filled:

- job: ``max_concurrent_runs`` 1, ``timeout_seconds`` 0, ``tags`` {},
  ``email_notifications`` {}, ``format`` ``MULTI_TASK``;
- schedule, continuous, trigger: ``pause_status`` ``UNPAUSED``
  (a schedule's ``timezone_id`` ``UTC``);
- task: ``timeout_seconds`` 0, ``run_if`` ``ALL_SUCCESS``, ``notebook_task.source``
  ``GIT`` with a ``git_source``, else ``WORKSPACE``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from reconciler.emulator.errors import invalid
from reconciler.kinds.job_models import MAX_TASKS, TABLE, TASK_TYPES, check_task_graph

TASK_KEY = re.compile(r"^[\w\-.]{1,100}$")
SCALARS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
}

FILLED = {("JobSettings", "name"), ("CronSchedule", "timezone_id")}
"""Required fields the server fills or checks on its own (the name has its own message)."""

NotebookExists = Callable[[str], bool]


def check_shape(value: Any, spec: Any, where: str) -> None:
    """``value`` has the shape ``spec`` (a type from the table), or a 400 naming ``where``."""
    if isinstance(spec, str):
        allowed = SCALARS[spec]
        if not isinstance(value, allowed) or (spec != "bool" and isinstance(value, bool)):
            raise invalid(f"{where} must be of type {spec}")
    elif "list" in spec:
        if not isinstance(value, list):
            raise invalid(f"{where} must be a list")
        for i, item in enumerate(value):
            check_shape(item, spec["list"], f"{where}[{i}]")
    elif "dict" in spec:
        if not isinstance(value, dict):
            raise invalid(f"{where} must be an object")
        for key, item in value.items():
            check_shape(item, spec["dict"], f"{where}.{key}")
    elif "enum" in spec:
        options = TABLE["enums"][spec["enum"]]
        if value not in options:
            raise invalid(f"{where} must be one of {', '.join(options)}")
    else:
        _check_model(value, spec["model"], where)


def _check_model(value: Any, model: str, where: str) -> None:
    if not isinstance(value, dict):
        raise invalid(f"{where} must be an object")
    fields = TABLE["models"][model]["fields"]
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise invalid(f"{where} has unknown field(s): {', '.join(unknown)}")
    for name, info in fields.items():
        if name in value and value[name] is not None:
            check_shape(value[name], info["type"], f"{where}.{name}" if where else name)
        elif info["required"] and (model, name) not in FILLED:
            raise invalid(f"{where + '.' if where else ''}{name} is required")


def _task(task: dict[str, Any], where: str, exists: NotebookExists, git: bool) -> None:
    key = task["task_key"]
    if not TASK_KEY.match(key):
        raise invalid(f"{where}.task_key {key!r} must be 1-100 letters, digits, '_', '-', '.'")
    kinds = [t for t in TASK_TYPES if task.get(t) is not None]
    if len(kinds) != 1:
        what = ", ".join(kinds) or "none"
        raise invalid(f"task {key!r} must have exactly one task type; it has {what}")
    for field, minimum in (("timeout_seconds", 0), ("max_retries", -1)):
        if task.get(field, 0) < minimum:
            raise invalid(f"{where}.{field} must be >= {minimum}")
    task.setdefault("timeout_seconds", 0)
    task.setdefault("run_if", "ALL_SUCCESS")
    notebook = task.get("notebook_task")
    if notebook is not None:
        notebook.setdefault("source", "GIT" if git else "WORKSPACE")
        path = notebook["notebook_path"]
        if notebook["source"] == "WORKSPACE" and not exists(path):
            raise invalid(
                f"{where}.notebook_task.notebook_path {path!r} is not a notebook of this tenant"
            )
    inner = (task.get("for_each_task") or {}).get("task")
    if inner is not None:
        _task(inner, f"{where}.for_each_task.task", exists, git)


def _check_graph(settings: dict[str, Any]) -> None:
    tasks = settings["tasks"]
    if len(tasks) > MAX_TASKS:
        raise invalid(f"a job has at most {MAX_TASKS} tasks; this one has {len(tasks)}")
    keys = [t["task_key"] for t in tasks]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise invalid(f"task keys must be unique: {', '.join(duplicates)}")
    for field, collection in (
        ("job_cluster_key", "job_clusters"),
        ("environment_key", "environments"),
    ):
        defined = {c[field] for c in settings.get(collection) or ()}
        for task in tasks:
            if task.get(field) is not None and task[field] not in defined:
                raise invalid(
                    f"task {task['task_key']!r}: {field} {task[field]!r} is not defined in {collection}"
                )
    edges = {t["task_key"]: [d["task_key"] for d in t.get("depends_on") or ()] for t in tasks}
    try:
        check_task_graph(edges)
    except ValueError as exc:
        raise invalid(str(exc)) from None


def normalize_settings(raw: Any, exists: NotebookExists) -> dict[str, Any]:
    """Checked settings with the server defaults filled in, or a 400."""
    if not isinstance(raw, dict):
        raise invalid("settings must be an object")
    settings = {k: v for k, v in raw.items() if v is not None}
    _check_model(settings, "JobSettings", "")
    name = settings.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 4096:
        raise invalid("name must be 1-4096 characters")
    settings.setdefault("tasks", [])
    git = bool(settings.get("git_source"))
    for i, task in enumerate(settings["tasks"]):
        _task(task, f"tasks[{i}]", exists, git)
    _check_graph(settings)
    if "schedule" in settings:
        cron = settings["schedule"]["quartz_cron_expression"]
        if len(cron.split()) not in (6, 7):
            raise invalid(f"schedule.quartz_cron_expression {cron!r} needs 6 or 7 fields")
        settings["schedule"].setdefault("timezone_id", "UTC")
    for pausable in ("schedule", "continuous", "trigger"):
        if pausable in settings:
            settings[pausable].setdefault("pause_status", "UNPAUSED")
    for field, minimum in (("max_concurrent_runs", 0), ("timeout_seconds", 0)):
        if settings.get(field, 0) < minimum:
            raise invalid(f"{field} must be >= {minimum}")
    settings.setdefault("max_concurrent_runs", 1)
    settings.setdefault("timeout_seconds", 0)
    settings.setdefault("tags", {})
    settings.setdefault("email_notifications", {})
    settings.setdefault("format", "MULTI_TASK")
    return settings


ACL_LEVELS = ("CAN_MANAGE", "CAN_MANAGE_RUN", "CAN_VIEW", "IS_OWNER")
PRINCIPALS = ("user_name", "group_name", "service_principal_name")


def access_control_list(raw: Any) -> list[dict[str, str]] | None:
    """A checked access control list (None when not given), or a 400."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise invalid("access_control_list must be a list")
    result = []
    for i, entry in enumerate(raw):
        where = f"access_control_list[{i}]"
        if not isinstance(entry, dict) or set(entry) - {"permission_level", "level", *PRINCIPALS}:
            raise invalid(f"{where} takes permission_level and one of {', '.join(PRINCIPALS)}")
        level = entry.get("permission_level", entry.get("level"))
        if level not in ACL_LEVELS:
            raise invalid(f"{where}.permission_level must be one of {', '.join(ACL_LEVELS)}")
        named = [p for p in PRINCIPALS if isinstance(entry.get(p), str)]
        if len(named) != 1:
            raise invalid(f"{where} names exactly one of {', '.join(PRINCIPALS)}")
        result.append({named[0]: entry[named[0]], "permission_level": level})
    return result
