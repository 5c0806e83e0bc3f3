"""The human plan: one line per resource, field-level before → after, a summary.

Colour goes through rich, which turns it off when the output is not a terminal
or ``NO_COLOR`` is set.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape as escape_markup

from reconciler.plan import Action, Plan, ResourceChange, TenantPlan
from reconciler.render.values import show
from reconciler.scrub import scrub, scrubbed

SYMBOLS: dict[Action, tuple[str, str]] = {
    Action.CREATE: ("+", "green"),
    Action.UPDATE: ("~", "yellow"),
    Action.REPLACE: ("-/+", "magenta"),
    Action.DELETE: ("-", "red"),
    Action.FORGET: ("x", "dim"),
    Action.ADOPT: ("<=", "cyan"),
    Action.CONFLICT: ("!", "bold red"),
    Action.BLOCKED: ("!", "bold red"),
    Action.NOOP: ("=", "dim"),
}
ORDER = (
    Action.CREATE,
    Action.UPDATE,
    Action.REPLACE,
    Action.DELETE,
    Action.FORGET,
    Action.ADOPT,
)


def make_console(*, stderr: bool = False) -> Console:
    """A console that never wraps long lines (logs and CI keep one line per item).

    What it writes is scrubbed of every registered secret.
    """
    stream = scrubbed(sys.stderr if stderr else sys.stdout)
    return Console(file=stream, soft_wrap=True, highlight=False)


def escape(text: str) -> str:
    """``text`` for rich markup, scrubbed of secrets first (escaping changes their form)."""
    return escape_markup(scrub(text))


def render_plan(plan: Plan, console: Console) -> None:
    for tenant in plan.tenants:
        _render_tenant(tenant, console)
    console.print(summary_line(plan))
    destructive = plan.destructive
    if destructive:
        names = ", ".join(f"{c.key.tenant}/{c.address}" for c in destructive)
        console.print(
            f"[bold red]Destroys data:[/bold red] {escape(names)} — "
            "apply refuses this without --allow-data-loss."
        )


def count_actions(plan: Plan) -> dict[str, int]:
    counts: dict[str, int] = {}
    for tenant in plan.tenants:
        for action, n in tenant.counts().items():
            counts[action] = counts.get(action, 0) + n
        refreshed = sum(1 for c in tenant.changes if c.action is Action.NOOP and c.refresh)
        if refreshed:
            counts["refresh"] = counts.get("refresh", 0) + refreshed
    return counts


def summary_line(plan: Plan) -> str:
    counts = count_actions(plan)
    if not plan.has_changes:
        return "No changes. The remote objects match the spec documents."
    parts = [f"{counts[a.value]} to {a.value}" for a in ORDER if counts.get(a.value)]
    if counts.get("refresh"):
        parts.append(f"{counts['refresh']} record(s) to refresh")
    problems = [
        f"{counts[a.value]} {a.value}"
        for a in (Action.CONFLICT, Action.BLOCKED)
        if counts.get(a.value)
    ]
    tail = f"; cannot apply: {', '.join(problems)}" if problems else ""
    return f"Plan: {', '.join(parts) or 'nothing to change'}{tail}."


def _render_tenant(tenant: TenantPlan, console: Console) -> None:
    """The tenant's lines, handed to rich in one call (its fixed cost per call, a terminal
    and environment check, made a plan of 10,000 creates spend seconds printing)."""
    ctx = tenant.context
    lines = [
        f"[bold]Tenant {escape(tenant.tenant)}[/bold] (tenant_id {escape(ctx.tenant_id)}, "
        f"catalog {escape(ctx.catalog)}, state serial {tenant.serial})"
    ]
    changes = [c for c in tenant.changes if c.action is not Action.NOOP or c.refresh]
    if not changes:
        lines.append("  no changes")
    for change in changes:
        lines.extend(_change_lines(change))
    for drifted in (
        c for c in tenant.changes if c.action is Action.NOOP and c.drift and not c.refresh
    ):
        lines.append(f"  [dim]= {escape(drifted.address)}: drifted back to the spec already[/dim]")
    if tenant.unmanaged:
        names = ", ".join(f"{u.kind} {u.identity}" for u in tenant.unmanaged)
        lines.append(f"  [dim]unmanaged (left alone): {escape(names)}[/dim]")
    console.print("\n".join(lines) + "\n")


def _change_lines(change: ResourceChange) -> Iterable[str]:
    symbol, style = SYMBOLS[change.action]
    label = "refresh" if change.action is Action.NOOP else change.action.value
    destroys = change.destructive and "destroys" not in change.reason
    danger = " [bold red](destroys data)[/bold red]" if destroys else ""
    yield (
        f"  [{style}]{escape(symbol):>3} {escape(change.address)}[/{style}]  "
        f"{label}: {escape(change.reason)}{danger}"
    )
    if change.action is Action.CREATE and change.after is not None:
        for path, value in flatten(change.after):
            yield f"        {escape(path)}: {escape(show(value))}"
        return
    shown = change.fields or (change.drift if change.action is Action.NOOP else ())
    for f in shown:
        after = f.after if change.fields else f.remote
        before = f.remote if change.fields else f.before
        yield f"        {escape(f.path)}: {escape(show(before))} → {escape(show(after))}"


def flatten(spec: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    """``{"a": {"b": 1}}`` → ``("a.b", 1)``; empty dicts stay as values."""
    for key in sorted(spec):
        value = spec[key]
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from flatten(value, path + ".")
        else:
            yield path, value
