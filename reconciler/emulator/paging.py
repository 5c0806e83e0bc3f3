"""Pagination shared by every list call.

Lists take ``page_size`` (default 50, 1..500) and an opaque ``page_token``;
they answer ``next_page_token`` (``None`` on the last page). Items are ordered
by creation sequence and read through the store's per-tenant index, so a page
costs O(page size) whatever the workspace holds. A token remembers the
sequence number of the last item served plus the list it belongs to, so deleting objects between two
pages neither skips nor repeats anything. A token the emulator did not issue
for this list is a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import Depends, Query, Response

from reconciler.emulator.common import check_tenant
from reconciler.emulator.errors import invalid
from reconciler.emulator.store import Record, Store

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class Page:
    """The paging parameters of one list request."""

    size: int
    token: str | None


async def page_params(
    page_size: int = Query(DEFAULT_PAGE_SIZE),
    page_token: str | None = Query(None),
) -> Page:
    """FastAPI dependency reading and checking ``page_size`` / ``page_token``."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise invalid(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
    return Page(size=page_size, token=page_token or None)


PageDep = Annotated[Page, Depends(page_params)]
"""Route parameter type: the checked paging parameters."""


def _encode(listing: str, after: int) -> str:
    raw = json.dumps({"l": listing, "a": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(listing: str, token: str) -> int:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if data["l"] != listing or not isinstance(data["a"], int):
            raise ValueError("token of another list")
        return int(data["a"])
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise invalid("page_token is not valid for this list") from None


def paginate_owned(
    store: Store,
    collection: str,
    tenant_id: str,
    page: Page,
    render: Callable[[Record], dict[str, Any]],
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the tenant's objects in ``collection``, read through the store's
    per-tenant index: the cost is one page, whatever the size of the workspace.
    A malformed ``tenant_id`` is a 400."""
    check_tenant(tenant_id)
    listing = f"{collection}:{tenant_id}"
    after = _decode(listing, page.token) if page.token else 0
    with store.lock:
        chosen, more = store.owned_page(collection, tenant_id, after, page.size)
        token = _encode(listing, chosen[-1]["_seq"]) if more and chosen else None
        return [render(r) for r in chosen], token


def page_response(key: str, items: list[dict[str, Any]], token: str | None) -> Response:
    """A list page as JSON, encoded in one call: FastAPI's own encoding of a large
    page (validation of the return value, then ``jsonable_encoder``) costs the
    emulator more CPU than everything else it does for the page."""
    body = orjson.dumps({key: items, "next_page_token": token})
    return Response(content=body, media_type="application/json")
