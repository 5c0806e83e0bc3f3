"""What every resource kind provides, and the value types the pure layers share.

A *kind* (Tenant, Dataset, Notebook, Job, ServingEndpoint, VectorIndex) is one
module in this package holding: its pydantic spec model, a small table of field
rules (each with a reason), the attributes other documents may reference, how a
spec is normalised into the comparable dict the planner diffs, how a remote
object is projected back onto that same shape, and the connector calls that
create, update and delete it.

The planner never sees YAML or HTTP: it compares three mappings of plain dicts
(desired, recorded, observed) keyed by :class:`ResourceKey`.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from reconciler.errors import ConnectorError, NotFoundError

if TYPE_CHECKING:
    from reconciler.diff import FieldChange
    from reconciler.mcp.client import ConnectorClient

MANAGED_BY = "agentprovision-reconciler"
"""Marker the reconciler stamps on every object it creates (``managed_by``)."""


class _Absent:
    """Marks a value that is not there (distinct from ``None``)."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT: Any = _Absent()
"""A field that a spec or a remote object does not have."""


class SpecBase(BaseModel):
    """Base of every kind's ``spec`` model: unknown fields are errors, aliases accepted."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    adopt: bool = Field(
        default=False,
        description="Take over an object that already exists remotely but was not created "
        "by the reconciler, instead of reporting a conflict.",
    )


class FieldProblem(Exception):
    """Raised by pure kind code for a problem in one spec field; the loader adds file:line."""

    def __init__(self, message: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


class ResourceKey(NamedTuple):
    """Identity of one resource: unique per tenant and kind."""

    tenant: str
    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.tenant}/{self.kind}/{self.name}"


@dataclass(frozen=True)
class SourceLocation:
    """Where a document (or one of its fields) was written."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class Rule(StrEnum):
    CREATE_ONLY = "create_only"  # cannot change in place: a change means replace
    SERVER_DEFAULT = "server_default"  # the server fills it when we leave it out
    OUTPUT_ONLY = "output_only"  # the server sets it; never sent, never diffed
    IGNORED = "ignored"  # never diffed
    SENSITIVE = "sensitive"  # a secret: shown as (sensitive), stored only as a hash


@dataclass(frozen=True)
class FieldRule:
    """One declared rule for a spec field path (dotted, ``*`` matches one segment)."""

    path: str
    rule: Rule
    reason: str
    default: Any = None


@dataclass(frozen=True)
class TenantContext:
    """The tenant a resource belongs to, as the connector knows it."""

    name: str  # metadata.name of the Tenant document
    tenant_id: str  # AgentProvision tenant id used in connector calls
    catalog: str  # Unity Catalog catalog name


WORKSPACE_ROOT = "/Workspace/AgentProvision/"
"""Every tenant's workspace folder is ``WORKSPACE_ROOT + <tenantId> + /``."""


@dataclass(frozen=True)
class Namespace:
    """What one tenant's documents may name: its workspace folder, its catalog, its endpoints.

    Built from the Tenant document (``spec.namespace``); every kind checks its
    documents against it in :meth:`Kind.check_namespace`. ``taken`` holds the
    longer endpoint prefixes of the other tenants of the same source tree that
    start with this tenant's prefix (``acme-labs-`` for ``acme-``), by tenant:
    names under them are theirs.
    """

    tenant: str
    folder: str  # /Workspace/AgentProvision/<tenantId>/
    catalog: str
    endpoint_prefix: str
    endpoints: frozenset[str] = frozenset()
    shared_catalogs: frozenset[str] = frozenset()
    taken: tuple[tuple[str, str], ...] = ()  # (prefix, tenant) of other tenants

    def check_path(self, path: str, field: tuple[str | int, ...], what: str) -> None:
        """A literal workspace path must be clean and inside the tenant's folder."""
        if any(ord(c) < 32 for c in path):
            raise FieldProblem(
                f"{what} {path!r} holds a NUL or control character; write a plain workspace path",
                field,
            )
        segments = path.split("/")[1:]
        if any(s in ("", ".", "..") for s in segments):
            raise FieldProblem(
                f"{what} {path!r} has an empty, `.` or `..` segment; "
                f"write the path in full, under {self.folder}",
                field,
            )
        if not (path.startswith(self.folder) or f"/Workspace{path}".startswith(self.folder)):
            owner = _folder_owner(path)
            whose = f" (in tenant id `{owner}`'s folder)" if owner else ""
            raise FieldProblem(
                f"{what} {path!r} is outside the workspace folder {self.folder} of tenant "
                f"`{self.tenant}`{whose}; keep the tenant's notebooks under its folder",
                field,
            )

    def owns_endpoint(self, name: str) -> bool:
        """True when serving endpoint ``name`` is in this tenant's namespace."""
        if name in self.endpoints:
            return True
        if not name.startswith(self.endpoint_prefix):
            return False
        return not any(name.startswith(prefix) for prefix, _tenant in self.taken)

    def endpoint_problem(self, name: str) -> str:
        """Why serving endpoint ``name`` is not this tenant's (for a FieldProblem)."""
        other = next((t for prefix, t in self.taken if name.startswith(prefix)), None)
        if other is not None:
            return (
                f"serving endpoint `{name}` is in tenant `{other}`'s namespace; "
                f"name this tenant's endpoints `{self.endpoint_prefix}...` outside it"
            )
        return (
            f"serving endpoint `{name}` is outside tenant `{self.tenant}`'s namespace: its "
            f"endpoint names start with `{self.endpoint_prefix}`; rename it, or list it "
            "under the Tenant's `spec.namespace.endpoints`"
        )

    def allows_catalog(self, catalog: str) -> bool:
        """The tenant's own catalog, or one it lists as shared."""
        return catalog == self.catalog or catalog in self.shared_catalogs


