"""``import remote``: documents for a tenant's unmanaged remote objects, marked for adoption.

The objects are those ``drift`` lists as unmanaged: observed in the tenant but
claimed by no record of the state database. Each becomes a document whose
spec asks for the object exactly as it is, with ``adopt: true``, so the next
``apply`` adopts it (no conflict, same remote id) and the plan after is empty.
Every kind's :meth:`~reconciler.kinds.base.Kind.document_spec` says what its
document holds; a notebook's body goes to ``notebooks/<name>.<py|sql|scala|r>``.

Names: a notebook is addressed by its ``path``, so its document name is made
from the path (lower-cased, other characters as ``-``, ``-2``... when taken).
For the other kinds the name *is* the remote name (a job's or an endpoint's
name, a table's or an index's last part), so an object whose name is not a
valid ``metadata.name``, or that the name would not address exactly (another
catalog or schema), or whose name another object of its kind took already, is
skipped with the reason. Every document is validated and checked against the
tenant's namespace as ``validate`` would; what fails is skipped, not written.

Values are written as data: ``${`` becomes ``$${`` (a literal, never a
reference), and a value holding one of the tenant's secrets is written as
``${secret:NAME}`` (secrets of 4 characters or more: shorter ones cannot be told
from ordinary text), longest first, so a secret inside another is never half written.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from reconciler import scrub
from reconciler.document import API_VERSION, NAME_RULE, is_name
from reconciler.errors import NotFoundError
from reconciler.import_bundle import NOTEBOOK_LANGUAGES
from reconciler.kinds import KINDS
from reconciler.kinds.base import (
    WORKSPACE_ROOT,
    FieldProblem,
    Namespace,
    ObservedResource,
    RecordedResource,
    TenantContext,
)
from reconciler.kinds.tenant import TenantNamespace, TenantSpec, tenant_namespace
from reconciler.kinds.vector_index import HOSTED_PREFIX
from reconciler.plan import Matcher
from reconciler.secrets import read_secret, secret_names

if TYPE_CHECKING:
    from reconciler.mcp.client import ConnectorClient

HEADER = "# Written by `reconciler import remote`: adopted by the next apply.\n"
SUFFIXES = {language: suffix for suffix, language in NOTEBOOK_LANGUAGES.items()}
"""Notebook language → the extension of the file its body is written to."""


@dataclass(frozen=True)
class Remote:
    """What one import starts from: the tenant's unmanaged objects and what they need."""

    context: TenantContext
    objects: Sequence[ObservedResource]  # unmanaged, in kind order
    endpoints: frozenset[str] = frozenset()  # every serving endpoint the tenant has
    sources: Mapping[str, str] = field(default_factory=dict)  # notebook path → body
    secrets: Mapping[str, str] = field(default_factory=dict)  # the tenant's: name → value


@dataclass
class Imported:
    """The documents and notebook files to write (relative paths), and what was left out."""

    documents: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


class _Skip(Exception):
    """Why one object gets no document."""


def unmanaged(
    observed: Sequence[ObservedResource], recorded: Sequence[RecordedResource]
) -> list[ObservedResource]:
    """The observed objects no record claims (matched as the planner matches them)."""
    matcher = Matcher(observed)
    for record in recorded:
        matcher.take(record.key.kind, record, record.identity)
    return matcher.leftover()


async def notebook_sources(
    client: ConnectorClient, context: TenantContext, objects: Sequence[ObservedResource]
) -> dict[str, str]:
    """The body of every notebook among ``objects`` (lists never carry it), by path; a
    body that is missing or does not match the listed digest is left out (the notebook
    is then skipped: adopting an empty body would overwrite the real one)."""
    kind = KINDS["Notebook"]
    notebooks = [obj for obj in objects if obj.kind == "Notebook"]

    async def body(obj: ObservedResource) -> str | None:
        path, params = kind.object_path(context, obj.identity, obj.remote_id)
        try:
            raw = await client.get(path, params=params)
        except NotFoundError:  # deleted since it was listed
            return None
        content = (raw or {}).get("content") if isinstance(raw, Mapping) else None
        digest = obj.spec.get("content_sha256")
        if not isinstance(content, str):
            return None
        if digest and hashlib.sha256(content.encode("utf-8")).hexdigest() != digest:
            return None
        return content

    bodies = await asyncio.gather(*(body(obj) for obj in notebooks))
    return {
        obj.identity: text for obj, text in zip(notebooks, bodies, strict=True) if text is not None
    }


