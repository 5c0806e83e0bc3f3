"""``kill -9`` at random moments never makes the reconciler lose track of anything.

A real ``reconciler apply`` runs as a subprocess against the emulator (with a
little latency, so kills land mid-apply) and is killed at a seeded random
moment: after a random delay, or just after the emulator accepted a random
number of POSTs (a create that was accepted but never recorded). Every round
then runs a normal apply and checks: the plan is empty, no object exists
twice, every managed object is known to state, and the journal holds no open
intent. Odd rounds delete (their documents were removed) instead of create.
It runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.emulator.faults import Faults
from reconciler.emulator.server import RunningEmulator, running_emulator
from reconciler.mcp.client import ConnectorClient
from reconciler.state import StateStore
from tests.apply.helpers import converged, emulator_writes, remote_problems, run, tenant_copies

ROUNDS = 20
SEED = 20240601
REMOVED_IN_DELETE_ROUNDS = ("agent.yaml", "docs-index.yaml", "jobs.yaml")


@pytest.fixture
def slow_emulator() -> Iterator[RunningEmulator]:
    with running_emulator(
        api_key="k", ready_delay=0.2, faults=Faults(latency_ms=15, jitter_ms=15, seed=SEED)
    ) as emu:
        yield emu


def _kill_during_apply(
    specs: Path, env: dict[str, str], emu: RunningEmulator, rng: random.Random, most: int
) -> str:
    """Start an apply, kill -9 it at a random moment; say when."""
    before = emulator_writes(emu)
    command = [sys.executable, "-m", "reconciler.cli", "apply", str(specs), "--auto-approve"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if rng.random() < 0.5:
        threshold = before + rng.randint(1, most)
        deadline = time.monotonic() + 20
        while (
            proc.poll() is None and emulator_writes(emu) < threshold and time.monotonic() < deadline
        ):
            time.sleep(0.002)
        moment = f"after {threshold - before} accepted change(s)"
    else:
        delay = rng.uniform(0.6, 2.5 if most > 3 else 1.6)
        time.sleep(delay)
        moment = f"after {delay:.2f} s"
    finished = proc.poll() is not None
    proc.kill()
    proc.wait()
    return f"{moment}: {'had already finished' if finished else 'killed mid-apply'}"


def _check(specs: Path, db_url: str, emu: RunningEmulator) -> int:
    """Converged, no duplicates, nothing unknown, journal empty; returns intents seen."""

    async def checks() -> tuple[bool, list[str], int]:
        with StateStore.open(db_url) as store:
            async with ConnectorClient(emu.url, emu.api_key) as client:
                done = await converged(specs, store, client)
                problems = await remote_problems(specs, store, client)
                return done, problems, len(store.open_intents())

    done, problems, open_intents = run(checks())
    assert done, f"plan of {specs.name} not empty after a normal apply"
    assert problems == []
    assert open_intents == 0
    return open_intents


@pytest.mark.slow
def test_kill_9_at_random_moments_then_apply_converges(
    tmp_path: Path, slow_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    env = {**os.environ, "MCP_SERVER_URL": slow_emulator.url, "MCP_API_KEY": "k"}
    env["DATABASE_URL"] = db_url
    for name, value in env.items():
        if name in ("MCP_SERVER_URL", "MCP_API_KEY", "DATABASE_URL"):
            monkeypatch.setenv(name, value)
    rng = random.Random(SEED)
    outcomes: list[str] = []
    specs = tmp_path / "r0"
    started = time.monotonic()
    for round_ in range(ROUNDS):
        if round_ % 2 == 0:
            specs = tenant_copies(tmp_path / f"r{round_}", 2, tag=f"r{round_}x")
        else:
            for path in specs.glob("acme*/*.yaml"):
                if path.name in REMOVED_IN_DELETE_ROUNDS:
                    path.unlink()
        with StateStore.open(db_url) as store:
            intents_before = len(store.open_intents())
        assert intents_before == 0
        most = 8 if round_ % 2 == 0 else 3
        outcome = _kill_during_apply(specs, env, slow_emulator, rng, most)
        with StateStore.open(db_url) as store:
            left_open = len(store.open_intents())
        assert main(["apply", str(specs), "--auto-approve"]) == 0, f"round {round_}: {outcome}"
        _check(specs, db_url, slow_emulator)
        outcomes.append(f"round {round_}: {outcome}, {left_open} open intent(s) settled")
    print("\n".join(outcomes), f"\n{time.monotonic() - started:.1f} s", file=sys.stderr)
    assert sum("mid-apply" in o for o in outcomes) >= ROUNDS // 2, outcomes
    assert any(not o.endswith(" 0 open intent(s) settled") for o in outcomes), outcomes
