"""Running the emulator: blocking for the CLI, or in a background thread for tests.

``run_emulator`` serves until interrupted (``reconciler emulator --port 8085``).
``running_emulator`` starts uvicorn on a free port of 127.0.0.1 in a daemon
thread, waits until ``/agentprovision/v1/health`` answers, yields a
:class:`RunningEmulator` and stops the server cleanly on exit::

    with running_emulator(api_key="k") as emu:
        httpx.get(emu.url + "/agentprovision/v1/health")
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from reconciler.emulator import API_PREFIX
from reconciler.emulator.app import create_app
from reconciler.emulator.faults import Faults, quiet_dropped_connections

START_TIMEOUT = 10.0


@dataclass(frozen=True)
class RunningEmulator:
    """A started emulator: ``url`` is the origin, without the API prefix."""

    url: str
    api_key: str
    app: FastAPI

    @property
    def api_url(self) -> str:
        """The base URL of the connector API (``url`` + ``/agentprovision/v1``)."""
        return self.url + API_PREFIX


def run_emulator(
    *,
    host: str,
    port: int,
    api_key: str,
    state_file: Path | None,
    ready_delay: float,
    faults: Faults | None = None,
    require_tenant: bool = False,
) -> None:
    """Serve the emulator on ``host:port`` until interrupted."""
    app = create_app(
        api_key=api_key,
        ready_delay=ready_delay,
        state_file=state_file,
        faults=faults,
        require_tenant=require_tenant,
    )
    quiet_dropped_connections()
    uvicorn.run(app, host=host, port=port, log_level="info")


def _bound_socket() -> socket.socket:
    """A listening-ready socket on a free port of 127.0.0.1.

    The protocol is given explicitly: asyncio only turns Nagle's algorithm off
    (TCP_NODELAY) on sockets whose ``proto`` is TCP, and without that every
    response would wait ~40 ms for a delayed ACK.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _wait_healthy(url: str, thread: threading.Thread) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the emulator server stopped while starting")
        try:
            if httpx.get(f"{url}{API_PREFIX}/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"the emulator did not answer at {url} within {START_TIMEOUT} s")


@contextmanager
def running_emulator(
    *,
    api_key: str = "test-key",
    ready_delay: float = 0.2,
    state_file: Path | None = None,
    faults: Faults | None = None,
    require_tenant: bool = False,
    query_seconds: float | None = None,
) -> Iterator[RunningEmulator]:
    """Run the emulator in a background thread for the duration of the block.

    ``faults`` are in force from the first request (health checks are exempt);
    ``require_tenant`` and ``query_seconds`` are as in :func:`create_app`.
    """
    app = create_app(
        api_key=api_key,
        ready_delay=ready_delay,
        state_file=state_file,
        faults=faults,
        require_tenant=require_tenant,
        query_seconds=query_seconds,
    )
    quiet_dropped_connections()
    sock = _bound_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"emulator-{port}", daemon=True
    )
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, thread)
        yield RunningEmulator(url=url, api_key=api_key, app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=5.0)
        sock.close()
