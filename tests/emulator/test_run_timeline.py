"""The run timeline is a pure function of a run's plan and a few instants: checked at given times."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.emulator.run_timeline import (
    Pace,
    queue_begin,
    run_state,
    task_state,
    timeline,
)

PACE = Pace(pending=1, task=2, retry=1, terminating=1)


def task(key: str, *after: str, retries: int = 0, fail: int = 0) -> dict[str, Any]:
    return {
        "task_key": key,
        "depends_on": list(after),
        "max_retries": retries,
        "fail_attempts": fail,
        "failure": f"{key} broke" if fail else "",
    }


TWO = [task("load"), task("report", "load")]


@pytest.mark.parametrize(
    ("at", "life", "result"),
    [
        (0.5, "PENDING", None),
        (1.5, "RUNNING", None),
        (4.5, "RUNNING", None),
        (5.5, "TERMINATING", None),
        (6.0, "TERMINATED", "SUCCESS"),
    ],
    ids=["pending", "first-task", "second-task", "terminating", "terminated"],
)
def test_two_tasks_run_one_after_the_other(at: float, life: str, result: str | None) -> None:
    line = timeline(created=0, begin=0, tasks=TWO, pace=PACE, canceled_at=None, timeout=0)
    assert run_state(line, at, "queued")[:2] == (life, result)
    load, report = line.tasks
    assert (load.start, load.end, report.start, report.end) == (1, 3, 3, 5)


def test_independent_tasks_run_side_by_side() -> None:
    line = timeline(
        created=0, begin=0, tasks=[task("a"), task("b")], pace=PACE, canceled_at=None, timeout=0
    )
    assert [(s.start, s.end) for s in line.tasks] == [(1, 3), (1, 3)]
    assert line.end == 4


def test_failed_task_names_itself_and_stops_its_downstream() -> None:
    tasks = [task("load"), task("report", "load", fail=-1), task("mail", "report")]
    line = timeline(created=0, begin=0, tasks=tasks, pace=PACE, canceled_at=None, timeout=0)
    life, result, message = run_state(line, 100, "")
    assert (life, result) == ("TERMINATED", "FAILED")
    assert message == "Task report failed: report broke"
    mail = task_state(line.tasks[2], None, 100)
    assert mail.state[:2] == ("SKIPPED", "UPSTREAM_FAILED")
    assert "report" in mail.state[2]


def test_a_retry_after_a_failed_attempt_succeeds() -> None:
    line = timeline(
        created=0,
        begin=0,
        tasks=[task("load", retries=2, fail=1)],
        pace=PACE,
        canceled_at=None,
        timeout=0,
    )
    (load,) = line.tasks
    assert load.attempts == ((1, 3), (4, 6)) and load.result == "SUCCESS"
    assert task_state(load, None, 3.5).state[0] == "WAITING_FOR_RETRY"
    assert task_state(load, None, 4.5).attempt == 1
    assert run_state(line, 100, "")[:2] == ("TERMINATED", "SUCCESS")


def test_retries_run_out() -> None:
    line = timeline(
        created=0,
        begin=0,
        tasks=[task("load", retries=1, fail=-1)],
        pace=PACE,
        canceled_at=None,
        timeout=0,
    )
    assert len(line.tasks[0].attempts) == 2
    assert run_state(line, 100, "")[:2] == ("TERMINATED", "FAILED")


def test_cancel_while_running_terminates_and_cancels_the_running_task() -> None:
    line = timeline(created=0, begin=0, tasks=TWO, pace=PACE, canceled_at=2, timeout=0)
    assert run_state(line, 2.5, "")[0] == "TERMINATING"
    assert run_state(line, 3.0, "")[:2] == ("TERMINATED", "CANCELED")
    load, report = (task_state(s, line.stop, 3.0) for s in line.tasks)
    assert load.state[:2] == ("TERMINATED", "CANCELED")
    assert report.state[:2] == ("SKIPPED", "CANCELED")


def test_cancel_while_queued_never_starts() -> None:
    line = timeline(created=0, begin=5, tasks=TWO, pace=PACE, canceled_at=2, timeout=0)
    assert run_state(line, 1, "waiting")[:2] == ("QUEUED", None)
    assert run_state(line, 2, "")[:2] == ("TERMINATED", "CANCELED")
    assert line.occupies_until() is None


def test_timeout_stops_the_run() -> None:
    line = timeline(created=0, begin=0, tasks=TWO, pace=PACE, canceled_at=None, timeout=2)
    life, result, message = run_state(line, 10, "")
    assert (life, result) == ("TERMINATED", "TIMEDOUT") and "2 s" in message


@pytest.mark.parametrize(
    ("created", "ends", "after", "limit", "begin"),
    [
        (0, [], 0, 1, 0),
        (1, [5], 0, 1, 5),
        (1, [5, 7], 0, 2, 5),
        (1, [5, 7], 0, 3, 1),
        (1, [0.5], 0, 1, 1),
        (1, [5, 9], 6, 1, 9),
    ],
    ids=["free", "wait-one", "two-slots", "room", "ended-before", "fifo"],
)
def test_queue_begin(
    created: float, ends: list[float], after: float, limit: int, begin: float
) -> None:
    assert queue_begin(created, ends, after, limit) == begin
