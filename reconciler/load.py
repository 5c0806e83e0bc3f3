"""YAML files → the desired resources of each tenant, or every problem at once.

``load_path`` walks a folder for ``*.yaml`` / ``*.yml`` files (sorted; hidden
folders skipped), reads every document with the line and column of each of
its fields, and groups documents by tenant: a ``Tenant`` document makes its
folder a tenant root, and every other document belongs to the nearest
enclosing root. Within a tenant, documents are resolved in dependency order:
a document's ``${collection.name.attribute}`` references are replaced by the
attributes of the resources they name (see :mod:`reconciler.refs`), the
result is validated by the kind's spec model and normalised into the
comparable dict the planner diffs.

Nothing wrong in the input raises anything but one :class:`SpecError` that
lists every problem, each at ``file:line:col`` with the field path and what
to do about it. :func:`load_tenants` instead gives one outcome per tenant
folder, so one tenant's typo never stops the others (``plan``, ``apply``,
``drift`` and ``serve`` use it); :func:`load_path` is all or nothing.
"""

from __future__ import annotations

import os
from bisect import bisect_left
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from itertools import accumulate
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from reconciler import scrub
from reconciler.claims import TreeTenant, check_tree, taken_prefixes
from reconciler.errors import Problem, SpecError
from reconciler.explain import did_you_mean
from reconciler.forked import in_fork
from reconciler.kinds.base import DesiredResource, Namespace, ResourceKey, TenantContext
from reconciler.kinds.tenant import TenantPolicy, TenantSpec, tenant_context, tenant_namespace
from reconciler.resolve import TenantResolver
from reconciler.sources import Report, Skipped, SourceDocument, read_documents, validate
from reconciler.variables import LoadOptions, Resolved, VariableProblem, resolve_variables
from reconciler.yamlpos import Position


@dataclass(frozen=True)
class TenantDesired:
    """Everything one tenant's documents ask for, ready for planning."""

    context: TenantContext
    root: Path  # the folder holding the Tenant document
    policy: TenantPolicy
    resources: Mapping[ResourceKey, DesiredResource]  # includes the Tenant resource itself
    order: tuple[ResourceKey, ...]  # dependency order: create/update in this order
    skipped: tuple[Skipped, ...] = ()  # places in the tenant folder that were not read


@dataclass(frozen=True)
class TenantProblems:
    """A tenant folder that did not load: its problems (``tenant`` when its name is known).

    ``folder`` is relative to the path given (``.`` for that folder itself);
    problems found outside every tenant folder have the file's own folder.
    """

    folder: str
    tenant: str | None
    problems: tuple[Problem, ...]

    def error(self) -> SpecError:
        return SpecError(self.problems)


@dataclass(frozen=True)
class LoadResult:
    """One outcome per tenant folder: the tenants that loaded, and the ones that did not."""

    tenants: tuple[TenantDesired, ...]
    failures: tuple[TenantProblems, ...] = ()
    warnings: tuple[Skipped, ...] = ()  # what was skipped (shown by every command that loads)

    @property
    def problems(self) -> tuple[Problem, ...]:
        return tuple(p for f in self.failures for p in f.problems)


def load_path(path: str | Path, options: LoadOptions | None = None) -> tuple[TenantDesired, ...]:
    """Load every tenant under ``path`` (a folder of tenants, one tenant folder, or a file).

    ``options`` choose the target (``--target-env``) and give variable values
    (``--var``). Raises :class:`SpecError` listing every problem found in any file.
    """
    result = load_tenants(path, options)
    if result.failures:
        raise SpecError(result.problems)
    return result.tenants


def load_tenants(path: str | Path, options: LoadOptions | None = None) -> LoadResult:
    """Load every tenant under ``path``; a tenant with problems is a failure, the rest load."""
    options = options or LoadOptions()
    given = Path(path)
    base = given if given.is_dir() else given.parent
    report = Report(base)
    if not given.exists():
        report.add_at(given.name or str(given), Position(1, 1), f"no such file or folder: {given}")
        return LoadResult((), (TenantProblems(".", None, tuple(report.problems)),))
    documents = _read_all(_spec_files(given, report), report)
    groups = _group_by_tenant(documents, report)
    declared = _declare_all(groups, report)
    tenants = _load_all(list(zip(groups, declared, strict=True)), report, options)
    _check_var_options(groups, options, report)
    if not groups and not report.problems:
        message = "no `Tenant` document found: add a tenant.yaml to each tenant folder"
        report.add_at(".", Position(1, 1), message)
    return _outcomes(groups, tenants, report)


