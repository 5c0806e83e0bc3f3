"""Two applies of one tenant never interleave; applies of different tenants run together.

The applies are real ``reconciler apply`` processes against one emulator (with
latency, so the first is still running when the second starts) and one state
database, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply import ApplyResult
from reconciler.emulator.faults import Faults
from reconciler.emulator.server import RunningEmulator, running_emulator
from reconciler.load import load_path
from reconciler.mcp.client import ConnectorClient
from reconciler.plan import ResourceChange
from reconciler.reconcile import apply_plan, plan_tenants
from reconciler.state import StateStore, leases
from reconciler.state.leases import TenantLease
from tests.apply.helpers import emulator_writes


@pytest.fixture
def slow_emulator() -> Iterator[RunningEmulator]:
    with running_emulator(api_key="k", faults=Faults(latency_ms=100, slow_ops_factor=20)) as emu:
        yield emu


@pytest.fixture
def holding_emulator() -> Iterator[RunningEmulator]:
    """Endpoints and indexes take 15 s to be ready (0.75 s times the slow-ops factor 20), so
    an apply holds its lock that long (it waits for them), however slowly a busy machine
    starts the second process."""
    faults = Faults(latency_ms=100, slow_ops_factor=20)
    with running_emulator(api_key="k", ready_delay=0.75, faults=faults) as emu:
        yield emu


def _apply(folder: Path, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "reconciler.cli", "apply", str(folder), "--auto-approve"]
    return subprocess.Popen(
        [*command, *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _env(emu: RunningEmulator, db_url: str) -> dict[str, str]:
    return {**os.environ, "MCP_SERVER_URL": emu.url, "MCP_API_KEY": "k", "DATABASE_URL": db_url}


def _wait_for_lock(db_url: str, tenant: str) -> None:
    deadline = time.monotonic() + 20
    with StateStore.open(db_url) as store:
        while store.lock_holder(tenant) is None:
            assert time.monotonic() < deadline, "the first apply never took the lock"
            time.sleep(0.05)


@pytest.mark.slow
def test_second_apply_of_a_tenant_fails_fast_naming_the_holder_or_waits(
    specs: Path, holding_emulator: RunningEmulator, db_url: str
) -> None:
    env = _env(holding_emulator, db_url)
    StateStore.open(db_url).close()  # migrate once, before the processes race
    first = _apply(specs / "acme", env)
    _wait_for_lock(db_url, "acme")

    started = time.monotonic()
    second = _apply(specs / "acme", env)
    _, err = second.communicate(timeout=60)
    assert second.returncode == 1
    assert time.monotonic() - started < 15, "without --lock-timeout it fails at once"
    assert first.poll() is None, "the first apply still holds the lock"
    assert f"tenant acme is being applied by another process: pid {first.pid} on " in err
    assert "running `reconciler apply" in err and "reconciler state unlock acme" in err

    patient = _apply(specs / "acme", env, "--lock-timeout", "60")
    assert first.wait(timeout=60) == 0
    out, err = patient.communicate(timeout=60)
    assert patient.returncode == 0, err
    assert "No changes" in out  # it planned after the first apply, under the lock


@pytest.mark.slow
def test_two_tenants_apply_in_parallel(
    specs: Path, slow_emulator: RunningEmulator, db_url: str
) -> None:
    env = _env(slow_emulator, db_url)
    StateStore.open(db_url).close()
    acme, globex = _apply(specs / "acme", env), _apply(specs / "globex", env)
    for proc in (acme, globex):
        _, err = proc.communicate(timeout=90)
        assert proc.returncode == 0, err
    with StateStore.open(db_url) as store:
        assert store.tenants() == ["acme", "globex"]
        assert store.open_intents() == []
        starts = sorted(r.started_at for r in store.history())
        ends = sorted(r.finished_at for r in store.history() if r.finished_at)
        assert starts[1] < ends[0], "the two applies overlapped in time"


def test_state_unlock_force_releases_with_a_warning(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from reconciler.cli import main

    with StateStore.open(cli_env) as store:
        lease = store.try_lock("acme", command="reconciler apply somewhere")
        assert not isinstance(lease, type(None))
        assert main(["state", "unlock", "acme", "--yes"]) == 0
        assert store.lock_holder("acme") is None
    err = capsys.readouterr().err
    assert "warning: tenant acme is locked by pid" in err and "reconciler apply somewhere" in err


def test_a_lease_lost_while_a_step_waits_for_its_call_stops_it_before_the_call(
    specs: Path, emulator: RunningEmulator, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first step's intent is journaled under the lease; then the lease is released by
    force and the heartbeat's next renewal finds it lost before the step's call goes out:
    the step fails as a refused intent does, the apply stops, and nothing is sent."""
    monkeypatch.setattr(leases, "HEARTBEAT_SECONDS", 0.05)

    async def scenario(store: StateStore, lease: TenantLease) -> tuple[ApplyResult, int]:
        async def lose_the_lease(change: ResourceChange) -> None:
            if lease.lost:
                return
            store.force_unlock("acme")  # `reconciler state unlock acme`, from elsewhere
            deadline = time.monotonic() + 10
            while not lease.lost:
                assert time.monotonic() < deadline, "the heartbeat never noticed"
                await asyncio.sleep(0.01)

        async with ConnectorClient(emulator.url, emulator.api_key) as client:
            plan = await plan_tenants(load_path(specs / "acme"), store=store, client=client)
            before = emulator_writes(emulator)
            [result] = await apply_plan(
                plan,
                store=store,
                client=client,
                actor="t",
                parallelism=1,
                before_step=lose_the_lease,
                leases={"acme": lease},
            )
            return result, emulator_writes(emulator) - before

    with StateStore.open(db_url) as store:
        lease = store.try_lock("acme")
        assert isinstance(lease, TenantLease)
        with lease:
            result, sent = asyncio.run(scenario(store, lease))
    assert sent == 0, "no change may go out once the lease is known to be lost"
    assert result.error is not None and "the lock on tenant acme was lost" in result.error
    [failed] = [s for s in result.steps if s.outcome == "failed"]
    assert failed.error is not None and "was lost" in failed.error
    assert {s.outcome for s in result.steps} == {"failed", "skipped"}


def test_a_lease_that_cannot_be_renewed_counts_as_lost_before_it_can_expire(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The database is away from this process (another replica may still reach it): once no
    renewal has succeeded for the lease's length less one beat, no further call may go out."""
    monkeypatch.setattr(leases, "HEARTBEAT_SECONDS", 0.05)
    monkeypatch.setattr(leases, "LEASE_SECONDS", 0.3)

    def unreachable() -> Any:
        raise OSError("the database is away")

    lease = TenantLease("acme", "token", unreachable)
    try:
        assert not lease.lost
        time.sleep(0.4)
        assert lease.lost
    finally:
        lease._stop.set()
