"""The benchmark run: generate the estates, start the emulator, run every phase.

Order of a run (each measured phase is its own process, see :mod:`bench.phase`):

1. write estate A (``tenants x per_tenant``) and estate B (one tenant of
   ``apply_creates`` resources, its catalog included);
2. set up: apply estate A from empty at zero latency (reported, not a target);
3. plan CPU growth at zero latency on the first tenants of A (1k, 5k, 10k);
4. at ``plan_latency`` ± jitter: plan all of A and apply that plan (a
   no-change reconcile cycle), then the per-resource baseline on A;
5. at ``apply_latency`` ± jitter: apply estate B from empty.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.emulator import EmulatorProcess, emulator_process, route_delta
from bench.estate import EstateShape, write_estate

API_KEY = "bench-key"


@dataclass(frozen=True)
class BenchConfig:
    """The scales and latencies of one run (defaults: the issue's targets)."""

    tenants: int = 100
    per_tenant: int = 100
    growth_tenants: tuple[int, ...] = (10, 50, 100)
    plan_latency_ms: float = 25.0
    apply_creates: int = 1000
    apply_latency_ms: float = 50.0
    apply_parallelism: int = 16
    jitter_ms: float = 5.0
    setup_parallelism: int = 32
    seed: int = 42
    state_dir: str | None = None  # where the SQLite state files go; default: see state_folder

    @classmethod
    def quick(cls) -> BenchConfig:
        """A small run for checking the harness itself (about a minute)."""
        return cls(tenants=10, per_tenant=20, growth_tenants=(2, 5, 10), apply_creates=100)


@dataclass
class Phase:
    """What one measured phase reported, with the requests and emulator CPU around it."""

    name: str
    report: dict[str, Any]
    requests: dict[str, int]
    emulator_cpu_s: float | None
    latency_ms: float

    @property
    def request_total(self) -> int:
        return sum(self.requests.values())


class Runner:
    """Runs phases against one emulator, keeping what each reported."""

    def __init__(self, emulator: EmulatorProcess, workdir: Path) -> None:
        self.emulator, self.workdir = emulator, workdir
        self.phases: dict[str, Phase] = {}
        self.latency_ms = 0.0

    def latency(self, latency_ms: float, jitter_ms: float) -> None:
        """Mean latency ``latency_ms``, spread uniformly over ± ``jitter_ms``."""
        if latency_ms == self.latency_ms == 0:
            return
        jitter = min(jitter_ms, latency_ms)
        self.emulator.set_latency(latency_ms - jitter, 2 * jitter)
        self.latency_ms = latency_ms

    def phase(self, name: str, kind: str, estate: Path, tenants: int, db: str, *args: str) -> Phase:
        command = [sys.executable, "-m", "bench.phase", kind, "--estate", str(estate)]
        command += ["--tenants", str(tenants), "--db", db, "--url", self.emulator.url]
        command += ["--api-key", API_KEY, *args]
        print(f"  {name} …", file=sys.stderr, flush=True)
        counts, cpu = self.emulator.counters(), self.emulator.cpu_seconds()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"phase {name} failed:\n{done.stderr[-3000:]}")
        report = json.loads(done.stdout.strip().splitlines()[-1])
        after_cpu = self.emulator.cpu_seconds()
        emulator_cpu = None if cpu is None or after_cpu is None else round(after_cpu - cpu, 3)
        requests = route_delta(counts, self.emulator.counters())
        result = Phase(name, report, requests, emulator_cpu, self.latency_ms)
        self.phases[name] = result
        return result


def run(config: BenchConfig) -> dict[str, Any]:
    """Run every phase of ``config``; return the raw results (see :mod:`bench.report`)."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        print("writing estates …", file=sys.stderr, flush=True)
        shape_a = write_estate(
            work / "a", tenants=config.tenants, per_tenant=config.per_tenant, seed=config.seed
        )
        shape_b = write_estate(
            work / "b",
            tenants=1,
            per_tenant=config.apply_creates - 1,
            seed=config.seed,
            prefix="bulk",
        )
        with state_folder(config.state_dir) as states:
            db_a, db_b = f"sqlite:///{states / 'a.db'}", f"sqlite:///{states / 'b.db'}"
            with emulator_process(API_KEY) as emulator:
                runner = Runner(emulator, work)
                _run_phases(runner, config, work, db_a, db_b)
    return {
        "config": asdict(config),
        "estates": {"a": _shape(shape_a), "b": _shape(shape_b)},
        "phases": {name: asdict(p) for name, p in runner.phases.items()},
        "duration_s": round(time.perf_counter() - started, 1),
    }


@contextmanager
def state_folder(given: str | None) -> Iterator[Path]:
    """A fresh folder for the SQLite state files, removed afterwards.

    By default it is in ``/dev/shm`` (memory) when there is one: the benchmark
    measures the reconciler, not the machine's disk, whose fsync per commit
    would otherwise dominate apply. ``--state-dir`` puts it on a real disk.
    """
    parent = given or ("/dev/shm" if Path("/dev/shm").is_dir() else None)
    with tempfile.TemporaryDirectory(prefix="bench-state-", dir=parent) as folder:
        yield Path(folder)


def _run_phases(runner: Runner, config: BenchConfig, work: Path, db_a: str, db_b: str) -> None:
    a, b, n = work / "a", work / "b", config.tenants
    runner.latency(0, 0)
    setup = ("--parallelism", str(config.setup_parallelism))
    runner.phase("setup_apply", "apply", a, n, db_a, *setup)
    for tenants in config.growth_tenants:
        runner.phase(f"growth_plan_{tenants}", "plan", a, tenants, db_a)
    runner.latency(config.plan_latency_ms, config.jitter_ms)
    runner.phase("plan", "plan", a, n, db_a, "--cycle")
    runner.phase("baseline", "baseline", a, n, db_a)
    runner.latency(config.apply_latency_ms, config.jitter_ms)
    runner.phase("apply", "apply", b, 1, db_b, "--parallelism", str(config.apply_parallelism))
    runner.latency(0, 0)


def _shape(shape: EstateShape) -> dict[str, Any]:
    return {**asdict(shape), "per_tenant": shape.per_tenant, "resources": shape.resources}
