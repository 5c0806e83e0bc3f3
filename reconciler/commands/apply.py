"""``reconciler apply PATH`` (or ``apply PLAN.json``): make Databricks match the documents.

The plan is made again under the tenants' locks. A saved plan's documents are
loaded with the target and variables it was made with (another ``--target-env``
or ``--var`` is refused); the fresh plan is checked against it (serials, remote
fingerprints, the changes themselves) and refused when stale; each step then
re-reads its object just before the first call.
Destructive plans need ``--allow-data-loss``; conflicts and protected resources
stop the whole apply before anything is sent.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from reconciler.commands.common import EXIT_ERROR, EXIT_OK, actor, connected, git_commit, run_async
from reconciler.commands.plan import (
    add_plan_options,
    load_options,
    load_selected,
    plan_options,
    refuse_missing,
    report_failures,
)
from reconciler.errors import ReconcilerError

if TYPE_CHECKING:
    from rich.console import Console

    from reconciler.load import TenantDesired, TenantProblems
    from reconciler.planfile import SavedPlan


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("apply", help="make Databricks match the spec documents")
    add_plan_options(parser)
    parser.add_argument("--auto-approve", action="store_true", help="apply without asking")
    parser.add_argument(
        "--allow-data-loss",
        action="store_true",
        help="allow deleting or replacing datasets and catalogs (their data is lost)",
    )
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
    from reconciler.planfile import is_plan_file, load_saved_plan  # lazy: keeps `--help` light
    from reconciler.planvars import apply_inputs

    saved = load_saved_plan(args.path) if is_plan_file(args.path) else None
    source = saved.source if saved else args.path
    load = load_options(args)
    if saved is not None:
        load = apply_inputs(saved.inputs, load, args.path)
    tenants, broken = load_selected(source, args.tenant, load)
    if not args.auto_approve and not sys.stdin.isatty():
        raise ReconcilerError(
            "refusing to apply without confirmation: standard input is not a terminal",
            hint="review `reconciler plan` and pass --auto-approve",
        )
    return run_async(_apply(tenants, args, saved, broken))


async def _apply(
    tenants: tuple[TenantDesired, ...],
    args: argparse.Namespace,
    saved: SavedPlan | None,
    broken: tuple[TenantProblems, ...] = (),
) -> int:
    """Lock every tenant, plan under the locks, confirm, apply, summarise.

    Tenants that did not load or could not be planned are reported and left
    out; the others are applied, and the exit code is 1.
    """
    from reconciler.plancheck import check_plan  # lazy: keeps `--help` light
    from reconciler.planfile import recheck, verify
    from reconciler.reconcile import apply_plan, locked_tenants, plan_tenants
    from reconciler.render.markdown import render_plan_markdown
    from reconciler.render.progress import JsonDisplay, make_display, summary_lines
    from reconciler.render.text import make_console, render_plan

    console = make_console(stderr=args.format == "json")
    names = [t.context.name for t in tenants]
    async with (
        connected() as (store, client),
        locked_tenants(store, names, timeout=args.lock_timeout) as leases,
    ):
        options = saved.options if saved else plan_options(args)
        plan = await plan_tenants(
            tenants, store=store, client=client, options=options, leases=leases
        )
        if args.format == "markdown":
            print(render_plan_markdown(plan), end="")
        else:
            render_plan(plan, console)
        report_failures(broken, plan.failed)
        failed = EXIT_ERROR if broken or plan.failed else EXIT_OK
        check_plan(plan, options, allow_data_loss=args.allow_data_loss)
        refuse_missing(plan, tenants, allow_missing=args.allow_missing)
        if saved is not None:
            verify(saved, plan)
        total = sum(len(t.actionable) for t in plan.tenants)
        if total == 0:
            if args.format == "json":
                JsonDisplay(0).summary([])
            return failed
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
                before_step=recheck(plan, client) if saved is not None else None,
            )
    if isinstance(display, JsonDisplay):
        display.summary(results)
    else:
        for line in summary_lines(results):
            console.print(line, markup=False, highlight=False)
    return EXIT_OK if all(r.ok for r in results) and not failed else EXIT_ERROR


def _confirm(console: Console) -> bool:
    console.print("Only 'yes' will be accepted to approve.")
    try:
        return input("Apply these changes? ").strip() == "yes"
    except EOFError:
        return False
