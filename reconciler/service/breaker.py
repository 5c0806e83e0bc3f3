"""A circuit breaker per connector: an outage costs a handful of requests, not a storm.

Closed, every request goes out. After ``threshold`` failures in a row (no
answer, 429 or 5xx) the circuit *opens*: requests fail at once with
:class:`~reconciler.errors.CircuitOpenError`, without being sent. After a
cool-down one request is let through (*half-open*): if it succeeds the
circuit closes; if not it opens again, with the cool-down doubled up to
``max_cooldown``; a probe that never answers lets the next one through one
cool-down later. The client consults it before every attempt, retries
included (see :class:`reconciler.mcp.client.Breaker`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


class CircuitBreaker:
    """Thread-safe; ``clock`` is injectable for tests (monotonic seconds)."""

    def __init__(
        self,
        *,
        threshold: int = 5,
        cooldown: float = 5.0,
        max_cooldown: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold, self.base_cooldown, self.max_cooldown = threshold, cooldown, max_cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self.state = CLOSED
        self.failures = 0
        self.cooldown = cooldown
        self.opened_at = 0.0
        self.trips = 0

    def allow(self) -> bool:
        with self._lock:
            if self.state == CLOSED:
                return True
            if self._clock() - self.opened_at >= self.cooldown:
                # One probe per cool-down; a probe that never reported back (cancelled)
                # does not keep the circuit half-open for ever.
                self.state, self.opened_at = HALF_OPEN, self._clock()
                return True
            return False

    def record(self, ok: bool) -> None:
        with self._lock:
            if ok:
                self.state, self.failures, self.cooldown = CLOSED, 0, self.base_cooldown
                return
            self.failures += 1
            if self.state == HALF_OPEN:
                self.cooldown = min(self.max_cooldown, self.cooldown * 2)
                self._open()
            elif self.state == CLOSED and self.failures >= self.threshold:
                self._open()

    def _open(self) -> None:
        self.state, self.opened_at = OPEN, self._clock()
        self.trips += 1

    @property
    def is_open(self) -> bool:
        return self.state != CLOSED

    def describe(self) -> str:
        if self.state == CLOSED:
            return "the circuit is closed"
        wait = max(0.0, self.cooldown - (self._clock() - self.opened_at))
        return (
            f"the circuit is open after {self.failures} failed requests in a row; "
            f"next try in {wait:.0f} s"
        )
