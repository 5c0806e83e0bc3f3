"""Pydantic models of the whole Jobs 2.2 ``JobSettings``, in the API's own field names.

The models are built from ``job_settings.json``, a table generated from
databricks-sdk's ``jobs`` dataclasses by ``scripts/generate_job_settings.py``
(a test checks it matches the installed SDK): every class becomes a model that
forbids unknown fields (so a typo is an error with a "did you mean"), every
enum a ``Literal`` of its values, every field keeps the SDK's description (the
JSON Schema shows it in editors).

On top of the SDK's shapes the ``Job`` kind keeps the shorthands of its first
version, each meaning exactly its long form:

- task ``key`` = ``task_key``; ``notebook: PATH`` = ``notebook_task.notebook_path``
  and ``parameters`` = ``notebook_task.base_parameters``; a ``depends_on`` item
  may be a bare task key;
- schedule ``cron`` = ``quartz_cron_expression``, ``timezone`` = ``timezone_id``
  (default ``UTC``), ``paused: true|false`` = ``pause_status: PAUSED|UNPAUSED``.
"""

from __future__ import annotations

import difflib
import json
import re
import threading
import warnings
import zoneinfo
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any, ForwardRef, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from reconciler.kinds.base import SpecBase

TASK_KEY_PATTERN = r"^[A-Za-z0-9_-]{1,100}$"
CRON_FIELD = re.compile(r"^[0-9A-Za-z*?/,#-]+$")
ZONES = frozenset(zoneinfo.available_timezones()) | {"UTC"}
"""Every IANA time zone id, read once (reading them per schedule is slow)."""
MAX_TASKS = 1000

TABLE: dict[str, Any] = json.loads(
    resources.files("reconciler.kinds").joinpath("job_settings.json").read_text("utf-8")
)
TASK_TYPES: tuple[str, ...] = tuple(
    name for name in TABLE["models"]["Task"]["fields"] if name.endswith("_task")
)
"""The fields of a task that name what it runs; a task has exactly one."""


class JobsModel(BaseModel):
    """Base of every generated Jobs model: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def check_cron(value: str) -> str:
    fields = value.split()
    if len(fields) not in (6, 7):
        raise ValueError(
            f"a Quartz cron expression has 6 or 7 fields (seconds first), got {len(fields)}"
        )
    bad = [f for f in fields if not CRON_FIELD.match(f)]
    if bad:
        raise ValueError(f"cron field {bad[0]!r} has characters Quartz does not accept")
    return " ".join(fields)


def check_zone(value: str) -> str:
    if value not in ZONES:
        raise ValueError(f"unknown time zone {value!r} (use an IANA id like 'Europe/Paris')")
    return value


class ScheduleShorthand(JobsModel):
    """``cron``/``timezone``/``paused``: the first version's names for the schedule."""

    cron: str | None = Field(
        default=None,
        description="Shorthand for `quartz_cron_expression`: 6 or 7 fields, seconds first "
        "(e.g. '0 0 2 * * ?' runs at 02:00).",
    )
    timezone: str | None = Field(
        default=None, description="Shorthand for `timezone_id`; both default to UTC."
    )
    paused: bool | None = Field(
        default=None, description="Shorthand for `pause_status`: true is PAUSED, false UNPAUSED."
    )

    @field_validator("cron", "quartz_cron_expression", check_fields=False)
    @classmethod
    def _quartz(cls, value: str | None) -> str | None:
        return None if value is None else check_cron(value)

    @field_validator("timezone", "timezone_id", check_fields=False)
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else check_zone(value)

    @model_validator(mode="after")
    def _one_of_each(self) -> ScheduleShorthand:
        pairs = (("cron", "quartz_cron_expression"), ("timezone", "timezone_id"))
        for short, long in (*pairs, ("paused", "pause_status")):
            if getattr(self, short) is not None and getattr(self, long, None) is not None:
                raise ValueError(f"give `{short}` or `{long}`, not both (they mean the same)")
        if self.cron is None and getattr(self, "quartz_cron_expression", None) is None:
            raise ValueError("a schedule needs `quartz_cron_expression` (or its shorthand `cron`)")
        return self


