"""``reconciler search INDEX (--text "..." | --vector @file)``: the nearest rows of an index."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from reconciler.commands import acting

if TYPE_CHECKING:
    from reconciler.actions import SearchResult
    from reconciler.mcp.client import ConnectorClient
    from reconciler.state import StateStore


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("search", help="search a vector index by text or by vector")
    parser.add_argument("index", help="the VectorIndex's metadata.name")
    query = parser.add_mutually_exclusive_group(required=True)
    query.add_argument("--text", help="text to search for (the index embeds it)")
    query.add_argument("--vector", metavar="JSON|@FILE", help="a query vector: [0.1, ...] or @file")
    parser.add_argument("--k", type=int, default=5, help="how many results (default 5)")
    parser.add_argument("--columns", help="columns to return, comma-separated")
    acting.add_tenant_option(parser)
    acting.add_format_option(parser, "table", "csv", "json")


def run(args: argparse.Namespace) -> int:
    from reconciler.actions import parse_vector, search

    vector = parse_vector(acting.file_or_text(args.vector)) if args.vector else None
    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None

    async def action(store: StateStore, client: ConnectorClient) -> SearchResult:
        found = acting.target(store, "VectorIndex", args.index, args.tenant)
        return await search(client, found, text=args.text, vector=vector, k=args.k, columns=columns)

    result = acting.act(action)
    if args.format == "json":
        acting.print_json(result.to_dict())
    elif args.format == "csv":
        acting.print_csv(result.table.columns, result.table.rows)
    else:
        acting.print_table(result.table.columns, result.table.rows)
        print(f"({len(result.table.rows)} result{'s' if len(result.table.rows) != 1 else ''})")
    return 0
