"""Values no connector field can carry: NUL characters and integers beyond 64 bits.

Databricks stores numbers as signed 64-bit integers and paths and names as C
strings, so ``max_concurrent_runs: 9223372036854775808`` or a ``"\\0"`` inside a
workspace path would be cut, wrapped or refused half-way through an apply. Each
is found in the spec (after references and variables are substituted) and
reported at its field, before anything is sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from reconciler.yamlpos import FieldPath

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def text_problems(data: Any, path: FieldPath = ()) -> Iterator[tuple[FieldPath, str]]:
    """Strings under ``data`` that are no text at all: lone UTF-16 surrogates.

    YAML's ``"\\ud83d\\ude00"`` escapes give two surrogates, not one character;
    no file, terminal or request can carry them.
    """
    if isinstance(data, str):
        if _SURROGATE.search(data):
            yield (
                path,
                (
                    "holds a lone surrogate (a `\\uD800`-`\\uDFFF` escape); write the character "
                    "itself or a `\\U0001F600`-style escape"
                ),
            )
    elif isinstance(data, Mapping):
        for key, value in data.items():
            if isinstance(key, str) and _SURROGATE.search(key):  # not shown: it cannot be
                yield path, "a key holds a lone surrogate (a `\\uD800`-`\\uDFFF` escape)"
            else:
                yield from text_problems(value, (*path, key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from text_problems(item, (*path, index))


_SURROGATE = re.compile("[\ud800-\udfff]")


def value_problems(data: Any, path: FieldPath = ()) -> Iterator[tuple[FieldPath, str]]:
    """Every value under ``data`` that the connector cannot carry, with what to do about it."""
    if not _may_hold_bad_values(data):
        return
    yield from _value_problems(data, path)


def _may_hold_bad_values(data: Any) -> bool:
    """False when one JSON encoding (C code) shows ``data`` has no NUL and no integer beyond
    64 bits; True when the walk must look (the encoding failed, or a 19-digit run or an
    escaped NUL appears, perhaps only inside a string)."""
    try:
        blob = orjson.dumps(data)
    except (TypeError, ValueError):
        return True
    return b"\\u0000" in blob or _LONG_DIGITS.search(blob) is not None


_LONG_DIGITS = re.compile(rb"[0-9]{19}")


def _value_problems(data: Any, path: FieldPath) -> Iterator[tuple[FieldPath, str]]:
    if isinstance(data, bool):
        return
    if isinstance(data, int):
        if not INT64_MIN <= data <= INT64_MAX:
            yield (
                path,
                (
                    f"the number is beyond the 64-bit integer range ({INT64_MIN} to {INT64_MAX}); "
                    "use a smaller value"
                ),
            )
    elif isinstance(data, str):
        if "\x00" in data:
            yield path, "contains a NUL character (\\0); remove it"
    elif isinstance(data, Mapping):
        for key, value in data.items():
            if isinstance(key, str) and "\x00" in key:
                yield (*path, key), "the key contains a NUL character (\\0); remove it"
            yield from _value_problems(value, (*path, key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _value_problems(item, (*path, index))