def tenant_secrets(tenant: str) -> dict[str, str]:
    """The tenant's secrets (name → value, 4 characters or more), registered for scrubbing."""
    found = {}
    for name in secret_names(tenant):
        value = read_secret(tenant, name)
        if value is not None and len(value) >= scrub.MIN_LENGTH:
            scrub.register(value)
            found[name] = value
    return found


def documents(remote: Remote, kinds: set[str] | None = None) -> Imported:
    """The documents for ``remote``'s objects (of ``kinds``; the Tenant always), and the
    objects skipped, each with its reason."""
    context, result = remote.context, Imported()
    namespace = tenant_namespace(
        context, TenantSpec(namespace=TenantNamespace(endpoints=tuple(sorted(remote.endpoints))))
    )
    tenant: dict[str, Any] = {"tenantId": context.tenant_id, "catalog": context.catalog}
    taken: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for obj in remote.objects:
        if obj.kind == "Tenant":
            try:
                tenant.update(_as_data(KINDS["Tenant"].document_spec(obj) or {}, remote.secrets))
            except _Skip as exc:
                result.skipped.append(f"the catalog's comment and properties: {exc}")
            tenant["adopt"] = True
            continue
        if kinds and obj.kind not in kinds:
            continue
        try:
            name, spec = _document(remote, namespace, obj, taken[obj.kind])
            spec = _as_data(spec, remote.secrets)
        except _Skip as exc:  # the name quoted: a remote name may hold newlines or escapes
            result.skipped.append(f"{obj.kind} {obj.identity!r}: {exc}")
            continue
        taken[obj.kind].add(name)
        if obj.kind == "Notebook":
            result.files[spec["source"]] = remote.sources[obj.identity]
        folder = KINDS[obj.kind].collection
        result.documents.append((f"{folder}/{name}.yaml", _doc(obj.kind, name, spec)))
    outside = _endpoints_outside(namespace, result.documents)
    if outside:
        tenant["namespace"] = {"endpoints": outside}
    result.documents.insert(0, ("tenant.yaml", _doc("Tenant", context.name, tenant)))
    return result


def _document(
    remote: Remote, namespace: Namespace, obj: ObservedResource, taken: set[str]
) -> tuple[str, dict[str, Any]]:
    """(document name, spec) of one object, checked as ``validate`` checks it."""
    kind = KINDS[obj.kind]
    spec = kind.document_spec(obj)
    if spec is None:
        raise _Skip("importing this kind (or this shape of it) is not supported")
    name = _name(remote.context, obj, taken)
    if obj.kind == "Notebook":
        # a language no document can hold gets a stand-in suffix: the spec check skips it
        spec["source"] = f"notebooks/{name}{SUFFIXES.get(spec['language'], '.txt')}"
        body = remote.sources.get(obj.identity)
        if body is None:
            raise _Skip("its body could not be read whole (missing, or not matching its digest)")
        if _holds_secret(body):
            raise _Skip("its body holds the value of a secret; import it by hand")
    try:
        model = kind.spec_model.model_validate(spec)
        kind.check_namespace(namespace, obj.identity, model, {})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise _Skip(f"{where}: {str(error['msg']).removeprefix('Value error, ')}") from None
    except FieldProblem as exc:
        raise _Skip(exc.message) from None
    addressed = kind.identity(remote.context, name, model)
    if addressed != obj.identity:
        raise _Skip(
            f"a document named `{name}` would address `{addressed}`, not this object "
            "(another catalog or schema, or `-` in a table name); rename it remotely, then import"
        )
    return name, spec


