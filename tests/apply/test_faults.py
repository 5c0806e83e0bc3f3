"""An unkind network: 20 tenants of every kind applied through 5xx, 429 bursts and latency."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from reconciler.emulator.faults import Faults
from reconciler.emulator.server import running_emulator
from reconciler.load import load_path
from reconciler.mcp.client import ConnectorClient
from reconciler.reconcile import apply_plan, plan_tenants
from reconciler.state import StateStore
from tests.apply.helpers import converged, remote_problems, tenant_copies

FAULTS = Faults(
    latency_ms=5,
    jitter_ms=40,  # spikes
    error_rate=0.1,
    rate_limit_per_s=150,
    rate_limit_burst=20,
    retry_after_s=0.2,
    seed=7,
)


@pytest.mark.slow
def test_twenty_tenants_through_faults_complete_converge_and_never_duplicate(
    tmp_path: Path, db_url: str
) -> None:
    specs = tenant_copies(tmp_path / "specs", 20)

    async def scenario(url: str, key: str) -> list[int]:
        failures: list[int] = []
        with StateStore.open(db_url) as store:
            async with ConnectorClient(url, key, backoff=0.05) as client:
                for _ in range(3):
                    plan = await plan_tenants(load_path(specs), store=store, client=client)
                    if not plan.failed and not any(t.actionable for t in plan.tenants):
                        break
                    results = await apply_plan(plan, store=store, client=client, actor="t")
                    failures.append(sum(len(r.failed) + bool(r.error) for r in results))
                assert await converged(specs, store, client)
                assert await remote_problems(specs, store, client) == []
                assert store.open_intents() == []
        return failures

    with running_emulator(api_key="k", faults=FAULTS) as emu:
        failures = asyncio.run(scenario(emu.url, "k"))
    print(f"step failures per apply round: {failures}")
    assert failures, "nothing was applied"
    assert len(failures) <= 2, f"step failures per apply: {failures}"
