"""The plan as Markdown, for pull-request comments.

A summary table (one row per changed resource), then a collapsed
``<details>`` block per resource with its field changes. Code hosts cap a
comment at 65,536 characters, so :func:`split_markdown` cuts the document into
parts below a limit, only between blocks, each part saying which it is.
"""

from __future__ import annotations

from reconciler.plan import Action, Plan, ResourceChange
from reconciler.render.text import SYMBOLS, flatten, summary_line
from reconciler.render.values import show
from reconciler.scrub import scrub

PART_LIMIT = 65_000


def render_plan_markdown(plan: Plan) -> str:
    return "\n".join(_blocks(plan))


def _blocks(plan: Plan) -> list[str]:
    """The Markdown blocks, scrubbed of secrets (before any block is cut)."""
    return [scrub(block) for block in _raw_blocks(plan)]


def _raw_blocks(plan: Plan) -> list[str]:
    blocks = [f"### Reconciler plan\n\n{summary_line(plan)}\n"]
    if plan.destructive:
        names = ", ".join(f"`{c.key.tenant}/{c.address}`" for c in plan.destructive)
        blocks.append(f"> **Destroys data:** {names}. Apply needs `--allow-data-loss`.\n")
    rows = [c for t in plan.tenants for c in t.changes if c.action is not Action.NOOP or c.refresh]
    if rows:
        blocks.append(_table(rows))
    for change in rows:
        blocks.append(_details(change))
    for tenant in plan.tenants:
        if tenant.unmanaged:
            names = ", ".join(f"{u.kind} `{_cell(u.identity)}`" for u in tenant.unmanaged)
            blocks.append(f"Unmanaged in `{tenant.tenant}` (left alone): {names}\n")
    return blocks


def _table(rows: list[ResourceChange]) -> str:
    lines = ["| | tenant | resource | action | reason |", "|---|---|---|---|---|"]
    for c in rows:
        symbol = SYMBOLS[c.action][0]
        action = "refresh" if c.action is Action.NOOP else c.action.value
        if c.destructive:
            action += " ⚠️"
        lines.append(
            f"| `{symbol}` | {c.key.tenant} | `{c.address}` | {action} | {_cell(c.reason)} |"
        )
    return "\n".join(lines) + "\n"


def _details(c: ResourceChange) -> str:
    head = (
        f"<details><summary><code>{c.key.tenant}/{c.address}</code>: {c.action.value}</summary>\n"
    )
    diff: list[str] = []
    if c.action is Action.CREATE and c.after is not None:
        diff += [f"+ {path}: {show(value)}" for path, value in flatten(c.after)]
    for f in c.fields:
        diff += [f"- {f.path}: {show(f.remote)}", f"+ {f.path}: {show(f.after)}"]
    if c.action is Action.DELETE:
        diff.append(f"- {c.identity}")
    lines = [head, f"{_cell(c.reason)}\n"]
    if diff:
        lines += ["```diff", *diff, "```"]
    lines.append("</details>\n")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return scrub(text).replace("|", "\\|").replace("\n", " ")


def split_markdown(plan: Plan, limit: int = PART_LIMIT) -> list[str]:
    """The Markdown in parts of at most ``limit`` characters, cut between blocks."""
    parts: list[list[str]] = [[]]
    size = 0
    reserve = 40  # room for the "part i of n" line
    for block in _blocks(plan):
        block = (
            block if len(block) + reserve <= limit else block[: limit - reserve - 20] + "\n…(cut)\n"
        )
        if parts[-1] and size + len(block) + 1 + reserve > limit:
            parts.append([])
            size = 0
        parts[-1].append(block)
        size += len(block) + 1
    total = len(parts)
    if total == 1:
        return ["\n".join(parts[0])]
    return [f"_Part {i} of {total}_\n\n" + "\n".join(p) for i, p in enumerate(parts, 1)]
