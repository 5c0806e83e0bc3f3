"""Saved plans that cannot go stale silently.

``reconciler plan --out plan.json`` writes what the plan will do together with
what it was made against: each tenant's state serial and, for every resource it
touches, a fingerprint of the remote object it observed. ``reconciler apply
plan.json`` plans again and refuses ("re-run plan") when a serial moved, a
touched object's fingerprint changed, or the plan itself would now differ;
then, just before each resource's first call, it reads the object once more
and refuses that step if it moved in the meantime.

It also keeps the ``--target-env`` and variable values it was made with
(:mod:`reconciler.planvars`), so applying it loads the documents the same way.

The file holds no secret: specs are masked exactly as in every other output,
and every string of the document is scrubbed of the secrets read in this run
(identities and references built from a secret included).
"""

from __future__ import annotations

import hashlib
import json
import stat
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler import __version__
from reconciler.errors import ReconcilerError, StalePlanError
from reconciler.kinds import KINDS
from reconciler.plan import Plan, PlanOptions, ResourceChange, fingerprint
from reconciler.planvars import saved_inputs
from reconciler.render.jsonout import plan_document
from reconciler.scrub import scrub_data

if TYPE_CHECKING:  # the CLI's start does not import httpx
    from reconciler.mcp.client import ConnectorClient
    from reconciler.variables import LoadOptions

PLAN_FILE_FORMAT = "agentprovision-plan"
PLAN_FILE_VERSION = 2
"""The version :func:`save_plan` writes: 2 keeps the target and variables (``inputs``), so a
reconciler that would ignore them (one that reads only version 1) refuses the file."""
READ_VERSIONS = (1, 2)
"""The versions ``apply`` reads; a version 1 file is applied with its ``inputs`` if it has
them, else (written before plans kept them) with the apply's own target and variables."""


@dataclass(frozen=True)
class SavedChange:
    action: str
    fingerprint: str | None
    after_digest: str | None


@dataclass(frozen=True)
class SavedPlan:
    source: Path
    options: PlanOptions
    serials: dict[str, int]
    changes: dict[str, dict[str, SavedChange]]  # tenant → address → change
    inputs: Mapping[str, Any] | None = None  # target and variables (reconciler.planvars)


def digest(value: Any) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def save_plan(
    plan: Plan,
    path: Path,
    *,
    source: Path,
    options: PlanOptions,
    load: LoadOptions | None = None,
) -> None:
    """Write the plan file (atomically), with the target and variables it was made with."""
    document = plan_file_document(plan, source=str(source), options=options)
    if load is not None:
        document["inputs"] = saved_inputs(load)
    document = scrub_data(document)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    temporary.replace(path)


def plan_file_document(plan: Plan, *, source: str, options: PlanOptions) -> dict[str, Any]:
    """The saved plan as a JSON document: what it does and what it was made against."""
    return {
        "format": PLAN_FILE_FORMAT,
        "version": PLAN_FILE_VERSION,
        "reconciler": __version__,
        "source": source,
        "options": {
            "adopt": options.adopt,
            "prune": options.prune,
            "refresh_only": options.refresh_only,
            "targets": sorted("/".join(t) for t in options.targets),
            "replace": sorted("/".join(t) for t in options.replace),
        },
        "tenants": {
            t.tenant: {
                "serial": t.serial,
                "changes": {c.address: _saved(c) for c in t.actionable},
            }
            for t in plan.tenants
        },
        "plan": plan_document(plan),
    }


def _saved(change: ResourceChange) -> dict[str, Any]:
    return {
        "action": change.action.value,
        "fingerprint": change.fingerprint,
        "after_digest": digest(dict(change.after) if change.after is not None else None),
    }