class TaskShorthand(JobsModel):
    """A task: ``key``/``notebook``/``parameters`` are the first version's names."""

    key: str | None = Field(
        default=None, pattern=TASK_KEY_PATTERN, description="Shorthand for `task_key`."
    )
    notebook: str | None = Field(
        default=None,
        min_length=1,
        description="Shorthand for `notebook_task.notebook_path`, usually "
        "${notebooks.<name>.path}.",
    )
    parameters: dict[str, str] | None = Field(
        default=None,
        description="With `notebook`: shorthand for `notebook_task.base_parameters` "
        "(notebook widget values).",
    )

    @model_validator(mode="after")
    def _shape(self) -> TaskShorthand:
        task_key = getattr(self, "task_key", None)
        if (self.key is None) == (task_key is None):
            raise ValueError("a task needs `task_key` (or its shorthand `key`), exactly once")
        if self.parameters is not None and self.notebook is None:
            raise ValueError(
                "task `parameters` is the shorthand of notebook base_parameters and needs "
                "`notebook`; with a `*_task` mapping, put parameters inside it"
            )
        types = [t for t in TASK_TYPES if getattr(self, t, None) is not None]
        types += ["notebook"] if self.notebook is not None else []
        key = self.key or task_key
        if len(types) != 1:
            what = ", ".join(f"`{t}`" for t in types) if types else "none"
            raise ValueError(
                f"task `{key}` needs exactly one task type (notebook_task, spark_python_task, "
                f"sql_task, ...); it has {what}"
            )
        return self


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
EMAIL_EVENTS = (
    "on_start", "on_success", "on_failure", "on_duration_warning_threshold_exceeded",
    "on_streaming_backlog_exceeded",
)  # fmt: skip


class EmailChecks(JobsModel):
    """Email notification lists hold email addresses."""

    @field_validator(*EMAIL_EVENTS, check_fields=False)
    @classmethod
    def _emails(cls, values: list[str] | None) -> list[str] | None:
        for value in values or ():
            if not EMAIL.match(value):
                raise ValueError(f"{value!r} is not an email address")
        return values


class JobPermission(JobsModel):
    """One entry of the job's access control list."""

    level: Literal["CAN_MANAGE", "CAN_MANAGE_RUN", "CAN_VIEW", "IS_OWNER"] = Field(
        description="What the principal may do with the job."
    )
    user_name: str | None = Field(default=None, description="A user (email).")
    group_name: str | None = Field(default=None, description="A workspace group.")
    service_principal_name: str | None = Field(
        default=None, description="A service principal (application id)."
    )

    @model_validator(mode="after")
    def _one_principal(self) -> JobPermission:
        given = [p for p in PRINCIPALS if getattr(self, p) is not None]
        if len(given) != 1:
            raise ValueError(f"a permission names exactly one of {', '.join(PRINCIPALS)}")
        return self


PRINCIPALS = ("user_name", "group_name", "service_principal_name")