def _folder_owner(path: str) -> str | None:
    """The tenant id whose folder ``path`` is in, if it is under the AgentProvision root."""
    path = path if path.startswith("/Workspace/") else f"/Workspace{path}"
    if not path.startswith(WORKSPACE_ROOT):
        return None
    owner = path[len(WORKSPACE_ROOT) :].split("/", 1)[0]
    return owner or None


@dataclass(frozen=True)
class DesiredResource:
    """One resource as the spec documents ask for it, normalised and resolved."""

    key: ResourceKey
    identity: str  # natural remote name (job name, notebook path, table full name, ...)
    spec: Mapping[str, Any]  # comparable, JSON-able, references resolved, files as hashes
    location: SourceLocation
    depends_on: tuple[ResourceKey, ...] = ()
    blobs: Mapping[str, bytes] = field(default_factory=dict)  # file bodies to upload
    adopt: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    lifecycle: Mapping[str, Any] = field(default_factory=dict)  # prevent_destroy, on_delete, ...
    sensitive: tuple[tuple[str, ...], ...] = ()  # spec paths holding secrets (masked in spec)
    cleartext: Mapping[str, Any] | None = None  # the spec with secrets in clear, when it has any
    # (spec path, text) of each value holding ${resources.*.id} references, the references as
    # written and literal `${` as `$${` (see reconciler.remote_ids); never log or store it
    templates: tuple[tuple[tuple[str | int, ...], str], ...] = ()

    def values(self) -> Mapping[str, Any]:
        """The spec to build connector payloads from (secrets in clear); never log or store it."""
        return self.cleartext if self.cleartext is not None else self.spec


@dataclass(frozen=True)
class ObservedResource:
    """One remote object, projected onto its kind's spec shape."""

    kind: str
    identity: str
    remote_id: str
    spec: Mapping[str, Any]
    raw: Mapping[str, Any]
    managed: bool = False  # carries the reconciler's managed_by marker
    ready: bool = True


@dataclass(frozen=True)
class Created:
    """What a create's answer says: the new object's remote id, and whether it is ready."""

    remote_id: str
    ready: bool = True


@dataclass(frozen=True)
class RecordedResource:
    """What the reconciler last applied for a resource (from the state store)."""

    key: ResourceKey
    identity: str
    remote_id: str
    spec: Mapping[str, Any]
    depends_on: tuple[ResourceKey, ...] = ()
    observed: Mapping[str, Any] | None = None
    status: str = "applied"
    lifecycle: Mapping[str, Any] = field(default_factory=dict)  # as last applied; survives the YAML


@dataclass(frozen=True)
class Verdict:
    """What one changed field means: in place or replace, and why, in words."""

    reason: str
    replace: bool = False
    destroys_data: bool = False


async def poll_until(
    check: Callable[[], Awaitable[bool]],
    *,
    timeout: float,
    first: float = 0.1,
    longest: float = 2.0,
) -> bool:
    """Call ``check`` until it returns True, sleeping 0.1 s, then longer up to 2 s.

    Returns False when ``timeout`` seconds pass first.
    """
    import asyncio  # lazy: loading and validating documents need no event loop

    deadline = time.monotonic() + timeout
    interval = first
    while True:
        if await check():
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        await asyncio.sleep(min(interval, remaining))
        interval = min(interval * 1.5, longest)