def _name(context: TenantContext, obj: ObservedResource, taken: set[str]) -> str:
    """The document name: made from a notebook's path, else the object's own name."""
    if obj.kind == "Notebook":
        relative = obj.identity.removeprefix(f"{WORKSPACE_ROOT}{context.tenant_id}/")
        stem = re.sub(r"[^a-z0-9_]+", "-", relative.lower()).strip("-_")[:55].strip("-_")
        name = stem = stem or "notebook"
        for number in itertools.count(2):
            if name not in taken:
                return name
            name = f"{stem}-{number}"
    wanted = (
        obj.identity.rsplit(".", 1)[-1] if obj.kind in ("Dataset", "VectorIndex") else obj.identity
    )
    if not is_name(wanted):
        raise _Skip(
            "its name is not a valid metadata.name and is what addresses it remotely; "
            f"rename it remotely ({NAME_RULE}), then import"
        )
    if wanted in taken:
        raise _Skip(f"another {obj.kind} is imported as `{wanted}` already; rename one remotely")
    return wanted


def _as_data(value: Any, secrets: Mapping[str, str]) -> Any:
    """``value`` as document text: ``${`` escaped as ``$${``, secrets as ``${secret:NAME}``
    (in one pass, longest first: a reference written is never read again).

    Raises :class:`_Skip` when a secret is left in another form (URL-encoded, in a key,
    cut across two secrets): the documents would hold it in clear.
    """
    escaped = {secret.replace("${", "$${"): name for name, secret in secrets.items()}
    pattern = (
        re.compile("|".join(re.escape(s) for s in sorted(escaped, key=lambda s: (-len(s), s))))
        if escaped
        else None
    )

    def convert(node: Any) -> Any:
        if isinstance(node, str):
            text = node.replace("${", "$${")
            if pattern is None:
                return text
            return pattern.sub(lambda m: f"${{secret:{escaped[m.group(0)]}}}", text)
        if isinstance(node, Mapping):
            return {key: convert(item) for key, item in node.items()}
        if isinstance(node, list):
            return [convert(item) for item in node]
        return node

    data = convert(value)
    if _holds_secret(data, [f"${{secret:{name}}}" for name in secrets]):
        raise _Skip("it holds a secret's value in a form a `${secret:NAME}` cannot stand for")
    return data


def _holds_secret(data: Any, references: Sequence[str] = ()) -> bool:
    """Whether any registered secret shows in ``data`` (keys, numbers, every escaped form),
    the ``references`` written for secrets left out (a secret may spell part of one)."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, default=str)
    for reference in references:
        text = text.replace(reference, "")
    return scrub.scrub(text) != text


def _endpoints_outside(namespace: Namespace, docs: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Endpoints the documents name outside the tenant's prefix (for ``namespace.endpoints``)."""
    named = set()
    for _, doc in docs:
        if doc["kind"] == "ServingEndpoint":
            named.add(doc["metadata"]["name"])
        if doc["kind"] == "VectorIndex" and doc["spec"]["embedding"].get("model_endpoint"):
            named.add(doc["spec"]["embedding"]["model_endpoint"])
    prefix = namespace.endpoint_prefix
    return sorted(n for n in named if not n.startswith((prefix, HOSTED_PREFIX)))


def _doc(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    body = dict(spec) if kind == "Tenant" else {**spec, "adopt": True}
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}, "spec": body}


def write(out: Path, imported: Imported) -> tuple[Path, ...]:
    """Write every document and notebook file under ``out``; refuse to overwrite a file
    that exists, or to write anywhere but under ``out``."""
    root = out.resolve()
    texts = {rel: HEADER + yaml.safe_dump(doc, sort_keys=False) for rel, doc in imported.documents}
    texts.update(imported.files)
    targets = {rel: out / rel for rel in texts}
    outside = [str(t) for t in targets.values() if not t.resolve().is_relative_to(root)]
    if outside:
        raise ValueError(f"{', '.join(outside)} would be outside {out}")
    existing = [str(t) for t in targets.values() if t.exists() or t.is_symlink()]
    if existing:
        raise FileExistsError(", ".join(existing))
    for rel, target in targets.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(texts[rel], encoding="utf-8")
    return tuple(targets.values())
