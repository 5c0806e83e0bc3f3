"""Drift reports for people (text, Markdown) and machines (JSON)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console

from reconciler.render.text import escape
from reconciler.render.values import show
from reconciler.scrub import scrub, scrub_data

if TYPE_CHECKING:
    from reconciler.drift import DriftReport

DRIFT_FORMAT_VERSION = "1"


def render_drift_text(reports: Sequence[DriftReport], console: Console) -> None:
    for report in reports:
        console.print(f"[bold]Tenant {escape(report.tenant)}[/bold] (state serial {report.serial})")
        if not report.drifted:
            console.print("  no drift")
        for d in report.drifted:
            if d.status == "deleted":
                console.print(f"  [red]- {escape(d.address)}[/red]  deleted outside the reconciler")
                continue
            console.print(
                f"  [yellow]~ {escape(d.address)}[/yellow]  changed outside the reconciler"
            )
            for f in d.fields:
                console.print(
                    f"        {escape(f.path)}: applied {escape(show(f.before))}, "
                    f"now {escape(show(f.remote))}"
                )
        if report.unmanaged:
            names = ", ".join(f"{u.kind} {u.identity}" for u in report.unmanaged)
            console.print(f"  [dim]unmanaged: {escape(names)}[/dim]")
        console.print()
    console.print(drift_summary(reports))


def drift_summary(reports: Sequence[DriftReport]) -> str:
    drifted = sum(len(r.drifted) for r in reports)
    unmanaged = sum(len(r.unmanaged) for r in reports)
    if not drifted:
        return f"No drift. {unmanaged} unmanaged object(s)."
    tenants = sum(1 for r in reports if r.drifted)
    return f"Drift: {drifted} resource(s) in {tenants} tenant(s); {unmanaged} unmanaged object(s)."


def render_drift_json(reports: Sequence[DriftReport]) -> str:
    document = {
        "format_version": DRIFT_FORMAT_VERSION,
        "has_drift": any(r.has_drift for r in reports),
        "tenants": [r.document() for r in reports],
    }
    return json.dumps(scrub_data(document), indent=2, sort_keys=True, default=str)


def render_drift_markdown(reports: Sequence[DriftReport]) -> str:
    lines = ["### Drift report", "", drift_summary(reports), ""]
    rows = [(r.tenant, d) for r in reports for d in r.drifted]
    if rows:
        lines += ["| tenant | resource | status | fields |", "|---|---|---|---|"]
        for tenant, d in rows:
            fields = ", ".join(f"`{f.path}`: {show(f.before)} → {show(f.remote)}" for f in d.fields)
            cell = scrub(fields).replace("|", "\\|")
            lines.append(f"| {tenant} | `{d.address}` | {d.status} | {cell} |")
        lines.append("")
    for r in reports:
        if r.unmanaged:
            names = ", ".join(f"{u.kind} `{u.identity}`" for u in r.unmanaged)
            lines.append(f"Unmanaged in `{r.tenant}`: {names}")
    return scrub("\n".join(lines) + "\n")
