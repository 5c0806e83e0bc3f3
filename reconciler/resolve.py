"""One tenant's documents → desired resources, references resolved in dependency order.

The references written in the documents decide the order they are resolved
in: a document is handled after every document it references, so the
attributes it needs (``${notebooks.etl.path}``) are known by then, and its
own fields are validated once, with the real values in place. A document
whose references cannot be resolved (they name something missing, or
something that is itself invalid) is still validated with its references
left as written, so that its other problems are reported in the same run.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from reconciler import scrub
from reconciler.document import Lifecycle
from reconciler.errors import SpecError
from reconciler.explain import did_you_mean
from reconciler.graph import dependency_order, order_keys
from reconciler.kinds import KINDS, KINDS_BY_COLLECTION
from reconciler.kinds.base import (
    DesiredResource,
    FieldProblem,
    Kind,
    Namespace,
    ReadFile,
    ResourceKey,
    Rule,
    TenantContext,
)
from reconciler.limits import value_problems
from reconciler.refs import (
    Malformed,
    Ref,
    Reference,
    RemoteIdRef,
    SecretRef,
    VarRef,
    references_in,
    substitute,
)
from reconciler.remote_ids import Placeholders
from reconciler.secrets import mask_paths, missing_secret_hint, read_secret, redact
from reconciler.sources import Report, SourceDocument, validate
from reconciler.variables import Presets
from reconciler.yamlpos import FieldPath


@dataclass
class _Entry:
    """One named document of the tenant and, once resolved, what it offers."""

    key: ResourceKey
    doc: SourceDocument
    references: list[tuple[FieldPath, Ref | Malformed]]
    attributes: dict[str, str] | None = None  # None until resolved (or when invalid)
    depends_on: set[ResourceKey] = field(default_factory=set)
    secrets: set[str] = field(default_factory=set)  # secret values substituted into the spec
    placeholders: Placeholders = field(default_factory=Placeholders)  # ${resources.*.id}
    plain: bool = False  # no `${` anywhere: nothing to substitute or unescape


def _may_reference(spec: Any) -> bool:
    """Whether ``spec`` may hold a ``${`` (a reference, or the ``$${`` escape); one JSON
    encoding in C code answers for the many documents that hold none."""
    try:
        return b"${" in orjson.dumps(spec)
    except (TypeError, ValueError):
        return True


class TenantResolver:
    """Resolves the documents of one tenant; problems go to the shared report."""

    def __init__(
        self,
        tenant: str,
        context: TenantContext | None,
        root: Path,
        report: Report,
        *,
        variables: Mapping[str, Any] | None = None,
        presets: Presets | None = None,
        namespace: Namespace | None = None,
    ) -> None:
        self.tenant = tenant
        self.namespace = namespace
        self.variables = dict(variables or {})
        self.presets = presets
        self.context = context
        self.report = report
        self.read_file = tenant_reader(root, report.folder(root))
        self.entries: dict[ResourceKey, _Entry] = {}
        self.resources: dict[ResourceKey, DesiredResource] = {}
        self._secrets: dict[str, str | None] = {}

    def _secret(self, name: str) -> str | None:
        """This tenant's secret ``name`` (read once per run, from its own folder only)."""
        if name not in self._secrets:
            value = read_secret(self.tenant, name)
            if value is not None:
                scrub.register(value)  # from now on, cut out of everything that leaves
            self._secrets[name] = value
        return self._secrets[name]

    def resolve(self, docs: list[SourceDocument]) -> dict[ResourceKey, DesiredResource]:
        """Every resource the documents describe (those with problems are left out)."""
        self._register(docs)
        for key in self._resolution_order():
            self._resolve_entry(self.entries[key])
        return self.resources

    def order(self) -> tuple[ResourceKey, ...] | None:
        """The dependency order of the resolved resources (None after reporting a cycle)."""
        try:
            return dependency_order(self.resources)
        except SpecError as exc:
            self.report.extend(exc.problems)
            return None

    # ---- registration and order ----------------------------------------------------

    def _register(self, docs: list[SourceDocument]) -> None:
        """Key every document by (kind, name); report duplicates and unnamed documents."""
        for doc in docs:
            if doc.name is None:
                validate(doc, self.report, skip_references=True)
                continue
            key = ResourceKey(self.tenant, doc.kind, doc.name)
            if key in self.entries:
                first = self.entries[key].doc.where()
                message = (
                    f"duplicate {doc.kind} `{doc.name}`: already defined at {first}; "
                    "names are unique per tenant and kind"
                )
                self.report.add(doc, ("metadata", "name"), message)
                continue
            spec = doc.data.get("spec")
            plain = not _may_reference(spec)
            refs = [] if plain else list(references_in(spec, ("spec",)))
            self.entries[key] = _Entry(key, doc, refs, plain=plain)

    def _resolution_order(self) -> tuple[ResourceKey, ...]:
        """Referenced documents first; on a cycle, report it and fall back to sorted order."""
        tenant_key = ResourceKey(self.tenant, "Tenant", self.tenant)
        graph: dict[ResourceKey, set[ResourceKey]] = {}
        for key, entry in self.entries.items():
            targets = {self._target(ref) for _, ref in entry.references}
            deps = {t for t in targets if t is not None and t in self.entries}
            graph[key] = deps if key == tenant_key else deps | {tenant_key}
        locations = {key: entry.doc.location for key, entry in self.entries.items()}
        try:
            return order_keys(graph, locations)
        except SpecError as exc:
            self.report.extend(exc.problems)
            return tuple(sorted(self.entries))

    def _target(self, ref: Ref | Malformed) -> ResourceKey | None:
        if not isinstance(ref, Reference | RemoteIdRef):
            return None
        if ref.collection not in KINDS_BY_COLLECTION:
            return None
        return ResourceKey(self.tenant, KINDS_BY_COLLECTION[ref.collection].kind, ref.name)

    # ---- one document ------------------------------------------------------------------

    def _resolve_entry(self, entry: _Entry) -> None:
        """Substitute, validate, then compute attributes and the normalised spec."""
        doc = entry.doc
        resolvable = self._check_references(entry)
        if self.context is None or not resolvable:
            self._out_of_range(doc, doc.data.get("spec"))
            if entry.key.kind != "Tenant":  # an invalid Tenant was reported by the caller
                validate(doc, self.report, skip_references=True)
            return
        spec = doc.data.get("spec")
        if not entry.plain:
            spec = substitute(spec, lambda ref: self._value(ref, entry))
        if self._out_of_range(doc, spec):
            return
        model = validate(doc, self.report, {**doc.data, "spec": spec})
        if model is None:
            return
        kind = KINDS[doc.kind]
        name = entry.key.name
        try:
            entry.attributes = kind.attributes(self.context, name, model.spec)
            identity = kind.identity(self.context, name, model.spec)
            normalized, blobs = kind.normalize(self.context, name, model.spec, self.read_file)
            templates = tuple(entry.placeholders.templates(normalized))
            normalized = entry.placeholders.restore(normalized)
            entry.attributes = entry.placeholders.restore(entry.attributes)
            kind.check_related(normalized, self.resources.values())
            if self.namespace is not None:
                self._check_namespace(kind, entry, identity, model.spec, normalized)
            if self.presets is not None:
                identity, normalized = kind.with_presets(identity, normalized, self.presets)
                if "name" in entry.attributes:  # a target's name prefix renames the job
                    entry.attributes["name"] = identity
        except _NamespaceProblem as exc:
            self.report.add(doc, exc.path, exc.message)
            return
        except FieldProblem as exc:
            self.report.add(doc, ("spec", *exc.path), exc.message)
            return
        lifecycle = _lifecycle(model.lifecycle)
        known = set(normalized) | (
            {*kind.spec_model.model_fields} - {"adopt"} if kind.kind == "Job" else set()
        )
        for i, path in enumerate(lifecycle.get("ignore_changes", ())):
            if path.split(".")[0] not in known:
                fields = ", ".join(sorted(known))
                message = f"`{path}` is not a field of this {doc.kind} (fields: {fields})"
                self.report.add(doc, ("lifecycle", "ignore_changes", i), message)
                return
        tenant_key = ResourceKey(self.tenant, "Tenant", self.tenant)
        deps = entry.depends_on | ({tenant_key} if entry.key != tenant_key else set())
        sensitive = sensitive_paths(kind, normalized, entry.secrets)
        self.resources[entry.key] = DesiredResource(
            key=entry.key,
            identity=identity,
            spec=mask_paths(normalized, sensitive) if sensitive else normalized,
            cleartext=normalized if sensitive else None,
            location=doc.location,
            depends_on=tuple(sorted(deps - {entry.key})),
            blobs=blobs,
            adopt=bool(getattr(model.spec, "adopt", False)),
            labels=dict(model.metadata.labels),
            lifecycle=lifecycle,
            sensitive=sensitive,
            templates=templates,
        )

    def _check_namespace(
        self, kind: Kind, entry: _Entry, identity: str, spec: Any, normalized: Any
    ) -> None:
        """The kind's namespace check; its problems carry whole-document paths."""
        assert self.namespace is not None
        try:
            kind.check_namespace(self.namespace, identity, spec, normalized)
        except FieldProblem as exc:  # the message quotes the value: cut secrets from it
            raise _NamespaceProblem(redact(exc.message, entry.secrets), exc.path) from None

    def _out_of_range(self, doc: SourceDocument, spec: Any) -> bool:
        """Report NULs and integers beyond int64 in ``spec``; True when there were any."""
        found = False
        for path, message in value_problems(spec, ("spec",)):
            self.report.add(doc, path, message)
            found = True
        return found

    def _value(self, ref: Ref, entry: _Entry) -> Any:
        if isinstance(ref, VarRef):
            return self.variables[ref.name]
        if isinstance(ref, SecretRef):
            value = self._secret(ref.name)
            assert value is not None
            entry.secrets.add(value)
            return value
        if isinstance(ref, RemoteIdRef):
            return entry.placeholders.stand_in(ref)
        target = self._target(ref)
        assert target is not None
        source = self.entries[target]
        assert source.attributes is not None
        value = source.attributes[ref.attribute]
        # an attribute built from a secret (a notebook path) is a secret where it is used too
        entry.secrets.update(s for s in source.secrets if s in str(value))
        return value

    def _check_references(self, entry: _Entry) -> bool:
        """Report references that cannot work; True when every one can be substituted."""
        resolvable = True
        for path, ref in entry.references:
            message, ready = self._check_reference(ref, entry)
            if message is not None:
                self.report.add(entry.doc, path, message)
            resolvable = resolvable and ready
        return resolvable

    def _check_reference(self, ref: Ref | Malformed, entry: _Entry) -> tuple[str | None, bool]:
        """(what is wrong with ``ref`` or None, whether it can be substituted now)."""
        if isinstance(ref, Malformed):
            return ref.message, False
        if isinstance(ref, VarRef):
            if ref.name in self.variables:
                return None, True
            names = sorted(self.variables)
            return (
                f"unknown variable `{ref.name}` in `{ref}`{did_you_mean(ref.name, names)}; "
                "declare it under the Tenant's `variables` "
                f"(variables: {', '.join(names) or 'none'})",
                False,
            )
        if isinstance(ref, SecretRef):
            if self._secret(ref.name):
                return None, True
            return missing_secret_hint(self.tenant, ref.name), False
        if ref.collection not in KINDS_BY_COLLECTION:
            collections = sorted(KINDS_BY_COLLECTION)
            hint = did_you_mean(ref.collection, collections)
            return (
                f"unknown collection `{ref.collection}` in `{ref}`{hint} "
                f"(collections: {', '.join(collections)})",
                False,
            )
        target = self._target(ref)
        assert target is not None
        if target not in self.entries:
            return self._missing(ref, target), False
        entry.depends_on.add(target)
        attributes = self.entries[target].attributes
        if attributes is None:
            return None, False  # the target has problems of its own, reported there
        if isinstance(ref, RemoteIdRef):
            return None, True  # known when the plan is made, or once the apply created it
        if ref.attribute not in attributes:
            names = sorted(attributes)
            hint = did_you_mean(ref.attribute, names)
            return (
                f"`{ref}`: {target.kind} `{ref.name}` has no attribute `{ref.attribute}`"
                f"{hint} (attributes: {', '.join(names)})",
                False,
            )
        return None, True

    def _missing(self, ref: Reference | RemoteIdRef, target: ResourceKey) -> str:
        names = sorted(k.name for k in self.entries if k.kind == target.kind)
        hint = did_you_mean(ref.name, names)
        there = ", ".join(names) if names else "none"
        return (
            f"`{ref}`: tenant `{self.tenant}` has no {target.kind} `{ref.name}`{hint} "
            f"({ref.collection}: {there})"
        )


class _NamespaceProblem(FieldProblem):
    """A :class:`FieldProblem` of a namespace check: its path starts at the document root."""


def _lifecycle(model: Lifecycle | None) -> dict[str, Any]:
    """The lifecycle settings written out in the document (unset ones stay absent)."""
    if model is None:
        return {}
    data = model.model_dump(exclude_none=True)
    if not data.get("ignore_changes"):
        data.pop("ignore_changes", None)
    return data


def sensitive_paths(
    kind: Kind, spec: Mapping[str, Any], secrets: set[str]
) -> tuple[tuple[str, ...], ...]:
    """Paths of the normalised spec that hold a secret value or that the kind marks sensitive."""
    found: list[tuple[str, ...]] = []
    secrets = {s for s in secrets if s}
    if not secrets and not kind.has_sensitive_rules:
        return ()

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                walk(value, (*path, str(key)))
            return
        rule = kind.rule_for(".".join(path)) if path else None
        sensitive = rule is not None and rule.rule is Rule.SENSITIVE
        if isinstance(node, list) and not sensitive:
            for index, item in enumerate(node):  # a secret inside a list masks that item
                walk(item, (*path, str(index)))
            return
        secret = isinstance(node, str) and any(s in node for s in secrets)
        if secret or sensitive:
            found.append(path)

    walk(spec, ())
    return tuple(found)


def tenant_reader(root: Path, shown: str) -> ReadFile:
    """A ``read_file`` for kind code: names relative to ``root``, never leaving it."""
    real_root = root.resolve()

    def read_file(relative: str) -> bytes:
        if os.path.isabs(relative) or relative.startswith("~"):
            raise FieldProblem(
                f"`{relative}` is an absolute path; name the file relative to the tenant "
                f"folder `{shown}`"
            )
        target = _resolved(root / relative, relative)
        if not target.is_relative_to(real_root):
            lexical = Path(os.path.normpath(root / relative))
            how = "is a link that points" if lexical.is_relative_to(root) else "is"
            raise FieldProblem(
                f"`{relative}` {how} outside the tenant folder `{shown}`; "
                "keep source files inside the tenant folder"
            )
        return _read_regular(target, relative, shown)

    return read_file


def _read_regular(target: Path, relative: str, shown: str) -> bytes:
    """The bytes of a regular file; a folder, FIFO, device or socket is refused unopened."""
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        raise FieldProblem(f"`{relative}` not found in the tenant folder `{shown}`") from None
    except OSError as exc:
        raise FieldProblem(f"cannot read `{relative}`: {exc.strerror}") from None
    if stat.S_ISDIR(mode):
        raise FieldProblem(f"`{relative}` is a folder, not a file in the tenant folder `{shown}`")
    if not stat.S_ISREG(mode):
        raise FieldProblem(
            f"`{relative}` is not a regular file ({_file_type(mode)}); "
            "name a plain file in the tenant folder"
        )
    try:  # O_NONBLOCK: a file swapped for a FIFO after the check still never blocks
        descriptor = os.open(target, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(descriptor, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise FieldProblem(f"`{relative}` is not a regular file; name a plain file")
            return file.read()
    except OSError as exc:
        raise FieldProblem(f"cannot read `{relative}`: {exc.strerror}") from None


def _file_type(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a plain file"


def _resolved(path: Path, relative: str) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError) as exc:
        raise FieldProblem(f"cannot follow `{relative}`: {exc}") from None