class JobSpecBase(SpecBase):
    """The ``Job`` spec: ``JobSettings`` without ``name`` (that is ``metadata.name``)."""

    permissions: list[JobPermission] | None = Field(
        default=None, description="Who may view, run or manage the job (its access control list)."
    )

    @field_validator("tasks", check_fields=False)
    @classmethod
    def _task_graph(cls, tasks: list[Any]) -> list[Any]:
        if len(tasks) > MAX_TASKS:
            raise ValueError(f"a job has at most {MAX_TASKS} tasks, this one has {len(tasks)}")
        keys = [task_key(t) for t in tasks]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise ValueError(f"task key {twice[0]!r} is used more than once")
        check_task_graph({task_key(t): [dep_key(d) for d in t.depends_on or ()] for t in tasks})
        return tasks

    @model_validator(mode="after")
    def _keys_defined(self) -> JobSpecBase:
        """Every ``job_cluster_key`` / ``environment_key`` a task uses is defined by the job."""
        for field, collection in (
            ("job_cluster_key", "job_clusters"),
            ("environment_key", "environments"),
        ):
            defined = [str(getattr(c, field)) for c in getattr(self, collection, None) or ()]
            for task in getattr(self, "tasks", None) or ():
                used = getattr(task, field, None)
                if used is not None and used not in defined:
                    hint = did_you_mean(used, defined)
                    raise ValueError(
                        f"task {task_key(task)!r} uses {field} {used!r}, which `{collection}` "
                        f"does not define{hint} (defined: {', '.join(defined) or 'none'})"
                    )
        return self


def task_key(task: Any) -> str:
    return str(task.key or task.task_key)


def dep_key(dep: Any) -> str:
    return dep if isinstance(dep, str) else str(dep.task_key)


def did_you_mean(word: str, options: list[str]) -> str:
    """``"; did you mean `x`?"`` (as :func:`reconciler.explain.did_you_mean`, which the kinds
    cannot import: it needs the document models the kinds make)."""
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def check_task_graph(graph: dict[str, list[str]]) -> None:
    """Keys unique, dependencies known and acyclic; else ValueError naming the task."""
    for key, needs in graph.items():
        for need in needs:
            if need == key:
                raise ValueError(f"task {key!r} depends on itself")
            if need not in graph:
                hint = did_you_mean(need, list(graph))
                raise ValueError(
                    f"task {key!r} depends on {need!r}, which is not a task of this job{hint}"
                )
    state: dict[str, int] = {}
    for start in graph:
        stack: list[tuple[str, bool]] = [(start, False)]
        while stack:
            node, leaving = stack.pop()
            if leaving:
                state[node] = 2
                continue
            if state.get(node) == 2:
                continue
            if state.get(node) == 1:
                raise ValueError(f"tasks depend on each other in a cycle through {node!r}")
            state[node] = 1
            stack.append((node, True))
            stack.extend((dep, False) for dep in graph[node] if state.get(dep) != 2)


# ---- building the models from the table ---------------------------------------------

ROOT = "JobSettings"
_BASES: dict[str, type[BaseModel]] = {
    "CronSchedule": ScheduleShorthand,
    "Task": TaskShorthand,
    "JobEmailNotifications": EmailChecks,
    "TaskEmailNotifications": EmailChecks,
    ROOT: JobSpecBase,
}
_LIMITS: dict[tuple[str, str], dict[str, int]] = {
    (ROOT, "max_concurrent_runs"): {"ge": 1},
    (ROOT, "timeout_seconds"): {"ge": 0},
    ("Task", "timeout_seconds"): {"ge": 0},
    ("Task", "max_retries"): {"ge": -1},
    ("Task", "min_retry_interval_millis"): {"ge": 0},
}
_OPTIONAL: dict[str, set[str]] = {
    "CronSchedule": {"quartz_cron_expression", "timezone_id"},
    "Task": {"task_key"},
}
_LEFT_OUT: dict[str, set[str]] = {ROOT: {"name"}}


def _annotation(spec: Any, built: Mapping[str, type[BaseModel]]) -> Any:
    if isinstance(spec, str):
        return {"str": str, "int": int, "float": float, "bool": bool}[spec]
    if "list" in spec:
        return list[_annotation(spec["list"], built)]  # type: ignore[misc]
    if "dict" in spec:
        return dict[str, _annotation(spec["dict"], built)]  # type: ignore[misc]
    if "enum" in spec:
        return Literal[tuple(TABLE["enums"][spec["enum"]])]
    return _model(spec["model"], built)


