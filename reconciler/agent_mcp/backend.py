"""What each MCP tool does: a thin call of the library functions the CLI uses.

:class:`Backend` answers for one caller at a time (its :class:`Scope`): a
tenant outside the scope is "not found", exactly like one that does not
exist. Read-only answers never settle open intents or write drift history;
``plan`` keeps the plan for approval; ``apply`` applies only a plan a person
approved and that is still current (see :mod:`reconciler.approvals`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from reconciler.actions.runs import RunStatus
from reconciler.agent_mcp import models as m
from reconciler.agent_mcp.access import Scope, request_scope
from reconciler.agent_mcp.scrub import Scrubber
from reconciler.agent_mcp.status import tenant_status
from reconciler.agent_mcp.workspace import TenantNotFoundError, Workspace
from reconciler.approvals import (
    PlanNotFoundError,
    apply_approved,
    approval_of,
    find_plan,
    keep_for_approval,
)
from reconciler.config import Settings
from reconciler.errors import ReconcilerError, SpecError
from reconciler.load import TenantDesired, load_path
from reconciler.mcp.client import ConnectorClient
from reconciler.plan import Action, PlanOptions, ResourceChange, TenantPlan
from reconciler.render.jsonout import field_document, plan_document
from reconciler.state import ApplyRecord, StateStore


class Backend:
    """The tools' library calls, for the source and databases the server was started with."""

    def __init__(
        self,
        workspace: Workspace,
        settings: Settings,
        *,
        default_scope: Scope | None,
        limit: frozenset[str] | None = None,
    ) -> None:
        """``default_scope``: the caller's when a request has no token (stdio, in memory);
        ``limit``: the tenants this process serves at all (``--tenant``; None: every one)."""
        self.workspace = workspace
        self.settings = settings
        self.default_scope = default_scope
        self.limit = limit
        self.scrubber = Scrubber()
        self._store: StateStore | None = None

    # ---- plumbing -------------------------------------------------------------------

    def scope(self) -> Scope:
        return request_scope(self.default_scope)

    @property
    def store(self) -> StateStore:
        if self._store is None:
            self._store = StateStore.open(self.settings.database_url)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    @asynccontextmanager
    async def client(self) -> AsyncIterator[ConnectorClient]:
        url, key = self.settings.connector()
        async with ConnectorClient(url, key) as client:
            yield client

    def sees(self, scope: Scope, tenant: str) -> bool:
        return scope.sees(tenant) and (self.limit is None or tenant in self.limit)

    def visible(self, tenant: str) -> str:
        if not self.sees(self.scope(), tenant):
            raise TenantNotFoundError(f"tenant {tenant} not found", hint="see list_tenants")
        return tenant

    @contextmanager
    def load(self, tenant: str, files: Mapping[str, str] | None = None) -> Iterator[TenantDesired]:
        with self.workspace.load(self.visible(tenant), files) as desired:
            self.scrubber.learn(desired)
            yield desired

    async def tenant_plan(self, desired: TenantDesired, *, settle: bool = False) -> TenantPlan:
        from reconciler.reconcile import plan_tenant

        async with self.client() as client:
            return await plan_tenant(desired, store=self.store, client=client, settle=settle)

    # ---- tools ----------------------------------------------------------------------

    async def list_tenants(self) -> m.TenantList:
        scope = self.scope()
        found = []
        for name in sorted(self.workspace.tenant_roots()):
            if not self.sees(scope, name):
                continue
            try:
                with self.load(name) as desired:
                    context = desired.context
                    found.append(
                        m.TenantInfo(
                            name=name,
                            tenant_id=context.tenant_id,
                            catalog=context.catalog,
                            resources=len(desired.resources),
                        )
                    )
            except SpecError as exc:
                found.append(m.TenantInfo(name=name, problems=len(exc.problems)))
        return m.TenantList(tenants=found)

    async def validate(self, files: list[m.SpecFile], tenant: str | None) -> m.ValidationResult:
        texts = {f.path: f.text for f in files}
        try:
            if tenant is not None:
                with self.load(tenant, texts) as desired:
                    count = len(desired.resources)
            else:
                self.scope()
                with self.workspace.loose(texts) as folder:
                    count = sum(len(t.resources) for t in load_path(folder))
        except SpecError as exc:
            problems = [
                m.ProblemItem(
                    file=p.file,
                    line=p.line,
                    col=p.col,
                    field=p.path,
                    message=p.message,
                    text=str(p),
                )
                for p in exc.problems
            ]
            summary = f"{len(problems)} problem(s); fix the lines listed and validate again"
            return m.ValidationResult(ok=False, problems=problems, summary=summary)
        return m.ValidationResult(
            ok=True, problems=[], resources=count, summary=f"no problems, {count} resource(s)"
        )

    async def get_status(self, tenant: str) -> m.TenantStatus:
        from reconciler.health import latest_runs
        from reconciler.reconcile import plan_tenant

        with self.load(tenant) as desired:
            async with self.client() as client:
                plan = await plan_tenant(desired, store=self.store, client=client)
                runs = await latest_runs(client, plan)  # the job rules, as serve applies them
        history = self.store.history(tenant, limit=1)
        stored = self.store.tenant_status(tenant)
        return tenant_status(plan, history[0] if history else None, stored, runs)

    async def get_resource(self, tenant: str, kind: str, name: str) -> m.ResourceView:
        from reconciler.secrets import mask_paths, masked_paths

        with self.load(tenant) as desired:
            plan = await self.tenant_plan(desired)
        change = _change(plan, kind, name)
        recorded = self.store.read_tenant(tenant).resources.get(change.key)
        wanted = dict(change.desired.spec) if change.desired else None
        applied = dict(recorded.spec) if recorded else None
        observed = None
        if change.observed is not None:
            masks = masked_paths(wanted or {}) + masked_paths(applied or {})
            observed = mask_paths(change.observed.spec, masks)
        return m.ResourceView(
            tenant=tenant,
            kind=change.key.kind,
            name=change.key.name,
            identity=change.identity,
            desired=wanted,
            last_applied=applied,
            observed=observed,
            action=change.action.value,
            reason=change.reason,
        )

    async def plan(self, tenant: str, changes: list[m.SpecFile] | None) -> m.PlanResult:
        from reconciler.plan import Plan

        scope = self.scope()
        self.visible(tenant)
        scope.require_plan()
        files = {f.path: f.text for f in changes} if changes else None
        with self.load(tenant, files) as desired:
            tenant_plan = await self.tenant_plan(desired, settle=True)
        plan = Plan((tenant_plan,))
        record = keep_for_approval(
            self.store,
            plan,
            tenant=tenant,
            options=PlanOptions(),
            files=files,
            created_by=f"mcp ({scope.who})",
        )
        counts: dict[str, int] = {}
        for change in tenant_plan.actionable:
            counts[change.action.value] = counts.get(change.action.value, 0) + 1
        return m.PlanResult(
            plan_id=record.id,
            digest=record.digest,
            tenant=tenant,
            has_changes=plan.has_changes,
            counts=counts,
            plan=plan_document(plan),
            next_step=_next_step(record.id, tenant_plan),
        )

    async def drift(self, tenant: str) -> m.DriftResult:
        from reconciler.drift import observe_drift

        with self.load(tenant) as desired:
            async with self.client() as client:
                report = await observe_drift(desired, store=self.store, client=client)
        return m.DriftResult(tenant=tenant, has_drift=report.has_drift, report=report.document())

    async def explain(self, tenant: str, kind: str, name: str) -> m.Explanation:
        with self.load(tenant) as desired:
            plan = await self.tenant_plan(desired)
        change = _change(plan, kind, name)
        return m.Explanation(
            tenant=tenant,
            address=change.address,
            action=change.action.value,
            reason=change.reason,
            fields=[m.FieldDifference(**field_document(f)) for f in change.fields],
            drift=[m.FieldDifference(**field_document(f)) for f in change.drift],
        )

    async def history(self, tenant: str, limit: int) -> m.History:
        self.visible(tenant)
        records = self.store.history(tenant, limit=max(1, min(limit, 100)))
        return m.History(tenant=tenant, applies=[apply_info(r) for r in records])

    async def runs(self, tenant: str, job: str, limit: int) -> m.Runs:
        """The job's runs through the library the CLI's ``runs`` uses."""
        from reconciler.actions import find_target, list_runs

        with self.load(tenant) as desired:
            context = desired.context
        found = find_target(self.store, "Job", job, tenant=tenant, context=context)
        async with self.client() as client:
            runs = await list_runs(client, found, limit=max(1, min(limit, 100)))
        return m.Runs(tenant=tenant, job=job, runs=[run_info(r) for r in runs])

    async def apply(self, plan_id: str) -> m.ApplyOutcome:
        from reconciler.commands.common import git_commit

        scope = self.scope()
        record = self._plan_record(plan_id, scope)
        scope.require_plan()
        with self.load(record.tenant, record.files) as desired:
            async with self.client() as client:
                results = await apply_approved(
                    record,
                    desired,
                    store=self.store,
                    client=client,
                    actor=f"mcp ({scope.who})",
                    git_commit=git_commit(self.workspace.source),
                )
        approval = approval_of(self.store, record)
        steps = [
            m.StepItem(
                address=f"{s.key.kind}/{s.key.name}",
                action=s.action.value,
                outcome=s.outcome,
                error=s.error,
            )
            for r in results
            for s in r.steps
        ]
        errors = [r.error for r in results if r.error]
        return m.ApplyOutcome(
            plan_id=plan_id,
            tenant=record.tenant,
            ok=all(r.ok for r in results),
            approved_by=approval.approved_by if approval else "",
            apply_id=results[0].apply_id if results else None,
            steps=steps,
            error="; ".join(errors) or None,
        )

    def _plan_record(self, plan_id: str, scope: Scope) -> Any:
        try:
            record = find_plan(self.store, plan_id)
        except PlanNotFoundError:
            raise
        if not self.sees(scope, record.tenant):
            raise PlanNotFoundError(f"plan {plan_id} not found", hint="make one with the plan tool")
        return record

    # ---- resources ------------------------------------------------------------------

    def documents(self, tenant: str) -> dict[str, str]:
        """The tenant's YAML files, by path in its folder."""
        root = self.workspace.root(self.visible(tenant))
        with self.load(tenant):
            pass  # learn its secrets, so the scrub knows them
        return {
            p.relative_to(root).as_posix(): p.read_text()
            for p in sorted(root.rglob("*.y*ml"))
            if not any(part.startswith(".") for part in p.relative_to(root).parts)
        }

    def last_applied(self, tenant: str) -> dict[str, Any]:
        snapshot = self.store.read_tenant(self.visible(tenant))
        return {
            "tenant": tenant,
            "serial": snapshot.serial,
            "resources": [
                {
                    "address": f"{key.kind}/{key.name}",
                    "identity": r.identity,
                    "remote_id": r.remote_id,
                    "spec": dict(r.spec),
                    "observed": dict(r.observed) if r.observed is not None else None,
                    "lifecycle": dict(r.lifecycle),
                }
                for key, r in sorted(snapshot.resources.items(), key=lambda kv: str(kv[0]))
            ],
        }


