"""The benchmark run: generate the estates, start the emulator, run every phase.

Order of a run (each measured phase is its own process: the library phases
through :mod:`bench.phase`, the end-to-end ones as whole ``reconciler``
commands through :mod:`bench.process`):

1. write estate A (``tenants x per_tenant`` of every kind, see
   :mod:`bench.estate`) and estates B and C (one tenant each of
   ``apply_creates`` resources, notebooks and scheduled jobs, catalog included);
2. the CLI's start: ``reconciler --help`` (several times; the median counts);
3. ``reconciler validate A`` (no connector, no database);
4. set up: apply estate A from empty at zero latency (reported, not a target);
5. plan CPU growth at zero latency on the first tenants of A (1k, 5k, 10k);
6. at ``plan_latency`` ± jitter: the library plans all of A and applies that
   plan (a no-change reconcile cycle); the whole ``reconciler plan A``
   process; then the per-resource baseline on A; then one ``reconciler serve``
   process on A: its first cycle and three no-change cycles
   (:mod:`bench.service_cycle`);
7. at ``apply_latency`` ± jitter: the library applies estate B from empty;
   the whole ``reconciler apply C --auto-approve`` process.
"""

from __future__ import annotations

import json
import os
import statistics
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
from bench.estate import SECRETS_DIR, EstateShape, write_estate
from bench.process import run_process
from bench.service_cycle import serve_cycles

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
    help_runs: int = 5
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
    end_to_end: bool = False

    @property
    def request_total(self) -> int:
        return sum(self.requests.values())


