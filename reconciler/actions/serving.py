"""Testing a deployed agent: wait for its serving endpoint to be READY, then invoke it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reconciler.actions.targets import Target
from reconciler.errors import ActionError

if TYPE_CHECKING:
    from reconciler.mcp.client import ConnectorClient

POLL_FIRST, POLL_LONGEST = 0.2, 3.0


@dataclass(frozen=True)
class EndpointStatus:
    """Whether the endpoint serves, and what it is doing if it does not."""

    name: str
    ready: bool
    config_update: str  # NOT_UPDATING, IN_PROGRESS, UPDATE_FAILED
    message: str  # the served entities' deployment messages
    entities: tuple[str, ...]  # entity_name@version

    @property
    def state(self) -> str:
        return "READY" if self.ready else "NOT_READY"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "config_update": self.config_update,
            "message": self.message,
            "entities": list(self.entities),
        }


@dataclass(frozen=True)
class Invocation:
    """The endpoint's answer."""

    endpoint: str
    predictions: list[Any]
    answer: Mapping[str, Any]
    waited_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "waited_s": round(self.waited_s, 3), **self.answer}


async def endpoint_status(client: ConnectorClient, target: Target) -> EndpointStatus:
    """The endpoint as the connector reports it now."""
    _expect(target)
    raw = await client.get(
        f"/databricks/serving-endpoints/{target.identity}",
        params={"tenant_id": target.tenant.tenant_id},
    )
    return _status(target.identity, raw)


def _status(name: str, raw: Mapping[str, Any]) -> EndpointStatus:
    state = raw.get("state") or {}
    entities = (raw.get("pending_config") or raw.get("config") or {}).get("served_entities") or []
    messages = [
        str((e.get("state") or {}).get("deployment_state_message") or "")
        for e in entities
        if isinstance(e, Mapping)
    ]
    return EndpointStatus(
        name=name,
        ready=state.get("ready") == "READY",
        config_update=str(state.get("config_update") or "NOT_UPDATING"),
        message="; ".join(m for m in messages if m),
        entities=tuple(
            f"{e.get('entity_name')}@{e.get('entity_version')}"
            for e in entities
            if isinstance(e, Mapping)
        ),
    )


async def wait_ready(
    client: ConnectorClient,
    target: Target,
    *,
    timeout: float,
    on_progress: Callable[[EndpointStatus], None] | None = None,
) -> EndpointStatus:
    """Poll until the endpoint is READY; ``on_progress`` sees each status while waiting."""
    deadline = time.monotonic() + timeout
    interval = POLL_FIRST
    while True:
        status = await endpoint_status(client, target)
        if status.ready:
            return status
        if status.config_update == "UPDATE_FAILED":
            raise ActionError(
                f"serving endpoint {target.name} failed to deploy: {status.message or 'UPDATE_FAILED'}",
                hint="fix its document and run `reconciler apply`",
            )
        if on_progress:
            on_progress(status)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ActionError(
                f"serving endpoint {target.name} was not READY after {timeout:g} s "
                f"({status.config_update.lower().replace('_', ' ')})",
                hint="try again later or give a longer --timeout",
            )
        await asyncio.sleep(min(interval, remaining))
        interval = min(interval * 1.5, POLL_LONGEST)


async def invoke(
    client: ConnectorClient,
    target: Target,
    payload: Any,
    *,
    timeout: float = 600.0,
    on_progress: Callable[[EndpointStatus], None] | None = None,
) -> Invocation:
    """Wait for READY (at most ``timeout`` seconds), then send ``payload`` as the input."""
    started = time.monotonic()
    await wait_ready(client, target, timeout=timeout, on_progress=on_progress)
    waited = time.monotonic() - started
    answer = await client.post(
        f"/databricks/serving-endpoints/{target.identity}/invoke",
        json={"tenant_id": target.tenant.tenant_id, "input": payload},
    )
    answer = answer if isinstance(answer, Mapping) else {"predictions": answer}
    predictions = answer.get("predictions")
    return Invocation(
        endpoint=target.name,
        predictions=list(predictions) if isinstance(predictions, list) else [predictions],
        answer=dict(answer),
        waited_s=waited,
    )


def _expect(target: Target) -> None:
    if target.kind != "ServingEndpoint":
        raise ActionError(f"{target.describe()} is a {target.kind}, not a serving endpoint")
