"""``reconciler plan PATH``: show what apply would change.

With ``--out FILE`` the plan is saved for ``reconciler apply FILE``. Exit 0
(with ``--detailed-exitcode``: no changes), 2 (changes), 1 (error, or changes
that apply could not make: conflicts with unmanaged objects, protected
resources).

Each tenant has its own outcome: a tenant whose documents have problems, or
whose connector calls fail, is reported and the other tenants are still
planned; the exit code is then 1. ``plan`` only reads the state database (open
intents of an interrupted apply are settled in memory, for the plan only), so
a pipeline with read-only database credentials can run it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.commands.common import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_OK,
    add_path_argument,
    add_variable_options,
    connected,
    load_options,
    run_async,
)
from reconciler.errors import PlanRefused, ReconcilerError, SpecError

if TYPE_CHECKING:
    from reconciler.load import TenantDesired, TenantProblems
    from reconciler.plan import Plan, PlanOptions, TenantFailure
    from reconciler.variables import LoadOptions


def add_plan_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by plan and apply."""
    add_path_argument(parser)
    add_variable_options(parser)
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
    parser.add_argument(
        "--allow-missing",
        action="store_true",
        help="allow deleting or forgetting resources although part of the tenant folder was skipped "
        "(a broken link, an unreadable folder): their documents may be there",
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
    from reconciler.plancheck import check_targets, refuse_failing  # lazy: keeps `--help` light
    from reconciler.planfile import save_plan

    load = load_options(args)
    tenants, broken = load_selected(args.path, args.tenant, load)
    options = plan_options(args)
    plan = run_async(_plan(tenants, options))
    report_failures(broken, plan.failed)
    check_targets(plan, options)
    print_plan(plan, args.format, split=args.split)
    refuse_missing(plan, tenants, allow_missing=args.allow_missing)
    if args.out:
        save_plan(plan, args.out, source=args.path, options=options, load=load)
        print(
            f"Saved the plan to {args.out}; apply it with `reconciler apply {args.out}`.",
            file=sys.stderr,
        )
    refuse_failing(plan)
    if broken or plan.failed:
        return EXIT_ERROR
    return EXIT_CHANGES if args.detailed_exitcode and plan.has_changes else EXIT_OK


async def _plan(tenants: tuple[TenantDesired, ...], options: PlanOptions) -> Plan:
    async with connected() as (store, client):
        from reconciler.reconcile import plan_tenants  # lazy: keeps `--help` light

        return await plan_tenants(
            tenants, store=store, client=client, options=options, settle=False
        )


def load_selected(
    path: Path, names: list[str], options: LoadOptions | None = None
) -> tuple[tuple[TenantDesired, ...], tuple[TenantProblems, ...]]:
    """The tenants that loaded (only ``names`` when given) and the folders that did not.

    When nothing loads at all, the problems are raised as one SpecError.
    """
    from reconciler.load import load_tenants  # lazy: keeps `--help` light
    from reconciler.runtime import freeze_loaded

    result = load_tenants(path, options)
    for warning in result.warnings:
        print(warning, file=sys.stderr)
    broken = tuple(f for f in result.failures if not names or f.tenant in (None, *names))
    if not result.tenants:
        raise SpecError(result.problems)
    failed_names = {f.tenant for f in result.failures if f.tenant}
    freeze_loaded()  # the command keeps them to the end: no collection need walk them again
    return select_tenants(result.tenants, names, failed=failed_names), broken


def report_failures(
    broken: tuple[TenantProblems, ...], failed: tuple[TenantFailure, ...] = ()
) -> None:
    """One block per tenant that did not load, one line per tenant that could not be planned."""
    for folder in broken:
        for problem in folder.problems:
            print(problem, file=sys.stderr)
        who = f"tenant {folder.tenant}" if folder.tenant else f"folder {folder.folder}/"
        print(f"error: {who}: {folder.error()} (the other tenants go on)", file=sys.stderr)
    by_error: dict[str, list[str]] = {}
    for failure in failed:
        by_error.setdefault(failure.error, []).append(failure.tenant)
    for error, names in by_error.items():
        who = f"tenant {names[0]}" if len(names) == 1 else f"tenants {', '.join(names)}"
        print(f"error: {who}: {error}", file=sys.stderr)


def plan_options(args: argparse.Namespace) -> PlanOptions:
    from reconciler.plan import PlanOptions  # lazy: keeps `--help` light

    return PlanOptions(
        adopt=args.adopt,
        targets=frozenset(parse_address(a) for a in args.target),
        replace=frozenset(parse_address(a) for a in args.replace),
        refresh_only=args.refresh_only,
    )


def parse_address(text: str) -> tuple[str, str]:
    """``Job/nightly`` (or ``jobs/nightly``) → ("Job", "nightly")."""
    from reconciler.kinds import KINDS, KINDS_BY_COLLECTION  # lazy: keeps `--help` light

    kind, _, name = text.partition("/")
    by_lower = {k.lower(): k for k in KINDS} | {c: k.kind for c, k in KINDS_BY_COLLECTION.items()}
    if not name or kind.lower() not in by_lower:
        raise ReconcilerError(
            f"`{text}` is not a resource address",
            hint=f"write KIND/NAME with KIND one of {', '.join(KINDS)}, e.g. Job/nightly-sales",
        )
    return by_lower[kind.lower()], name


def select_tenants(
    tenants: tuple[TenantDesired, ...], names: list[str], *, failed: set[str] | None = None
) -> tuple[TenantDesired, ...]:
    """Only the named tenants (all when none are named); an unknown name is an error.

    ``failed`` names tenants that exist but did not load (reported elsewhere).
    """
    if not names:
        return tenants
    known = {t.context.name for t in tenants}
    missing = sorted(set(names) - known - (failed or set()))
    if missing:
        raise ReconcilerError(
            f"no tenant named {', '.join(missing)} under this path",
            hint=f"tenants found: {', '.join(sorted(known)) or 'none'}",
        )
    return tuple(t for t in tenants if t.context.name in names)


def refuse_missing(plan: Plan, tenants: tuple[TenantDesired, ...], *, allow_missing: bool) -> None:
    """Refuse deletes and forgets in a tenant whose folder was not read whole.

    A skipped place (a link whose target is gone, a folder that cannot be
    listed) may hold the documents of the resources the plan would delete or
    stop managing; ``--allow-missing`` lets the plan go on.
    """
    from reconciler.skipped import missing_deletes  # lazy: keeps `--help` light

    if allow_missing:
        return
    skipped = {t.context.name: t.skipped for t in tenants}
    found = [
        found
        for tenant in plan.tenants
        if (found := missing_deletes(tenant, skipped.get(tenant.tenant, ())))
    ]
    if found:
        raise PlanRefused(
            "the plan deletes or forgets resources whose documents may be in a skipped place: "
            + "; ".join(found),
            hint="restore the skipped links or folders, or re-run with --allow-missing "
            "to let them go",
        )


def print_plan(plan: Plan, fmt: str, *, split: bool = False) -> None:
    from reconciler.render.jsonout import render_plan_json  # lazy: keeps `--help` light
    from reconciler.render.markdown import render_plan_markdown, split_markdown
    from reconciler.render.text import make_console, render_plan

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
