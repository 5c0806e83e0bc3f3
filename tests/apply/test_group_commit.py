"""Apply writes the state of steps that start or finish together in one transaction.

On a real SQLite and PostgreSQL database, against the emulator over HTTP:

- an apply of notebooks and scheduled jobs (the benchmark's bulk estate)
  costs at most three state statements per create, ``BEGIN`` included, as
  the benchmark counts them (:class:`bench.meter.StatementCounter`);
- a ``reconciler apply`` killed with ``kill -9`` while batches are in flight
  leaves intents open, and the next apply settles them: nothing is created
  twice, every object is in state, the journal is empty;
- an object whose create answer says it is ready costs no readiness read;
- a step refused just before its call (a saved plan's check) closes the
  intent it journaled while waiting for a call slot.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from bench.estate import SECRETS_DIR, write_estate
from bench.meter import StatementCounter
from reconciler.apply import ApplyResult
from reconciler.cli import main
from reconciler.emulator.faults import Faults
from reconciler.emulator.server import RunningEmulator, running_emulator
from reconciler.errors import StalePlanError
from reconciler.load import load_path
from reconciler.mcp.client import ConnectorClient
from reconciler.plan import ResourceChange
from reconciler.reconcile import apply_plan, observe_tenant, plan_tenants
from reconciler.state import StateStore
from tests.apply.helpers import EXAMPLES, converged, emulator_requests, remote_problems

BULK = ("Notebook", "Job")
LATENCY = Faults(latency_ms=40, jitter_ms=10, seed=7)


def _bulk_estate(target: Path, creates: int, prefix: str) -> Path:
    """One tenant of ``creates`` creates (its catalog, notebooks, scheduled jobs)."""
    write_estate(target, tenants=1, per_tenant=creates - 1, seed=7, prefix=prefix, kinds=BULK)
    return target


def test_an_apply_of_notebooks_and_jobs_costs_at_most_three_statements_per_create(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECONCILER_SECRETS_DIR", str(SECRETS_DIR))
    creates = 160
    specs = _bulk_estate(tmp_path / "estate", creates, "stmts")

    async def apply(store: StateStore, emu: RunningEmulator) -> tuple[list[ApplyResult], int]:
        async with ConnectorClient(emu.url, emu.api_key) as client:
            plan = await plan_tenants(load_path(specs), store=store, client=client)
            counter = StatementCounter(store._engine)
            results = await apply_plan(plan, store=store, client=client, actor="t", parallelism=16)
            return results, sum(counter.snapshot().values())

    with running_emulator(api_key="k", faults=LATENCY) as emu, StateStore.open(db_url) as store:
        results, statements = asyncio.run(apply(store, emu))
        recorded = store.read_tenant(results[0].tenant).resources
    steps = [s for r in results for s in r.steps]
    assert [r.error for r in results] == [None]
    assert Counter(f"{s.action.value} {s.outcome}" for s in steps) == {"create ok": creates}
    assert len(recorded) == creates
    assert statements / creates <= 3, f"{statements} statements for {creates} creates"


def _posts(emu: RunningEmulator) -> int:
    return sum(n for route, n in emulator_requests(emu).items() if route.startswith("POST"))


@pytest.mark.slow
def test_a_kill_during_batched_writes_is_settled_by_the_next_apply(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    creates = 200
    specs = _bulk_estate(tmp_path / "estate", creates, "kill")
    with running_emulator(api_key="k", faults=LATENCY) as emu:
        env = {
            **os.environ,
            "MCP_SERVER_URL": emu.url,
            "MCP_API_KEY": "k",
            "DATABASE_URL": db_url,
            "RECONCILER_SECRETS_DIR": str(SECRETS_DIR),
        }
        for name in ("MCP_SERVER_URL", "MCP_API_KEY", "DATABASE_URL", "RECONCILER_SECRETS_DIR"):
            monkeypatch.setenv(name, env[name])
        command = [sys.executable, "-m", "reconciler.cli", "apply", str(specs), "--auto-approve"]
        command += ["--parallelism", "16"]
        apply = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while apply.poll() is None and _posts(emu) < 60 and time.monotonic() < deadline:
            time.sleep(0.002)
        running = apply.poll() is None
        apply.kill()
        apply.wait()
        assert running, "the apply finished before it could be killed"
        with StateStore.open(db_url) as store:
            left_open = len(store.open_intents())
        assert left_open > 0, "the kill left no intent open: it did not land mid-apply"

        assert main(["apply", str(specs), "--auto-approve"]) == 0

        async def checks() -> tuple[bool, list[str], int, Counter[str]]:
            with StateStore.open(db_url) as store:
                async with ConnectorClient(emu.url, emu.api_key) as client:
                    tenant = load_path(specs)[0]
                    observed = await observe_tenant(client, tenant.context)
                    return (
                        await converged(specs, store, client),
                        await remote_problems(specs, store, client),
                        len(store.open_intents()),
                        Counter(o.kind for o in observed if o.managed),
                    )

        done, problems, still_open, objects = asyncio.run(checks())
    assert done and problems == [] and still_open == 0
    assert sum(objects.values()) == creates, objects  # one object per document, none twice


def test_no_readiness_read_for_an_object_created_ready(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(EXAMPLES / "acme", tmp_path / "acme")
    monkeypatch.setenv("MCP_API_KEY", "k")

    def readiness_reads(ready_delay: float) -> int:
        """GETs of one endpoint or index while applying acme from empty."""
        with running_emulator(api_key="k", ready_delay=ready_delay) as emu:
            monkeypatch.setenv("MCP_SERVER_URL", emu.url)
            monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / f'{ready_delay}.db'}")
            assert main(["apply", str(tmp_path / "acme"), "--auto-approve"]) == 0
            counts = emulator_requests(emu)
        reads = ("/serving-endpoints/{name}", "/vector-indexes/{name}")
        return sum(n for r, n in counts.items() if r.startswith("GET ") and r.endswith(reads))

    assert readiness_reads(ready_delay=0.0) == 0
    assert readiness_reads(ready_delay=0.3) > 0  # created not ready: apply waits, reading


def test_a_step_refused_before_its_call_leaves_no_intent_open(
    specs: Path, emulator: RunningEmulator, db_url: str
) -> None:
    async def refuse_notebooks(change: ResourceChange) -> None:
        if change.key.kind == "Notebook":
            raise StalePlanError(f"{change.address} changed after the plan was made")

    async def apply(store: StateStore) -> list[ApplyResult]:
        async with ConnectorClient(emulator.url, emulator.api_key) as client:
            plan = await plan_tenants(load_path(specs / "acme"), store=store, client=client)
            return await apply_plan(
                plan, store=store, client=client, actor="t", before_step=refuse_notebooks
            )

    with StateStore.open(db_url) as store:
        [result] = asyncio.run(apply(store))
        assert store.open_intents() == []  # journaled ahead, never sent: closed with the failure
        [history] = store.history()
    refused = {s.key.name for s in result.steps if s.outcome == "failed"}
    assert refused and all(s.key.kind == "Notebook" for s in result.steps if s.outcome == "failed")
    assert {s.name for s in history.steps if s.outcome == "failed"} >= refused
