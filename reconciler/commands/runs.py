"""``reconciler runs NAME``: a job's run history; ``reconciler runs cancel RUN_ID``.

The history shows each run's start, duration, trigger, result and URL,
newest first. ``cancel`` asks the connector to stop a run of the tenant (a
run of another tenant is not found).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from reconciler.commands import acting
from reconciler.errors import ActionError

if TYPE_CHECKING:
    from reconciler.mcp.client import ConnectorClient
    from reconciler.state import StateStore

COLUMNS = ("run", "started (UTC)", "duration", "trigger", "result", "url")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "runs",
        help="a job's run history, or `runs cancel RUN_ID`",
        description="`runs NAME` lists the job's runs; `runs cancel RUN_ID` cancels one.",
    )
    parser.add_argument("words", nargs="+", metavar="NAME | cancel RUN_ID")
    acting.add_tenant_option(parser)
    parser.add_argument("--limit", type=int, default=20, help="newest N runs (default 20)")
    acting.add_format_option(parser, "text", "json")


def run(args: argparse.Namespace) -> int:
    if len(args.words) == 2 and args.words[0] == "cancel":
        return _cancel(args, _run_id(args.words[1]))
    if len(args.words) != 1:
        raise ActionError(
            f"`runs {' '.join(args.words)}` is not understood",
            hint="write `runs NAME` or `runs cancel RUN_ID`",
        )
    return _history(args, args.words[0])


def _run_id(text: str) -> int:
    if not text.isdigit():
        raise ActionError(f"run id {text!r} is not a number", hint="copy it from `runs NAME`")
    return int(text)


def _history(args: argparse.Namespace, name: str) -> int:
    from reconciler.actions import list_runs
    from reconciler.render.runs import duration, when

    if not 1 <= args.limit <= 1000:
        raise ActionError(f"--limit must be between 1 and 1000, not {args.limit}")

    async def action(store: StateStore, client: ConnectorClient) -> list[Any]:
        found = acting.target(store, "Job", name, args.tenant)
        return await list_runs(client, found, limit=args.limit)

    runs = acting.act(action)
    if args.format == "json":
        acting.print_json([r.to_dict() for r in runs])
        return 0
    if not runs:
        print(f"job {name} has no runs yet (start one with `reconciler run job {name}`)")
        return 0
    rows = [
        (r.run_id, when(r.started_at), duration(r.duration_s), r.trigger, r.outcome, r.url)
        for r in runs
    ]
    acting.print_table(COLUMNS, rows, width=None)
    return 0


def _cancel(args: argparse.Namespace, run_id: int) -> int:
    from reconciler.actions import cancel_run, choose_tenant, recorded_context

    async def action(store: StateStore, client: ConnectorClient) -> Any:
        tenant = choose_tenant(store, args.tenant)
        context = recorded_context(store, store.read_tenant(tenant))
        return await cancel_run(client, context, run_id)

    run = acting.act(action)
    if args.format == "json":
        acting.print_json(run.to_dict())
    elif run.terminal:
        print(f"run {run_id} had already ended: {run.outcome}")
    else:
        print(f"run {run_id} is being cancelled ({run.state}): {run.url}")
    return 0
