"""Judging a run against the issue's targets, and printing it as Markdown.

``evaluate`` turns the raw results of :func:`bench.run.run` into one row per
target (what was measured, the bound or baseline it is compared with, the
ratio, pass or miss); ``markdown`` prints those rows and a table of every
measured phase. Targets are reported, never asserted.
"""

from __future__ import annotations

import os
import platform
import subprocess
from typing import Any

from bench.bounds import (
    apply_bound,
    baseline_bound,
    pages_per_tenant,
    plan_bound,
    serve_bound,
)
from bench.estate import EstateShape

PLAN_RATIO = 1.5  # library plan step: wall time ≤ 1.5 x its lower bound
CLI_PLAN_RATIO = 2.0  # the whole `reconciler plan` process ≤ 2 x the same bound
BASELINE_SPEEDUP = 20.0  # plan ≥ 20 x faster than one GET per resource
APPLY_RATIO = 1.3  # apply wall time ≤ 1.3 x its lower bound
STATEMENTS_PER_CREATE = 3.0  # state-database statements per created resource
LOAD_MS_PER_RESOURCE = 0.1  # loading (and `reconciler validate`) per resource
CLI_START_S = 0.3  # `reconciler --help`, start to exit
RSS_LIMIT_MB = 200.0
LINEAR_SLACK = 1.3  # CPU per resource at the largest scale ≤ 1.3 x at the smallest
SERVE_RATIO = 1.5  # the service's no-change cycle ≤ 1.5 x the plan's network bound


def environment() -> dict[str, Any]:
    """Where the run happened: CPUs, Python, platform, git commit.

    ``BENCH_GIT_COMMIT`` names the commit when the run is made from an export
    of the tree rather than a git checkout.
    """
    if os.environ.get("BENCH_GIT_COMMIT"):
        commit, dirty = os.environ["BENCH_GIT_COMMIT"], False
    else:
        commit, dirty = _git_commit()
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": commit,
        "reconciler_modified": dirty,
    }


def _git_commit() -> tuple[str, bool]:
    """HEAD, and whether ``reconciler/`` has uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no", "reconciler"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown", False
    return commit, dirty


def _shape(raw: dict[str, Any]) -> EstateShape:
    return EstateShape(
        tenants=raw["tenants"], per_kind=raw["per_kind"], sourced_datasets=raw["sourced_datasets"]
    )


def _row(target: str, measured: str, against: str, ratio: float | None, ok: bool) -> dict[str, Any]:
    return {
        "target": target,
        "measured": measured,
        "against": against,
        "ratio": None if ratio is None else round(ratio, 2),
        "pass": ok,
    }


def evaluate(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target of the issue, computed from the raw results.

    Rows named "end to end" time a whole ``reconciler`` process (start to exit,
    output rendered); "library" rows time one phase inside a process.
    """
    config, phases = raw["config"], raw["phases"]
    a, b = _shape(raw["estates"]["a"]), _shape(raw["estates"]["b"])
    plan, apply = phases["plan"], phases["apply"]
    rows = [_observe_row(a, plan), *_plan_rows(a, phases, config)]
    rows += _apply_rows(b, phases, config)
    rows.append(_statements_row(apply))
    cycle = plan["report"]["apply"]
    writes = cycle["state_writes"]
    rows.append(
        _row("no-change cycle writes no state rows", f"{writes} rows", "0", None, writes == 0)
    )
    rows += _load_rows(phases)
    rows += _rss_rows(a, phases)
    rows.append(_growth_row(a, phases, config))
    if "serve" in raw:
        rows.append(_serve_row(a, raw["serve"], config))
    return rows


def _wall(phase: dict[str, Any], span: str) -> float:
    """The wall time of a library span (``plan``, ``apply``) or of a whole process."""
    report = phase["report"]
    if "process" in report:
        process = report["process"]
        return float(process.get("median_wall_s", process["wall_s"]))
    return float(report[span]["wall_s"])


def _observe_row(a: EstateShape, plan: dict[str, Any]) -> dict[str, Any]:
    allowed = pages_per_tenant(a)
    total = sum(plan["requests"].values())
    per_tenant = total / a.tenants
    return _row(
        f"observe requests per tenant ({a.resources:,} resources, {a.tenants} tenants)",
        f"{per_tenant:g}",
        f"≤ {allowed} (Σ ceil(n/page) + 1)",
        per_tenant / allowed,
        per_tenant <= allowed,
    )