class Runner:
    """Runs phases against one emulator, keeping what each reported."""

    def __init__(self, emulator: EmulatorProcess, workdir: Path) -> None:
        self.emulator, self.workdir = emulator, workdir
        self.phases: dict[str, Phase] = {}
        self.latency_ms = 0.0
        self.serve: dict[str, Any] | None = None

    def latency(self, latency_ms: float, jitter_ms: float) -> None:
        """Mean latency ``latency_ms``, spread uniformly over ± ``jitter_ms``."""
        if latency_ms == self.latency_ms == 0:
            return
        jitter = min(jitter_ms, latency_ms)
        self.emulator.set_latency(latency_ms - jitter, 2 * jitter)
        self.latency_ms = latency_ms

    def env(self, db: str) -> dict[str, str]:
        """What a user would export to run a command against ``db`` and the emulator."""
        return {
            **os.environ,
            "DATABASE_URL": db,
            "MCP_SERVER_URL": self.emulator.url,
            "MCP_API_KEY": API_KEY,
            "RECONCILER_SECRETS_DIR": str(SECRETS_DIR),
        }

    def phase(self, name: str, kind: str, estate: Path, tenants: int, db: str, *args: str) -> Phase:
        """A library phase (:mod:`bench.phase`) in a process of its own."""
        command = [sys.executable, "-m", "bench.phase", kind, "--estate", str(estate)]
        command += ["--tenants", str(tenants), "--db", db, "--url", self.emulator.url]
        command += ["--api-key", API_KEY, *args]
        print(f"  {name} …", file=sys.stderr, flush=True)
        counts, cpu = self.emulator.counters(), self.emulator.cpu_seconds()
        done = subprocess.run(
            command, capture_output=True, text=True, check=False, env=self.env(db)
        )
        if done.returncode != 0:
            raise RuntimeError(f"phase {name} failed:\n{done.stderr[-3000:]}")
        report = json.loads(done.stdout.strip().splitlines()[-1])
        return self._keep(name, report, counts, cpu, end_to_end=False)

    def command(self, name: str, db: str, *argv: str, resources: int = 0, runs: int = 1) -> Phase:
        """A whole ``reconciler`` command (:mod:`bench.process`); with ``runs``, the median."""
        print(f"  {name} (reconciler {' '.join(argv)}) …", file=sys.stderr, flush=True)
        counts, cpu = self.emulator.counters(), self.emulator.cpu_seconds()
        output = self.workdir / f"{name}.out"
        results = [run_process(argv, self.env(db), output) for _ in range(runs)]
        bad = [r for r in results if r["exit_code"] != 0]
        if bad:
            raise RuntimeError(f"{name} exited {bad[0]['exit_code']}:\n{bad[0]['stderr_tail']}")
        process = sorted(results, key=lambda r: r["wall_s"])[len(results) // 2]
        if runs > 1:
            process["runs_wall_s"] = [r["wall_s"] for r in results]
            process["median_wall_s"] = statistics.median(r["wall_s"] for r in results)
        report = {"process": process, "resources": resources}
        report["peak_rss_mb"] = process["peak_rss_mb"]
        return self._keep(name, report, counts, cpu, end_to_end=True)

    def _keep(
        self,
        name: str,
        report: dict[str, Any],
        counts: dict[str, int],
        cpu: float | None,
        *,
        end_to_end: bool,
    ) -> Phase:
        after_cpu = self.emulator.cpu_seconds()
        emulator_cpu = None if cpu is None or after_cpu is None else round(after_cpu - cpu, 3)
        requests = route_delta(counts, self.emulator.counters())
        result = Phase(name, report, requests, emulator_cpu, self.latency_ms, end_to_end)
        self.phases[name] = result
        return result


def run(config: BenchConfig) -> dict[str, Any]:
    """Run every phase of ``config``; return the raw results (see :mod:`bench.report`)."""
    started, load_at_start = time.perf_counter(), os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        print("writing estates …", file=sys.stderr, flush=True)
        shape_a = write_estate(
            work / "a", tenants=config.tenants, per_tenant=config.per_tenant, seed=config.seed
        )
        shape_b, shape_c = (
            write_estate(
                work / folder,
                tenants=1,
                per_tenant=config.apply_creates - 1,
                seed=config.seed,
                prefix=prefix,
                kinds=BULK_KINDS,
            )
            for folder, prefix in (("b", "bulk"), ("c", "cli"))
        )
        with state_folder(config.state_dir) as states:
            dbs = {name: f"sqlite:///{states / name}.db" for name in ("a", "b", "c")}
            with emulator_process(API_KEY) as emulator:
                runner = Runner(emulator, work)
                _run_phases(runner, config, work, dbs, shape_a)
    return {
        "config": asdict(config),
        "estates": {"a": _shape(shape_a), "b": _shape(shape_b), "c": _shape(shape_c)},
        "phases": {name: asdict(p) for name, p in runner.phases.items()},
        **({"serve": runner.serve} if runner.serve is not None else {}),
        "duration_s": round(time.perf_counter() - started, 1),
        "load_average": {"start": load_at_start, "end": os.getloadavg()},
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


BULK_KINDS = ("Notebook", "Job")
"""What the apply estates hold: notebooks and the scheduled jobs that run them."""


def _run_phases(
    runner: Runner, config: BenchConfig, work: Path, dbs: dict[str, str], shape_a: EstateShape
) -> None:
    a, b, c, n = work / "a", work / "b", work / "c", config.tenants
    db_a = dbs["a"]
    everything = shape_a.resources + shape_a.tenants
    runner.latency(0, 0)
    runner.command("cli_help", db_a, "--help", runs=config.help_runs)
    runner.command("cli_validate", db_a, "validate", str(a), resources=everything)
    setup = ("--parallelism", str(config.setup_parallelism))
    runner.phase("setup_apply", "apply", a, n, db_a, *setup)
    for tenants in config.growth_tenants:
        runner.phase(f"growth_plan_{tenants}", "plan", a, tenants, db_a)
    runner.latency(config.plan_latency_ms, config.jitter_ms)
    runner.phase("plan", "plan", a, n, db_a, "--cycle")
    runner.command("cli_plan", db_a, "plan", str(a), resources=everything)
    runner.phase("baseline", "baseline", a, n, db_a)
    print("  serve cycle (reconciler serve) …", file=sys.stderr, flush=True)
    runner.serve = serve_cycles(runner.emulator, runner.env(db_a), a, work, tenants=n)
    runner.latency(config.apply_latency_ms, config.jitter_ms)
    parallelism = str(config.apply_parallelism)
    runner.phase("apply", "apply", b, 1, dbs["b"], "--parallelism", parallelism)
    apply_c = ("apply", str(c), "--auto-approve", "--parallelism", parallelism)
    runner.command("cli_apply", dbs["c"], *apply_c, resources=config.apply_creates)
    runner.latency(0, 0)


def _shape(shape: EstateShape) -> dict[str, Any]:
    return {**asdict(shape), "per_tenant": shape.per_tenant, "resources": shape.resources}
