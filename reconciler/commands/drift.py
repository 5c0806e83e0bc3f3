"""``reconciler drift PATH``: where Databricks no longer matches what was applied.

Nothing is changed. Exit 0 when there is no drift, 2 when there is, 1 on error.
Every run is kept in the state database; ``--history`` shows past runs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.commands.common import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_OK,
    add_variable_options,
    connected,
    load_options,
    run_async,
)
from reconciler.commands.plan import load_selected, report_failures
from reconciler.errors import ReconcilerError

if TYPE_CHECKING:
    from reconciler.drift import DriftReport
    from reconciler.load import TenantDesired


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("drift", help="report where Databricks moved away from the last apply")
    parser.add_argument(
        "path", type=Path, nargs="?", help="a tenant folder, or a folder of tenants"
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="every tenant under PATH (the default for a folder of tenants; kept for scripts)",
    )
    parser.add_argument("--tenant", action="append", default=[], help="only this tenant")
    parser.add_argument(
        "--format", choices=("text", "json", "markdown"), default="text", help="output format"
    )
    parser.add_argument(
        "--history", action="store_true", help="show the recorded drift runs instead"
    )
    parser.add_argument("--limit", type=int, default=20, help="history entries to show")
    add_variable_options(parser)


def run(args: argparse.Namespace) -> int:
    from reconciler.render.drift import (  # lazy: keeps `--help` light
        render_drift_json,
        render_drift_markdown,
        render_drift_text,
    )
    from reconciler.render.text import make_console

    if args.history:
        return _history(args)
    if args.path is None:
        raise ReconcilerError("drift needs a PATH", hint="reconciler drift examples/acme")
    tenants, broken = load_selected(args.path, args.tenant, load_options(args))
    report_failures(broken)
    reports = run_async(_drift(tenants))
    if args.format == "json":
        print(render_drift_json(reports))
    elif args.format == "markdown":
        print(render_drift_markdown(reports), end="")
    else:
        render_drift_text(reports, make_console())
    if broken:
        return EXIT_ERROR
    return EXIT_CHANGES if any(r.has_drift for r in reports) else EXIT_OK


async def _drift(tenants: tuple[TenantDesired, ...]) -> list[DriftReport]:
    from reconciler.drift import observe_drifts  # lazy: keeps `--help` light

    async with connected() as (store, client):
        return await observe_drifts(tenants, store=store, client=client)


def _history(args: argparse.Namespace) -> int:
    from reconciler.config import Settings  # lazy: keeps `--help` light
    from reconciler.state import StateStore

    store = StateStore.open(Settings.from_env().database_url)
    try:
        tenants = args.tenant or [None]
        records = [r for t in tenants for r in store.drift_history(t, limit=args.limit)]
    finally:
        store.close()
    if args.format == "json":
        items = [
            {"id": r.id, "tenant": r.tenant, "at": str(r.at), "report": r.report} for r in records
        ]
        print(json.dumps(items, indent=2, sort_keys=True))
        return EXIT_OK
    if not records:
        print("No drift runs recorded yet.")
    for r in records:
        drifted = r.report.get("drifted", [])
        names = ", ".join(d["address"] for d in drifted) or "no drift"
        print(f"{r.at:%Y-%m-%d %H:%M:%S} {r.tenant}: {names}")
    return EXIT_OK
