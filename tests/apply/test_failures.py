"""A rejected step fails only its dependents; a failing database stops the apply at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from reconciler.cli import main
from reconciler.emulator.server import RunningEmulator
from reconciler.load import load_path
from reconciler.mcp.client import ConnectorClient
from reconciler.plan import ResourceChange
from reconciler.reconcile import apply_plan, plan_tenants
from reconciler.state import StateStore, normalize_database_url
from reconciler.state.db import create_state_engine
from tests.apply.helpers import emulator_writes


def test_a_rejected_dataset_fails_only_its_dependents(
    specs: Path, cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # A JSON source is read by the connector only (a CSV's header is checked at plan time).
    (specs / "acme" / "data" / "sales.json").write_text('[{"order_id": 1, "shop": "x"}]')
    datasets = specs / "acme" / "datasets.yaml"
    datasets.write_text(datasets.read_text().replace("data/sales.csv\n", "data/sales.json\n"))

    code = main(["apply", str(specs), "--auto-approve"])

    out = capsys.readouterr().out
    assert code == 1
    assert "✗ acme/Dataset/sales (create) failed" in out
    assert "the file has columns the table lacks: shop" in out
    assert "✗ acme/Job/nightly-sales (create) skipped: skipped: Dataset/sales did not apply" in out
    assert "next: fix the cause, then run apply again" in out
    assert "Apply finished with failures: 17 done, 1 failed, 1 skipped." in out
    with StateStore.open(cli_env) as store:
        recorded = store.read_tenant("acme").resources
        assert {k.name for k in recorded} >= {"docs", "docs-index", "acme-support-agent"}
        assert "nightly-sales" not in {k.name for k in recorded}


def test_journal_is_empty_after_a_successful_apply(specs: Path, cli_env: str) -> None:
    assert main(["apply", str(specs), "--auto-approve"]) == 0
    with StateStore.open(cli_env) as store:
        assert store.open_intents() == []
        assert store.locks() == []
        assert {r.outcome for r in store.history()} == {"succeeded"}


def test_database_failing_mid_apply_stops_before_the_next_connector_call(
    specs: Path, emulator: RunningEmulator, db_url: str
) -> None:
    """The journal table vanishes after the first step: nothing more is sent."""
    engine = create_state_engine(normalize_database_url(db_url))
    sent_when_broken: list[int] = []

    def break_database(event: str, change: ResourceChange, detail: str | None) -> None:
        if event == "ok" and not sent_when_broken:
            with engine.begin() as connection:
                connection.execute(text("DROP TABLE intents"))
            sent_when_broken.append(emulator_writes(emulator))

    async def scenario() -> list[str | None]:
        with StateStore.open(db_url) as store:
            async with ConnectorClient(emulator.url, emulator.api_key) as client:
                plan = await plan_tenants(load_path(specs / "acme"), store=store, client=client)
                results = await apply_plan(
                    plan,
                    store=store,
                    client=client,
                    actor="t",
                    parallelism=1,
                    listener=break_database,
                )
                return [r.error for r in results]

    try:
        errors = asyncio.run(scenario())
    finally:
        engine.dispose()
    assert sent_when_broken, "the first step never finished"
    [error] = errors
    assert error is not None and "state database" in error and "journaling" in error
    assert (
        emulator_writes(emulator) <= sent_when_broken[0] + 1
    )  # at most the call already in flight