def _plan_rows(
    a: EstateShape, phases: dict[str, Any], config: dict[str, Any]
) -> list[dict[str, Any]]:
    latency = config["plan_latency_ms"] / 1000
    bound = plan_bound(a, a.tenants, latency)
    base = phases["baseline"]["report"]["baseline"]
    base_wall = base["wall_s"]
    floor = baseline_bound(base["resources"], latency, 10)
    against = f"{bound.seconds:.2f} s ({bound.requests} req x {latency * 1000:g} ms / {bound.concurrency})"
    everything = a.resources + a.tenants
    rows = []
    for name, what, ratio in (
        ("cli_plan", f"end to end: `reconciler plan` of {everything:,} resources", CLI_PLAN_RATIO),
        ("plan", "library: plan step", PLAN_RATIO),
    ):
        if name not in phases:
            continue
        wall = _wall(phases[name], "plan")
        rows.append(
            _row(
                f"{what} at {config['plan_latency_ms']:g} ms ≤ {ratio:g} x network bound",
                f"{wall:.2f} s",
                against,
                wall / bound.seconds,
                wall <= ratio * bound.seconds,
            )
        )
        speedup = base_wall / wall
        rows.append(
            _row(
                f"{what} ≥ {BASELINE_SPEEDUP:g}x faster than one GET per resource",
                f"{speedup:.1f}x ({wall:.2f} s vs {base_wall:.2f} s)",
                f"baseline {base_wall:.2f} s (its own bound {floor:.2f} s)",
                speedup,
                speedup >= BASELINE_SPEEDUP,
            )
        )
    return rows


def _apply_rows(
    b: EstateShape, phases: dict[str, Any], config: dict[str, Any]
) -> list[dict[str, Any]]:
    latency = config["apply_latency_ms"] / 1000
    bound = apply_bound(b, latency, config["apply_parallelism"])
    rows = []
    for name, what in (
        ("cli_apply", "end to end: `reconciler apply`"),
        ("apply", "library: apply"),
    ):
        if name not in phases:
            continue
        wall = _wall(phases[name], "apply")
        rows.append(
            _row(
                f"{what} of {bound.changes:,} creates at {config['apply_latency_ms']:g} ms, "
                f"parallelism {bound.parallelism} ≤ {APPLY_RATIO} x network bound",
                f"{wall:.2f} s",
                f"{bound.strict_s:.2f} s ({bound.changes} calls x "
                f"{latency * 1000:g} ms / {bound.parallelism}, after the catalog)",
                wall / bound.strict_s,
                wall <= APPLY_RATIO * bound.strict_s,
            )
        )
    return rows


def _statements_row(apply: dict[str, Any]) -> dict[str, Any]:
    span = apply["report"]["apply"]
    creates = sum(n for step, n in span["steps"].items() if step.startswith("create_"))
    per_create = span["statements_total"] / max(1, creates)
    return _row(
        f"library: state statements per create (apply of {creates:,})",
        f"{per_create:.2f} ({span['statements_total']:,} statements)",
        f"≤ {STATEMENTS_PER_CREATE:g}",
        per_create / STATEMENTS_PER_CREATE,
        per_create <= STATEMENTS_PER_CREATE,
    )


