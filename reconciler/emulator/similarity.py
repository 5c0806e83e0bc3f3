"""Similarity search over an index's source rows: exact nearest neighbours.

Databricks Vector Search ranks by L2 distance and answers the score
``1 / (1 + d²)`` (1.0 for an exact match, falling towards 0), highest first;
the emulator computes the same exactly, over every row (no approximation).

- An index over precomputed vectors (``embedding_vector_columns``) takes a
  ``query_vector`` of the column's dimension; rows without a vector of that
  dimension are not indexed.
- An index whose text is embedded by a model (``embedding_source_columns``)
  takes ``query_text``. The emulator has no model: it embeds text with a
  deterministic hashed bag of words (:func:`embed_text`, unit length), so
  the row holding the query's words ranks first.

``filters`` (an object, or ``filters_json`` holding one) keep the rows
matching every entry: ``{"col": v}`` (equal), ``{"col": [a, b]}`` (one of),
``{"col NOT": v}``, ``{"col <": v}`` (also ``<=``, ``>``, ``>=``) and
``{"col LIKE": "text"}`` (contains), as Databricks' filter syntax reads.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reconciler.emulator.errors import invalid

TEXT_DIMENSION = 512
WORD = re.compile(r"\w+")
Row = dict[str, Any]
Filter = Callable[[Row], bool]


def embed_text(text: str, dimension: int = TEXT_DIMENSION) -> list[float]:
    """A unit-length hashed bag of words (lower-cased ``\\w+`` tokens, signed buckets)."""
    vector = [0.0] * dimension
    for word in WORD.findall(text.lower()):
        digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
        bucket = int.from_bytes(digest[:4], "big") % dimension
        vector[bucket] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector] if norm else vector


def score(query: Sequence[float], vector: Sequence[float]) -> float:
    """Databricks' similarity score: ``1 / (1 + squared L2 distance)``."""
    distance = sum((a - b) ** 2 for a, b in zip(query, vector, strict=True))
    return 1.0 / (1.0 + distance)


Query = tuple[list[float], Callable[[Row], list[float] | None]]


def prepare(spec: Mapping[str, Any], vector: Any, text: str | None) -> Query:
    """The query vector and a function giving a row's vector (or None), or a 400."""
    if (vector is None) == (text is None):
        raise invalid("give exactly one of query_vector and query_text")
    vectors = spec.get("embedding_vector_columns") or []
    sources = spec.get("embedding_source_columns") or []
    if text is not None:
        if not sources:
            raise invalid("query_text needs an index with embedding_source_columns")
        text_column = sources[0]["name"]

        def text_vector(row: Row) -> list[float] | None:
            value = row.get(text_column)
            return embed_text(value) if isinstance(value, str) else None

        return embed_text(text), text_vector
    if not vectors:
        raise invalid("query_vector needs an index with embedding_vector_columns")
    column, dimension = vectors[0]["name"], vectors[0]["embedding_dimension"]
    if len(vector) != dimension:
        raise invalid(f"query_vector has {len(vector)} dimensions; the index has {dimension}")

    def row_vector(row: Row) -> list[float] | None:
        value = row.get(column)
        return value if isinstance(value, list) and len(value) == dimension else None

    return list(vector), row_vector


def search(
    prepared: Query, rows: list[Row], filters: list[Filter], num_results: int
) -> list[tuple[Row, float]]:
    """The ``num_results`` rows nearest the query, with their scores, best first."""
    query, row_vector = prepared
    scored = []
    for position, row in enumerate(rows):
        if not all(keep(row) for keep in filters):
            continue
        vector = row_vector(row)
        if vector is not None:
            scored.append((-score(query, vector), position, row))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [(row, -negative) for negative, _, row in scored[:num_results]]


# ---- filters ----------------------------------------------------------------------------

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _one(column: str, operator: str, wanted: Any) -> Filter:
    options = wanted if isinstance(wanted, list) else [wanted]
    if operator == "":
        return lambda row: row.get(column) in options
    if operator in ("NOT", "!="):
        return lambda row: row.get(column) not in options
    if operator == "LIKE":
        return lambda row: isinstance(row.get(column), str) and str(wanted) in row[column]
    compare = _COMPARE[operator]

    def keep(row: Row) -> bool:
        value = row.get(column)
        try:
            return value is not None and compare(value, wanted)
        except TypeError:
            return False

    return keep


def parse_filters(
    filters: Mapping[str, Any] | None, filters_json: str | None, columns: list[str]
) -> list[Filter]:
    """The row tests of a search's ``filters`` / ``filters_json``, or a 400."""
    if filters is not None and filters_json is not None:
        raise invalid("give filters or filters_json, not both")
    if filters_json is not None:
        try:
            filters = json.loads(filters_json)
        except json.JSONDecodeError as exc:
            raise invalid(f"filters_json is not JSON: {exc.msg}") from None
        if not isinstance(filters, dict):
            raise invalid("filters_json must hold a JSON object")
    result = []
    for key, wanted in (filters or {}).items():
        column, _, operator = key.strip().partition(" ")
        operator = operator.strip().upper()
        if column not in columns:
            raise invalid(f"filter {key!r} names no column of the index")
        if operator not in ("", "NOT", "!=", "LIKE", *_COMPARE):
            raise invalid(f"filter {key!r}: the operator must be NOT, <, <=, >, >= or LIKE")
        result.append(_one(column, operator, wanted))
    return result
