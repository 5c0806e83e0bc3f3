"""``reconciler plan PATH``: show what apply would change.

With ``--out FILE`` the plan is saved for ``reconciler apply FILE``. Exit 0
(with ``--detailed-exitcode``: no changes), 2 (changes), 1 (error, or changes
that apply could not make: conflicts with unmanaged objects, protected
resources).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from reconciler.commands.common import EXIT_CHANGES, EXIT_OK, add_path_argument, connected
from reconciler.errors import PlanRefused, ReconcilerError
from reconciler.kinds import KINDS, KINDS_BY_COLLECTION
from reconciler.load import TenantDesired, load_path
from reconciler.plan import FAILING, Plan, PlanOptions
from reconciler.planfile import save_plan
from reconciler.reconcile import plan_tenants
from reconciler.render.jsonout import render_plan_json
from reconciler.render.markdown import render_plan_markdown, split_markdown
from reconciler.render.text import make_console, render_plan


def add_plan_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by plan and apply."""
    add_path_argument(parser)
    parser.add_argument(
        "--format", choices=("text", "json", "markdown"), default="text", help="output format"
    )
    parser.add_argument(
        "--adopt",
        action="store_true",
        help="take over existing objects that the documents name but the reconciler never created",
    )
    parser.add_argument("--tenant", action="append", default=[], help="only this tenant")
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="KIND/NAME",
        help="only this resource and what it depends on (repeatable)",
    )
    parser.add_argument(
        "--replace",
        action="append",
        default=[],
        metavar="KIND/NAME",
        help="replace this resource even if it could be updated in place",
    )
    parser.add_argument(
        "--refresh-only",
        action="store_true",
        help="only record what is observed (drift) in the state; change nothing remote",
    )


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("plan", help="show what apply would change")
    add_plan_options(parser)
    parser.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 2 when there are changes, 0 when there are none",
    )
    parser.add_argument("--out", type=Path, help="save the plan for `reconciler apply FILE`")
    parser.add_argument(
        "--split",
        action="store_true",
        help="with --format markdown: write parts under 65,000 characters to plan-N.md",
    )


def run(args: argparse.Namespace) -> int:
    tenants = select_tenants(load_path(args.path), args.tenant)
    options = plan_options(args)
    plan = asyncio.run(_plan(tenants, options))
    check_targets(plan, options)
    print_plan(plan, args.format, split=args.split)
    if args.out:
        save_plan(plan, args.out, source=args.path, options=options)
        print(
            f"Saved the plan to {args.out}; apply it with `reconciler apply {args.out}`.",
            file=sys.stderr,
        )
    refuse_failing(plan)
    return EXIT_CHANGES if args.detailed_exitcode and plan.has_changes else EXIT_OK


async def _plan(tenants: tuple[TenantDesired, ...], options: PlanOptions) -> Plan:
    async with connected() as (store, client):
        return await plan_tenants(tenants, store=store, client=client, options=options)


def plan_options(args: argparse.Namespace) -> PlanOptions:
    return PlanOptions(
        adopt=args.adopt,
        targets=frozenset(parse_address(a) for a in args.target),
        replace=frozenset(parse_address(a) for a in args.replace),
        refresh_only=args.refresh_only,
    )


def parse_address(text: str) -> tuple[str, str]:
    """``Job/nightly`` (or ``jobs/nightly``) → ("Job", "nightly")."""
    kind, _, name = text.partition("/")
    by_lower = {k.lower(): k for k in KINDS} | {c: k.kind for c, k in KINDS_BY_COLLECTION.items()}
    if not name or kind.lower() not in by_lower:
        raise ReconcilerError(
            f"`{text}` is not a resource address",
            hint=f"write KIND/NAME with KIND one of {', '.join(KINDS)}, e.g. Job/nightly-sales",
        )
    return by_lower[kind.lower()], name


def check_targets(plan: Plan, options: PlanOptions) -> None:
    """Every --target and --replace must name a resource that exists."""
    found = {(c.key.kind, c.key.name) for t in plan.tenants for c in t.changes}
    missing = sorted("/".join(a) for a in (options.targets | options.replace) - found)
    if missing:
        raise ReconcilerError(
            f"no resource {', '.join(missing)} in the documents or the state",
            hint="check the KIND/NAME spelling with `reconciler plan PATH`",
        )


def select_tenants(
    tenants: tuple[TenantDesired, ...], names: list[str]
) -> tuple[TenantDesired, ...]:
    """Only the named tenants (all when none are named); an unknown name is an error."""
    if not names:
        return tenants
    known = {t.context.name for t in tenants}
    missing = sorted(set(names) - known)
    if missing:
        raise ReconcilerError(
            f"no tenant named {', '.join(missing)} under this path",
            hint=f"tenants found: {', '.join(sorted(known)) or 'none'}",
        )
    return tuple(t for t in tenants if t.context.name in names)


def refuse_failing(plan: Plan) -> None:
    """Raise when the plan holds changes no apply can make (conflicts, protection)."""
    failing = [c for t in plan.tenants for c in t.changes if c.action in FAILING]
    if failing:
        names = "; ".join(f"{c.key.tenant}/{c.address}: {c.reason}" for c in failing)
        raise PlanRefused(f"the plan cannot be applied as it is: {names}")


def print_plan(plan: Plan, fmt: str, *, split: bool = False) -> None:
    if fmt == "json":
        print(render_plan_json(plan))
    elif fmt == "markdown" and split:
        for i, part in enumerate(split_markdown(plan), 1):
            Path(f"plan-{i}.md").write_text(part)
            print(f"wrote plan-{i}.md ({len(part)} characters)")
    elif fmt == "markdown":
        print(render_plan_markdown(plan), end="")
    else:
        render_plan(plan, make_console())
