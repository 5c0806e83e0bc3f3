"""One retry layer: against a connector that always fails, one observe costs one client's retries.

Before, the client (5 retries), ``observe`` (3 tries per kind) and apply (3 tries
per step) multiplied: one ``observe_tenant`` against an always-503 connector
sent about 100 requests. Now only the client retries, and the first kind that
gives up cancels the other kinds' listings.
"""

from __future__ import annotations

import pytest

from reconciler.emulator.faults import Faults
from reconciler.emulator.server import running_emulator
from reconciler.errors import ServerError
from reconciler.kinds import KINDS
from reconciler.kinds.base import TenantContext
from reconciler.mcp.client import ConnectorClient
from reconciler.reconcile import observe_tenant

RETRIES = 3


async def test_observe_against_an_always_failing_connector_is_one_retry_layer() -> None:
    faults = Faults(error_rate=1.0, retry_after_s=0.01, seed=1)
    context = TenantContext(name="acme", tenant_id="acme", catalog="agentprovision_acme")
    with running_emulator(api_key="k", faults=faults) as emulator:
        async with ConnectorClient(
            emulator.url, "k", max_retries=RETRIES, backoff=0.01, max_backoff=0.05
        ) as client:
            with pytest.raises(ServerError):
                await observe_tenant(client, context)
        injected = sum(emulator.app.state.faults.injected.values())
    assert 1 + RETRIES <= injected <= len(KINDS) * (1 + RETRIES), injected
