"""When each part of a run happens: a pure function of the run's plan and a few instants.

A run is planned when it starts (which tasks, in which dependency order, how
many attempts of each fail, how long each phase lasts), so everything it
shows later is computed from timestamps and needs no background work:

``QUEUED``
    until a slot of the job's ``max_concurrent_runs`` is free (runs leave the
    queue in the order they were started);
``PENDING``
    ``pace.pending`` seconds: the cluster starting;
``RUNNING``
    the tasks: a task starts once every task it depends on succeeded (tasks
    with nothing between them run side by side); each attempt takes
    ``pace.task`` seconds; a failed attempt is retried after ``pace.retry``
    seconds while ``max_retries`` allows; a task whose upstream failed is
    ``UPSTREAM_FAILED`` without running;
``TERMINATING``
    ``pace.terminating`` seconds, also after a cancel or the job's timeout;
``TERMINATED``
    with ``SUCCESS``, ``FAILED`` (naming the failed tasks), ``CANCELED`` or
    ``TIMEDOUT``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

UNLIMITED_ATTEMPTS = 10
"""Attempts of a task with ``max_retries: -1`` (retry forever) that keeps failing."""


@dataclass(frozen=True)
class Pace:
    """Seconds each phase of a run takes."""

    pending: float
    task: float
    retry: float
    terminating: float

    @classmethod
    def from_delay(cls, delay: float) -> Pace:
        """The default pace for the emulator's ready delay (``--ready-delay``)."""
        return cls(
            pending=0.25 * delay, task=0.5 * delay, retry=0.25 * delay, terminating=0.1 * delay
        )

    def to_dict(self) -> dict[str, float]:
        return {
            "pending": self.pending,
            "task": self.task,
            "retry": self.retry,
            "terminating": self.terminating,
        }


@dataclass(frozen=True)
class TaskSpan:
    """One task of a run as it will go if nothing stops the run."""

    key: str
    start: float
    attempts: tuple[tuple[float, float], ...]  # (start, end) of each attempt
    end: float
    result: str  # SUCCESS | FAILED | UPSTREAM_FAILED
    message: str


@dataclass(frozen=True)
class Stop:
    """The run is stopped at ``at`` with ``result`` (a cancel or the job's timeout)."""

    at: float
    result: str  # CANCELED | TIMEDOUT
    message: str


def plan_tasks(tasks: Sequence[Mapping[str, Any]], begin: float, pace: Pace) -> list[TaskSpan]:
    """Every task's span when running starts at ``begin``, in dependency order.

    ``tasks`` are ``{task_key, depends_on: [key], max_retries, fail_attempts, failure}``
    where ``fail_attempts`` is how many attempts fail (-1: all) and ``failure``
    the message they fail with.
    """
    spans: dict[str, TaskSpan] = {}
    pending = list(tasks)
    while pending:
        ready = [t for t in pending if all(d in spans for d in t["depends_on"])]
        if not ready:  # a cycle: the settings check refuses these, so never here
            break
        for task in ready:
            spans[task["task_key"]] = _span(
                task, [spans[d] for d in task["depends_on"]], begin, pace
            )
            pending.remove(task)
    return list(spans.values())


def _span(task: Mapping[str, Any], upstream: list[TaskSpan], begin: float, pace: Pace) -> TaskSpan:
    key = task["task_key"]
    start = max([begin, *(u.end for u in upstream)])
    failed_upstream = [u.key for u in upstream if u.result != "SUCCESS"]
    if failed_upstream:
        message = f"Upstream task(s) failed: {', '.join(failed_upstream)}"
        return TaskSpan(key, start, (), start, "UPSTREAM_FAILED", message)
    retries = task.get("max_retries") or 0
    allowed = UNLIMITED_ATTEMPTS if retries < 0 else retries + 1
    failing = task.get("fail_attempts") or 0
    attempts: list[tuple[float, float]] = []
    at = start
    while True:
        attempts.append((at, at + pace.task))
        fails = failing < 0 or len(attempts) <= failing
        if not fails or len(attempts) >= allowed:
            break
        at += pace.task + pace.retry
    end = attempts[-1][1]
    if fails:
        return TaskSpan(key, start, tuple(attempts), end, "FAILED", task.get("failure") or "failed")
    return TaskSpan(key, start, tuple(attempts), end, "SUCCESS", "")


@dataclass(frozen=True)
class Timeline:
    """The instants of one run; ``begin`` is None while it waits in the queue forever."""

    created: float
    begin: float | None  # leaves the queue (None: canceled while queued)
    running: float | None  # tasks start (after PENDING)
    tasks: tuple[TaskSpan, ...]
    stop: Stop | None
    stopped: float | None  # when the tasks stop (natural end or the stop)
    end: float  # TERMINATED

    def occupies_until(self) -> float | None:
        """When the run frees its slot of ``max_concurrent_runs`` (None: never took one)."""
        return None if self.begin is None else self.end


