"""``reconciler invoke ENDPOINT --input JSON|@file``: test a deployed agent.

Waits for the serving endpoint to be READY (saying what it waits for, up to
``--timeout``), then sends the input and prints the answer.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from reconciler.commands import acting

if TYPE_CHECKING:
    from reconciler.actions import EndpointStatus, Invocation
    from reconciler.mcp.client import ConnectorClient
    from reconciler.state import StateStore


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("invoke", help="send an input to a serving endpoint, print the answer")
    parser.add_argument("endpoint", help="the ServingEndpoint's metadata.name")
    parser.add_argument(
        "--input", required=True, metavar="JSON|@FILE", help="the input, as JSON or @file.json"
    )
    acting.add_tenant_option(parser)
    parser.add_argument("--timeout", default="10m", help="how long to wait for READY (default 10m)")
    acting.add_format_option(parser, "text", "json")


def run(args: argparse.Namespace) -> int:
    from reconciler.actions import invoke

    payload = acting.json_input(args.input, "--input")
    timeout = acting.seconds(args.timeout, "--timeout")
    last: list[str] = []

    def progress(status: EndpointStatus) -> None:
        line = f"waiting for {args.endpoint} to be READY: {status.config_update}"
        if status.message:
            line += f" ({acting.safe(status.message, 120)})"
        if not last or last[-1] != line:
            last.append(line)
            acting.note(line)

    async def action(store: StateStore, client: ConnectorClient) -> Invocation:
        found = acting.target(store, "ServingEndpoint", args.endpoint, args.tenant)
        return await invoke(client, found, payload, timeout=timeout, on_progress=progress)

    answer = acting.act(action)
    if args.format == "json":
        acting.print_json(answer.to_dict())
        return 0
    for prediction in answer.predictions:
        print(_shown(prediction))
    return 0


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, indent=2, default=str)
    return "\n".join(acting.safe(line, None) for line in text.splitlines())