def _model(name: str, built: Mapping[str, type[BaseModel]]) -> Any:
    """The model called ``name``, or a reference to it when it is not built yet (it closes a
    cycle: a ``for_each_task`` holds a task), resolved by ``model_rebuild``."""
    return built[name] if name in built else ForwardRef(name)


def _held(spec: Any) -> list[str]:
    """The models a field's type holds."""
    while isinstance(spec, dict) and ("list" in spec or "dict" in spec):
        spec = spec.get("list") or spec.get("dict")
    return [spec["model"]] if isinstance(spec, dict) and "model" in spec else []


def _build_order() -> list[str]:
    """Every model after the models its fields hold (depth first; a cycle is cut where it
    closes), so that building each one reuses their finished schemas."""
    order: list[str] = []
    entered: set[str] = set()

    def visit(model: str) -> None:
        if model in entered:
            return
        entered.add(model)
        for field in TABLE["models"][model]["fields"].values():
            for held in _held(field["type"]):
                visit(held)
        order.append(model)

    for model in TABLE["models"]:
        visit(model)
    return order


def _type_doc(spec: Any) -> str:
    """The description of the model a field holds (for fields the SDK leaves undescribed)."""
    while isinstance(spec, dict) and ("list" in spec or "dict" in spec):
        spec = spec.get("list") or spec.get("dict")
    if isinstance(spec, dict) and "model" in spec:
        return str(TABLE["models"][spec["model"]]["doc"])
    return ""


def _field(
    model: str, name: str, info: dict[str, Any], built: Mapping[str, type[BaseModel]]
) -> Any:
    annotation = _annotation(info["type"], built)
    if (model, name) == ("Task", "depends_on"):
        annotation = list[Union[str, _model("TaskDependency", built)]]  # type: ignore[misc]  # noqa: UP007
    extra: dict[str, Any] = {"pattern": TASK_KEY_PATTERN} if name == "task_key" else {}
    extra.update(_LIMITS.get((model, name), {}))
    description = info["doc"] or _type_doc(info["type"]) or f"Jobs API `{model}.{name}`."
    if (model, name) == (ROOT, "tasks"):  # a job without tasks has nothing to run
        return (annotation, Field(min_length=1, description=description))
    if info["required"] and name not in _OPTIONAL.get(model, set()):
        return (annotation, Field(description=description, **extra))
    return (Optional[annotation], Field(default=None, description=description, **extra))  # noqa: UP045


class JobSpecModel:
    """``Job.spec_model``: the ``JobSettings`` model, built by :func:`models` when first read.

    Building the 112 models takes about 0.1 s; a command that never reads a job's spec
    (``state``, ``history``, the emulator) does not pay it by importing the kinds. The
    first read builds under a lock, so threads reading it at once share one model.
    """

    _building = threading.Lock()

    def __get__(self, instance: object, owner: type | None = None) -> type[BaseModel]:
        with self._building:
            return models()[ROOT]


@cache
def models() -> dict[str, type[BaseModel]]:
    """Every Jobs model by its SDK class name (``JobSettings`` is the ``Job`` spec).

    The models are built in :func:`_build_order`, so all but the two of the task cycle
    are complete when created; ``model_rebuild`` completes those two.
    """
    built: dict[str, type[BaseModel]] = {}
    for model in _build_order():
        info = TABLE["models"][model]
        fields = {
            name: _field(model, name, field, built)
            for name, field in info["fields"].items()
            if name not in _LEFT_OUT.get(model, set())
        }
        with warnings.catch_warnings():  # fields called `schema` shadow a deprecated method
            warnings.filterwarnings("ignore", "Field name .* shadows", UserWarning)
            built[model] = create_model(
                "JobSpec" if model == ROOT else model,
                __base__=_BASES.get(model, JobsModel),
                __doc__=info["doc"] or f"Jobs `{model}`.",
                **fields,
            )
    for cls in built.values():
        cls.model_rebuild(_types_namespace=dict(built))  # returns at once when complete
    return {model: built[model] for model in TABLE["models"]}