def timeline(
    *,
    created: float,
    begin: float,
    tasks: Sequence[Mapping[str, Any]],
    pace: Pace,
    canceled_at: float | None,
    timeout: float,
) -> Timeline:
    """The run's instants when it leaves the queue at ``begin``."""
    if canceled_at is not None and canceled_at < begin:
        queued = Stop(canceled_at, "CANCELED", "Run cancelled while queued.")
        return Timeline(created, None, None, (), queued, canceled_at, canceled_at)
    running = begin + pace.pending
    spans = tuple(plan_tasks(tasks, running, pace))
    natural = max((s.end for s in spans), default=running)
    stops = []
    if canceled_at is not None and canceled_at < natural:
        stops.append(Stop(canceled_at, "CANCELED", "Run cancelled."))
    if timeout > 0 and begin + timeout < natural:
        stops.append(Stop(begin + timeout, "TIMEDOUT", f"Run timed out after {timeout:g} s."))
    stop = min(stops, key=lambda s: s.at) if stops else None
    stopped = stop.at if stop else natural
    return Timeline(created, begin, running, spans, stop, stopped, stopped + pace.terminating)


def queue_begin(created: float, earlier_ends: Sequence[float], after: float, limit: int) -> float:
    """When a run started at ``created`` leaves the queue.

    ``earlier_ends`` are when the job's earlier runs free their slots and
    ``after`` is when the run before it left the queue (first in, first out).
    """
    at = max(created, after)
    for candidate in sorted({at, *(e for e in earlier_ends if e > at)}):
        if sum(1 for e in earlier_ends if e > candidate) < max(limit, 1):
            return candidate
    return at  # unreachable: past the last end no slot is taken


State = tuple[str, str | None, str]
"""``(life_cycle_state, result_state, state_message)``."""


def run_state(line: Timeline, at: float, queued_message: str) -> State:
    """The run's state at ``at``."""
    stop = line.stop
    if line.begin is None:
        assert stop is not None
        return ("QUEUED", None, queued_message) if at < stop.at else _terminated(line)
    if at < line.begin:
        return "QUEUED", None, queued_message
    if at >= line.end:
        return _terminated(line)
    if line.stopped is not None and at >= line.stopped:
        return "TERMINATING", None, stop.message if stop else "Run is finishing"
    if line.running is None or at < line.running:
        return "PENDING", None, "Waiting for cluster"
    return "RUNNING", None, "In run"


def _terminated(line: Timeline) -> State:
    if line.stop is not None:
        return "TERMINATED", line.stop.result, line.stop.message
    failed = [s for s in line.tasks if s.result == "FAILED"]
    if not failed:
        return "TERMINATED", "SUCCESS", ""
    names = ", ".join(s.key for s in failed)
    noun = "Task" if len(failed) == 1 else "Tasks"
    return "TERMINATED", "FAILED", f"{noun} {names} failed: {failed[0].message}"


WAITING: State = ("PENDING", None, "Waiting to start")


@dataclass(frozen=True)
class TaskState:
    """One task as it is at a moment: its state, attempt and times (None: not yet)."""

    key: str
    state: State
    attempt: int  # 0-based, as the Jobs API counts
    started: float | None
    ended: float | None


def task_state(span: TaskSpan, stop: Stop | None, at: float) -> TaskState:
    """``span``'s state at ``at``, cut short by ``stop`` when that comes first."""
    if stop is not None and stop.at < span.end and at >= stop.at:
        began = [a for a in span.attempts if a[0] < stop.at]
        life = "TERMINATED" if began else "SKIPPED"
        first = began[0][0] if began else None
        state = (life, stop.result, stop.message)
        return TaskState(span.key, state, max(len(began) - 1, 0), first, stop.at)
    if span.result == "UPSTREAM_FAILED":
        if at < span.end:
            return TaskState(span.key, WAITING, 0, None, None)
        return TaskState(span.key, ("SKIPPED", "UPSTREAM_FAILED", span.message), 0, None, span.end)
    first = span.attempts[0][0]
    if at < first:
        return TaskState(span.key, WAITING, 0, None, None)
    if at >= span.end:
        result = ("TERMINATED", span.result, span.message)
        return TaskState(span.key, result, len(span.attempts) - 1, first, span.end)
    for number, (start, end) in enumerate(span.attempts):
        if at < start:
            waiting = ("WAITING_FOR_RETRY", None, "Retrying after a failed attempt")
            return TaskState(span.key, waiting, number, first, None)
        if at < end:
            return TaskState(span.key, ("RUNNING", None, "In run"), number, first, None)
    return TaskState(span.key, ("TERMINATED", span.result, span.message), 0, first, span.end)
