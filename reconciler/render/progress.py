"""Apply progress for people and machines, and the closing summary.

Three displays take the same step events (start, waiting, ok, failed,
skipped) from the apply runner:

* on a terminal, a live ``rich`` progress bar: steps done/total, how many run,
  and what is waiting on what (an endpoint becoming ready, steps queued behind
  their dependencies), with one line printed above it per finished step;
* otherwise (CI logs), one plain line per finished step and per wait;
* ``--format json``: one JSON object per line on stdout for every event, then
  a ``summary`` event (format version 1).

:func:`summary_lines` turns the results into the closing summary: every failure
with its reason and what to do next.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from reconciler.plan import ResourceChange
from reconciler.scrub import scrub, scrub_data

if TYPE_CHECKING:  # the CLI's start does not import the state or the connector
    from reconciler.apply import ApplyResult, StepResult

FORMAT_VERSION = "1"
FINISHED = frozenset({"ok", "failed", "skipped"})


def _address(change: ResourceChange) -> str:
    return f"{change.key.tenant}/{change.key.kind}/{change.key.name}"


class StepDisplay:
    """Base display: counts steps; subclasses show them. Use as a context manager."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.running: dict[str, str] = {}  # address -> what it is doing

    def __call__(self, event: str, change: ResourceChange, detail: str | None) -> None:
        address = _address(change)
        if event in FINISHED:
            self.done += 1
            self.running.pop(address, None)
        else:
            self.running[address] = detail or change.action.value
        self.show(event, change, detail)

    def show(self, event: str, change: ResourceChange, detail: str | None) -> None:
        """Display one event (nothing by default)."""

    def __enter__(self) -> StepDisplay:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


class PlainDisplay(StepDisplay):
    """One line per finished step (and per wait): for logs and CI."""

    def __init__(self, total: int, console: Console) -> None:
        super().__init__(total)
        self.console = console

    def show(self, event: str, change: ResourceChange, detail: str | None) -> None:
        if event == "start":
            return
        text = "done" if event == "ok" else f"{event}: {detail}" if detail else event
        if event == "waiting":
            text = detail or "waiting"
        line = scrub(
            f"  [{self.done}/{self.total}] {change.action.value} {_address(change)}: {text}"
        )
        if self.console.is_terminal or self.console.record:
            self.console.print(line, markup=False, highlight=False, emoji=False)
        else:  # a log: the line as it is (rich spent 0.3 ms a line to write it unchanged)
            self.console.file.write(line + "\n")


class RichDisplay(PlainDisplay):
    """A live progress bar on a terminal, finished steps printed above it."""

    def __init__(self, total: int, console: Console) -> None:
        super().__init__(total, console)
        self.progress = Progress(
            TextColumn("Applying"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task("", total=total)

    def show(self, event: str, change: ResourceChange, detail: str | None) -> None:
        if event in FINISHED or event == "waiting":
            super().show(event, change, detail)
        self.progress.update(self.task, completed=self.done, description=self._status())

    def _status(self) -> str:
        waiting = [a for a, what in self.running.items() if what.startswith("waiting")]
        busy = len(self.running) - len(waiting)
        status = f"{busy} running"
        if waiting:
            status += f", waiting for {waiting[0]} to be ready"
            status += f" (+{len(waiting) - 1})" if len(waiting) > 1 else ""
        return status

    def __enter__(self) -> StepDisplay:
        self.progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.progress.stop()


class JsonDisplay(StepDisplay):
    """One JSON event per line on stdout (``--format json``)."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        super().__init__(total)
        self.stream = stream or sys.stdout

    def show(self, event: str, change: ResourceChange, detail: str | None) -> None:
        self.emit(
            {
                "event": "step",
                "status": event,
                "address": _address(change),
                "tenant": change.key.tenant,
                "kind": change.key.kind,
                "name": change.key.name,
                "action": change.action.value,
                "detail": detail,
                "done": self.done,
                "total": self.total,
            }
        )

    def emit(self, event: dict[str, Any]) -> None:
        event = scrub_data({"format_version": FORMAT_VERSION, "at": _now(), **event})
        print(json.dumps(event, sort_keys=True, default=str), file=self.stream, flush=True)

    def summary(self, results: Sequence[ApplyResult]) -> None:
        self.emit(summary_event(results))


def make_display(fmt: str, *, total: int, console: Console) -> StepDisplay:
    """The display for an output format and a console (rich only on a terminal)."""
    if fmt == "json":
        return JsonDisplay(total)
    if console.is_terminal:
        return RichDisplay(total, console)
    return PlainDisplay(total, console)


def summary_event(results: Sequence[ApplyResult]) -> dict[str, Any]:
    """The closing JSON event: every step's outcome, tenant-level errors, next steps."""
    return {
        "event": "summary",
        "ok": all(r.ok for r in results),
        "tenants": [
            {"tenant": r.tenant, "apply_id": r.apply_id, "error": r.error} for r in results
        ],
        "steps": [
            {
                "address": f"{r.tenant}/{s.key.kind}/{s.key.name}",
                "action": s.action.value,
                "outcome": s.outcome,
                "error": s.error,
                "next_step": next_step(s) if s.outcome != "ok" else None,
            }
            for r in results
            for s in r.steps
        ],
    }


def next_step(step: StepResult) -> str:
    """What to do about a step that did not succeed."""
    if step.outcome == "skipped":
        return "it runs once what it depends on applies: fix that, then apply again"
    return "fix the cause, then run apply again: finished steps are recorded and not redone"


def summary_lines(results: Sequence[ApplyResult]) -> list[str]:
    """The human summary: counts, then each failure with its reason and next step (scrubbed)."""
    return [scrub(line) for line in _summary_lines(results)]


def _summary_lines(results: Sequence[ApplyResult]) -> list[str]:
    steps = [s for r in results for s in r.steps]
    failed = [s for s in steps if s.outcome == "failed"]
    skipped = [s for s in steps if s.outcome == "skipped"]
    errors = [r for r in results if r.error]
    ok = len(steps) - len(failed) - len(skipped)
    if not steps and not errors:
        return ["Nothing to apply."]
    verdict = (
        "Apply complete" if not (failed or skipped or errors) else "Apply finished with failures"
    )
    lines = [f"{verdict}: {ok} done, {len(failed)} failed, {len(skipped)} skipped."]
    for r in errors:
        lines.append(f"✗ tenant {r.tenant}: {r.error}")
    for s in failed + skipped:
        lines.append(f"✗ {s.key} ({s.action.value}) {s.outcome}: {s.error}")
        lines.append(f"    next: {next_step(s)}")
    return lines


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
