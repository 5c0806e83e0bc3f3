"""Idempotency keys: a repeated POST with the same key gets the first answer again.

A client that sends a create (or a run-now) and loses the answer cannot know
whether the object was made. If the request carried ``Idempotency-Key``, it
simply sends it again with the same key: the connector answers with the
stored first result (status, headers and body, plus ``Idempotent-Replayed:
true``) instead of doing the work twice.

Rules, as the contract states them:

- only POSTs on connector paths are concerned; the key is scoped to the path
  (and query), so one key on two different paths means two operations;
- answers with status below 500 are stored for :data:`TTL_SECONDS`; a 5xx
  is not (nothing happened, or nothing certain did), so a retry does the work;
- the same key with a different JSON body is a 409 CONFLICT: the key belongs
  to another operation;
- two requests with the same key at once are served one after the other, so
  the second one sees the first one's stored answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reconciler.emulator import API_PREFIX
from reconciler.emulator.errors import PROBLEM_JSON, problem

HEADER = b"idempotency-key"
TTL_SECONDS = 24 * 3600
MAX_ENTRIES = 100_000
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer given to one idempotency key."""

    fingerprint: str | None
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    stored_at: float


class IdempotencyCache:
    """Stored answers by ``path?query|key``, oldest evicted first."""

    def __init__(self) -> None:
        self._answers: OrderedDict[str, StoredAnswer] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    def get(self, key: str) -> StoredAnswer | None:
        answer = self._answers.get(key)
        if answer is not None and time.monotonic() - answer.stored_at > TTL_SECONDS:
            del self._answers[key]
            return None
        return answer

    def put(self, key: str, answer: StoredAnswer) -> None:
        self._answers[key] = answer
        self._answers.move_to_end(key)
        while len(self._answers) > MAX_ENTRIES:
            self._answers.popitem(last=False)

    def lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    def release(self, key: str, lock: asyncio.Lock) -> None:
        if not lock.locked() and self._locks.get(key) is lock:
            del self._locks[key]

    def clear(self) -> None:
        self._answers.clear()

    def __len__(self) -> int:
        return len(self._answers)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _fingerprint(scope: Scope, body: bytes) -> str | None:
    """A digest of a JSON body (multipart bodies differ per attempt, so: None)."""
    content_type = (_header(scope, b"content-type") or "").lower()
    if "json" not in content_type:
        return None
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


class IdempotencyMiddleware:
    """Replays stored answers to POSTs that repeat an ``Idempotency-Key``."""

    def __init__(self, app: ASGIApp, *, cache: IdempotencyCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, HEADER) if scope["type"] == "http" else None
        if key is None or scope["method"] != "POST" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        request_id = str(scope.get("state", {}).get("request_id", ""))
        if not key.strip() or len(key) > MAX_KEY_LENGTH:
            detail = f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters"
            await _send_problem(send, problem(400, detail, request_id))
            return
        try:
            body = await _read_body(receive)
        except HTTPException as exc:
            await _send_problem(send, problem(exc.status_code, str(exc.detail), request_id))
            return
        slot = f"{scope['path']}?{scope.get('query_string', b'').decode('latin-1')}|{key}"
        lock = self.cache.lock(slot)
        async with lock:
            await self._serve(scope, body, send, slot, request_id)
        self.cache.release(slot, lock)

    async def _serve(
        self, scope: Scope, body: bytes, send: Send, slot: str, request_id: str
    ) -> None:
        fingerprint = _fingerprint(scope, body)
        stored = self.cache.get(slot)
        if stored is not None:
            if stored.fingerprint and fingerprint and stored.fingerprint != fingerprint:
                detail = "Idempotency-Key was already used for a request with another body"
                await _send_problem(send, problem(409, detail, request_id, "CONFLICT"))
                return
            await _replay(send, stored)
            return
        start: dict[str, Message] = {}
        chunks: list[bytes] = []

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                start["message"] = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, _replaying(body), record)
        status = int(start["message"]["status"]) if start else 500
        if status < 500:
            headers = [
                (k, v)
                for k, v in start["message"].get("headers", [])
                if k.lower() not in (b"x-request-id", b"content-length")
            ]
            answer = StoredAnswer(fingerprint, status, headers, b"".join(chunks), time.monotonic())
            self.cache.put(slot, answer)


def _replaying(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _replay(send: Send, answer: StoredAnswer) -> None:
    headers = [
        *answer.headers,
        (b"content-length", str(len(answer.body)).encode()),
        (b"idempotent-replayed", b"true"),
    ]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


async def _send_problem(send: Send, document: dict[str, object]) -> None:
    body = json.dumps(document).encode()
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": document["status"], "headers": headers})
    await send({"type": "http.response.body", "body": body})
