"""The ``reconciler`` command: parse options, call the library, render, exit code.

Exit codes are the same for every command: 0 ok / no changes, 1 error,
2 changes present (``plan --detailed-exitcode``).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import socket
import subprocess
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from reconciler import __version__
from reconciler.apply import StepListener
from reconciler.config import Settings
from reconciler.errors import ReconcilerError, SpecError
from reconciler.load import TenantDesired, load_path
from reconciler.mcp.client import ConnectorClient
from reconciler.plan import Plan, ResourceChange
from reconciler.reconcile import apply_plan, plan_tenants
from reconciler.render.jsonout import render_apply_json, render_plan_json
from reconciler.render.text import make_console, render_apply, render_plan
from reconciler.state import StateStore

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reconciler",
        description="Keep AgentProvision tenants' Databricks resources as their YAML says.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = sub.add_parser("validate", help="check the spec documents, offline")
    validate.add_argument("path", type=Path, help="a tenant folder, or a folder of tenants")

    plan = sub.add_parser("plan", help="show what apply would change")
    _common_plan_options(plan)
    plan.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 2 when there are changes, 0 when there are none",
    )

    apply = sub.add_parser("apply", help="make Databricks match the spec documents")
    _common_plan_options(apply)
    apply.add_argument("--auto-approve", action="store_true", help="apply without asking")
    apply.add_argument(
        "--parallelism", type=int, default=10, help="independent steps run at once (default 10)"
    )

    emulator = sub.add_parser("emulator", help="run the local connector emulator")
    emulator.add_argument("--host", default="127.0.0.1")
    emulator.add_argument("--port", type=int, default=8085)
    emulator.add_argument("--state-file", type=Path, default=None, help="persist objects here")
    emulator.add_argument(
        "--api-key",
        default=None,
        help="Bearer key clients must send (default: $MCP_API_KEY, else dev-key)",
    )
    emulator.add_argument(
        "--ready-delay",
        type=float,
        default=1.0,
        help="seconds a serving endpoint or index takes to become ready",
    )

    schema = sub.add_parser("schema", help="regenerate the JSON Schema of the spec documents")
    schema.add_argument("--check", action="store_true", help="exit 1 when the file is stale")
    return parser


def _common_plan_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", type=Path, help="a tenant folder, or a folder of tenants")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    p.add_argument(
        "--adopt",
        action="store_true",
        help="take over existing objects that the documents name but the reconciler never created",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except SpecError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        print(f"error: {exc}", file=sys.stderr)
    except ReconcilerError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (run with --debug)", file=sys.stderr)
    return EXIT_ERROR


def cmd_validate(args: argparse.Namespace) -> int:
    tenants = load_path(args.path)
    count = sum(len(t.resources) for t in tenants)
    print(f"{args.path}: {len(tenants)} tenant(s), {count} resource(s), no problems")
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    tenants = load_path(args.path)
    plan = asyncio.run(_plan(tenants, Settings.from_env(), adopt=args.adopt))
    _print_plan(plan, args.format)
    return EXIT_CHANGES if args.detailed_exitcode and plan.has_changes else EXIT_OK


def cmd_apply(args: argparse.Namespace) -> int:
    tenants = load_path(args.path)
    settings = Settings.from_env()
    if not args.auto_approve and not sys.stdin.isatty():
        raise ReconcilerError(
            "refusing to apply without confirmation: standard input is not a terminal",
            hint="review `reconciler plan` and pass --auto-approve",
        )
    return asyncio.run(_apply(tenants, settings, args))


async def _plan(
    tenants: list[TenantDesired] | tuple[TenantDesired, ...], settings: Settings, *, adopt: bool
) -> Plan:
    url, key = settings.connector()
    store = StateStore.open(settings.database_url)
    try:
        async with ConnectorClient(url, key) as client:
            return await plan_tenants(tenants, store=store, client=client, adopt=adopt)
    finally:
        store.close()


async def _apply(
    tenants: tuple[TenantDesired, ...], settings: Settings, args: argparse.Namespace
) -> int:
    url, key = settings.connector()
    store = StateStore.open(settings.database_url)
    console = make_console(stderr=args.format == "json")
    try:
        async with ConnectorClient(url, key) as client:
            plan = await plan_tenants(tenants, store=store, client=client, adopt=args.adopt)
            render_plan(plan, console)
            if not plan.has_changes and not any(t.actionable for t in plan.tenants):
                if args.format == "json":
                    print(render_apply_json([]))
                return EXIT_OK
            if not args.auto_approve and not _confirm(console):
                console.print("Apply cancelled.")
                return EXIT_ERROR
            results = await apply_plan(
                plan,
                store=store,
                client=client,
                actor=_actor(),
                git_commit=_git_commit(args.path),
                parallelism=args.parallelism,
                listener=_step_printer(console),
            )
    finally:
        store.close()
    if args.format == "json":
        print(render_apply_json(results))
    else:
        render_apply(results, console)
    return EXIT_ERROR if any(r.failed for r in results) else EXIT_OK


def _print_plan(plan: Plan, fmt: str) -> None:
    if fmt == "json":
        print(render_plan_json(plan))
    else:
        render_plan(plan, make_console())


def _confirm(console: Console) -> bool:
    console.print("Only 'yes' will be accepted to approve.")
    try:
        return input("Apply these changes? ").strip() == "yes"
    except EOFError:
        return False


def _step_printer(console: Console) -> StepListener:
    def listener(event: str, change: ResourceChange, error: str | None) -> None:
        address = f"{change.key.tenant}/{change.key.kind}/{change.key.name}"
        if event == "ok":
            console.print(f"  {change.action.value} {address}: done", markup=False)
        elif event != "start":
            console.print(f"  {change.action.value} {address}: {event}: {error}", markup=False)

    return listener


def _actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = os.environ.get("USER", "unknown")
    return f"{user}@{socket.gethostname()}"


def _git_commit(path: Path) -> str | None:
    folder = path if path.is_dir() else path.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def cmd_emulator(args: argparse.Namespace) -> int:
    from reconciler.emulator.server import run_emulator

    api_key = args.api_key or os.environ.get("MCP_API_KEY") or "dev-key"
    print(f"emulator on http://{args.host}:{args.port} (API key from --api-key/MCP_API_KEY)")
    run_emulator(
        host=args.host,
        port=args.port,
        api_key=api_key,
        state_file=args.state_file,
        ready_delay=args.ready_delay,
    )
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from reconciler.schema import SCHEMA_PATH, schema_is_current, write_schema

    if args.check:
        if schema_is_current(SCHEMA_PATH):
            print(f"{SCHEMA_PATH} is current")
            return EXIT_OK
        raise ReconcilerError(f"{SCHEMA_PATH} is stale", hint="run `reconciler schema`")
    write_schema(SCHEMA_PATH)
    print(f"wrote {SCHEMA_PATH}")
    return EXIT_OK


COMMANDS = {
    "validate": cmd_validate,
    "plan": cmd_plan,
    "apply": cmd_apply,
    "emulator": cmd_emulator,
    "schema": cmd_schema,
}

if __name__ == "__main__":
    sys.exit(main())
