"""References between resources: ``${collection.name.attribute}``.

A string anywhere in a ``spec`` may name an attribute of another resource of
the same tenant — ``${notebooks.etl.path}``, ``${datasets.docs.table}`` —
either as the whole value or embedded in a longer string
(``"SELECT * FROM ${datasets.sales.table}"``). The collection is the plural
name of a kind (``tenants``, ``datasets``, ``notebooks``, ``jobs``,
``serving_endpoints``, ``vector_indexes``); the attributes are whatever that
kind's ``attributes()`` offers. Write ``$${`` for a literal ``${``.

Every reference is also a dependency: the referencing resource is created
after the one it names.

``${var.NAME}`` is a variable of the tenant (:mod:`reconciler.variables`); a
string that is one reference and nothing else stands for the value itself, so
a variable may fill a list, a mapping or a number. Databricks' own run-time
templates (``{{job.parameters.x}}``) are not references and pass through.

``${resources.COLLECTION.NAME.id}`` is the remote id of another resource of
the tenant (a job's ``job_id``, as Databricks bundles write it): unknown
until that resource exists, so it is substituted when the tenant is planned
(from the state) or, when both are created in one apply, by the apply once the
step that creates it has answered (:mod:`reconciler.remote_ids`). It is a
dependency like any other reference.

``${secret:NAME}`` is a secret: its value comes from the environment variable
``NAME`` of the process that plans or applies. The field that holds it is
sensitive: shown as ``(sensitive)`` in every output and stored only as a hash.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.yamlpos import FieldPath

_TOKEN = re.compile(r"\$?\$\{([^}]*)\}")
_OPENING = re.compile(r"\$\$\{|\$\{")
_PART = re.compile(r"^[A-Za-z0-9_-]+$")
_SECRET = re.compile(r"^secret:([A-Za-z_][A-Za-z0-9_]*)$")


@dataclass(frozen=True)
class Reference:
    """One ``${collection.name.attribute}`` expression."""

    collection: str
    name: str
    attribute: str

    def __str__(self) -> str:
        return f"${{{self.collection}.{self.name}.{self.attribute}}}"


@dataclass(frozen=True)
class SecretRef:
    """One ``${secret:NAME}``: the value of environment variable ``NAME``."""

    name: str

    def __str__(self) -> str:
        return f"${{secret:{self.name}}}"


@dataclass(frozen=True)
class VarRef:
    """One ``${var.NAME}``: a variable of the tenant (see :mod:`reconciler.variables`)."""

    name: str

    def __str__(self) -> str:
        return f"${{var.{self.name}}}"


@dataclass(frozen=True)
class RemoteIdRef:
    """One ``${resources.COLLECTION.NAME.id}``: the remote id of another resource."""

    collection: str
    name: str

    def __str__(self) -> str:
        return f"${{resources.{self.collection}.{self.name}.id}}"


Ref = Reference | SecretRef | VarRef | RemoteIdRef
"""Anything a ``${...}`` may name."""


@dataclass(frozen=True)
class Malformed:
    """A ``${...}`` that is not of the form ``${collection.name.attribute}``."""

    text: str
    unterminated: bool = False

    @property
    def message(self) -> str:
        if self.unterminated:
            shown = self.text if len(self.text) <= 60 else self.text[:60] + "…"
            return (
                f"unterminated reference `{shown}`: close it with `}}` "
                "(or write `$${` for a literal `${`)"
            )
        return (
            f"malformed reference `{self.text}`: write `${{collection.name.attribute}}`, "
            "e.g. `${notebooks.etl.path}`, `${var.NAME}` for a variable, `${secret:NAME}` "
            "for a secret "
            "(or `$${` for a literal `${`)"
        )


def parse(inner: str) -> Ref | None:
    """``"notebooks.etl.path"`` → a Reference, ``"secret:X"`` → a SecretRef,
    ``"var.X"`` → a VarRef, ``"resources.jobs.x.id"`` → a RemoteIdRef; else None."""
    secret = _SECRET.match(inner.strip())
    if secret:
        return SecretRef(secret.group(1))
    parts = [p.strip() for p in inner.split(".")]
    if len(parts) == 2 and parts[0] == "var" and _PART.match(parts[1]):
        return VarRef(parts[1])
    if len(parts) == 4 and parts[0] == "resources" and parts[3] == "id":
        return RemoteIdRef(parts[1], parts[2]) if all(map(_PART.match, parts)) else None
    if len(parts) != 3 or not all(_PART.match(p) for p in parts):
        return None
    return Reference(*parts)


def references_in(data: Any, path: FieldPath = ()) -> Iterator[tuple[FieldPath, Ref | Malformed]]:
    """Every reference (or malformed one) in ``data``, with the path of its string."""
    if isinstance(data, str):
        spans = []
        for match in _TOKEN.finditer(data):
            spans.append(match.span())
            if match.group(0).startswith("$$"):
                continue
            ref = parse(match.group(1))
            yield path, ref if ref is not None else Malformed(match.group(0))
        for opening in _OPENING.finditer(data):
            inside = any(a <= opening.start() < b for a, b in spans)
            if opening.group(0) == "${" and not inside:
                yield path, Malformed(data[opening.start() :], unterminated=True)
    elif isinstance(data, Mapping):
        for key, value in data.items():
            yield from references_in(value, (*path, key))
    elif isinstance(data, list):
        for i, item in enumerate(data):
            yield from references_in(item, (*path, i))


def substitute(data: Any, value_of: Callable[[Ref], Any]) -> Any:
    """A copy of ``data`` with every reference replaced by ``value_of(reference)``.

    A string that is one reference and nothing else becomes the value itself (a
    variable may be a list, a mapping, a number); inside a longer string a value
    is written as text (JSON for what is not a string). ``$${`` becomes a
    literal ``${``. Call it only once every reference in ``data`` is known to
    resolve.
    """
    if isinstance(data, str):
        whole = _TOKEN.fullmatch(data)
        if whole is not None and not whole.group(0).startswith("$$"):
            ref = parse(whole.group(1))
            if ref is not None:
                return value_of(ref)
        return _TOKEN.sub(lambda m: _replacement(m, value_of), data)
    if isinstance(data, Mapping):
        return {key: substitute(value, value_of) for key, value in data.items()}
    if isinstance(data, list):
        return [substitute(item, value_of) for item in data]
    return data


def _replacement(match: re.Match[str], value_of: Callable[[Ref], Any]) -> str:
    if match.group(0).startswith("$$"):
        return match.group(0)[1:]
    ref = parse(match.group(1))
    if ref is None:
        return match.group(0)
    value = value_of(ref)
    return value if isinstance(value, str) else json.dumps(value)


def has_reference(value: Any) -> bool:
    """Whether ``value`` is a string holding at least one reference."""
    return isinstance(value, str) and any(
        not m.group(0).startswith("$$") for m in _TOKEN.finditer(value)
    )
