"""``reconciler validate PATH``: check the spec documents offline."""

from __future__ import annotations

import argparse
import sys

from reconciler.commands.common import (
    EXIT_OK,
    add_path_argument,
    add_variable_options,
    load_options,
)
from reconciler.errors import SpecError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("validate", help="check the spec documents, offline")
    add_path_argument(parser)
    add_variable_options(parser)


def run(args: argparse.Namespace) -> int:
    from reconciler.load import load_tenants  # lazy: keeps `--help` light

    result = load_tenants(args.path, load_options(args))
    for warning in result.warnings:
        print(warning, file=sys.stderr)
    if result.failures:
        raise SpecError(result.problems)
    tenants = result.tenants
    count = sum(len(t.resources) for t in tenants)
    print(f"{args.path}: {len(tenants)} tenant(s), {count} resource(s), no problems")
    return EXIT_OK
