"""``reconciler run job|notebook NAME``: start a run now, optionally follow it to the end.

One idempotency key per invocation: a retried request never starts a second
run. With ``--wait`` the run is followed state by state (task by task for a
job) and the exit code is the result's: 0 for SUCCESS, 1 for FAILED,
TIMEDOUT, CANCELED or INTERNAL_ERROR (and when ``--timeout`` passes first).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from reconciler.commands import acting

if TYPE_CHECKING:
    from reconciler.actions import RunStatus
    from reconciler.mcp.client import ConnectorClient
    from reconciler.state import StateStore

KINDS = {"job": "Job", "notebook": "Notebook"}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("run", help="run a job or a notebook now")
    what = parser.add_subparsers(dest="run_kind", required=True, metavar="KIND")
    for word in KINDS:
        one = what.add_parser(word, help=f"run a {word} (by its metadata.name)")
        one.add_argument("name", help=f"the {word}'s metadata.name")
        acting.add_tenant_option(one)
        one.add_argument(
            "--param", action="append", metavar="KEY=VALUE", help="a parameter (repeatable)"
        )
        one.add_argument("--wait", action="store_true", help="follow the run until it ends")
        one.add_argument(
            "--timeout", default="30m", help="with --wait: give up following after (default 30m)"
        )
        acting.add_format_option(one, "text", "json")


def run(args: argparse.Namespace) -> int:
    from reconciler.actions import (
        follow_run,
        new_idempotency_key,
        parse_params,
        start_job,
        start_notebook,
    )
    from reconciler.render.runs import RunView, final_lines

    params = parse_params(args.param)
    timeout = acting.seconds(args.timeout, "--timeout")
    key = new_idempotency_key()
    text = args.format == "text"

    async def action(store: StateStore, client: ConnectorClient) -> RunStatus:
        found = acting.target(store, KINDS[args.run_kind], args.name, args.tenant)
        start = start_job if found.kind == "Job" else start_notebook
        run = await start(client, found, params, idempotency_key=key)
        if text:
            print(f"started run {run.run_id} of {found.describe()}: {run.url}", flush=True)
        if not args.wait:
            return run
        with RunView(live=None if text else False) as view:
            return await follow_run(
                client, found.tenant, run, timeout=timeout, on_change=view if text else None
            )

    run = acting.act(action)
    if not text:
        acting.print_json({**run.to_dict(), "exit_code": run.exit_code if args.wait else 0})
    elif args.wait:
        for line in final_lines(run):
            print(line)
    return run.exit_code if args.wait else 0