def _load_rows(phases: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    plan = phases["plan"]["report"]
    spans = [("library: load", plan["load"]["wall_s"], plan["resources"])]
    if "cli_validate" in phases:
        validate = phases["cli_validate"]["report"]
        spans.insert(
            0,
            (
                "end to end: `reconciler validate`",
                _wall(phases["cli_validate"], ""),
                validate["resources"],
            ),
        )
    for what, wall, resources in spans:
        per = wall * 1000 / resources
        rows.append(
            _row(
                f"{what} ≤ {LOAD_MS_PER_RESOURCE:g} ms per resource",
                f"{per:.3f} ms ({wall:.2f} s for {resources:,})",
                f"{LOAD_MS_PER_RESOURCE:g} ms",
                per / LOAD_MS_PER_RESOURCE,
                per <= LOAD_MS_PER_RESOURCE,
            )
        )
    if "cli_help" in phases:
        process = phases["cli_help"]["report"]["process"]
        wall = _wall(phases["cli_help"], "")
        runs = ", ".join(f"{w:.3f}" for w in process.get("runs_wall_s", [wall]))
        rows.append(
            _row(
                f"end to end: `reconciler --help` starts and exits < {CLI_START_S:g} s",
                f"{wall:.3f} s (median of {runs})",
                f"{CLI_START_S:g} s",
                wall / CLI_START_S,
                wall < CLI_START_S,
            )
        )
    return rows


def _rss_rows(a: EstateShape, phases: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, what in (
        ("cli_plan", "end to end: `reconciler plan`"),
        ("plan", "library: plan"),
        ("setup_apply", "library: apply from empty"),
    ):
        if name not in phases:
            continue
        rss = phases[name]["report"]["peak_rss_mb"]
        rows.append(
            _row(
                f"peak RSS, {what} of {a.resources:,} resources",
                f"{rss:.0f} MB",
                f"{RSS_LIMIT_MB:.0f} MB",
                rss / RSS_LIMIT_MB,
                rss <= RSS_LIMIT_MB,
            )
        )
    return rows


def _serve_row(a: EstateShape, serve: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    latency = config["plan_latency_ms"] / 1000
    bound = serve_bound(a, a.tenants, latency)
    wall = serve["cycle_wall_s"]
    return _row(
        f"service: one `reconciler serve`, no-change cycle of {a.tenants} tenants x "
        f"{a.per_tenant} resources at {config['plan_latency_ms']:g} ms ≤ {SERVE_RATIO:g} x "
        f"network bound (service CPU {serve['cycle_cpu_s']:.2f} s per cycle, "
        f"{serve['cycle_requests']:,} requests; first cycle with loading "
        f"{serve['first_cycle_wall_s']:.1f} s)",
        f"{wall:.2f} s",
        f"{bound.seconds:.2f} s ({bound.requests:,} req incl. one latest-runs GET per tenant x "
        f"{config['plan_latency_ms']:g} ms / {bound.concurrency})",
        wall / bound.seconds,
        wall <= SERVE_RATIO * bound.seconds,
    )


def _growth_row(a: EstateShape, phases: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    points = []
    for tenants in config["growth_tenants"]:
        report = phases[f"growth_plan_{tenants}"]["report"]
        points.append((tenants * a.per_tenant, report["plan"]["cpu_s"]))
    per_resource = [cpu / n for n, cpu in points]
    spread = per_resource[-1] / per_resource[0]
    measured = ", ".join(f"{n / 1000:g}k: {cpu:.2f} s" for n, cpu in points)
    return _row(
        "plan CPU grows linearly (emulator at 0 ms)",
        measured,
        f"CPU per resource at {points[-1][0] / 1000:g}k ≤ {LINEAR_SLACK} x at "
        f"{points[0][0] / 1000:g}k",
        spread,
        spread <= LINEAR_SLACK,
    )


def _phase_line(name: str, phase: dict[str, Any]) -> str:
    report = phase["report"]
    requests = sum(phase["requests"].values())
    emulator = phase["emulator_cpu_s"]
    emulator_cpu = "" if emulator is None else f"{emulator:.2f} s"
    if "process" in report:
        process = report["process"]
        wall = float(process.get("median_wall_s", process["wall_s"]))
        return (
            f"| {name} (`{process['command'].split(' /')[0]}`, whole process) "
            f"| {report.get('resources') or ''} | {phase['latency_ms']:g} ms | {wall:.2f} s "
            f"| {process['cpu_s']:.2f} s | {requests:,} |  |  "
            f"| {report['peak_rss_mb']:.0f} MB | {emulator_cpu} |"
        )
    span = report.get("baseline") or report.get("plan")
    if name in ("apply", "setup_apply"):
        span = report["apply"]
    load = report.get("load")
    load_text = f" (+ load {load['wall_s']:.2f} s)" if load else ""
    return (
        f"| {name} (library) | {report.get('resources', span.get('resources', ''))} "
        f"| {phase['latency_ms']:g} ms | {span['wall_s']:.2f} s{load_text} | {span['cpu_s']:.2f} s "
        f"| {requests:,} | {span['statements_total']:,} | {span['state_writes']:,} "
        f"| {report['peak_rss_mb']:.0f} MB | {emulator_cpu} |"
    )


def _loads(raw: dict[str, Any]) -> str:
    """The 1-minute load average at the start and the end of the run."""
    loads = raw.get("load_average") or {}
    if not loads:
        return "not recorded"
    return f"{loads['start'][0]:.2f} at the start, {loads['end'][0]:.2f} at the end"


def markdown(raw: dict[str, Any]) -> str:
    """The targets table and the phases table, as Markdown."""
    env = raw.get("environment", {})
    lines = [
        f"Benchmark of commit {env.get('git_commit', '?')[:10]} on {env.get('cpu_count')} CPUs, "
        f"Python {env.get('python')}; whole run {raw['duration_s']:.0f} s; "
        f"load average {_loads(raw)}.",
        "",
        "| Target | Measured | Bound / baseline | Ratio | Result |",
        "|---|---|---|---|---|",
    ]
    for row in raw["targets"]:
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}"
        result = "pass" if row["pass"] else "**miss**"
        lines.append(
            f"| {row['target']} | {row['measured']} | {row['against']} | {ratio} | {result} |"
        )
    lines += [
        "",
        "| Phase | Resources | Latency | Wall | CPU (reconciler) | Requests | Statements "
        "| State writes | Peak RSS | CPU (emulator) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [_phase_line(name, phase) for name, phase in raw["phases"].items()]
    return "\n".join(lines)
