"""A state database that fails mid-apply: the closing summary counts the steps that were shown."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from rich.console import Console
from sqlalchemy import text
from sqlalchemy.engine import make_url

from reconciler.apply import ApplyResult
from reconciler.emulator.server import RunningEmulator
from reconciler.load import load_path
from reconciler.mcp.client import ConnectorClient
from reconciler.plan import ResourceChange
from reconciler.reconcile import apply_plan, plan_tenants
from reconciler.render.progress import PlainDisplay, summary_lines
from reconciler.state import StateStore, normalize_database_url
from reconciler.state.db import create_state_engine
from tests.support.postgres import libpq_url


def _admin(url: str) -> tuple[str, str]:
    """The database's name and a libpq URL of the server's maintenance database."""
    return str(make_url(url).database), libpq_url(
        make_url(url).set(database="postgres").render_as_string(False)
    )


@contextmanager
def reopened_afterwards(db_url: str) -> Iterator[None]:
    """Lets a PostgreSQL database refused by :func:`break_database` be dropped afterwards."""
    url = normalize_database_url(db_url)
    try:
        yield
    finally:
        if not url.startswith("sqlite"):
            name, admin = _admin(url)
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def break_database(db_url: str) -> None:
    """SQLite loses its journal table; PostgreSQL refuses new connections and every open
    one is terminated (``pg_terminate_backend``)."""
    url = normalize_database_url(db_url)
    if url.startswith("sqlite"):
        engine = create_state_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE intents"))
        engine.dispose()
        return
    name, admin = _admin(url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )


def test_summary_counts_the_steps_shown_after_the_database_fails(
    specs: Path, emulator: RunningEmulator, db_url: str
) -> None:
    console = Console(record=True, width=300, force_terminal=False)

    async def scenario() -> list[ApplyResult]:
        with StateStore.open(db_url) as store:
            async with ConnectorClient(emulator.url, emulator.api_key) as client:
                plan = await plan_tenants(load_path(specs), store=store, client=client)
                total = sum(len(t.actionable) for t in plan.tenants)
                display = PlainDisplay(total, console)
                oks: list[str] = []

                def listener(event: str, change: ResourceChange, detail: str | None) -> None:
                    display(event, change, detail)
                    if event == "ok":
                        oks.append(change.key.name)
                        if len(oks) == 3:
                            break_database(db_url)

                return await apply_plan(
                    plan, store=store, client=client, actor="t", parallelism=2, listener=listener
                )

    with reopened_afterwards(db_url):
        results = asyncio.run(scenario())
    for line in summary_lines(results):
        console.print(line, markup=False, highlight=False)
    out = console.export_text()

    step_lines = [line for line in out.splitlines() if re.match(r"  \[\d+/\d+\] ", line)]
    shown = {
        "done": sum(line.endswith(": done") for line in step_lines),
        "failed": sum(": failed" in line for line in step_lines),
        "skipped": sum(": skipped" in line for line in step_lines),
    }
    assert shown["done"] >= 3 and shown["skipped"] > 0, out
    summary = re.search(r"(\d+) done, (\d+) failed, (\d+) skipped", out)
    assert summary is not None, out
    assert summary.groups() == (str(shown["done"]), str(shown["failed"]), str(shown["skipped"])), (
        out
    )
    assert "✗ tenant" in out and "state database" in out, out
