"""Runs for people: a live view while a run goes, and lines for a finished one.

On a terminal the view is redrawn in place (``rich``): the run's state and a
row per task (state, attempt, time). Elsewhere (CI logs) every change is one
line: ``RUNNING  load RUNNING · report PENDING``. Text from the connector goes
through :func:`~reconciler.commands.acting.safe` first.
"""

from __future__ import annotations

import sys
from datetime import datetime
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from reconciler.actions.runs import RunStatus, TaskStatus
from reconciler.commands.acting import safe


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S") if at else ""


def task_outcome(task: TaskStatus) -> str:
    retry = f" (attempt {task.attempt + 1})" if task.attempt else ""
    return f"{task.result or task.state}{retry}"


def task_time(task: TaskStatus) -> str:
    if task.started_at and task.ended_at:
        return duration((task.ended_at - task.started_at).total_seconds())
    return ""


def one_line(run: RunStatus) -> str:
    """``RUNNING  load SUCCESS · report RUNNING``."""
    tasks = " · ".join(f"{safe(t.key)} {task_outcome(t)}" for t in run.tasks)
    return f"{run.outcome:<11}  {tasks}".rstrip()


def final_lines(run: RunStatus) -> list[str]:
    """The verdict and every task; a failure names the failing tasks and why."""
    took = f" in {duration(run.duration_s)}" if run.duration_s is not None else ""
    lines = [f"run {run.run_id} {run.outcome}{took}"]
    if run.result != "SUCCESS" and run.message:
        lines[0] += f": {safe(run.message, 200)}"
    width = max((len(safe(t.key)) for t in run.tasks), default=0)
    for task in run.tasks:
        why = f"  {safe(task.message, 200)}" if task.result not in (None, "SUCCESS") else ""
        lines.append(
            f"  {safe(task.key).ljust(width)}  {task_outcome(task):<16} {task_time(task):>8}{why}".rstrip()
        )
    return lines


class RunView:
    """Shows a run as it changes; a context manager (the live view needs closing)."""

    def __init__(self, *, live: bool | None = None, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self._live: Live | None = None

    def __enter__(self) -> RunView:
        if self.live:
            self._live = Live(console=Console(file=self.stream), auto_refresh=False, transient=True)
            self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)

    def __call__(self, run: RunStatus) -> None:
        if self._live is not None:
            self._live.update(self._table(run), refresh=True)
        else:
            print(one_line(run), file=self.stream, flush=True)

    def _table(self, run: RunStatus) -> Table:
        table = Table(title=Text(f"run {run.run_id}: {run.outcome}"), title_justify="left")
        for column in ("task", "state", "time"):
            table.add_column(column)
        for task in run.tasks:
            table.add_row(Text(safe(task.key)), task_outcome(task), task_time(task))
        return table