def _outcomes(
    groups: list[_TenantGroup], tenants: list[TenantDesired | None], report: Report
) -> LoadResult:
    """Give every problem to the deepest tenant folder holding its file; split the tenants."""
    roots = {report.relative(g.root): g for g in groups}
    by_folder: dict[str, list[Problem]] = {}
    for problem in report.problems:
        by_folder.setdefault(_owning_folder(problem.file, roots), []).append(problem)
    skipped: dict[str, list[Skipped]] = {}
    for place in report.skipped:
        skipped.setdefault(_owning_folder(place.path, roots), []).append(place)
    loaded = tuple(
        replace(t, skipped=tuple(skipped.get(report.relative(g.root), ())))
        for g, t in zip(groups, tenants, strict=True)
        if t is not None and report.relative(g.root) not in by_folder
    )
    failures = tuple(
        TenantProblems(folder, roots[folder].tenant.name if folder in roots else None, tuple(ps))
        for folder, ps in sorted(by_folder.items())
    )
    return LoadResult(loaded, failures, tuple(report.skipped))


def _owning_folder(file: str, roots: Mapping[str, _TenantGroup]) -> str:
    folder = Path(file).parent
    for candidate in (folder, *folder.parents):
        if candidate.as_posix() in roots:
            return candidate.as_posix()
    return folder.as_posix()


def _spec_files(given: Path, report: Report | None = None) -> list[Path]:
    """``given`` itself, or every YAML file below it in sorted order (hidden folders skipped).

    A link (to a file or a folder) is followed when it resolves inside
    ``given``; one that points outside is a problem naming the link (whether
    it stays inside its own tenant folder is checked once tenants are known).
    A link whose target is missing, a folder reached twice through links and
    a folder that cannot be listed are skipped, each a warning in ``report``.
    """
    report = report or Report(given if given.is_dir() else given.parent)
    if not given.is_dir():
        return [given]
    walker = _Walker(given, report)
    walker.walk(given)
    return walker.found


def _is_spec_name(name: str) -> bool:
    return name.endswith((".yaml", ".yml")) and not name.startswith(".")


class _Walker:
    """Collects spec files below one folder, following links only inside it."""

    def __init__(self, base: Path, report: Report) -> None:
        self.base = base
        self.real_base = base.resolve()
        self.report = report
        self.found: list[Path] = []
        self.visited: set[Path] = {self.real_base}

    def walk(self, folder: Path) -> None:
        try:
            with os.scandir(folder) as scan:
                entries = sorted(scan, key=lambda e: e.name)
        except OSError as exc:
            self.report.skip(folder, f"the folder cannot be listed ({exc.strerror})")
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            if entry.is_symlink():
                self._link(path)
            elif entry.is_dir(follow_symlinks=False):
                self.visited.add(path.resolve())
                self.walk(path)
            elif _is_spec_name(entry.name):
                self.found.append(path)

    def _link(self, link: Path) -> None:
        try:
            target = link.resolve(strict=True)
        except (OSError, RuntimeError):
            self.report.skip(link, f"a link to `{os.readlink(link)}`, which does not exist")
            return
        folder = target.is_dir()
        if not folder and not _is_spec_name(link.name):
            return  # not a spec file (data files are checked where a spec names them)
        if not target.is_relative_to(self.real_base):
            what = "folder" if folder else "file"
            message = (
                f"a link to a {what} outside the tenant folder (`{os.readlink(link)}`); "
                "links are followed only inside it: copy the "
                f"{what} in or point the link inside"
            )
            self.report.add_at(self.report.relative(link), Position(1, 1), message)
        elif not folder:
            self.found.append(link)
        elif target in self.visited:
            self.report.skip(link, "a link to a folder that is read already (a loop or a copy)")
        else:
            self.visited.add(target)
            self.walk(link)


@dataclass
class _TenantGroup:
    """The documents of one tenant root: its Tenant document and the rest."""

    root: Path
    tenant: SourceDocument
    members: list[SourceDocument]


