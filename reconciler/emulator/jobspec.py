"""Validation and server defaults of Jobs 2.2 settings.

Settings arrive as plain JSON objects (Jobs has too many optional fields for a
closed model). :func:`normalize_settings` checks the fields the connector
contract names, passes the other documented Jobs 2.2 settings through
unchanged, refuses unknown ones, and fills the defaults Databricks fills:

- job: ``max_concurrent_runs`` 1, ``timeout_seconds`` 0, ``tags`` {},
  ``email_notifications`` {}, ``format`` ``MULTI_TASK``;
- schedule: ``timezone_id`` ``UTC``, ``pause_status`` ``UNPAUSED``;
- task: ``timeout_seconds`` 0, ``run_if`` ``ALL_SUCCESS``,
  ``notebook_task.source`` ``WORKSPACE``.

Workspace notebook tasks must name a notebook of the same tenant; task keys
are unique and ``depends_on`` must form an acyclic graph over the job's tasks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from reconciler.emulator.errors import invalid

PASS_THROUGH_SETTINGS = frozenset(
    {
        "description", "webhook_notifications", "notification_settings", "continuous",
        "trigger", "job_clusters", "environments", "parameters", "queue", "run_as",
        "git_source", "health", "deployment", "edit_mode", "budget_policy_id",
        "performance_target",
    }
)  # fmt: skip
PASS_THROUGH_TASK = frozenset(
    {
        "description", "existing_cluster_id", "new_cluster", "job_cluster_key",
        "environment_key", "libraries", "min_retry_interval_millis", "retry_on_timeout",
        "disabled", "email_notifications", "webhook_notifications", "notification_settings",
        "health", "spark_python_task", "python_wheel_task", "sql_task", "pipeline_task",
        "run_job_task", "dbt_task", "condition_task", "for_each_task", "spark_jar_task",
        "spark_submit_task",
    }
)  # fmt: skip
RUN_IF = ("ALL_SUCCESS", "AT_LEAST_ONE_SUCCESS", "NONE_FAILED", "ALL_DONE",
          "AT_LEAST_ONE_FAILED", "ALL_FAILED")  # fmt: skip
TASK_KEY = re.compile(r"^[\w\-.]{1,100}$")

NotebookExists = Callable[[str], bool]


MAX_TASKS = 1000
"""Tasks one job may have, as in Databricks."""


def _expect(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    if isinstance(value, bool) and kind in (int, (int,)):
        raise invalid(f"{where} must be an integer")
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise invalid(f"{where} must be of type {names}")
    return value


def _non_negative(value: Any, where: str, minimum: int = 0) -> int:
    number = _expect(value, int, where)
    if number < minimum:
        raise invalid(f"{where} must be >= {minimum}")
    return int(number)


def _string_map(value: Any, where: str) -> dict[str, str]:
    mapping = _expect(value, dict, where)
    for key, item in mapping.items():
        _expect(item, str, f"{where}.{key}")
    return dict(mapping)


def _schedule(raw: Any) -> dict[str, Any]:
    schedule = dict(_expect(raw, dict, "schedule"))
    unknown = set(schedule) - {"quartz_cron_expression", "timezone_id", "pause_status"}
    if unknown:
        raise invalid(f"schedule has unknown field(s): {', '.join(sorted(unknown))}")
    cron = _expect(schedule.get("quartz_cron_expression"), str, "schedule.quartz_cron_expression")
    if len(cron.split()) not in (6, 7):
        raise invalid(f"schedule.quartz_cron_expression {cron!r} needs 6 or 7 fields")
    schedule.setdefault("timezone_id", "UTC")
    _expect(schedule["timezone_id"], str, "schedule.timezone_id")
    schedule.setdefault("pause_status", "UNPAUSED")
    if schedule["pause_status"] not in ("PAUSED", "UNPAUSED"):
        raise invalid("schedule.pause_status must be PAUSED or UNPAUSED")
    return schedule


def _notebook_task(raw: Any, where: str, exists: NotebookExists) -> dict[str, Any]:
    task = dict(_expect(raw, dict, where))
    unknown = set(task) - {"notebook_path", "base_parameters", "source", "warehouse_id"}
    if unknown:
        raise invalid(f"{where} has unknown field(s): {', '.join(sorted(unknown))}")
    path = _expect(task.get("notebook_path"), str, f"{where}.notebook_path")
    if "base_parameters" in task:
        task["base_parameters"] = _string_map(task["base_parameters"], f"{where}.base_parameters")
    task.setdefault("source", "WORKSPACE")
    if task["source"] not in ("WORKSPACE", "GIT"):
        raise invalid(f"{where}.source must be WORKSPACE or GIT")
    if task["source"] == "WORKSPACE" and not exists(path):
        raise invalid(f"{where}.notebook_path {path!r} is not a notebook of this tenant")
    return task


def _depends_on(raw: Any, where: str) -> list[dict[str, Any]]:
    items = _expect(raw, list, where)
    result = []
    for number, item in enumerate(items):
        entry = dict(_expect(item, dict, f"{where}[{number}]"))
        _expect(entry.get("task_key"), str, f"{where}[{number}].task_key")
        result.append(entry)
    return result


def _task(raw: Any, where: str, exists: NotebookExists) -> dict[str, Any]:
    task = dict(_expect(raw, dict, where))
    known = {"task_key", "depends_on", "notebook_task", "timeout_seconds", "max_retries", "run_if"}
    unknown = set(task) - known - PASS_THROUGH_TASK
    if unknown:
        raise invalid(f"{where} has unknown field(s): {', '.join(sorted(unknown))}")
    key = _expect(task.get("task_key"), str, f"{where}.task_key")
    if not TASK_KEY.match(key):
        raise invalid(f"{where}.task_key {key!r} must be 1-100 letters, digits, '_', '-', '.'")
    if "depends_on" in task:
        task["depends_on"] = _depends_on(task["depends_on"], f"{where}.depends_on")
    if "notebook_task" in task:
        task["notebook_task"] = _notebook_task(
            task["notebook_task"], f"{where}.notebook_task", exists
        )
    elif not any(k.endswith("_task") for k in task):
        raise invalid(f"{where} needs a notebook_task (or another task type)")
    task["timeout_seconds"] = _non_negative(
        task.get("timeout_seconds", 0), f"{where}.timeout_seconds"
    )
    if "max_retries" in task:
        _non_negative(task["max_retries"], f"{where}.max_retries", minimum=-1)
    task.setdefault("run_if", "ALL_SUCCESS")
    if task["run_if"] not in RUN_IF:
        raise invalid(f"{where}.run_if must be one of {', '.join(RUN_IF)}")
    return task


def _check_graph(tasks: list[dict[str, Any]]) -> None:
    keys = [t["task_key"] for t in tasks]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise invalid(f"task keys must be unique: {', '.join(duplicates)}")
    edges = {t["task_key"]: [d["task_key"] for d in t.get("depends_on", [])] for t in tasks}
    for key, needs in edges.items():
        for need in needs:
            if need not in edges or need == key:
                raise invalid(f"task {key!r} depends on {need!r}, which is not another task")
    waiting = {key: len(set(needs)) for key, needs in edges.items()}
    needed_by: dict[str, list[str]] = {key: [] for key in edges}
    for key, needs in edges.items():
        for need in set(needs):
            needed_by[need].append(key)
    ready = [key for key, count in waiting.items() if count == 0]
    while ready:  # Kahn's algorithm: no recursion, so a long chain cannot overflow the stack
        for after in needed_by[ready.pop()]:
            waiting[after] -= 1
            if waiting[after] == 0:
                ready.append(after)
    looped = [key for key, count in waiting.items() if count > 0]
    if looped:
        raise invalid(f"task dependencies form a cycle through {looped[0]!r}")


def normalize_settings(raw: Any, exists: NotebookExists) -> dict[str, Any]:
    """Checked settings with the server defaults filled in, or a 400."""
    settings = dict(_expect(raw, dict, "settings"))
    known = {"name", "tasks", "schedule", "max_concurrent_runs", "timeout_seconds", "tags",
             "email_notifications", "format"}  # fmt: skip
    unknown = set(settings) - known - PASS_THROUGH_SETTINGS
    if unknown:
        raise invalid(f"unknown job setting(s): {', '.join(sorted(unknown))}")
    name = _expect(settings.get("name"), str, "name")
    if not name.strip() or len(name) > 4096:
        raise invalid("name must be 1-4096 characters")
    tasks = _expect(settings.get("tasks", []), list, "tasks")
    if len(tasks) > MAX_TASKS:
        raise invalid(f"a job has at most {MAX_TASKS} tasks; this one has {len(tasks)}")
    settings["tasks"] = [_task(t, f"tasks[{i}]", exists) for i, t in enumerate(tasks)]
    _check_graph(settings["tasks"])
    if settings.get("schedule") is not None:
        settings["schedule"] = _schedule(settings["schedule"])
    else:
        settings.pop("schedule", None)
    settings["max_concurrent_runs"] = _non_negative(
        settings.get("max_concurrent_runs", 1), "max_concurrent_runs"
    )
    settings["timeout_seconds"] = _non_negative(
        settings.get("timeout_seconds", 0), "timeout_seconds"
    )
    settings["tags"] = _string_map(settings.get("tags", {}), "tags")
    settings["email_notifications"] = dict(
        _expect(settings.get("email_notifications", {}), dict, "email_notifications")
    )
    settings.setdefault("format", "MULTI_TASK")
    if settings["format"] not in ("MULTI_TASK", "SINGLE_TASK"):
        raise invalid("format must be MULTI_TASK or SINGLE_TASK")
    return settings
