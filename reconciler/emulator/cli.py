"""``reconciler emulator``: run the local connector emulator, optionally with faults.

Fault flags make it behave like a connector across a real network, e.g.::

    reconciler emulator --latency-ms 25 --jitter-ms 10 --error-rate 0.1 --rate-limit 50/s

Faults can also be replaced while it runs: ``POST /_emulator/faults``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciler.emulator.faults import Faults


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
    parser.add_argument(
        "--require-tenant",
        action="store_true",
        help="refuse also the AgentProvision backend's calls that name no tenant_id "
        "(see specs/connector.md, Tenancy)",
    )
    _add_fault_flags(parser)


def _add_fault_flags(parser: argparse.ArgumentParser) -> None:
    faults = parser.add_argument_group("faults (see also POST /_emulator/faults)")
    faults.add_argument("--latency-ms", type=float, default=0, help="delay added to every call")
    faults.add_argument("--jitter-ms", type=float, default=0, help="extra random delay, up to")
    faults.add_argument(
        "--error-rate", type=float, default=0, help="share of calls answered 500/503 (0..1)"
    )
    faults.add_argument(
        "--rate-limit", default=None, metavar="N/s", help="calls per second before 429 (or N/min)"
    )
    faults.add_argument("--rate-limit-burst", type=int, default=None, help="token bucket depth")
    faults.add_argument(
        "--drop-rate", type=float, default=0, help="share of calls whose connection is cut (0..1)"
    )
    faults.add_argument(
        "--slow-ops-factor",
        type=float,
        default=1.0,
        help="multiplier on how long deploys, syncs and runs take",
    )
    faults.add_argument(
        "--retry-after", type=float, default=1.0, help="Retry-After seconds sent with 503s"
    )
    faults.add_argument("--seed", type=int, default=None, help="seed for repeatable faults")


def faults_from_args(args: argparse.Namespace) -> Faults:
    """The :class:`~reconciler.emulator.faults.Faults` the flags ask for."""
    from reconciler.emulator.faults import Faults, parse_rate

    return Faults(
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        error_rate=args.error_rate,
        rate_limit_per_s=parse_rate(args.rate_limit) if args.rate_limit else None,
        rate_limit_burst=args.rate_limit_burst,
        drop_rate=args.drop_rate,
        slow_ops_factor=args.slow_ops_factor,
        retry_after_s=args.retry_after,
        seed=args.seed,
    )


def run(args: argparse.Namespace) -> int:
    from reconciler.emulator.server import run_emulator

    api_key = args.api_key or os.environ.get("MCP_API_KEY") or "dev-key"
    try:
        faults = faults_from_args(args)
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    print(f"emulator on http://{args.host}:{args.port} (API key from --api-key/MCP_API_KEY)")
    run_emulator(
        host=args.host,
        port=args.port,
        api_key=api_key,
        state_file=args.state_file,
        ready_delay=args.ready_delay,
        faults=faults,
        require_tenant=args.require_tenant,
    )
    return 0
