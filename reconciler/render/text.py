"""The human plan: one line per resource, field-level before → after, a summary.

Colour goes through rich, which turns it off when the output is not a terminal
or ``NO_COLOR`` is set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape

from reconciler.apply import ApplyResult
from reconciler.plan import Action, Plan, ResourceChange, TenantPlan
from reconciler.render.values import show

SYMBOLS: dict[Action, tuple[str, str]] = {
    Action.CREATE: ("+", "green"),
    Action.UPDATE: ("~", "yellow"),
    Action.REPLACE: ("-/+", "magenta"),
    Action.DELETE: ("-", "red"),
    Action.FORGET: ("x", "dim"),
    Action.ADOPT: ("<=", "cyan"),
    Action.CONFLICT: ("!", "bold red"),
    Action.NOOP: ("=", "dim"),
}
ORDER = (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE, Action.FORGET, Action.ADOPT)


def make_console(*, stderr: bool = False) -> Console:
    """A console that never wraps long lines (logs and CI keep one line per item)."""
    return Console(stderr=stderr, soft_wrap=True, highlight=False)


def render_plan(plan: Plan, console: Console) -> None:
    for tenant in plan.tenants:
        _render_tenant(tenant, console)
    console.print(summary_line(plan))


def summary_line(plan: Plan) -> str:
    counts: dict[str, int] = {}
    for tenant in plan.tenants:
        for action, n in tenant.counts().items():
            counts[action] = counts.get(action, 0) + n
    if not plan.has_changes:
        return "No changes. The remote objects match the spec documents."
    parts = [f"{counts.get(a.value, 0)} to {a.value}" for a in ORDER if counts.get(a.value)]
    conflicts = counts.get(Action.CONFLICT.value, 0)
    tail = f"; {conflicts} conflict{'s' if conflicts != 1 else ''}" if conflicts else ""
    return f"Plan: {', '.join(parts) or 'nothing to change'}{tail}."


def _render_tenant(tenant: TenantPlan, console: Console) -> None:
    ctx = tenant.context
    console.print(
        f"[bold]Tenant {escape(tenant.tenant)}[/bold] "
        f"(tenant_id {escape(ctx.tenant_id)}, catalog {escape(ctx.catalog)}, state serial {tenant.serial})"
    )
    changes = [c for c in tenant.changes if c.action is not Action.NOOP]
    if not changes:
        console.print("  no changes")
    for change in changes:
        _render_change(change, console)
    for drifted in (c for c in tenant.changes if c.action is Action.NOOP and c.drift):
        console.print(
            f"  [dim]= {drifted.key.kind}/{drifted.key.name}: drift already matches the spec[/dim]"
        )
    if tenant.unmanaged:
        names = ", ".join(f"{u.kind} {u.identity}" for u in tenant.unmanaged)
        console.print(f"  [dim]unmanaged (left alone): {escape(names)}[/dim]")
    console.print()


def _render_change(change: ResourceChange, console: Console) -> None:
    symbol, style = SYMBOLS[change.action]
    address = f"{change.key.kind}/{change.key.name}"
    console.print(
        f"  [{style}]{escape(symbol):>3} {escape(address)}[/{style}]  "
        f"{change.action.value}: {escape(change.reason)}"
    )
    if change.action is Action.CREATE and change.desired is not None:
        for path, value in _flatten(change.desired.spec):
            console.print(f"        {escape(path)}: {escape(show(value))}")
        return
    for f in change.fields:
        console.print(
            f"        {escape(f.path)}: {escape(show(f.remote))} → {escape(show(f.after))}"
        )


def _flatten(spec: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key in sorted(spec):
        value = spec[key]
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, path + ".")
        else:
            yield path, value


def render_apply(results: list[ApplyResult], console: Console) -> None:
    steps = [s for r in results for s in r.steps]
    failed = [s for s in steps if s.outcome != "ok"]
    ok = len(steps) - len(failed)
    if not steps:
        console.print("Nothing to apply.")
        return
    for step in failed:
        console.print(
            f"[red]✗ {escape(step.key.tenant)}/{escape(step.key.kind)}/{escape(step.key.name)}"
            f" ({step.action.value}) {step.outcome}: {escape(step.error or '')}[/red]"
        )
    verdict = "Apply complete" if not failed else "Apply finished with failures"
    console.print(
        f"{verdict}: {ok} step{'s' if ok != 1 else ''} done, {len(failed)} failed or skipped."
    )
    if failed:
        console.print("Fix the causes above and run apply again: finished steps are recorded.")
