"""Fault injection: make the emulator behave like a connector across a real network.

A :class:`Faults` value says how unkind the emulator is; the
:class:`FaultMiddleware` applies it to every connector call (never to
``/health`` or the ``/_emulator`` admin paths):

- ``latency_ms`` + up to ``jitter_ms`` of extra delay per request, slept with
  :func:`asyncio.sleep` so concurrent requests really overlap;
- ``rate_limit_per_s``: a token bucket (``rate_limit_burst`` tokens deep);
  a request that finds it empty is refused with 429 RATE_LIMITED and
  ``Retry-After``, so a burst of calls sees a burst of 429s;
- ``error_rate``: that share of requests fails with 500 INTERNAL or 503
  UNAVAILABLE (half each; 503 carries ``Retry-After``) before any work is done;
- ``drop_rate``: that share of requests is served (the change happens!) and
  then the connection is cut before the response is complete: the case that
  makes retried creates duplicate objects unless they carry an Idempotency-Key;
- ``slow_ops_factor`` multiplies how long long-running operations (endpoint
  deploys, index syncs, runs) take to settle;
- ``seed`` makes the random choices repeatable.

Start the emulator with faults (``reconciler emulator --latency-ms 25
--error-rate 0.1 --rate-limit 50/s``) or replace them at runtime with
``POST /_emulator/faults`` (same JSON fields); ``GET /_emulator/faults``
shows them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import threading
import time
from dataclasses import asdict, dataclass, fields
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reconciler.emulator import API_PREFIX
from reconciler.emulator.errors import PROBLEM_JSON, problem

EXEMPT_PATHS = frozenset({f"{API_PREFIX}/health"})
ADMIN_PREFIX = "/_emulator"


@dataclass
class Faults:
    """How the emulator misbehaves; the defaults are a perfect network."""

    latency_ms: float = 0
    """Fixed delay added to every connector call, in milliseconds."""
    jitter_ms: float = 0
    """Extra random delay, uniform in ``[0, jitter_ms]``."""
    error_rate: float = 0
    """Share of calls (0..1) answered 500 or 503 without doing anything."""
    rate_limit_per_s: float | None = None
    """Calls per second allowed before 429 RATE_LIMITED; None means unlimited."""
    rate_limit_burst: int | None = None
    """Depth of the token bucket (default: one second's worth of calls, at least 1)."""
    drop_rate: float = 0
    """Share of calls (0..1) whose connection is cut after the work is done."""
    slow_ops_factor: float = 1.0
    """Multiplier on how long long-running operations take to settle."""
    retry_after_s: float = 1.0
    """``Retry-After`` sent with injected 503s. Below 1, every ``Retry-After``
    (429s too) is sent in decimal seconds rather than whole ones: not RFC 9110,
    but it keeps tests fast."""
    seed: int | None = None
    """Seed of the random choices, for repeatable runs."""

    def __post_init__(self) -> None:
        for name in ("error_rate", "drop_rate"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        for name in ("latency_ms", "jitter_ms", "retry_after_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.rate_limit_per_s is not None and self.rate_limit_per_s <= 0:
            raise ValueError("rate_limit_per_s must be positive (or None for no limit)")
        if self.slow_ops_factor <= 0:
            raise ValueError("slow_ops_factor must be positive")

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> Faults:
        """Faults from a JSON object; unknown fields are a ``ValueError``."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(unknown)}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_rate(text: str) -> float:
    """``"50/s"``, ``"3000/min"`` or ``"50"`` as calls per second."""
    number, _, unit = text.strip().partition("/")
    per = {"": 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0}.get(unit.strip().lower())
    if per is None:
        raise ValueError(f"rate {text!r}: unit must be /s or /min")
    return float(number) / per


def format_seconds(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds when whole, else a short decimal."""
    if seconds == int(seconds):
        return str(int(seconds))
    return f"{seconds:.3f}".rstrip("0")


class DroppedConnection(Exception):
    """Raised after a partial response so the server cuts the connection."""


class FaultInjector:
    """The current faults plus the state they need (random source, token bucket)."""

    def __init__(self, faults: Faults | None = None) -> None:
        self._lock = threading.Lock()
        self.injected: dict[str, int] = {}
        """How many faults of each sort were injected (``429``, ``500``, ``503``, ``drop``)."""
        self.replace(faults or Faults())

    def count(self, sort: str) -> None:
        with self._lock:
            self.injected[sort] = self.injected.get(sort, 0) + 1

    @property
    def faults(self) -> Faults:
        return self._faults

    def replace(self, faults: Faults) -> None:
        with self._lock:
            self._faults = faults
            self._random = random.Random(faults.seed)
            rate = faults.rate_limit_per_s
            self._capacity = float(faults.rate_limit_burst or max(1.0, rate or 1.0))
            self._tokens = self._capacity
            self._refilled = time.monotonic()

    def delay(self) -> float:
        """Seconds to wait before serving a call."""
        with self._lock:
            jitter = self._random.uniform(0, self._faults.jitter_ms)
            return (self._faults.latency_ms + jitter) / 1000

    def take_token(self) -> float | None:
        """None when the call may go on, else the seconds until a token is free."""
        with self._lock:
            rate = self._faults.rate_limit_per_s
            if rate is None:
                return None
            moment = time.monotonic()
            elapsed = moment - self._refilled
            self._tokens = min(self._capacity, self._tokens + elapsed * rate)
            self._refilled = moment
            if self._tokens >= 1:
                self._tokens -= 1
                return None
            return (1 - self._tokens) / rate

    def roll(self, share: float) -> bool:
        """True with probability ``share``."""
        with self._lock:
            return share > 0 and self._random.random() < share


class FaultMiddleware:
    """Applies the injector's faults to every connector call (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in EXEMPT_PATHS or path.startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        faults = self.injector.faults
        pause = self.injector.delay()
        if pause > 0:
            await asyncio.sleep(pause)
        request_id = str(scope.get("state", {}).get("request_id", ""))
        wait = self.injector.take_token()
        if wait is not None:
            fine = faults.retry_after_s < 1
            retry = format_seconds(round(wait, 3) if fine else max(1.0, math.ceil(wait)))
            detail = f"rate limit of {faults.rate_limit_per_s:g} calls/s exceeded; retry later"
            self.injector.count("429")
            await _refuse(send, problem(429, detail, request_id), retry)
            return
        if self.injector.roll(faults.error_rate):
            if self.injector.roll(0.5):
                detail = "the connector is temporarily unavailable (injected fault)"
                retry = format_seconds(faults.retry_after_s)
                self.injector.count("503")
                await _refuse(send, problem(503, detail, request_id), retry)
            else:
                detail = "internal error (injected fault)"
                self.injector.count("500")
                await _refuse(send, problem(500, detail, request_id), None)
            return
        if self.injector.roll(faults.drop_rate):
            self.injector.count("drop")
            await self._serve_then_drop(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _serve_then_drop(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Do the work, then send half a response and cut the connection."""
        started: list[Message] = []

        async def swallow(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.append(message)

        await self.app(scope, receive, swallow)
        status = started[0]["status"] if started else 200
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"partial', "more_body": True})
        raise DroppedConnection("connection dropped (injected fault)")


async def _refuse(send: Send, document: dict[str, Any], retry_after: str | None) -> None:
    body = json.dumps(document).encode()
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", retry_after.encode()))
    await send({"type": "http.response.start", "status": document["status"], "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _QuietDrops(logging.Filter):
    """Keeps injected connection drops out of the server's error log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None:
            if isinstance(exc, DroppedConnection):
                return False
            exc = exc.__cause__ or exc.__context__
        return True


def quiet_dropped_connections() -> None:
    """Install the filter on uvicorn's error logger (idempotent)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in logger.filters):
        logger.addFilter(_QuietDrops())
