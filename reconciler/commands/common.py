"""What several commands share: exit codes, settings → store + client, actor, git commit.

Import-light, as every command module: at the top only what defining the
commands' options needs; the settings, the variables, the state and the
connector client are imported inside the functions that use them, so that
``reconciler --help`` does not load them.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from reconciler.errors import ReconcilerError

if TYPE_CHECKING:
    from reconciler.config import Settings
    from reconciler.mcp.client import ConnectorClient
    from reconciler.state import StateStore
    from reconciler.variables import LoadOptions

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2

T = TypeVar("T")


class _Box(Generic[T]):
    """Carries a coroutine's result out of :func:`run_async` without a repr of it."""

    def __init__(self) -> None:
        self.value: T | None = None

    def __repr__(self) -> str:
        return "_Box()"


def run_async(work: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(work)``, but the main task never holds the (large) result.

    On the way out ``asyncio.run`` asks ``signal.getsignal(SIGINT)``, which
    formats the handler, a partial of the main task, and so the repr of the
    task's result: a whole plan of 10,000 resources took about a second.
    """
    import asyncio  # lazy: keeps `--help` light

    box: _Box[T] = _Box()

    async def main() -> None:
        box.value = await work

    asyncio.run(main())
    return box.value  # type: ignore[return-value]


def add_variable_options(parser: argparse.ArgumentParser) -> None:
    """``--target-env NAME`` and ``--var NAME=VALUE`` (see :mod:`reconciler.variables`)."""
    parser.add_argument(
        "--target-env",
        metavar="NAME",
        help="the deployment target of the tenants' `targets` (dev, prod, ...)",
    )
    parser.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a variable (repeatable; beats RECONCILER_VAR_NAME and the target's value)",
    )


def load_options(args: argparse.Namespace) -> LoadOptions:
    """The target and variables given on the command line."""
    from reconciler.variables import LoadOptions, parse_var_options  # lazy: keeps `--help` light

    try:
        variables = parse_var_options(getattr(args, "var", None) or [])
    except ValueError as exc:
        raise ReconcilerError(str(exc)) from None
    return LoadOptions(target_env=getattr(args, "target_env", None), variables=variables)


def add_path_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, help="a tenant folder, or a folder of tenants")


@asynccontextmanager
async def connected(
    settings: Settings | None = None,
) -> AsyncIterator[tuple[StateStore, ConnectorClient]]:
    """The state store and the connector client, both closed on the way out."""
    from reconciler.config import Settings  # lazy: keeps `--help` light
    from reconciler.mcp.client import ConnectorClient
    from reconciler.state import StateStore

    settings = settings or Settings.from_env()
    url, key = settings.connector()
    store = StateStore.open(settings.database_url)
    try:
        async with ConnectorClient(url, key) as client:
            yield store, client
    finally:
        store.close()


def actor() -> str:
    """Who is applying: user@host."""
    import getpass  # lazy: keeps `--help` light
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = os.environ.get("USER", "unknown")
    return f"{user}@{socket.gethostname()}"


def git_commit(path: Path) -> str | None:
    """The commit checked out where the spec documents live, if they are in git."""
    import subprocess  # lazy: keeps `--help` light

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
    return (out.stdout.strip() or None) if out.returncode == 0 else None
