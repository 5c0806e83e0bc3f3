"""The ``reconciler`` command: parse options, call the library, render, exit code.

Exit codes are the same for every command: 0 ok / no changes, 1 error,
2 changes present (``plan --detailed-exitcode``). Errors are one line (plus the
problem list for bad documents); a traceback only with ``--debug``.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from types import ModuleType

from reconciler import __version__
from reconciler.commands import (
    apply,
    approve,
    drift,
    history,
    import_cmd,
    invoke,
    mcp,
    plan,
    query,
    runs,
    schema,
    search,
    serve,
    validate,
)
from reconciler.commands import run as run_command
from reconciler.commands import state as state_command
from reconciler.commands.common import EXIT_ERROR
from reconciler.emulator import cli as emulator
from reconciler.errors import ReconcilerError, SpecError
from reconciler.runtime import thaw, tune_gc
from reconciler.scrub import scrub, scrubbed

COMMANDS: dict[str, ModuleType] = {
    "validate": validate,
    "plan": plan,
    "apply": apply,
    "drift": drift,
    "emulator": emulator,
    "schema": schema,
    "state": state_command,
    "history": history,
    "serve": serve,
    "run": run_command,
    "runs": runs,
    "invoke": invoke,
    "query": query,
    "search": search,
    "import": import_cmd,
    "approve": approve,
    "mcp": mcp,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reconciler",
        description="Keep AgentProvision tenants' Databricks resources as their YAML says.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS.values():
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    tune_gc()
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = scrubbed(out), scrubbed(err)  # secrets never reach the terminal
    try:
        return _run(args)
    finally:
        sys.stdout, sys.stderr = out, err
        thaw()


def _run(args: argparse.Namespace) -> int:
    try:
        code: int = COMMANDS[args.command].run(args)
        return code
    except SpecError as exc:
        for line in exc.lines():
            print(scrub(line), file=sys.stderr)
        print(scrub(f"error: {exc}"), file=sys.stderr)
    except ReconcilerError as exc:
        if args.debug:
            traceback.print_exc()
        print(scrub(f"error: {exc}"), file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        message = f"internal error: {type(exc).__name__}: {exc} (run with --debug)"
        print(scrub(message), file=sys.stderr)
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