def is_plan_file(path: Path) -> bool:
    """Whether ``path`` is a saved plan, told by its content (any file name will do)."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return False  # a folder of documents, or something that is no file at all
        with path.open("rb") as file:
            if not file.read(4096).lstrip().startswith(b"{"):
                return False  # YAML documents (a JSON object starts with a brace)
            file.seek(0)
            head = json.loads(file.read())
    except (OSError, ValueError):
        return False
    return isinstance(head, dict) and head.get("format") == PLAN_FILE_FORMAT


def load_saved_plan(path: Path) -> SavedPlan:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ReconcilerError(f"cannot read plan file {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != PLAN_FILE_FORMAT:
        raise ReconcilerError(
            f"{path} is not a saved plan", hint="write one with `reconciler plan PATH --out FILE`"
        )
    version = data.get("version")
    if type(version) is not int or version not in READ_VERSIONS:
        shown = "no version" if version is None else f"version {json.dumps(version)[:40]}"
        raise ReconcilerError(
            f"{path} is a plan file of {shown}; this reconciler applies versions "
            f"{' and '.join(map(str, READ_VERSIONS))} only",
            hint="re-run plan with this reconciler to write it again",
        )
    if version >= 2 and not isinstance(data.get("inputs"), dict):
        raise ReconcilerError(
            f"{path} is malformed: a version {version} plan file keeps its `inputs`",
            hint="re-run plan to write it again",
        )
    try:
        return saved_plan_from_document(data)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        what = (
            f"`{exc.args[0]}` is missing"
            if isinstance(exc, KeyError)
            else "a part has the wrong shape"
        )
        raise ReconcilerError(
            f"{path} is malformed: {what}", hint="re-run plan to write it again"
        ) from None


def saved_plan_from_document(data: Mapping[str, Any]) -> SavedPlan:
    """The :class:`SavedPlan` of a document made by :func:`plan_file_document`."""
    options = data["options"]
    return SavedPlan(
        source=Path(data["source"]),
        options=PlanOptions(
            adopt=options["adopt"],
            prune=options["prune"],
            refresh_only=options["refresh_only"],
            targets=frozenset(tuple(t.split("/", 1)) for t in options["targets"]),  # type: ignore[misc]
            replace=frozenset(tuple(t.split("/", 1)) for t in options["replace"]),  # type: ignore[misc]
        ),
        serials={name: t["serial"] for name, t in data["tenants"].items()},
        inputs=data.get("inputs"),
        changes={
            name: {addr: SavedChange(**c) for addr, c in t["changes"].items()}
            for name, t in data["tenants"].items()
        },
    )


def verify(saved: SavedPlan, fresh: Plan) -> None:
    """Refuse when the fresh plan is not the saved one (serials, remote objects, changes)."""
    problems: list[str] = []
    fresh_tenants = {t.tenant: t for t in fresh.tenants}
    for tenant, serial in saved.serials.items():
        now = fresh_tenants.get(tenant)
        if now is None:
            problems.append(f"tenant {tenant} is no longer in the documents")
            continue
        if now.serial != serial:
            problems.append(f"state of tenant {tenant} moved (serial {serial} → {now.serial})")
        problems += _compare(tenant, saved.changes[tenant], {c.address: c for c in now.actionable})
    extra = sorted(set(fresh_tenants) - set(saved.serials))
    problems += [f"tenant {t} was not in the saved plan" for t in extra]
    if problems:
        raise StalePlanError("the saved plan is stale: " + "; ".join(problems), hint="re-run plan")


def _compare(
    tenant: str, saved: dict[str, SavedChange], fresh: dict[str, ResourceChange]
) -> list[str]:
    problems = []
    for address, old in saved.items():
        new = fresh.get(address)
        if new is None or new.action.value != old.action:
            now = new.action.value if new else "nothing"
            problems.append(f"{tenant}/{address}: planned {old.action}, now {now}")
        elif new.fingerprint != old.fingerprint:
            problems.append(f"{tenant}/{address}: the remote object changed after the plan")
        elif digest(dict(new.after) if new.after is not None else None) != old.after_digest:
            problems.append(f"{tenant}/{address}: the documents changed after the plan")
    for address in sorted(set(fresh) - set(saved)):
        problems.append(f"{tenant}/{address}: would now {fresh[address].action.value}")
    return problems


def recheck(plan: Plan, client: ConnectorClient) -> Callable[[ResourceChange], Awaitable[None]]:
    """A hook run just before a resource's first call: refuse if its object moved."""
    contexts = {t.tenant: t.context for t in plan.tenants}

    async def before_step(change: ResourceChange) -> None:
        observed = change.observed
        if change.fingerprint is None or observed is None:
            return
        kind = KINDS[change.key.kind]
        context = contexts[change.key.tenant]
        current = await kind.read(client, context, observed.identity, observed.remote_id)
        if current is None or fingerprint(current) != change.fingerprint:
            raise StalePlanError(
                f"{change.key.tenant}/{change.address} changed after the plan was made",
                hint="re-run plan",
            )

    return before_step
