"""``reconciler emulator``: run the local connector emulator."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("emulator", help="run the local connector emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8085)
    parser.add_argument("--state-file", type=Path, default=None, help="persist objects here")
    parser.add_argument(
        "--api-key",
        default=None,
        help="Bearer key clients must send (default: $MCP_API_KEY, else dev-key)",
    )
    parser.add_argument(
        "--ready-delay",
        type=float,
        default=1.0,
        help="seconds a serving endpoint or index takes to become ready",
    )


def run(args: argparse.Namespace) -> int:
    from reconciler.emulator.server import run_emulator

    api_key = args.api_key or os.environ.get("MCP_API_KEY") or "dev-key"
    print(f"emulator on http://{args.host}:{args.port} (API key from --api-key/MCP_API_KEY)")
    run_emulator(
        host=args.host,
        port=args.port,
        api_key=api_key,
        state_file=args.state_file,
        ready_delay=args.ready_delay,
    )
    return 0
