"""Every answer of ``serve`` scrubbed of the secrets read in this process.

A pure ASGI middleware: JSON and text bodies are collected, cut of each
registered secret (:mod:`reconciler.scrub`) and sent with a corrected
``Content-Length``; other bodies (and everything while no secret is known)
pass through untouched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from reconciler import scrub

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Message, Receive, Send], Awaitable[None]]

_TEXTUAL = (b"application/json", b"application/problem+json", b"text/")


class ScrubResponses:
    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scrub.registered():
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def scrubbing_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                kind = dict(message.get("headers") or []).get(b"content-type", b"")
                if kind.startswith(_TEXTUAL):
                    start = message
                    return
            elif message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                text = b"".join(chunks).decode("utf-8", "surrogateescape")
                body = scrub.scrub(text).encode("utf-8", "surrogateescape")
                kept = [(k, v) for k, v in start.get("headers") or [] if k != b"content-length"]
                headers = [*kept, (b"content-length", str(len(body)).encode())]
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, scrubbing_send)
