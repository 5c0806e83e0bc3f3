"""Pydantic validation errors rewritten as messages that say what to do.

Pydantic reports an error as a ``loc`` (a path through the *model*, which may
include union tags that never appear in the YAML) plus a terse message. The
loader needs a path through the *data* (to find its line) and a message a
person can act on: "unknown field `max_concurent_runs`; did you mean
`max_concurrent_runs`?", "expected one of python, sql, scala, r; got `pyhton`".
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from reconciler.document import NAME_PATTERN, NAME_RULE
from reconciler.yamlpos import FieldPath


@dataclass(frozen=True)
class Finding:
    """One validation error, located in the data and explained."""

    path: FieldPath  # path through the data, as written in the YAML
    message: str
    at_key: bool = False  # point at the key (unknown field) rather than the value


def did_you_mean(word: str, options: Sequence[str]) -> str:
    """``"; did you mean `x`?"`` when ``word`` looks like a typo of one option, else ``""``."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def dotted(path: FieldPath) -> str:
    """``("spec", "tasks", 0, "depends_on")`` → ``spec.tasks[0].depends_on``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def explain(error: Mapping[str, Any], model: type[BaseModel], data: Any) -> Finding:
    """Turn one entry of ``ValidationError.errors()`` into a located, actionable finding."""
    loc = tuple(error["loc"])
    path = data_path(loc, data)
    kind = error["type"]
    if kind == "extra_forbidden":
        field = str(loc[-1])
        allowed = fields_at(model, loc[:-1])
        hint = did_you_mean(field, allowed) or _allowed_hint(allowed)
        return Finding(path, f"unknown field `{field}`{hint}", at_key=True)
    if kind == "missing":
        field = str(loc[-1])
        return Finding((*path, field), f"missing required field `{field}`")
    return Finding(path, _message(kind, error))


def data_path(loc: FieldPath, data: Any) -> FieldPath:
    """Follow ``loc`` through ``data``, skipping segments that are union tags, not fields."""
    path: list[str | int] = []
    current = data
    for segment in loc:
        if _has(current, segment):
            current = current[segment]
            path.append(segment)
        # otherwise the segment is not in the data: a union tag or a validator's name
    return tuple(path)


def _has(container: Any, segment: str | int) -> bool:
    if isinstance(container, Mapping):
        return segment in container
    return isinstance(container, list) and isinstance(segment, int) and segment < len(container)


def _allowed_hint(allowed: Sequence[str]) -> str:
    return f"; expected one of {', '.join(sorted(allowed))}" if allowed else ""


_TEMPLATES = {
    "int_parsing": "expected an integer",
    "int_type": "expected an integer",
    "int_from_float": "expected a whole number",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": "expected a string",
    "dict_type": "expected a mapping of `key: value` lines",
    "model_type": "expected a mapping of `key: value` lines",
    "model_attributes_type": "expected a mapping of `key: value` lines",
    "list_type": "expected a list (`- item` lines or `[a, b]`)",
    "tuple_type": "expected a list (`- item` lines or `[a, b]`)",
}


def _message(kind: str, error: Mapping[str, Any]) -> str:
    """The human message for every error type except unknown and missing fields."""
    value = error.get("input")
    got = _got(value)
    ctx = error.get("ctx") or {}
    if kind in ("literal_error", "enum"):
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        if len(options) == 1:
            return f"expected `{options[0]}`{got}"
        hint = did_you_mean(value, options) if isinstance(value, str) else ""
        return f"expected one of {', '.join(options)}{got}{hint}"
    if kind == "union_tag_invalid":
        tags = str(ctx.get("expected_tags", ""))
        return f"unknown `{ctx.get('discriminator', 'type')}` {ctx.get('tag')!r}; expected one of {tags}"
    if kind == "string_pattern_mismatch":
        if ctx.get("pattern") == NAME_PATTERN:
            return f"invalid name{got}: {NAME_RULE}"
        return f"does not match the pattern `{ctx.get('pattern')}`{got}"
    if kind in _TEMPLATES:
        return f"{_TEMPLATES[kind]}{got}"
    message = str(error.get("msg", "invalid value"))
    if kind in ("value_error", "assertion_error"):  # our own validators word these fully
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        got = ""
    return f"{message[:1].lower()}{message[1:]}{got}"


def _got(value: Any) -> str:
    """``"; got `x`"`` for short scalar inputs (mappings and lists are not echoed)."""
    if isinstance(value, Mapping | list) or value is None:
        return ""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return f"; got `{text}`" if len(text) <= 60 else f"; got `{text[:57]}...`"


def fields_at(model: type[BaseModel], loc: FieldPath) -> list[str]:
    """The field names (as written in YAML) the model accepts at ``loc``."""
    current: list[Any] = [model]
    for segment in loc:
        stepped = [inner for tp in current for inner in _step(tp, segment)]
        current = stepped or current  # a union tag: stay on the same types
    names: set[str] = set()
    for tp in current:
        for member in _members(tp):
            if isinstance(member, type) and issubclass(member, BaseModel):
                names.update(f.alias or n for n, f in member.model_fields.items())
    return sorted(names)


def _step(tp: Any, segment: str | int) -> list[Any]:
    """The types found one step below ``tp`` along ``segment``."""
    found: list[Any] = []
    for member in _members(tp):
        origin = get_origin(member)
        if isinstance(member, type) and issubclass(member, BaseModel):
            if member.__name__ == segment:
                found.append(member)
            for name, info in member.model_fields.items():
                if segment in (name, info.alias):
                    found.append(info.annotation)
        elif isinstance(segment, int) and origin in (list, tuple, set, frozenset, Sequence):
            found.extend(get_args(member)[:1])
        elif isinstance(segment, str) and origin in (dict, Mapping):
            found.extend(get_args(member)[1:2])
    return found


def _members(tp: Any) -> list[Any]:
    """``tp`` with ``Annotated`` peeled and unions spread into their members."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _members(get_args(tp)[0])
    if origin is Union or origin is types.UnionType:
        return [m for arg in get_args(tp) for m in _members(arg)]
    return [tp]
