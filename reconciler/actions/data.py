"""Reading data: query a dataset (read-only SQL), search a vector index, describe both.

Only read-only statements are sent: one ``SELECT`` (or ``WITH ... SELECT``)
without statements that write, checked here before the connector (which
checks again) sees it. Results are tables: column names and rows of values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reconciler.actions.targets import Target
from reconciler.errors import ActionError, ConnectorError

if TYPE_CHECKING:
    from reconciler.mcp.client import ConnectorClient

DEFAULT_LIMIT = 20
MAX_LIMIT = 10_000
WRITES = frozenset(
    [
        "insert",
        "update",
        "delete",
        "merge",
        "drop",
        "alter",
        "create",
        "truncate",
        "grant",
        "revoke",
        "copy",
        "vacuum",
        "optimize",
        "restore",
        "msck",
        "refresh",
        "cache",
        "uncache",
        "call",
    ]
)
_LITERALS = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`|--[^\n]*|/\*.*?\*/", re.S)
_WORD = re.compile(r"[A-Za-z_]+")


@dataclass(frozen=True)
class Table:
    """A result: column names and rows, in order."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    truncated: bool = False  # more rows came back than the limit shows

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=False)) for row in self.rows]


@dataclass(frozen=True)
class QueryResult:
    dataset: str
    sql: str
    table: Table
    execution_time_ms: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "sql": self.sql,
            "columns": list(self.table.columns),
            "rows": self.table.records(),
            "row_count": len(self.table.rows),
            "truncated": self.table.truncated,
            "execution_time_ms": self.execution_time_ms,
        }


@dataclass(frozen=True)
class SearchResult:
    index: str
    query: str  # the text, or "vector of N numbers"
    table: Table

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "query": self.query,
            "columns": list(self.table.columns),
            "rows": self.table.records(),
            "row_count": len(self.table.rows),
        }


def check_read_only(sql: str) -> str:
    """``sql`` without a trailing ``;`` if it is one read-only statement, else ActionError."""
    statement = sql.strip().rstrip(";").strip()
    bare = _LITERALS.sub(" ", statement)
    words = [w.lower() for w in _WORD.findall(bare)]
    if not words or words[0] not in ("select", "with"):
        raise ActionError(
            "only read-only queries can be run: start with SELECT (or WITH ... SELECT)",
            hint="change data through the documents and `reconciler apply`",
        )
    if ";" in bare:
        raise ActionError("one statement at a time, please", hint="remove the ';' in the middle")
    writes = sorted(set(words) & WRITES)
    if writes:
        raise ActionError(
            f"only read-only queries can be run; this one has {', '.join(w.upper() for w in writes)}",
            hint="change data through the documents and `reconciler apply`",
        )
    return statement


def default_sql(target: Target, limit: int) -> str:
    """``SELECT * FROM schema.table LIMIT n`` for the dataset ``target``."""
    return f"SELECT * FROM {_dataset_name(target)} LIMIT {limit}"


async def query(
    client: ConnectorClient, target: Target, sql: str | None = None, *, limit: int = DEFAULT_LIMIT
) -> QueryResult:
    """Run one read-only statement over the dataset (default: its first ``limit`` rows)."""
    _expect(target, "Dataset")
    limit = _check_limit(limit)
    statement = check_read_only(sql) if sql else default_sql(target, limit)
    body = {
        "tenant_id": target.tenant.tenant_id,
        "dataset_name": _dataset_name(target),
        "sql": statement,
    }
    try:
        raw = await client.post("/databricks/datasets/query", json=body)
    except ConnectorError as exc:
        raise _one_line("query", target, exc) from exc
    columns = tuple(str(c) for c in raw.get("columns") or ())
    rows = [
        tuple(r.get(c) for c in columns) if isinstance(r, Mapping) else tuple(r)
        for r in raw.get("rows") or ()
    ]
    table = Table(columns, tuple(rows[:limit]), truncated=len(rows) > limit)
    return QueryResult(target.name, statement, table, raw.get("execution_time_ms"))


async def search(
    client: ConnectorClient,
    target: Target,
    *,
    text: str | None = None,
    vector: Sequence[float] | None = None,
    k: int = 5,
    columns: Sequence[str] | None = None,
) -> SearchResult:
    """The ``k`` nearest rows of the index to ``text`` or ``vector`` (exactly one of them)."""
    _expect(target, "VectorIndex")
    if (text is None) == (vector is None):
        raise ActionError("search needs exactly one of a text or a vector")
    if not 1 <= k <= MAX_LIMIT:
        raise ActionError(f"k must be between 1 and {MAX_LIMIT}, not {k}")
    body: dict[str, Any] = {"tenant_id": target.tenant.tenant_id, "num_results": k}
    if text is not None:
        body["query_text"] = text
    else:
        body["query_vector"] = [float(v) for v in vector or ()]
    if columns:
        body["columns"] = list(columns)
    try:
        raw = await client.post(f"/databricks/vector-indexes/{target.identity}/search", json=body)
    except ConnectorError as exc:
        raise _one_line("search", target, exc) from exc
    names = tuple(str(c.get("name")) for c in (raw.get("manifest") or {}).get("columns") or ())
    data = (raw.get("result") or {}).get("data_array") or []
    query_text = text if text is not None else f"vector of {len(body['query_vector'])} numbers"
    return SearchResult(target.name, query_text, Table(names, tuple(tuple(r) for r in data)))


async def dataset_info(client: ConnectorClient, target: Target) -> dict[str, Any]:
    """The dataset as the connector reports it: columns, row count, table path, version."""
    _expect(target, "Dataset")
    raw: dict[str, Any] = await client.get(
        f"/databricks/datasets/{target.tenant.tenant_id}/{_dataset_name(target)}"
    )
    return raw


async def index_info(client: ConnectorClient, target: Target) -> dict[str, Any]:
    """The index as the connector reports it: status (ready, indexed rows), source, columns."""
    _expect(target, "VectorIndex")
    raw: dict[str, Any] = await client.get(
        f"/databricks/vector-indexes/{target.identity}",
        params={"tenant_id": target.tenant.tenant_id},
    )
    return raw


def parse_vector(text: str) -> list[float]:
    """A JSON array of numbers (or ``{"vector": [...]}``) as a list of floats."""
    import json

    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ActionError(f"the vector is not JSON: {exc}", hint="write [0.1, 0.2, ...]") from None
    if isinstance(value, Mapping):
        value = value.get("vector") or value.get("query_vector")
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise ActionError("the vector must be a non-empty JSON array of numbers", hint="[0.1, 0.2]")
    return [float(v) for v in value]


def _dataset_name(target: Target) -> str:
    """``catalog.schema.table`` → the connector's ``schema.table``."""
    parts = target.identity.split(".")
    return ".".join(parts[1:]) if len(parts) == 3 else target.identity


def _check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise ActionError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    return limit


def _one_line(verb: str, target: Target, exc: ConnectorError) -> ActionError:
    """The connector's refusal as one line naming the resource."""
    detail = exc.message.split(": ", 1)[-1] if ": " in exc.message else exc.message
    return ActionError(f"{verb} of {target.describe()} refused: {detail}", hint=exc.hint)


def _expect(target: Target, kind: str) -> None:
    if target.kind != kind:
        raise ActionError(f"{target.describe()} is a {target.kind}, not a {kind}")
