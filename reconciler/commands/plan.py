"""``reconciler plan PATH``: show what apply would change."""

from __future__ import annotations

import argparse
import asyncio

from reconciler.commands.common import EXIT_CHANGES, EXIT_OK, add_path_argument, connected
from reconciler.load import TenantDesired, load_path
from reconciler.plan import Plan, PlanOptions
from reconciler.reconcile import plan_tenants
from reconciler.render.jsonout import render_plan_json
from reconciler.render.text import make_console, render_plan


def add_plan_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by plan and apply."""
    add_path_argument(parser)
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    parser.add_argument(
        "--adopt",
        action="store_true",
        help="take over existing objects that the documents name but the reconciler never created",
    )


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("plan", help="show what apply would change")
    add_plan_options(parser)
    parser.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 2 when there are changes, 0 when there are none",
    )


def run(args: argparse.Namespace) -> int:
    tenants = load_path(args.path)
    plan = asyncio.run(_plan(tenants, adopt=args.adopt))
    print_plan(plan, args.format)
    return EXIT_CHANGES if args.detailed_exitcode and plan.has_changes else EXIT_OK


async def _plan(tenants: tuple[TenantDesired, ...], *, adopt: bool) -> Plan:
    async with connected() as (store, client):
        return await plan_tenants(
            tenants, store=store, client=client, options=PlanOptions(adopt=adopt)
        )


def print_plan(plan: Plan, fmt: str) -> None:
    if fmt == "json":
        print(render_plan_json(plan))
    else:
        render_plan(plan, make_console())
