"""Scheduling with APScheduler: every tenant on its interval, with jitter and backoff.

Each tenant is its own interval job (``coalesce``, one instance at a time),
moved at random by up to ``jitter`` of the interval so tenants do not fire
together; the first runs are spread over the first seconds. A slow tenant
delays only itself. A failing tenant is retried after ``min(interval, 5 s)``,
doubling per failure up to ``max_backoff``, and returns to its interval after
the first success. The source is polled on the same interval (and on a
webhook); tenants whose files changed run at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from reconciler.errors import ReconcilerError
from reconciler.service import metrics
from reconciler.service.controller import Controller

log = logging.getLogger("reconciler.service")

SOURCE_JOB = "source"
FIRST_SPREAD = 2.0


class Scheduler:
    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.config = controller.config
        self.failures: dict[str, int] = {}
        self.running: set[asyncio.Task[Any]] = set()
        self.stopping = False
        self._aps = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._aps.add_listener(self._submitted, EVENT_JOB_SUBMITTED)

    def start(self) -> None:
        interval = self.config.interval
        self._aps.add_job(
            self.poll, IntervalTrigger(seconds=interval, start_date=_now() + _s(interval)),
            id=SOURCE_JOB,
        )  # fmt: skip
        self.sync_jobs()
        self._aps.start()

    def sync_jobs(self) -> None:
        """A job for every tenant of the source; none for tenants no longer in it."""
        wanted = set(self.controller.entries)
        for job in self._aps.get_jobs():
            if job.id != SOURCE_JOB and job.id not in wanted:
                job.remove()
        spread = min(self.config.interval, FIRST_SPREAD)
        for name in sorted(wanted):
            if self._aps.get_job(name) is None:
                first = _now() + _s(random.uniform(0, spread))
                self._aps.add_job(
                    self._scheduled, self._trigger(first), args=(name,), id=name, name=name,
                    next_run_time=first,
                )  # fmt: skip

    def _trigger(self, start: datetime) -> IntervalTrigger:
        interval = self.config.interval
        return IntervalTrigger(
            seconds=interval, start_date=start, jitter=interval * self.config.jitter or None
        )

    async def poll(self) -> None:
        """Fetch the source; run the tenants it changed."""
        try:
            touched = await self.controller.refresh()
        except ReconcilerError:
            return
        self.sync_jobs()
        for name in sorted(touched):
            self.run_now(name, forced=True)

    def run_now(
        self, name: str, *, forced: bool = True, requested: bool = False
    ) -> asyncio.Task[Any]:
        """Start the tenant's reconcile now (outside its schedule).

        ``requested``: a person asked for it (a ``sync: manual`` tenant is applied too).
        """
        task = asyncio.ensure_future(self._run(name, forced=forced, requested=requested))
        self.running.add(task)
        task.add_done_callback(self.running.discard)
        return task

    async def _scheduled(self, name: str) -> None:
        """The interval job: start the run as a tracked task (stop() waits for it)."""
        self.run_now(name, forced=False)

    async def _run(self, name: str, *, forced: bool, requested: bool = False) -> None:
        if self.stopping or name not in self.controller.entries:
            return
        try:
            await self.controller.reconcile(name, forced=forced, requested=requested)
        except ReconcilerError as exc:
            self._back_off(name, exc)
        except Exception:  # a bug must not stop the scheduler: log it, back off
            log.exception("tenant %s: reconcile failed unexpectedly", name)
            self._back_off(name, None)
        else:
            if self.failures.pop(name, 0):
                self._reschedule(name, _now() + _s(self.config.interval))

    def _back_off(self, name: str, exc: ReconcilerError | None) -> None:
        count = self.failures[name] = self.failures.get(name, 0) + 1
        base = min(self.config.interval, 5.0)
        delay = min(self.config.max_backoff, base * 2 ** (count - 1))
        log.warning("tenant %s: reconcile failed (%s); next try in %.0f s", name, exc, delay)
        self._reschedule(name, _now() + _s(delay))

    def _reschedule(self, name: str, at: datetime) -> None:
        """Move the tenant's next run to ``at``; the interval goes on from there."""
        if self._aps.get_job(name) is not None and not self.stopping:
            self._aps.modify_job(name, next_run_time=at)

    def _submitted(self, event: JobSubmissionEvent) -> None:
        for scheduled in event.scheduled_run_times:
            metrics.LAG.observe(max(0.0, (_now() - scheduled).total_seconds()))

    async def stop(self, grace: float) -> None:
        """Take no more work; let running reconciles finish for ``grace`` s, then cancel them."""
        self.stopping = True
        if self._aps.running:
            self._aps.shutdown(wait=False)
        pending = set(self.running)
        if pending:
            log.info("waiting up to %.0f s for %d running reconcile(s)", grace, len(pending))
            _done, late = await asyncio.wait(pending, timeout=grace)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=5)


def _now() -> datetime:
    return datetime.now(UTC)


def _s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)
