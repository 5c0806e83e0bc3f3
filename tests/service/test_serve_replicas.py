"""Two real `reconciler serve` replicas on one PostgreSQL state with 20 tenants."""

from __future__ import annotations

import itertools
import re
import signal
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from reconciler.emulator.server import RunningEmulator
from reconciler.state.models import ApplyRow
from tests.service.process import Serve, running_serve, serve_env, wait_for

pytestmark = pytest.mark.slow

TENANTS = [f"t{n:02d}" for n in range(20)]
TENANT = """apiVersion: agentprovision.ai/v1
kind: Tenant
metadata:
  name: {name}
spec:
  comment: replica test tenant
"""


def _worked(serve: Serve) -> bool:
    """The replica's own metrics count a reconcile that ran (not busy, not fresh)."""
    done = re.findall(
        r'reconciler_reconciles_total\{[^}]*outcome="(\w+)"[^}]*\} ([0-9.]+)', serve.get("/metrics")
    )
    return any(o not in ("busy", "fresh", "suspended") and float(n) > 0 for o, n in done)


def _applies(url: str) -> list[ApplyRow]:
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            return list(session.scalars(select(ApplyRow)))
    finally:
        engine.dispose()


def test_two_replicas_share_tenants_never_overlap_and_take_over_a_killed_one(
    emulator: RunningEmulator, pg_url: str, tmp_path: Path
) -> None:
    specs = tmp_path / "specs"
    for name in TENANTS:
        (specs / name).mkdir(parents=True)
        (specs / name / "tenant.yaml").write_text(TENANT.format(name=name))
    env = serve_env(emulator.url, emulator.api_key, pg_url)
    interval = 6.0
    with (
        running_serve(specs, env, tmp_path / "a", interval=interval) as one,
        running_serve(specs, env, tmp_path / "b", interval=interval) as two,
    ):
        wait_for(
            "every tenant applied once",
            lambda: {a.tenant for a in _applies(pg_url)} >= set(TENANTS),
            60,
            two,
        )
        wait_for(
            "both replicas to do work",
            lambda: _worked(one) and _worked(two),
            3 * interval + 10,
            two,
        )
        one.proc.send_signal(signal.SIGKILL)
        one.proc.wait()
        killed = wait_for_after(pg_url, two, interval)
        assert killed
        by_tenant: dict[str, list[ApplyRow]] = {}
        for row in _applies(pg_url):
            by_tenant.setdefault(row.tenant, []).append(row)
        for tenant, rows in by_tenant.items():
            rows.sort(key=lambda r: r.started_at)
            for first, second in itertools.pairwise(rows):
                assert first.finished_at is not None and first.finished_at <= second.started_at, (
                    f"tenant {tenant} reconciled by {first.actor} and {second.actor} at once"
                )


def wait_for_after(pg_url: str, two: Serve, interval: float) -> bool:
    """After the kill, every tenant gets a reconcile by the survivor within two intervals."""
    killed_at = datetime.now(UTC)
    pid = two.proc.pid

    def taken() -> bool:
        done = {
            a.tenant
            for a in _applies(pg_url)
            if a.actor.endswith(f":{pid}") and _aware(a.started_at) >= killed_at
        }
        return done >= set(TENANTS)

    # every tenant is reconciled at most once per interval; a no-change cycle writes no
    # apply row, so accept the tenant status's last_reconcile_at instead
    def statused() -> bool:
        states = [two.tenant(t) for t in TENANTS]
        return all(
            s["last_reconcile_at"]
            and datetime.fromisoformat(s["last_reconcile_at"].replace("Z", "+00:00")) >= killed_at
            for s in states
        )

    return bool(
        wait_for("survivor takes every tenant", lambda: taken() or statused(), 2 * interval + 10)
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _host() -> str:
    return socket.gethostname()
