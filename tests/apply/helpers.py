"""Multi-tenant spec folders and checks of what the emulator and the state hold."""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from pathlib import Path

import httpx

from reconciler.emulator.server import RunningEmulator
from reconciler.kinds.base import ObservedResource
from reconciler.load import load_path
from reconciler.mcp.client import ConnectorClient
from reconciler.plan import PlanOptions
from reconciler.reconcile import observe_tenant, plan_tenants
from reconciler.state import StateStore

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def tenant_copies(target: Path, count: int, *, tag: str = "") -> Path:
    """``count`` tenants (copies of acme and globex, renamed ``acme<tag><i>``) under ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        source = ("acme", "globex")[i % 2]
        name = f"{source}{tag}{i}"
        folder = target / name
        shutil.copytree(EXAMPLES / source, folder)
        for path in folder.rglob("*.yaml"):
            path.write_text(path.read_text().replace(source, name))
    return target


async def converged(specs: Path, store: StateStore, client: ConnectorClient) -> bool:
    """True when planning the folder finds nothing to do."""
    plan = await plan_tenants(load_path(specs), store=store, client=client, options=PlanOptions())
    return not any(t.actionable for t in plan.tenants)


async def remote_problems(specs: Path, store: StateStore, client: ConnectorClient) -> list[str]:
    """Duplicates in the emulator, and managed objects the state does not know."""
    problems: list[str] = []
    for tenant in load_path(specs):
        observed = await observe_tenant(client, tenant.context)
        problems += _duplicates(observed)
        known = {
            (r.key.kind, r.remote_id)
            for r in store.read_tenant(tenant.context.name).resources.values()
        }
        problems += [
            f"{o.kind} {o.identity} ({o.remote_id}) is not in state"
            for o in observed
            if o.managed and (o.kind, o.remote_id) not in known
        ]
    return problems


def _duplicates(observed: list[ObservedResource]) -> list[str]:
    counts = Counter((o.kind, o.identity) for o in observed)
    return [
        f"{kind} {identity} exists {n} times" for (kind, identity), n in counts.items() if n > 1
    ]


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def emulator_requests(emulator: RunningEmulator) -> Counter[str]:
    """Requests the emulator has served, by ``METHOD /route``."""
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    reply = httpx.get(emulator.url + "/_emulator/counters", headers=headers, timeout=5)
    return Counter(reply.json()["requests"])


def emulator_writes(emulator: RunningEmulator) -> int:
    """Calls that change something (POST, PUT, PATCH, DELETE) the emulator has served."""
    writes = ("POST", "PUT", "PATCH", "DELETE")
    return sum(n for route, n in emulator_requests(emulator).items() if route.split()[0] in writes)
