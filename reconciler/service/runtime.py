"""The running service: state store, connector client, source, controller and scheduler.

:func:`start_runtime` opens everything and does the first fetch (a source
that cannot be fetched yet is reported and retried on the poll interval);
:meth:`Runtime.stop` is the graceful shutdown: no new work, running
reconciles get the grace period, leases are released (each reconcile
releases its own), connections are closed.

Routers reach it through :func:`runtime_of` (``Depends(runtime_of)``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request

from reconciler.config import Settings
from reconciler.errors import ReconcilerError
from reconciler.mcp.client import ConnectorClient
from reconciler.service.breaker import CircuitBreaker
from reconciler.service.config import ServiceConfig
from reconciler.service.controller import Controller
from reconciler.service.replicas import ReplicaMarker
from reconciler.service.scheduler import Scheduler
from reconciler.service.source import Source, open_source
from reconciler.state import StateStore

log = logging.getLogger("reconciler.service")


@dataclass
class Runtime:
    config: ServiceConfig
    settings: Settings
    store: StateStore
    client: ConnectorClient
    breaker: CircuitBreaker
    source: Source
    controller: Controller
    scheduler: Scheduler
    replicas: ReplicaMarker | None = None

    async def stop(self) -> None:
        await self.scheduler.stop(self.config.grace)
        await self.client.aclose()
        if self.replicas is not None:
            self.replicas.release()
        self.store.close()


async def start_runtime(config: ServiceConfig, settings: Settings) -> Runtime:
    url, key = settings.connector()
    source = open_source(
        config.source, branch=config.branch, subdir=config.subdir, workdir=Path(config.workdir)
    )
    store = StateStore.open(settings.database_url)
    replicas = ReplicaMarker(store, config.replica)
    breaker = CircuitBreaker(
        cooldown=min(5.0, config.interval, config.circuit_max_wait),
        max_cooldown=config.circuit_max_wait,
    )
    client = ConnectorClient(url, key, breaker=breaker)
    controller = Controller(config, store, client, source, breaker)
    scheduler = Scheduler(controller)
    try:
        await controller.refresh()
    except ReconcilerError as exc:
        log.error(
            "the first fetch of %s failed (retried every interval): %s", source.description, exc
        )
    scheduler.start()
    return Runtime(
        config, settings, store, client, breaker, source, controller, scheduler, replicas
    )


def runtime_of(request: Request) -> Runtime:
    """The running service, for route handlers."""
    runtime: Runtime = request.app.state.runtime
    return runtime
