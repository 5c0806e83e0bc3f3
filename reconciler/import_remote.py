"""``import remote``: documents for a tenant's unmanaged remote objects, marked for adoption.

The objects are those ``drift`` lists as unmanaged: observed in the tenant but
claimed by no record of the state database. Each becomes a document whose
spec asks for the object exactly as it is, with ``adopt: true``, so the next
``apply`` adopts it (no conflict, same remote id) and the plan after is empty.
A kind that cannot write such a document yet, or an object whose remote name
is not a valid ``metadata.name``, is reported as skipped with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from reconciler.document import API_VERSION, NAME_PATTERN
from reconciler.kinds import KINDS
from reconciler.kinds.base import ObservedResource, RecordedResource, TenantContext
from reconciler.plan import Matcher

HEADER = "# Written by `reconciler import remote`: adopted by the next apply.\n"


@dataclass(frozen=True)
class Imported:
    """What one import wrote, and what it left out (and why)."""

    written: tuple[Path, ...]
    skipped: tuple[str, ...]


def unmanaged(
    observed: Sequence[ObservedResource], recorded: Sequence[RecordedResource]
) -> list[ObservedResource]:
    """The observed objects no record claims (matched as the planner matches them)."""
    matcher = Matcher(observed)
    for record in recorded:
        matcher.take(record.key.kind, record, record.identity)
    return matcher.leftover()


def documents(
    context: TenantContext, objects: Sequence[ObservedResource], kinds: set[str] | None = None
) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    """(file name, document) for each importable object, and the skipped ones in words."""
    written: list[tuple[str, dict[str, Any]]] = []
    skipped: list[str] = []
    tenant_doc: dict[str, Any] = {"tenantId": context.tenant_id, "catalog": context.catalog}
    for obj in objects:
        if kinds and obj.kind not in kinds:
            continue
        spec = KINDS[obj.kind].document_spec(obj)
        if obj.kind == "Tenant" and spec is not None:
            tenant_doc = {"tenantId": context.tenant_id, **spec, "adopt": True}
            continue
        name = obj.identity
        if spec is None:
            skipped.append(f"{obj.kind} `{obj.identity}`: importing this kind is not supported yet")
        elif not re.match(NAME_PATTERN, name):
            skipped.append(
                f"{obj.kind} `{name}`: its name is not a valid metadata.name "
                "(1-63 lower-case letters, digits, - or _); rename it remotely, then import"
            )
        else:
            written.append((f"{obj.kind.lower()}s/{name}.yaml", _doc(obj.kind, name, spec)))
    written.insert(0, ("tenant.yaml", _doc("Tenant", context.name, tenant_doc)))
    return written, skipped


def _doc(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    body = dict(spec) if kind == "Tenant" else {**spec, "adopt": True}
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}, "spec": body}


def write(out: Path, docs: list[tuple[str, dict[str, Any]]]) -> tuple[Path, ...]:
    """Write every document under ``out``; refuse to overwrite a file that exists."""
    targets = [out / rel for rel, _ in docs]
    existing = [str(t) for t in targets if t.exists()]
    if existing:
        raise FileExistsError(", ".join(existing))
    for target, (_, doc) in zip(targets, docs, strict=True):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(HEADER + yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return tuple(targets)
