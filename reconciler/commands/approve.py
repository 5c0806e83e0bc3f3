"""``reconciler approve PLAN_ID``: a person approves a plan an agent made.

The approval is recorded in the state database with who and when, bound to
the plan's digest: ``apply`` of that id (the MCP ``apply`` tool) is refused
until then, and refused anyway once the plan went stale. A changed plan has a
new id and needs its own approval. Plans that destroy data need
``--allow-data-loss``.
"""

from __future__ import annotations

import argparse

from reconciler.commands.common import EXIT_OK, actor


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("approve", help="approve a saved plan (made by an agent) by its id")
    parser.add_argument("plan_id", metavar="PLAN_ID", help="the id the plan tool returned")
    parser.add_argument(
        "--allow-data-loss",
        action="store_true",
        help="approve a plan that deletes or replaces datasets or catalogs",
    )


def run(args: argparse.Namespace) -> int:
    from reconciler.approvals import approve, change_lines
    from reconciler.config import Settings
    from reconciler.state import StateStore

    with StateStore.open(Settings.from_env().database_url) as store:
        record, approval = approve(
            store, args.plan_id, by=actor(), allow_data_loss=args.allow_data_loss
        )
    print(f"Plan {record.id} of tenant {record.tenant} (made by {record.created_by}):")
    for line in change_lines(record.document):
        print(line)
    when = approval.approved_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    print(f"Approved by {approval.approved_by} at {when} (digest {approval.digest[:12]}).")
    return EXIT_OK
