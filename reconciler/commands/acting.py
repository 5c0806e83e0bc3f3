"""What the action commands (run, runs, invoke, query, search) share.

The tenant option, opening the state and the connector around one action,
durations, JSON input, and tables printed as text, CSV or JSON. Everything a
tenant's data can carry is shown as text: control characters (terminal
escapes) are replaced before anything reaches the terminal.

Import-light: the state, the connector client and the actions are imported
inside the functions that use them.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from reconciler.errors import ActionError

if TYPE_CHECKING:
    from reconciler.actions import Target
    from reconciler.mcp.client import ConnectorClient
    from reconciler.state import StateStore

T = TypeVar("T")
CELL_WIDTH = 60
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def add_tenant_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tenant", help="the tenant (its metadata.name); optional when the state holds one"
    )


def add_format_option(parser: argparse.ArgumentParser, *choices: str) -> None:
    parser.add_argument("--format", choices=choices, default=choices[0], help="output format")


def act(
    action: Callable[[StateStore, ConnectorClient], Awaitable[T]],
) -> T:
    """Open the state database and the connector, run ``action``, close both."""
    import asyncio

    from reconciler.commands.common import connected

    async def main() -> T:
        async with connected() as (store, client):
            return await action(store, client)

    return asyncio.run(main())


def target(store: StateStore, kind: str, name: str, tenant: str | None) -> Target:
    from reconciler.actions import find_target

    return find_target(store, kind, name, tenant=tenant)


def seconds(text: str, option: str) -> float:
    """``30m``, ``1h30m``, ``90s`` or a plain number of seconds."""
    from reconciler.windows import parse_duration

    try:
        return (
            float(text)
            if re.fullmatch(r"\d+(\.\d+)?", text.strip())
            else parse_duration(text).total_seconds()
        )
    except ValueError as exc:
        raise ActionError(f"{option} {text!r}: {exc}", hint="write 90s, 30m or 1h") from None


def json_input(text: str, option: str) -> Any:
    """A JSON value given inline or as ``@file``."""
    source = option
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ActionError(f"{option} {path}: {exc.strerror or exc}") from None
        source = str(path)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ActionError(
            f"{source} is not JSON: {exc}", hint="quote text as JSON, e.g. '\"hello\"'"
        ) from None


def file_or_text(text: str) -> str:
    """The contents of ``@file``, or ``text`` itself."""
    if not text.startswith("@"):
        return text
    try:
        return Path(text[1:]).read_text(encoding="utf-8")
    except OSError as exc:
        raise ActionError(f"{text[1:]}: {exc.strerror or exc}") from None


def safe(value: Any, width: int | None = CELL_WIDTH) -> str:
    """A value as one line of plain text: control characters shown as ``\\xNN``, cut to width."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text.replace("\n", "\\n"))
    if width is not None and len(text) > width:
        text = text[: width - 1] + "…"
    return text


def print_table(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], *, width: int | None = CELL_WIDTH
) -> None:
    """Columns aligned with two spaces, a rule under the header."""
    head = [safe(c, width) for c in columns]
    body = [[safe(v, width) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in body if i < len(r))]) for i, h in enumerate(head)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in body:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)).rstrip())


def print_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if v is None else _csv_cell(v) for v in row])


def _csv_cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") and not _number(value):
        return "'" + value  # a spreadsheet must not read a cell as a formula
    return value


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def print_json(document: Any) -> None:
    print(json.dumps(document, indent=2, default=str))


def note(message: str) -> None:
    """A progress line for people: stderr, so stdout stays the result."""
    print(message, file=sys.stderr, flush=True)
