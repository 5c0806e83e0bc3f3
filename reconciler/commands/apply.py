"""``reconciler apply PATH``: make Databricks match the spec documents."""

from __future__ import annotations

import argparse
import asyncio
import sys

from rich.console import Console

from reconciler.apply import StepListener
from reconciler.commands.common import EXIT_ERROR, EXIT_OK, actor, connected, git_commit
from reconciler.commands.plan import add_plan_options
from reconciler.errors import ReconcilerError
from reconciler.load import TenantDesired, load_path
from reconciler.plan import PlanOptions, ResourceChange
from reconciler.reconcile import apply_plan, plan_tenants
from reconciler.render.jsonout import render_apply_json
from reconciler.render.text import make_console, render_apply, render_plan


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("apply", help="make Databricks match the spec documents")
    add_plan_options(parser)
    parser.add_argument("--auto-approve", action="store_true", help="apply without asking")
    parser.add_argument(
        "--parallelism", type=int, default=10, help="independent steps run at once (default 10)"
    )


def run(args: argparse.Namespace) -> int:
    tenants = load_path(args.path)
    if not args.auto_approve and not sys.stdin.isatty():
        raise ReconcilerError(
            "refusing to apply without confirmation: standard input is not a terminal",
            hint="review `reconciler plan` and pass --auto-approve",
        )
    return asyncio.run(_apply(tenants, args))


async def _apply(tenants: tuple[TenantDesired, ...], args: argparse.Namespace) -> int:
    console = make_console(stderr=args.format == "json")
    async with connected() as (store, client):
        plan = await plan_tenants(
            tenants, store=store, client=client, options=PlanOptions(adopt=args.adopt)
        )
        render_plan(plan, console)
        if not any(t.actionable for t in plan.tenants):
            if args.format == "json":
                print(render_apply_json([]))
            return EXIT_OK
        if plan.has_changes and not args.auto_approve and not _confirm(console):
            console.print("Apply cancelled.")
            return EXIT_ERROR
        results = await apply_plan(
            plan,
            store=store,
            client=client,
            actor=actor(),
            git_commit=git_commit(args.path),
            parallelism=args.parallelism,
            listener=_step_printer(console),
        )
    if args.format == "json":
        print(render_apply_json(results))
    else:
        render_apply(results, console)
    return EXIT_ERROR if any(r.failed for r in results) else EXIT_OK


def _confirm(console: Console) -> bool:
    console.print("Only 'yes' will be accepted to approve.")
    try:
        return input("Apply these changes? ").strip() == "yes"
    except EOFError:
        return False


def _step_printer(console: Console) -> StepListener:
    def listener(event: str, change: ResourceChange, error: str | None) -> None:
        address = f"{change.key.tenant}/{change.key.kind}/{change.key.name}"
        if event == "ok":
            console.print(f"  {change.action.value} {address}: done", markup=False)
        elif event != "start":
            console.print(f"  {change.action.value} {address}: {event}: {error}", markup=False)

    return listener
