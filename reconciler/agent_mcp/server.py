"""The MCP server: tools, resources and prompts over :class:`~.backend.Backend`.

Every tool is a thin call of the backend, typed (clients get structured
content) and honestly annotated: all are read-only except ``plan`` (it keeps a
saved plan in the state database) and ``apply`` (it changes Databricks, and
only for a plan a person approved). Every result, resource and error passes
the secret scrub on its way out; an error is one line, with no traceback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable
from typing import Annotated, Any, TypeVar

from mcp.server import MCPServer
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from reconciler import __version__
from reconciler.agent_mcp import models as m
from reconciler.agent_mcp.access import TokenTable
from reconciler.agent_mcp.backend import Backend
from reconciler.errors import ReconcilerError, SpecError

log = logging.getLogger("reconciler.mcp")

ResultT = TypeVar("ResultT", bound=BaseModel)

READ = ToolAnnotations(read_only_hint=True, open_world_hint=True)
PLAN = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
)
APPLY = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
)

INSTRUCTIONS = """\
The AgentProvision reconciler: tenants' Databricks resources as YAML documents.
Read freely (list_tenants, get_status, get_resource, drift, explain, history, runs),
check proposed documents with validate, and see their effect with plan: it returns
a plan_id. apply(plan_id) works only after a person approved that exact plan with
`reconciler approve PLAN_ID`, and is refused once the plan went stale (plan again).
Proposed files are never written into the tenants' repository."""


def build_server(
    backend: Backend, *, tokens: TokenTable | None = None, url: str | None = None
) -> MCPServer[Any]:
    """The server; with ``tokens`` every HTTP request needs a bearer token from them."""
    auth = None
    if tokens is not None:
        base = url or "http://127.0.0.1"
        auth = AuthSettings(issuer_url=base, resource_server_url=None)  # type: ignore[arg-type]
    server: MCPServer[Any] = MCPServer(
        "reconciler",
        version=__version__,
        instructions=INSTRUCTIONS,
        token_verifier=tokens,
        auth=auth,
        log_level="WARNING",
    )
    _tools(server, backend)
    _resources(server, backend)
    _prompts(server)
    return server


async def guarded(backend: Backend, call: Awaitable[ResultT]) -> ResultT:
    """Await a backend call; scrub its result; turn any failure into one clean line."""
    try:
        return backend.scrubber.model(await call)
    except SpecError as exc:
        raise ToolError(backend.scrubber.text(f"{exc}: " + "; ".join(exc.lines()))) from None
    except ReconcilerError as exc:
        raise ToolError(backend.scrubber.text(str(exc))) from None
    except Exception as exc:
        log.exception("tool failed")
        message = f"internal error: {type(exc).__name__}: {exc}"
        raise ToolError(backend.scrubber.text(message)) from None