def _change(plan: TenantPlan, kind: str, name: str) -> ResourceChange:
    from reconciler.commands.plan import parse_address

    wanted = parse_address(f"{kind}/{name}")
    for change in plan.changes:
        if (change.key.kind, change.key.name) == wanted:
            return change
    raise ReconcilerError(
        f"{wanted[0]}/{wanted[1]} not found in tenant {plan.tenant}",
        hint="see get_status for the tenant's resources",
    )


def _next_step(plan_id: str, plan: TenantPlan) -> str:
    if not plan.actionable:
        return "nothing to apply: the tenant already matches its documents"
    failing = [c for c in plan.actionable if c.action in (Action.CONFLICT, Action.BLOCKED)]
    if failing:
        return "this plan cannot be applied as it is: " + "; ".join(
            f"{c.address}: {c.reason}" for c in failing
        )
    return (
        f"ask a person to review and run `reconciler approve {plan_id}`, "
        f"then call apply with plan_id {plan_id}"
    )


def run_info(run: RunStatus) -> m.RunInfo:
    return m.RunInfo(
        run_id=run.run_id,
        life_cycle_state=run.state,
        result_state=run.result,
        state_message=run.message,
        start_time=run.started_at.isoformat() if run.started_at else None,
        end_time=run.ended_at.isoformat() if run.ended_at else None,
        duration_s=run.duration_s,
        trigger=run.trigger,
        url=run.url,
        tasks=[m.RunTask(**t.to_dict()) for t in run.tasks],
    )


def apply_info(record: ApplyRecord) -> m.ApplyInfo:
    return m.ApplyInfo(
        id=record.id,
        serial=record.serial,
        actor=record.actor,
        git_commit=record.git_commit,
        started_at=record.started_at.isoformat(),
        finished_at=record.finished_at.isoformat() if record.finished_at else None,
        outcome=record.outcome,
        summary=dict(record.summary),
        failed_steps=[
            f"{s.action} {s.kind}/{s.name}: {s.error}" for s in record.steps if s.outcome != "ok"
        ],
    )


__all__ = ["Backend", "Path"]