def _group_by_tenant(documents: list[SourceDocument], report: Report) -> list[_TenantGroup]:
    """Assign each document to the nearest enclosing folder that holds a Tenant document."""
    groups: dict[Path, _TenantGroup] = {}
    real = _RealPaths()
    for doc in documents:
        if doc.kind != "Tenant":
            continue
        root = doc.file.parent
        if root in groups:
            first = groups[root].tenant
            report.add(
                doc,
                ("kind",),
                f"a second `Tenant` document in `{report.folder(root)}` "
                f"(the first is at {first.where()}); keep one per tenant folder",
            )
        elif _inside_its_folder(doc, root, report, real):
            groups[root] = _TenantGroup(root, doc, [])
    for doc in documents:
        if doc.kind == "Tenant":
            continue
        group = next((groups[p] for p in doc.file.parents if p in groups), None)
        if group is not None and not _inside_its_folder(doc, group.root, report, real):
            continue
        if group is None:
            report.add(
                doc,
                ("kind",),
                "document is outside every tenant folder: put it in a "
                "folder with a `Tenant` document (or below one)",
            )
        else:
            group.members.append(doc)
    return sorted(groups.values(), key=lambda g: g.root)


class _RealPaths(dict[Path, Path]):
    """``Path.resolve`` once per path (a file holds many documents; resolving costs a
    system call per path component)."""

    def __missing__(self, path: Path) -> Path:
        real = self[path] = path.resolve()
        return real


def _inside_its_folder(
    doc: SourceDocument, root: Path, report: Report, resolved: _RealPaths
) -> bool:
    """Whether ``doc`` (read through links, perhaps) really lives in its tenant folder."""
    real = resolved[doc.file]
    if real.is_relative_to(resolved[root]):
        return True
    message = (
        f"read through a link, this is `{report.relative(real)}`, outside the tenant folder "
        f"`{report.folder(root)}`; links are followed only inside it: copy the file in "
        "or point the link inside"
    )
    if not any(p.file == doc.rel and p.message == message for p in report.problems):
        report.add_at(doc.rel, Position(1, 1), message)  # once per file, however many documents
    return False


@dataclass(frozen=True)
class _Declared:
    """What a valid Tenant document declares: its spec, connector identity and namespace."""

    spec: TenantSpec
    context: TenantContext
    namespace: Namespace


def _declare_all(groups: list[_TenantGroup], report: Report) -> list[_Declared | None]:
    """Validate every Tenant document, build the namespaces, and check that no two tenant
    folders claim the same name, tenantId, catalog or endpoint prefix (:mod:`.claims`)."""
    specs: list[tuple[TenantSpec, TenantContext] | None] = []
    for group in groups:
        name = group.tenant.name
        model = validate(group.tenant, report) if name else None
        spec = model.spec if model is not None else None
        specs.append(
            (spec, tenant_context(name or "", spec)) if isinstance(spec, TenantSpec) else None
        )
    prefixes = [
        (tenant_namespace(context, spec).endpoint_prefix, context.name)
        for spec, context in filter(None, specs)
    ]
    declared: list[_Declared | None] = []
    tree: list[TreeTenant] = []
    for group, found in zip(groups, specs, strict=True):
        if found is None:
            declared.append(None)
            if group.tenant.name is not None:
                tree.append(TreeTenant(group.tenant, group.tenant.name))
            continue
        spec, context = found
        prefix = tenant_namespace(context, spec).endpoint_prefix
        namespace = tenant_namespace(context, spec, taken_prefixes(context, prefix, prefixes))
        declared.append(_Declared(spec, context, namespace))
        tree.append(TreeTenant(group.tenant, context.name, context, namespace))
    check_tree(tree, report)
    return declared


def _check_var_options(groups: list[_TenantGroup], options: LoadOptions, report: Report) -> None:
    """A ``--var`` no tenant declares is a typo, not something to ignore."""
    declared = {
        name
        for group in groups
        if isinstance(group.tenant.data.get("spec"), dict)
        for name in group.tenant.data["spec"].get("variables") or {}
    }
    for name in sorted(set(options.variables) - declared):
        hint = did_you_mean(name, sorted(declared))
        report.add_at(".", Position(1, 1), f"--var {name}: no tenant declares `{name}`{hint}")


def _variables(
    doc: SourceDocument, spec: TenantSpec, options: LoadOptions, report: Report
) -> Resolved | None:
    try:
        return resolve_variables(spec.variables, spec.targets, options)
    except VariableProblem as exc:
        report.add(doc, ("spec", *exc.path), exc.message)
        return None


