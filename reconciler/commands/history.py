"""``reconciler history``: who applied what, when, from which git commit, and how it went."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from reconciler.commands.common import EXIT_OK

if TYPE_CHECKING:
    from reconciler.state import ApplyRecord


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("history", help="past applies: who, when, which commit, outcome")
    parser.add_argument("--tenant", help="only this tenant")
    parser.add_argument("--limit", type=int, default=20, help="newest N applies (default 20)")
    parser.add_argument("--steps", action="store_true", help="list every step of each apply")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def run(args: argparse.Namespace) -> int:
    from reconciler.config import Settings  # lazy: keeps `--help` light
    from reconciler.state import StateStore

    with StateStore.open(Settings.from_env().database_url) as store:
        records = store.history(args.tenant, limit=args.limit)
    if args.format == "json":
        print(json.dumps([_document(r) for r in records], indent=2, default=str))
        return EXIT_OK
    if not records:
        print("No applies recorded.")
    for record in records:
        for line in _lines(record, steps=args.steps):
            print(line)
    return EXIT_OK


def _changed(record: ApplyRecord) -> str:
    counts = {k: v for k, v in record.summary.items() if "_" not in k and isinstance(v, int)}
    return ", ".join(f"{v} {k}" for k, v in sorted(counts.items()) if k != "noop") or "nothing"


def _lines(record: ApplyRecord, *, steps: bool) -> list[str]:
    when = record.started_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    commit = record.git_commit[:12] if record.git_commit else "no git commit"
    failed = [s for s in record.steps if s.outcome == "failed"]
    lines = [
        f"#{record.id} {record.tenant} serial {record.serial}  {when}  by {record.actor}  "
        f"({commit})  {record.outcome}: {_changed(record)}"
        + (f"; {len(failed)} step(s) failed" if failed else "")
    ]
    for step in record.steps if steps else failed:
        error = f": {step.error}" if step.error else ""
        lines.append(f"    {step.action} {step.kind}/{step.name} {step.outcome}{error}")
    return lines


def _document(record: ApplyRecord) -> dict[str, object]:
    return record.document()
