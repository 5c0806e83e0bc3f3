"""The state writes of one tenant's apply, committed in groups.

Every step of an apply journals an intent before its connector call and
records its result after it. Steps run in parallel, so many of them want to
write at about the same time: the one whose call just returned, and the one
that takes its parallelism slot. :class:`StateWriter` collects what the
steps hand it and writes it with one
:meth:`~reconciler.state.StateStore.write_batch` (one transaction, a
handful of statements however many steps it carries): whatever arrives while
a commit is in flight, or within ``linger`` seconds of the first write of an
idle writer, goes into the next one. The writer lingers only while some step
is talking to the connector (``sending``): otherwise nothing else can come.
Intents are journaled while their steps wait for a call slot, so lingering
delays no call; it delays only the moment a step is reported done.

Nothing is weakened by the grouping: a step waits until its intent is
committed before it sends anything, and is reported done only once its
result is committed (in the transaction that closes its intent). A process
killed in between leaves the intent open, and the next plan looks the
object up (:mod:`reconciler.state.recovery`). A batch that fails fails every
step in it with the database's error; when the tenant's lease was lost, the
results in the batch are still committed and only the intents are refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from reconciler.state import StateStore
from reconciler.state.batch import MAX_ROWS, IntentWrite, StepWrite

LINGER = 0.01
"""Seconds an idle writer waits for more steps to join the first one (a fifth of a
typical connector call: at parallelism 16, about three steps finish meanwhile)."""


class StateWriter:
    """Group commit for the state writes of one running apply (one tenant)."""

    def __init__(
        self,
        store: StateStore,
        apply_id: int,
        tenant: str,
        *,
        lease_token: str | None,
        linger: float = LINGER,
        sending: Callable[[], bool] = lambda: True,
    ) -> None:
        self.store, self.apply_id, self.tenant = store, apply_id, tenant
        self.lease_token, self.linger, self.sending = lease_token, linger, sending
        self._steps: list[tuple[StepWrite, asyncio.Future[None]]] = []
        self._intents: list[tuple[IntentWrite, asyncio.Future[int]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def intent(self, write: IntentWrite) -> asyncio.Future[int]:
        """Journal a change; the future is its intent id, once committed."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._intents.append((write, future))
        self._started()
        return future

    def step(self, write: StepWrite) -> asyncio.Future[None]:
        """Record a finished step; the future is done once it is committed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._steps.append((write, future))
        self._started()
        return future

    async def close(self) -> None:
        """Write everything handed over so far, then stop the writer."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    def _started(self) -> None:
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"state-writer-{self.tenant}")

    async def _run(self) -> None:
        try:
            await self._loop()
        except BaseException as exc:  # no step may wait forever on a writer that is gone
            _fail([f for _, f in self._steps] + [f for _, f in self._intents], exc)
            self._steps, self._intents = [], []
            raise

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            # let the steps finishing or starting now join
            await asyncio.sleep(self.linger if self.sending() else 0)
            self._wake.clear()
            while self._steps or self._intents:  # what arrives meanwhile goes in the next one
                steps, self._steps = self._steps[:MAX_ROWS], self._steps[MAX_ROWS:]
                intents, self._intents = self._intents[:MAX_ROWS], self._intents[MAX_ROWS:]
                await self._write(steps, intents)
            if self._closing:
                return

    async def _write(
        self,
        steps: list[tuple[StepWrite, asyncio.Future[None]]],
        intents: list[tuple[IntentWrite, asyncio.Future[int]]],
    ) -> None:
        futures: list[asyncio.Future[Any]] = [f for _, f in steps] + [f for _, f in intents]
        try:
            written = await asyncio.to_thread(
                self.store.write_batch,
                self.apply_id,
                self.tenant,
                steps=[w for w, _ in steps],
                intents=[w for w, _ in intents],
                lease_token=self.lease_token,
            )
        except BaseException as exc:  # every step waiting on the batch learns of it
            _fail(futures, exc)
            if not isinstance(exc, Exception):
                raise  # cancelled: the writer stops, and _run fails what is queued
            return
        try:
            for _, done in steps:
                _settle(done, None)
            if written.refused is not None:
                _fail([f for _, f in intents], written.refused)
                return
            for (_, opened), intent_id in zip(intents, written.intent_ids, strict=True):
                _settle(opened, intent_id)
        except Exception as exc:  # e.g. fewer intent ids than intents: none may hang
            _fail(futures, exc)


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _fail(futures: list[Any], exc: BaseException) -> None:
    for future in futures:
        if not future.done():
            future.set_exception(exc)