ReadFile = Callable[[str], bytes]
"""Reads a file named relative to the tenant folder (the loader checks the path)."""


def etag(observed: ObservedResource) -> str | None:
    """The ETag the object had when it was observed: updates send it as ``If-Match``,
    so an object changed since the plan is refused (412) instead of overwritten."""
    value = observed.raw.get("etag")
    return str(value) if value else None


def read_spec_file(read_file: ReadFile, relative: str, field: tuple[str | int, ...]) -> bytes:
    """Read a file a spec names, blaming ``field`` (a path under ``spec``) when it fails."""
    try:
        return read_file(relative)
    except FieldProblem as exc:
        raise FieldProblem(exc.message, field) from None


class Kind(ABC):
    """Base of every resource kind; each subclass is instantiated once in the registry."""

    kind: ClassVar[str]  # "Job"
    collection: ClassVar[str]  # "jobs": the name used in references, ${jobs.nightly.name}
    spec_model: ClassVar[type[BaseModel]]
    rules: ClassVar[tuple[FieldRule, ...]] = ()
    data_bearing: ClassVar[bool] = False  # deleting or replacing it destroys data
    ready_timeout: ClassVar[float] = 0.0  # seconds apply waits for the object to be ready
    noun: ClassVar[str] = "object"  # what messages call one object of the kind
    list_path: ClassVar[str] = ""  # the connector's list endpoint for the kind
    list_items: ClassVar[str] = ""  # the key of the objects in a list page
    unique_names: ClassVar[bool] = True  # identities are unique across the workspace

    # ---- pure side: used by the loader and the planner -------------------------------

    @abstractmethod
    def identity(self, tenant: TenantContext, name: str, spec: BaseModel) -> str:
        """The object's natural remote name, known before it exists."""

    @abstractmethod
    def attributes(self, tenant: TenantContext, name: str, spec: BaseModel) -> dict[str, str]:
        """Attributes other documents may reference as ``${collection.name.attr}``."""

    @abstractmethod
    def normalize(
        self, tenant: TenantContext, name: str, spec: BaseModel, read_file: ReadFile
    ) -> tuple[dict[str, Any], dict[str, bytes]]:
        """The comparable spec dict, and file bodies to upload (keyed by spec field)."""

    @abstractmethod
    def project(self, raw: Mapping[str, Any]) -> ObservedResource:
        """Project a remote object (as the connector returns it) onto the spec shape."""

    def with_presets(
        self, identity: str, spec: dict[str, Any], presets: Any
    ) -> tuple[str, dict[str, Any]]:
        """Identity and spec as a target's presets change them (:mod:`reconciler.variables`)."""
        return identity, spec

    def document_spec(self, observed: ObservedResource) -> dict[str, Any] | None:
        """The ``spec`` of a document that asks for ``observed`` as it is (for ``import
        remote``, which checks it as ``validate`` would); None when the kind cannot write
        one for this object."""
        return None

    def upgrade_recorded(self, spec: Mapping[str, Any]) -> Mapping[str, Any]:
        """A recorded spec written by an earlier version of the kind, in today's shape."""
        return spec

    # ---- connector side: used by observe and apply ------------------------------------

    async def list(self, client: ConnectorClient, tenant: TenantContext) -> list[ObservedResource]:
        """Every object of this kind in the tenant, page by page (never one GET each)."""
        params = {"tenant_id": tenant.tenant_id}
        pages = client.paginate(self.list_path, items=self.list_items, params=params)
        return [self.project(raw) async for raw in pages]

    async def create(
        self,
        client: ConnectorClient,
        tenant: TenantContext,
        desired: DesiredResource,
        *,
        idempotency_key: str | None = None,
    ) -> str:
        """Create the object; return its remote id. A kind overrides this or, when the
        create answer says whether the object is ready, :meth:`create_object`.

        ``idempotency_key`` goes on the creating call, so a retried create cannot
        make a second object.
        """
        if type(self).create_object is Kind.create_object:
            raise NotImplementedError(f"{type(self).__name__} overrides neither create method")
        created = await self.create_object(client, tenant, desired, idempotency_key=idempotency_key)
        return created.remote_id

    async def create_object(
        self,
        client: ConnectorClient,
        tenant: TenantContext,
        desired: DesiredResource,
        *,
        idempotency_key: str | None = None,
    ) -> Created:
        """Create the object: its remote id, and whether the answer says it is ready already
        (then apply sends no readiness read). Kinds that wait (``ready_timeout``) override it."""
        remote_id = await self.create(client, tenant, desired, idempotency_key=idempotency_key)
        return Created(remote_id, ready=not self.ready_timeout)

    @abstractmethod
    async def update(
        self,
        client: ConnectorClient,
        tenant: TenantContext,
        desired: DesiredResource,
        observed: ObservedResource,
        changed: frozenset[str],
    ) -> None:
        """Bring the object in line with ``desired``; ``changed`` names the top-level fields."""

    async def delete(
        self, client: ConnectorClient, tenant: TenantContext, identity: str, remote_id: str
    ) -> None:
        """Delete the object; a missing object is not an error (delete twice is fine)."""
        path, params = self.object_path(tenant, identity, remote_id)
        try:
            await client.delete(path, params=params or None)
        except NotFoundError:
            return

    def object_path(
        self, tenant: TenantContext, identity: str, remote_id: str
    ) -> tuple[str, dict[str, str]]:
        """The connector path (and query) that reads one object of this kind."""
        raise NotImplementedError(f"{self.kind} cannot be read one by one")

    async def read(
        self, client: ConnectorClient, tenant: TenantContext, identity: str, remote_id: str
    ) -> ObservedResource | None:
        """One object, read afresh (for checks just before a change); None when gone."""
        path, params = self.object_path(tenant, identity, remote_id)
        try:
            raw = await client.get(path, params=params)
        except NotFoundError:
            return None
        if not raw or raw.get("exists") is False:
            return None
        return self.project(raw)

    async def wait_ready(
        self, client: ConnectorClient, tenant: TenantContext, identity: str, remote_id: str
    ) -> None:
        """Wait until a long-running create/update settles (``project().ready``).

        Kinds that settle at once have ``ready_timeout = 0`` and return at once.
        A kind raises from :meth:`check_settling` when the operation failed; the
        timeout raises too, and the next apply waits again.
        """
        if not self.ready_timeout:
            return

        async def settled() -> bool:
            seen = await self.read(client, tenant, identity, remote_id)
            if seen is None:
                raise ConnectorError(
                    f"{self.noun} {identity!r} disappeared while apply waited for it",
                    hint="run apply again to create it",
                )
            self.check_settling(seen)
            return seen.ready

        if not await poll_until(settled, timeout=self.ready_timeout):
            raise ConnectorError(
                f"{self.noun} {identity!r} was not ready after {self.ready_timeout:g} s; "
                "it keeps working on it and the next apply will pick it up"
            )

    def check_related(self, spec: Mapping[str, Any], resolved: Iterable[DesiredResource]) -> None:
        """Check ``spec`` (normalised) against the tenant's documents resolved before it (the
        ones it references); raise :class:`FieldProblem` on a mismatch. Default: nothing."""
        return None

    def check_namespace(
        self, namespace: Namespace, identity: str, spec: BaseModel, normalized: Mapping[str, Any]
    ) -> None:
        """Raise :class:`FieldProblem` when the document names something outside its tenant's
        namespace; its path is the field's path in the whole document (``("spec", "path")``,
        ``("metadata", "name")``). Default: nothing to check."""
        return None

    def check_settling(self, observed: ObservedResource) -> None:
        """Raise when a long-running operation on the object failed (default: never)."""
        return None

    def assess(self, change: FieldChange) -> Verdict:
        """Judge one changed field; kinds override this for finer rules (table evolution)."""
        rule = self.rule_for(change.path)
        if rule is not None and rule.rule is Rule.CREATE_ONLY:
            return Verdict(f"`{change.path}` cannot change in place ({rule.reason})", replace=True)
        return Verdict(f"`{change.path}` changed")

    def rule_for(self, path: str) -> FieldRule | None:
        """The declared rule for a dotted field path, if any (remembered per kind and path)."""
        key = (type(self), path)
        known = _RULES_FOUND.get(key)
        if known is not None and known[0] is self.rules:
            return known[1]
        found = _first_rule(self.rules, path)
        if len(_RULES_FOUND) > 50_000:
            _RULES_FOUND.clear()
        _RULES_FOUND[key] = (self.rules, found)
        return found

    @property
    def has_sensitive_rules(self) -> bool:
        """Whether any declared rule marks a field sensitive."""
        return any(rule.rule is Rule.SENSITIVE for rule in self.rules)


_RULES_FOUND: dict[tuple[type, str], tuple[tuple[FieldRule, ...], FieldRule | None]] = {}


def _first_rule(rules: tuple[FieldRule, ...], path: str) -> FieldRule | None:
    parts = path.split(".")
    for rule in rules:
        pattern = rule.path.split(".")
        if len(pattern) <= len(parts) and all(
            p in ("*", s) for p, s in zip(pattern, parts, strict=False)
        ):
            return rule
    return None
