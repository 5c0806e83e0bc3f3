"""Checks of the documents that need the observed objects, made when planning.

A job task may name a notebook by its literal workspace path instead of
``${notebooks.x.path}``. When that path is neither a notebook of the tenant's
documents nor one the connector lists, the job's create or update would fail
at apply, after other steps already ran; the plan refuses it instead, at the
job's document. So is a dataset source file the plan uploads (a create, a
replace, a changed file) that the connector would refuse for the declared
columns (see :mod:`reconciler.sourcecheck`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from reconciler.errors import Problem
from reconciler.kinds.base import DesiredResource, ObservedResource, ResourceKey
from reconciler.plan import Action, ResourceChange
from reconciler.sourcecheck import Column, source_problem


def missing_notebooks(
    desired: Mapping[ResourceKey, DesiredResource], observed: Sequence[ObservedResource]
) -> list[Problem]:
    """A problem for every job task whose notebook is in neither the documents nor the workspace."""
    known = {r.identity for k, r in desired.items() if k.kind == "Notebook"}
    known |= {o.identity for o in observed if o.kind == "Notebook"}
    problems = []
    for key, resource in desired.items():
        if key.kind != "Job" or resource.spec.get("git_source"):
            continue  # a job with git_source runs notebooks from its repository
        for task_key, path in _notebook_paths(resource.spec.get("tasks")):
            if path in known:
                continue
            where = resource.location
            problems.append(
                Problem(
                    where.file,
                    where.line,
                    where.col,
                    f"task `{task_key}` runs notebook `{path}`, which is neither a Notebook of "
                    "these documents nor in the workspace: fix the path, add a Notebook "
                    "document or use `${notebooks.NAME.path}`",
                    f"Job {key.name}",
                )
            )
    return problems


def _notebook_paths(tasks: Any) -> Iterator[tuple[str, str]]:
    """(task key, workspace path) of every notebook task, for_each tasks included."""
    items = tasks.items() if isinstance(tasks, Mapping) else enumerate(tasks or ())
    for key, task in items:
        if not isinstance(task, Mapping):
            continue
        notebook = task.get("notebook_task")
        if isinstance(notebook, Mapping):
            path = notebook.get("notebook_path")
            if isinstance(path, str) and path.startswith("/") and notebook.get("source") != "GIT":
                yield str(task.get("task_key", key)), path
        inner = (task.get("for_each_task") or {}).get("task")
        if isinstance(inner, Mapping):
            yield from _notebook_paths({f"{key}.task": inner})


def refused_uploads(changes: Sequence[ResourceChange]) -> list[Problem]:
    """A problem for every source file the plan uploads that the connector would refuse."""
    problems = []
    for change in changes:
        desired = change.desired
        if desired is None or change.key.kind != "Dataset" or "source" not in desired.blobs:
            continue
        uploads = change.action in (Action.CREATE, Action.REPLACE) or bool(
            change.changed_fields & {"source_sha256", "source_format"}
        )
        if not uploads:
            continue
        spec = desired.values()
        columns = sorted(spec["columns"].items(), key=lambda item: item[1]["position"])
        problem = source_problem(
            desired.blobs["source"],
            str(spec["source_format"]),
            [Column(name, c["type"], c["nullable"]) for name, c in columns],
        )
        if problem:
            where = desired.location
            problems.append(
                Problem(where.file, where.line, where.col, problem, f"Dataset {change.key.name}")
            )
    return problems
