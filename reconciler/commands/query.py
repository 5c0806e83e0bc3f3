"""``reconciler query DATASET [--sql "..."]``: read a dataset as a table.

Read-only statements only (one SELECT or WITH ... SELECT); without ``--sql``
the first ``--limit`` rows. The connector's refusal is shown as one line.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from reconciler.commands import acting

if TYPE_CHECKING:
    from reconciler.actions import QueryResult
    from reconciler.mcp.client import ConnectorClient
    from reconciler.state import StateStore


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("query", help="run a read-only SQL query over a dataset")
    parser.add_argument("dataset", help="the Dataset's metadata.name")
    parser.add_argument(
        "--sql", help="one SELECT statement (or @file.sql); default: the first rows"
    )
    parser.add_argument("--limit", type=int, default=20, help="rows shown at most (default 20)")
    acting.add_tenant_option(parser)
    acting.add_format_option(parser, "table", "csv", "json")


def run(args: argparse.Namespace) -> int:
    from reconciler.actions import check_read_only, query

    sql = acting.file_or_text(args.sql) if args.sql else None
    if sql is not None:
        check_read_only(sql)  # before anything is opened

    async def action(store: StateStore, client: ConnectorClient) -> QueryResult:
        found = acting.target(store, "Dataset", args.dataset, args.tenant)
        return await query(client, found, sql, limit=args.limit)

    result = acting.act(action)
    table = result.table
    if args.format == "json":
        acting.print_json(result.to_dict())
    elif args.format == "csv":
        acting.print_csv(table.columns, table.rows)
    else:
        acting.print_table(table.columns, table.rows)
        more = f", more not shown (--limit {args.limit})" if table.truncated else ""
        print(f"({len(table.rows)} row{'s' if len(table.rows) != 1 else ''}{more})")
    return 0
