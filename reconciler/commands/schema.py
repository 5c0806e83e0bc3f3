"""``reconciler schema``: regenerate (or check) the JSON Schema of the spec documents."""

from __future__ import annotations

import argparse

from reconciler.commands.common import EXIT_OK
from reconciler.errors import ReconcilerError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("schema", help="regenerate the JSON Schema of the spec documents")
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is stale")


def run(args: argparse.Namespace) -> int:
    from reconciler.schema import SCHEMA_PATH, schema_is_current, write_schema

    if args.check:
        if schema_is_current(SCHEMA_PATH):
            print(f"{SCHEMA_PATH} is current")
            return EXIT_OK
        raise ReconcilerError(f"{SCHEMA_PATH} is stale", hint="run `reconciler schema`")
    write_schema(SCHEMA_PATH)
    print(f"wrote {SCHEMA_PATH}")
    return EXIT_OK
