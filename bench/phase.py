"""One measured phase in a process of its own: ``python -m bench.phase <phase> ...``.

Running each phase in a fresh process makes its peak RSS and CPU time the
reconciler's alone (the emulator runs elsewhere). The phase goes through the
library exactly as the CLI does and prints one JSON object on stdout:

- ``plan``: load the first ``--tenants`` tenant folders, plan them against
  the state store and the connector, then apply that plan (a no-change
  reconcile cycle when the estate is already applied) and count its writes;
- ``apply``: load, plan, and apply with ``--parallelism``;
- ``baseline``: refresh every recorded resource of those tenants with one
  GET each, at Terraform's parallelism (see :mod:`bench.baseline`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.baseline import TERRAFORM_PARALLELISM, refresh_each
from bench.estate import SECRETS_DIR
from bench.meter import StatementCounter, measure, peak_rss_mb
from reconciler.load import TenantDesired, load_path
from reconciler.mcp.client import ConnectorClient
from reconciler.plan import Plan
from reconciler.reconcile import apply_plan, plan_tenants
from reconciler.runtime import tune_gc
from reconciler.state import StateStore

ACTOR = "bench"


def load_tenants(estate: Path, count: int) -> tuple[TenantDesired, ...]:
    """The first ``count`` tenant folders of the estate, loaded in folder order.

    The whole estate is loaded in one call, as ``reconciler plan ESTATE`` does
    (a large load uses the second core); a part of it folder by folder.
    """
    folders = sorted(p for p in estate.iterdir() if p.is_dir())
    if count >= len(folders):
        return load_path(estate)
    return tuple(t for folder in folders[:count] for t in load_path(folder))


def plan_counts(plan: Plan) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for tenant in plan.tenants:
        counts.update(tenant.counts())
    return dict(counts)


async def _plan_phase(args: argparse.Namespace, store: StateStore, out: dict[str, Any]) -> None:
    counter = StatementCounter(store._engine)
    with measure() as loading:
        tenants = load_tenants(args.estate, args.tenants)
    out["load"] = loading.as_dict()
    out["resources"] = sum(len(t.resources) for t in tenants)
    async with ConnectorClient(args.url, args.api_key) as client:
        with measure(counter) as planning:
            plan = await plan_tenants(tenants, store=store, client=client)
        out["plan"] = planning.as_dict()
        out["plan_actions"] = plan_counts(plan)
        if args.phase == "apply" or args.cycle:
            with measure(counter) as applying:
                results = await apply_plan(
                    plan, store=store, client=client, actor=ACTOR, parallelism=args.parallelism
                )
            steps = Counter(f"{s.action.value}_{s.outcome}" for r in results for s in r.steps)
            errors = [s.error for r in results for s in r.failed][:5]
            out["apply"] = {**applying.as_dict(), "steps": dict(steps), "errors": errors}


async def _baseline_phase(args: argparse.Namespace, store: StateStore, out: dict[str, Any]) -> None:
    tenants = load_tenants(args.estate, args.tenants)
    contexts = {t.context.name: t.context for t in tenants}
    counter = StatementCounter(store._engine)
    async with ConnectorClient(args.url, args.api_key) as client:
        with measure(counter) as refreshing:
            observed = await refresh_each(
                contexts, store=store, client=client, parallelism=TERRAFORM_PARALLELISM
            )
    out["baseline"] = {**refreshing.as_dict(), "resources": len(observed)}


def _profiled(target: Path, work: Callable[[], None]) -> None:
    """Run ``work`` under pyinstrument: its call tree as text in ``target``, the session beside.

    Render the session again with ``pyinstrument --load <target>.pyisession``
    (``--show-all`` to open library frames).
    """
    from pyinstrument import Profiler

    profiler = Profiler(async_mode="disabled")
    profiler.start()
    try:
        work()
    finally:
        profiler.stop()
        target.write_text(profiler.output_text(unicode=True, show_all=False), encoding="utf-8")
        if profiler.last_session is not None:
            profiler.last_session.save(str(target) + ".pyisession")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.phase")
    parser.add_argument("phase", choices=("plan", "apply", "baseline"))
    parser.add_argument("--estate", type=Path, required=True)
    parser.add_argument("--tenants", type=int, required=True)
    parser.add_argument("--db", required=True, help="state database URL")
    parser.add_argument("--url", required=True, help="connector origin")
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--parallelism", type=int, default=10)
    tune_gc()  # as the CLI does
    parser.add_argument("--cycle", action="store_true", help="plan: also apply the plan")
    parser.add_argument("--profile", type=Path, help="write a pyinstrument profile here")
    args = parser.parse_args(argv)
    os.environ.setdefault("RECONCILER_SECRETS_DIR", str(SECRETS_DIR))  # jobs pass a secret
    out: dict[str, Any] = {"phase": args.phase, "tenants": args.tenants}
    store = StateStore.open(args.db)
    try:
        run = _baseline_phase if args.phase == "baseline" else _plan_phase
        if args.profile:
            _profiled(args.profile, lambda: asyncio.run(run(args, store, out)))
        else:
            asyncio.run(run(args, store, out))
    finally:
        store.close()
    out["peak_rss_mb"] = peak_rss_mb()
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
