"""Prometheus metrics of ``serve`` (the connector client adds ``mcp_requests_total`` and
``mcp_request_duration_seconds{operation}``).

==========================================  =============================================
reconciler_reconcile_duration_seconds       histogram per tenant: observe + plan + apply
reconciler_reconciles_total                 per tenant and outcome: ok, applied, error,
                                            busy (leased elsewhere), fresh (done by a
                                            replica already), suspended
reconciler_resources                        resources by sync and health status (all
                                            tenants, from the state database, at scrape)
reconciler_drift_resources                  per tenant: resources drifted at the last look
reconciler_drift_detected_total             per tenant: drifted resources found
reconciler_apply_steps_total                apply steps by outcome (ok, failed, skipped)
reconciler_git_fetch_timestamp_seconds      when the source was last fetched successfully
reconciler_git_fetch_age_seconds            seconds since then (at scrape)
reconciler_scheduler_lag_seconds            how late scheduled runs start
reconciler_connector_circuit_open           1 while the connector's circuit is open
==========================================  =============================================
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from prometheus_client import Counter, Gauge, Histogram

DURATION = Histogram(
    "reconciler_reconcile_duration_seconds",
    "Duration of one tenant's reconcile",
    ["tenant"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
RECONCILES = Counter("reconciler_reconciles_total", "Reconciles by outcome", ["tenant", "outcome"])
RESOURCES = Gauge("reconciler_resources", "Resources by sync and health", ["sync", "health"])
DRIFT = Gauge("reconciler_drift_resources", "Resources drifted at the last look", ["tenant"])
DRIFT_FOUND = Counter("reconciler_drift_detected_total", "Drifted resources found", ["tenant"])
STEPS = Counter("reconciler_apply_steps_total", "Apply steps by outcome", ["outcome"])
GIT_FETCHED = Gauge("reconciler_git_fetch_timestamp_seconds", "Last successful source fetch")
GIT_AGE = Gauge("reconciler_git_fetch_age_seconds", "Seconds since the last successful fetch")
LAG = Histogram(
    "reconciler_scheduler_lag_seconds",
    "How late scheduled runs start",
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60),
)
CIRCUIT = Gauge("reconciler_connector_circuit_open", "1 while the connector circuit is open")


def refresh_gauges(
    counts: Mapping[tuple[str, str], int], *, fetched_at: float | None, circuit_open: bool
) -> None:
    """Set the gauges read from outside the process' own work (at scrape time)."""
    RESOURCES.clear()
    for (sync, health), count in counts.items():
        RESOURCES.labels(sync, health).set(count)
    if fetched_at is not None:
        GIT_AGE.set(max(0.0, time.time() - fetched_at))
    CIRCUIT.set(1 if circuit_open else 0)