PARALLEL_BYTES = 1_000_000
PARALLEL_DOCUMENTS = 2_000
"""From this much YAML (bytes read, documents resolved) on, loading uses a second
core: a forked child reads part of the files, then resolves part of the tenants
(:data:`CHILD_SHARE`), while this process does the rest (:mod:`reconciler.forked`)."""

CHILD_SHARE = 0.44
"""The child's part of the work (by weight): it also pickles its answer, about a quarter
of the time the work takes, so both halves end together."""

T = TypeVar("T")
R = TypeVar("R")


def _in_two(
    items: list[T],
    weights: list[int],
    work: Callable[[list[T]], list[R]],
    report: Report,
    threshold: int,
) -> list[R]:
    """``work(items)``, the last :data:`CHILD_SHARE` of it (by weight) done in a forked child
    when it pays.

    What the child adds to the report (problems, skipped places) and the
    secrets it reads come back with its answer, in the order the work made
    them, so the outcome is the same as doing it all here. A child that fails
    is not a problem: this process then does its part too.
    """
    total = sum(weights)
    if len(items) < 2 or total < threshold:
        return work(items)
    # this process keeps the items before the one that crosses its share (at least one each)
    crossing = bisect_left(list(accumulate(weights)), total * (1 - CHILD_SHARE))
    half = min(max(crossing, 1), len(items) - 1)
    with in_fork(lambda: _reported(work, items[half:], report)) as child:
        mine = work(items[:half])
        answer = child.result() if child is not None else None
    if answer is None:
        return mine + work(items[half:])
    theirs, problems, skipped, secrets = answer
    report.extend(problems)
    report.skipped.extend(skipped)
    scrub.register(*secrets)
    return mine + theirs  # type: ignore[no-any-return]


def _reported(
    work: Callable[[list[T]], list[R]], items: list[T], report: Report
) -> tuple[list[R], list[Problem], list[Skipped], list[str]]:
    """In the child: the work's answer, and what it added to the report and the secrets."""
    problems, skipped, secrets = len(report.problems), len(report.skipped), scrub.registered()
    answer = work(items)
    fresh = sorted(scrub.registered() - secrets)
    return answer, report.problems[problems:], report.skipped[skipped:], fresh


def _file_size(file: Path) -> int:
    try:
        return file.stat().st_size
    except OSError:
        return 0  # read_documents reports it


def _read_all(files: list[Path], report: Report) -> list[SourceDocument]:
    sizes = [_file_size(f) for f in files]
    return _in_two(files, sizes, lambda part: read_documents(part, report), report, PARALLEL_BYTES)


_Pair = tuple["_TenantGroup", "_Declared | None"]


def _load_all(
    pairs: list[_Pair], report: Report, options: LoadOptions
) -> list[TenantDesired | None]:
    """Every tenant resolved (None for those with problems), in order."""

    def resolve(part: list[_Pair]) -> list[TenantDesired | None]:
        loaded = (_load_tenant(group, declared, report, options) for group, declared in part)
        return [None if t is None else replace(t, resources=dict(t.resources)) for t in loaded]

    weights = [1 + len(group.members) for group, _ in pairs]
    tenants = _in_two(pairs, weights, resolve, report, PARALLEL_DOCUMENTS)
    return [
        None if t is None else replace(t, resources=MappingProxyType(t.resources)) for t in tenants
    ]


def _load_tenant(
    group: _TenantGroup, declared: _Declared | None, report: Report, options: LoadOptions
) -> TenantDesired | None:
    """Resolve, validate and normalise one tenant's documents (None when it has problems)."""
    before = len(report.problems)
    tenant = group.tenant
    name = tenant.name or ""
    spec = declared.spec if declared is not None else None
    context = declared.context if declared is not None else None
    resolved = _variables(tenant, spec, options, report) if spec is not None else None
    if resolved is None:
        context = None
    resolver = TenantResolver(
        name,
        context,
        group.root,
        report,
        variables=resolved.values if resolved else None,
        presets=resolved.presets if resolved else None,
        namespace=declared.namespace if declared is not None else None,
    )
    resources = resolver.resolve([tenant, *group.members])
    if context is None or spec is None or len(report.problems) > before:
        return None
    order = resolver.order()
    if order is None:
        return None
    return TenantDesired(
        context=context,
        root=group.root,
        policy=spec.policy,
        resources=MappingProxyType(resources),
        order=order,
    )
