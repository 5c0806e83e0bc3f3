"""Checks of the documents that need the observed objects, made when planning.

A job task may name a notebook by its literal workspace path instead of
``${notebooks.x.path}``. When that path is neither a notebook of the tenant's
documents nor one the connector lists, the job's create or update would fail
at apply, after other steps already ran; the plan refuses it instead, at the
job's document.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from reconciler.errors import Problem
from reconciler.kinds.base import DesiredResource, ObservedResource, ResourceKey


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
