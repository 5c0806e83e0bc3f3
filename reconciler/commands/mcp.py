"""``reconciler mcp``: the reconciler as a Model Context Protocol server, for agents.

Agents read status, validate and plan freely; ``apply`` takes a plan id and
works only once a person approved that exact plan (``reconciler approve``).
On stdio ``--tenant`` limits what the process sees; on HTTP every request
needs a bearer token from the tokens file, which names the tenants it sees
and its rights (read or plan).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from reconciler.errors import ConfigError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("mcp", help="serve the reconciler to agents over MCP (stdio or HTTP)")
    parser.add_argument(
        "--source",
        default=".",
        metavar="PATH_OR_GIT_URL",
        help="the folder of the tenants' spec documents (default: the current folder)",
    )
    parser.add_argument("--branch", default="main", help="git source: the branch (default main)")
    parser.add_argument("--subdir", help="git source: the folder holding the tenants")
    parser.add_argument("--workdir", default=".reconciler/mcp", help="where a git source is cloned")
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8091, help="HTTP port (default 8091)")
    parser.add_argument(
        "--tenant",
        action="extend",
        nargs="+",
        default=[],
        metavar="T",
        help="serve only these tenants (repeatable); the others are not found",
    )
    parser.add_argument(
        "--tokens",
        type=Path,
        help="HTTP bearer tokens file (or RECONCILER_MCP_TOKENS_FILE / RECONCILER_MCP_TOKENS)",
    )
    parser.add_argument(
        "--read-only", action="store_true", help="stdio: read rights only (no plan, no apply)"
    )


def run(args: argparse.Namespace) -> int:
    from reconciler.agent_mcp.access import Scope, TokenTable, load_tokens
    from reconciler.agent_mcp.backend import Backend
    from reconciler.agent_mcp.server import build_server
    from reconciler.agent_mcp.workspace import Workspace
    from reconciler.config import Settings

    workspace = Workspace(_fetch_source(args))
    limit = frozenset(args.tenant) or None
    settings = Settings.from_env()
    tokens = None
    default = None
    if args.transport == "http":
        scopes = load_tokens(args.tokens, os.environ)
        if not scopes:
            raise ConfigError(
                "`reconciler mcp --transport http` needs bearer tokens",
                hint="give --tokens FILE (see README, MCP section)",
            )
        tokens = TokenTable(scopes)
    else:
        default = Scope(limit, "read" if args.read_only else "plan", "stdio")
    backend = Backend(workspace, settings, default_scope=default, limit=limit)
    server = build_server(backend, tokens=tokens, url=f"http://{args.host}:{args.port}")
    try:
        if args.transport == "http":
            print(f"reconciler mcp: http://{args.host}:{args.port}/mcp", file=sys.stderr)
            server.run("streamable-http", host=args.host, port=args.port)
        else:
            server.run("stdio")
    finally:
        backend.close()
    return 0


def _fetch_source(args: argparse.Namespace) -> Path:
    """The folder to serve: ``--source`` itself, or a git source fetched once now."""
    import asyncio

    from reconciler.service.source import is_git_url, open_source

    if not is_git_url(args.source):
        return Path(args.source)
    source = open_source(
        args.source, branch=args.branch, subdir=args.subdir, workdir=Path(args.workdir)
    )
    return asyncio.run(source.fetch(None)).path
