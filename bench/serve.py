"""The emulator in its own process, so its CPU never counts as the reconciler's.

``python -m bench.serve --api-key K`` binds a free port on 127.0.0.1, prints
``http://127.0.0.1:<port>`` on its first stdout line and serves until killed.
Readiness delays are zero, so endpoints and indexes are ready in their create answers
(apply sends no readiness read).

Latency is injected with the emulator's own fault injection
(``POST /_emulator/faults``), set at run time by the harness between phases.
"""

from __future__ import annotations

import argparse
import socket
import sys

import uvicorn

from reconciler.emulator.app import create_app


def _bound_socket() -> socket.socket:
    """A socket on a free port with the TCP protocol named, so asyncio sets TCP_NODELAY."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.serve")
    parser.add_argument("--api-key", required=True)
    args = parser.parse_args(argv)
    app = create_app(api_key=args.api_key, ready_delay=0.0)
    sock = _bound_socket()
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main(sys.argv[1:])
