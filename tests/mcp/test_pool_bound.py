"""The connector client never opens more connections than ``max_connections``, however its
pool is split into shards, and keeps them busy when there is work."""

from __future__ import annotations

import asyncio

import pytest

from reconciler.mcp.client import ConnectorClient

BODY = b'{"ok": true}'
ANSWER = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    + f"content-length: {len(BODY)}\r\n\r\n".encode()
    + BODY
)


class CountingServer:
    """An HTTP/1.1 server on loopback that answers every request after a pause and counts
    the connections open at once."""

    def __init__(self) -> None:
        self.open = self.most = self.requests = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open += 1
        self.most = max(self.most, self.open)
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                self.requests += 1
                await asyncio.sleep(0.02)
                writer.write(ANSWER)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            writer.close()


@pytest.mark.parametrize("max_connections", [1, 6, 33])
async def test_connections_stay_within_the_limit(max_connections: int) -> None:
    counting = CountingServer()
    server = await asyncio.start_server(counting.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with ConnectorClient(
            f"http://127.0.0.1:{port}", "k", max_connections=max_connections
        ) as client:
            assert client.max_connections == max_connections
            answers = await asyncio.gather(*(client.get("/health") for _ in range(120)))
    finally:
        server.close()
        await server.wait_closed()
    assert answers == [{"ok": True}] * 120 and counting.requests == 120
    assert counting.most <= max_connections
    assert counting.most >= min(max_connections, 4)  # the work is spread, not serialised
