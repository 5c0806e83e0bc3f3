"""Small helpers the emulator tests share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

TENANT = "tenant-a"
OTHER = "tenant-b"
CATALOG = "cat_a"
OTHER_CATALOG = "cat_b"


def ok(response: httpx.Response, status: int = 200) -> Any:
    """The JSON body of ``response`` after checking its status."""
    assert response.status_code == status, (response.status_code, response.text)
    return response.json() if response.content else None


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Check that ``response`` is a problem document with ``status`` and ``code``."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["request_id"] == response.headers["x-request-id"]
    assert body["detail"]
    return body


def make_catalog(client: httpx.Client, tenant: str = TENANT, name: str = CATALOG) -> Any:
    body = {"tenant_id": tenant, "catalog_name": name, "managed_by": "agentprovision-reconciler"}
    return ok(client.post("/databricks/catalogs", json=body), 201)


def make_notebook(client: httpx.Client, name: str = "etl", tenant: str = TENANT) -> Any:
    body = {"tenant_id": tenant, "name": name, "language": "python", "content": "print('hi')"}
    return ok(client.post("/databricks/notebooks", json=body), 201)


def collect_pages(
    client: httpx.Client, path: str, items_key: str, page_size: int, **params: Any
) -> tuple[list[Any], int]:
    """Every item of a paged list, and how many pages it took."""
    items: list[Any] = []
    token: str | None = None
    pages = 0
    while True:
        query = {**params, "page_size": page_size}
        if token:
            query["page_token"] = token
        body = ok(client.get(path, params=query))
        pages += 1
        assert len(body[items_key]) <= page_size
        items.extend(body[items_key])
        token = body["next_page_token"]
        if token is None:
            return items, pages


def wait_for(check: Callable[[], bool], timeout: float = 3.0) -> None:
    """Poll ``check`` until it holds (short sleeps), or fail."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")
