"""Fault injection: latency, 5xx, 429 bursts, dropped connections; set at start or at runtime."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from reconciler.emulator.faults import Faults, format_seconds, parse_rate
from reconciler.emulator.server import RunningEmulator, running_emulator
from tests.emulator.helpers import TENANT, assert_problem, ok

AUTH = {"Authorization": "Bearer test-key"}


def set_faults(client: httpx.Client, **values: object) -> dict:
    return ok(client.post("/_emulator/faults", json=values, headers=AUTH))


@pytest.fixture
def admin(emulator: RunningEmulator) -> httpx.Client:
    return httpx.Client(base_url=emulator.url, headers=AUTH, timeout=10)


def test_faults_are_shown_and_replaced_at_runtime(admin: httpx.Client) -> None:
    assert ok(admin.get("/_emulator/faults"))["error_rate"] == 0
    shown = set_faults(admin, latency_ms=5, error_rate=0.25, rate_limit_per_s=10)
    assert shown["latency_ms"] == 5 and shown["error_rate"] == 0.25
    assert ok(admin.get("/_emulator/faults"))["rate_limit_per_s"] == 10


@pytest.mark.parametrize(
    "body",
    [{"error_rate": 2}, {"latency_ms": -1}, {"bogus": 1}, {"rate_limit_per_s": 0}],
    ids=["rate-over-one", "negative-latency", "unknown-field", "zero-rate-limit"],
)
def test_bad_faults_are_400(admin: httpx.Client, body: dict) -> None:
    assert_problem(admin.post("/_emulator/faults", json=body), 400, "INVALID_ARGUMENT")


def test_admin_paths_need_the_key(emulator: RunningEmulator) -> None:
    response = httpx.get(emulator.url + "/_emulator/faults")
    assert response.status_code == 401


def test_errors_are_500_or_503_with_retry_after_and_health_is_exempt(
    admin: httpx.Client, emulator_client: httpx.Client
) -> None:
    set_faults(admin, error_rate=1, retry_after_s=2, seed=1)
    seen = set()
    for _ in range(20):
        response = emulator_client.get("/databricks/jobs", params={"tenant_id": TENANT})
        seen.add(response.status_code)
        if response.status_code == 503:
            assert response.headers["retry-after"] == "2"
            assert_problem(response, 503, "UNAVAILABLE")
    assert seen == {500, 503}
    assert emulator_client.get("/health").status_code == 200


def test_rate_limit_answers_a_burst_with_429_and_retry_after(
    admin: httpx.Client, emulator_client: httpx.Client
) -> None:
    set_faults(admin, rate_limit_per_s=2, rate_limit_burst=3)
    statuses = [
        emulator_client.get("/databricks/jobs", params={"tenant_id": TENANT}).status_code
        for _ in range(6)
    ]
    assert statuses[:3] == [200, 200, 200] and 429 in statuses[3:]
    refused = emulator_client.get("/databricks/jobs", params={"tenant_id": TENANT})
    assert_problem(refused, 429, "RATE_LIMITED")
    assert int(refused.headers["retry-after"]) >= 1


def test_dropped_connection_happens_after_the_work(
    admin: httpx.Client, emulator_client: httpx.Client
) -> None:
    set_faults(admin, drop_rate=1)
    body = {"tenant_id": TENANT, "catalog_name": "dropped"}
    with pytest.raises(httpx.TransportError):
        emulator_client.post("/databricks/catalogs", json=body)
    set_faults(admin)
    assert ok(emulator_client.get(f"/databricks/catalogs/{TENANT}"))["exists"] is True


def test_latency_is_applied_without_blocking_other_requests() -> None:
    with running_emulator(faults=Faults(latency_ms=1000)) as emulator:

        async def burst() -> float:
            async with httpx.AsyncClient(base_url=emulator.api_url, headers=AUTH) as c:
                started = time.perf_counter()
                await asyncio.gather(
                    *(c.get("/databricks/jobs", params={"tenant_id": TENANT}) for _ in range(16))
                )
                return time.perf_counter() - started

        elapsed = asyncio.run(burst())
    assert 1.0 <= elapsed < 6.0, "16 calls of 1 s each must overlap (in series: 16 s)"


def test_slow_ops_factor_stretches_long_running_operations(
    admin: httpx.Client, emulator_client: httpx.Client
) -> None:
    set_faults(admin, slow_ops_factor=50)  # ready delay 0.2 s → 10 s
    body = {"tenant_id": TENANT, "name": "slow", "model_name": "m", "model_version": "1"}
    ok(emulator_client.post("/databricks/serving-endpoints", json=body), 201)
    time.sleep(0.4)
    state = ok(emulator_client.get("/databricks/serving-endpoints/slow"))["state"]
    assert state == {"ready": "NOT_READY", "config_update": "IN_PROGRESS"}


@pytest.mark.parametrize(
    ("text", "per_second"), [("50/s", 50), ("50", 50), ("120/min", 2), ("0.5/s", 0.5)]
)
def test_parse_rate(text: str, per_second: float) -> None:
    assert parse_rate(text) == per_second


def test_retry_after_is_whole_seconds_unless_fractional() -> None:
    assert format_seconds(1.0) == "1" and format_seconds(0.05) == "0.05"
