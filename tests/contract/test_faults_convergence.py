"""Observe + apply of the examples converges over a bad network, without duplicates.

The emulator answers 10 % of calls with 500/503, rate-limits bursts with 429 +
Retry-After, adds latency with spikes, and cuts 8 % of connections *after*
doing the work. The reconciler plans and applies the examples round after
round until a plan is empty. Then, with the faults off, every kind holds each
name once (creates were retried with their Idempotency-Key, never doubled)
and every remote object is one the state store knows.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from reconciler.emulator.app import apply_faults
from reconciler.emulator.faults import Faults
from reconciler.emulator.server import running_emulator
from reconciler.load import load_path
from reconciler.mcp.client import ConnectorClient
from reconciler.reconcile import apply_plan, observe_tenant, plan_tenants
from reconciler.state import StateStore

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
KEY = "faulty-key"
ROUNDS = 8
FAULTS = Faults(
    latency_ms=2,
    jitter_ms=30,
    error_rate=0.1,
    rate_limit_per_s=40,
    rate_limit_burst=4,
    drop_rate=0.08,
    retry_after_s=0.05,
    seed=20240611,
)


async def _converge(tenants, store: StateStore, client: ConnectorClient) -> int:  # type: ignore[no-untyped-def]
    """Plan and apply until a plan is empty; the number of rounds it took."""
    for round_number in range(1, ROUNDS + 1):
        plan = await plan_tenants(tenants, store=store, client=client)
        if plan.failed:
            continue  # observe failed after its retries: plan again
        if not plan.has_changes:
            return round_number
        await apply_plan(plan, store=store, client=client, actor="faults-test")
    raise AssertionError(f"the examples did not converge within {ROUNDS} rounds")


async def test_examples_converge_under_faults_without_duplicates(tmp_path: Path) -> None:
    tenants = load_path(EXAMPLES)
    store = StateStore.open(f"sqlite:///{tmp_path}/state.db")
    with running_emulator(api_key=KEY, ready_delay=0.1, faults=FAULTS) as emulator:
        async with ConnectorClient(
            emulator.url, KEY, backoff=0.02, max_backoff=0.3, max_retries=8
        ) as client:
            rounds = await _converge(tenants, store, client)
            apply_faults(emulator.app, Faults())
            for tenant in tenants:
                observed = await observe_tenant(client, tenant.context)
                names = Counter((o.kind, o.identity) for o in observed)
                assert [k for k, n in names.items() if n > 1] == [], "duplicate objects"
                recorded = {
                    (r.key.kind, r.identity)
                    for r in store.read_tenant(tenant.context.name).resources.values()
                }
                assert set(names) <= recorded, "objects the state store does not know"
                assert len(recorded) == len(tenant.resources)
        injected = emulator.app.state.faults.injected
    store.close()
    assert rounds >= 2
    assert injected.get("429") and injected.get("drop"), injected
    assert injected.get("500", 0) + injected.get("503", 0) > 0, injected
