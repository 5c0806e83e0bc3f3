"""``reconciler apply PATH``: make Databricks match the spec documents."""

from __future__ import annotations

import argparse
import asyncio
import sys

from rich.console import Console

from reconciler.commands.common import EXIT_ERROR, EXIT_OK, actor, connected, git_commit
from reconciler.commands.plan import add_plan_options
from reconciler.errors import ReconcilerError
from reconciler.load import TenantDesired, load_path
from reconciler.plan import PlanOptions
from reconciler.reconcile import apply_plan, locked_tenants, plan_tenants
from reconciler.render.progress import JsonDisplay, make_display, summary_lines
from reconciler.render.text import make_console, render_plan


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("apply", help="make Databricks match the spec documents")
    add_plan_options(parser)
    parser.add_argument("--auto-approve", action="store_true", help="apply without asking")
    parser.add_argument(
        "--parallelism",
        type=_positive_int,
        default=10,
        help="steps (of all tenants) talking to the connector at once (default 10)",
    )
    parser.add_argument(
        "--lock-timeout",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for a tenant another apply holds (default 0: fail at once)",
    )


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def run(args: argparse.Namespace) -> int:
    tenants = load_path(args.path)
    if not args.auto_approve and not sys.stdin.isatty():
        raise ReconcilerError(
            "refusing to apply without confirmation: standard input is not a terminal",
            hint="review `reconciler plan` and pass --auto-approve",
        )
    return asyncio.run(_apply(tenants, args))


async def _apply(tenants: tuple[TenantDesired, ...], args: argparse.Namespace) -> int:
    """Lock every tenant, plan under the locks, confirm, apply, summarise."""
    console = make_console(stderr=args.format == "json")
    names = [t.context.name for t in tenants]
    async with (
        connected() as (store, client),
        locked_tenants(store, names, timeout=args.lock_timeout) as leases,
    ):
        plan = await plan_tenants(
            tenants,
            store=store,
            client=client,
            options=PlanOptions(adopt=args.adopt),
            leases=leases,
        )
        render_plan(plan, console)
        total = sum(len(t.actionable) for t in plan.tenants)
        if total == 0:
            if args.format == "json":
                JsonDisplay(0).summary([])
            return EXIT_OK
        if plan.has_changes and not args.auto_approve and not _confirm(console):
            console.print("Apply cancelled.")
            return EXIT_ERROR
        with make_display(args.format, total=total, console=console) as display:
            results = await apply_plan(
                plan,
                store=store,
                client=client,
                actor=actor(),
                git_commit=git_commit(args.path),
                parallelism=args.parallelism,
                listener=display,
                leases=leases,
            )
    if isinstance(display, JsonDisplay):
        display.summary(results)
    else:
        for line in summary_lines(results):
            console.print(line, markup=False, highlight=False)
    return EXIT_OK if all(r.ok for r in results) else EXIT_ERROR


def _confirm(console: Console) -> bool:
    console.print("Only 'yes' will be accepted to approve.")
    try:
        return input("Apply these changes? ").strip() == "yes"
    except EOFError:
        return False