def _tools(server: MCPServer[Any], backend: Backend) -> None:
    @server.tool(annotations=READ)
    async def list_tenants() -> m.TenantList:
        """The tenants this caller may see, with their tenant id, catalog and resource count."""
        return await guarded(backend, backend.list_tenants())

    @server.tool(annotations=READ)
    async def get_status(tenant: str) -> m.TenantStatus:
        """Sync (Synced/OutOfSync) and health of the tenant and each of its resources,
        with the last apply and the last error."""
        return await guarded(backend, backend.get_status(tenant))

    @server.tool(annotations=READ)
    async def get_resource(tenant: str, kind: str, name: str) -> m.ResourceView:
        """One resource (kind: Job, Notebook, Dataset, ServingEndpoint, VectorIndex, Tenant):
        desired, last applied and observed, secrets masked."""
        return await guarded(backend, backend.get_resource(tenant, kind, name))

    @server.tool(annotations=READ)
    async def validate(
        files: list[m.SpecFile],
        tenant: Annotated[
            str | None, Field(description="check the files within this tenant's documents")
        ] = None,
    ) -> m.ValidationResult:
        """Check spec documents given as text: problems come back with file:line:col and
        what to do. Nothing is written anywhere."""
        return await guarded(backend, backend.validate(files, tenant))

    @server.tool(annotations=PLAN)
    async def plan(
        tenant: str,
        changes: Annotated[
            list[m.SpecFile] | None,
            Field(description="proposed files, added or replacing the tenant's; never written"),
        ] = None,
    ) -> m.PlanResult:
        """The plan of the tenant's documents (with `changes` laid over them): every change
        with its reason, and a plan_id that a person can approve."""
        return await guarded(backend, backend.plan(tenant, changes))

    @server.tool(annotations=READ)
    async def drift(tenant: str) -> m.DriftResult:
        """Where the remote objects moved away from what was last applied."""
        return await guarded(backend, backend.drift(tenant))

    @server.tool(annotations=READ)
    async def explain(tenant: str, kind: str, name: str) -> m.Explanation:
        """One resource's field-level difference (documents, last applied, remote) and why."""
        return await guarded(backend, backend.explain(tenant, kind, name))

    @server.tool(annotations=READ)
    async def history(tenant: str, limit: int = 20) -> m.History:
        """The tenant's past applies, newest first: who, when, which commit, the outcome."""
        return await guarded(backend, backend.history(tenant, limit))

    @server.tool(annotations=READ)
    async def runs(tenant: str, job: str, limit: int = 20) -> m.Runs:
        """The latest runs of one of the tenant's jobs (by its document name)."""
        return await guarded(backend, backend.runs(tenant, job, limit))

    @server.tool(annotations=APPLY)
    async def apply(plan_id: str) -> m.ApplyOutcome:
        """Apply a saved plan by id: refused unless a person approved exactly that plan,
        and refused when it went stale (then plan again)."""
        return await guarded(backend, backend.apply(plan_id))


def _resources(server: MCPServer[Any], backend: Backend) -> None:
    def answer(read: Any) -> str:
        try:
            return backend.scrubber.text(json.dumps(read(), indent=2, sort_keys=True, default=str))
        except ReconcilerError as exc:
            raise ResourceError(backend.scrubber.text(str(exc))) from None

    @server.resource(
        "reconciler://tenants/{tenant}/documents",
        name="tenant-documents",
        description="The tenant's spec documents (YAML text by file), read-only.",
        mime_type="application/json",
    )
    def documents(tenant: str) -> str:
        return answer(lambda: {"tenant": tenant, "files": backend.documents(tenant)})

    @server.resource(
        "reconciler://tenants/{tenant}/state",
        name="tenant-state",
        description="What the reconciler last applied for the tenant, read-only.",
        mime_type="application/json",
    )
    def state(tenant: str) -> str:
        return answer(lambda: backend.last_applied(tenant))


def _prompts(server: MCPServer[Any]) -> None:
    @server.prompt(name="why-out-of-sync", description="Why is this resource out of sync?")
    def why_out_of_sync(tenant: str, kind: str, name: str) -> str:
        return (
            f"Find out why {kind}/{name} of tenant {tenant} is out of sync. Call get_status "
            f"for tenant {tenant}, then explain for {kind}/{name} to see each field's "
            "documents / last applied / remote values and the reason, and drift to see what "
            "changed outside the reconciler. Answer in a few sentences: what differs, who "
            "likely changed it (the documents or someone outside), and what would fix it."
        )

    @server.prompt(name="what-would-change", description="What would change if a file changed?")
    def what_would_change(tenant: str, change: str) -> str:
        return (
            f"For tenant {tenant}, work out what would change if: {change}. Write the proposed "
            "spec file(s), check them with validate (fix every file:line problem), then call "
            "plan with them as `changes`. Summarise each resource change with its reason, "
            "call out anything destructive, and give the plan_id: a person approves it with "
            "`reconciler approve PLAN_ID` before apply is allowed."
        )
