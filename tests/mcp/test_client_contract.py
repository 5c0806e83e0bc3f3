"""The client's contract features: If-Match, 412, operation names, logs, metrics, secrecy."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest
from prometheus_client import REGISTRY

from reconciler.errors import ConflictError, UnavailableError
from reconciler.mcp.client import ConnectorClient
from reconciler.mcp.operations import describe, template_of

KEY = "sk-very-secret"


def client(handler: Callable[[httpx.Request], httpx.Response], **kw: object) -> ConnectorClient:
    return ConnectorClient(
        "http://connector.test",
        KEY,
        transport=httpx.MockTransport(handler),
        backoff=0.001,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(("given", "sent"), [("abc", '"abc"'), ('"abc"', '"abc"'), ("*", "*")])
async def test_if_match_is_sent_quoted(given: str, sent: str) -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    async with client(handle) as c:
        await c.put("/databricks/notebooks/t", json={}, if_match=given)
    assert seen[0].headers["If-Match"] == sent


async def test_412_is_a_conflict_with_code_precondition_failed() -> None:
    async with client(lambda r: httpx.Response(412, json={"detail": "moved"})) as c:
        with pytest.raises(ConflictError) as info:
            await c.patch("/databricks/catalogs/t", json={}, if_match="x")
    assert info.value.code == "PRECONDITION_FAILED" and info.value.status == 412


async def test_retry_after_is_a_floor_for_the_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("reconciler.mcp.client.asyncio.sleep", fake_sleep)
    answers = iter(
        [httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, json={})]
    )
    async with client(lambda r: next(answers)) as c:
        await c.get("/databricks/jobs")
    assert slept == [2.0]


async def test_patch_is_retried_as_idempotent() -> None:
    answers = iter([httpx.Response(503), httpx.Response(200, json={"ok": True})])
    async with client(lambda r: next(answers)) as c:
        assert await c.patch("/databricks/catalogs/t", json={}) == {"ok": True}


async def test_one_structured_log_line_per_request_without_the_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="reconciler.mcp")
    async with client(lambda r: httpx.Response(200, json={})) as c:
        await c.get("/databricks/jobs/42", params={"tenant_id": "acme"})
    [record] = [r for r in caplog.records if r.name == "reconciler.mcp"]
    assert record.operation == "GET /databricks/jobs/{job_id}"  # type: ignore[attr-defined]
    assert record.tenant == "acme" and record.resource == "42"  # type: ignore[attr-defined]
    assert record.status == "200" and record.duration_ms >= 0  # type: ignore[attr-defined]
    assert KEY not in caplog.text


async def test_metrics_are_labelled_by_path_template() -> None:
    labels = {"operation": "GET /databricks/serving-endpoints/{name}", "status": "200"}
    before = REGISTRY.get_sample_value("mcp_requests_total", labels) or 0
    async with client(lambda r: httpx.Response(200, json={})) as c:
        await c.get("/databricks/serving-endpoints/a")
        await c.get("/databricks/serving-endpoints/b")
    assert REGISTRY.get_sample_value("mcp_requests_total", labels) == before + 2
    count = REGISTRY.get_sample_value(
        "mcp_request_duration_seconds_count",
        {"operation": "GET /databricks/serving-endpoints/{name}"},
    )
    assert count is not None and count >= 2


async def test_an_echoed_key_is_redacted_from_errors() -> None:
    body = {"detail": f"bad key {KEY}", "code": "INVALID_ARGUMENT"}
    async with client(lambda r: httpx.Response(400, json=body)) as c:
        with pytest.raises(Exception) as info:
            await c.get("/health")
    assert KEY not in str(info.value) and "***" in str(info.value)
    assert KEY not in repr(c)


async def test_timeouts_are_unavailable() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with client(handle, max_retries=1) as c:
        with pytest.raises(UnavailableError, match="timed out"):
            await c.get("/databricks/jobs")


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/databricks/datasets/upload", "/databricks/datasets/upload"),
        ("/databricks/datasets/acme/sales", "/databricks/datasets/{tenant_id}/{dataset_name}"),
        ("/databricks/notebooks/runs/7", "/databricks/notebooks/runs/{run_id}"),
        ("/databricks/notebooks/acme", "/databricks/notebooks/{tenant_id}"),
        ("/databricks/vector-indexes/c.s.i/search", "/databricks/vector-indexes/{name}/search"),
        ("/elsewhere", "/elsewhere"),
    ],
)
def test_paths_map_to_contract_templates(path: str, template: str) -> None:
    assert template_of(path)[0] == template


def test_describe_finds_tenant_and_resource_of_a_create() -> None:
    call = describe("POST", "/databricks/jobs", None, {"tenant_id": "acme", "name": "nightly"})
    assert (call.operation, call.tenant, call.resource) == (
        "POST /databricks/jobs",
        "acme",
        "nightly",
    )
