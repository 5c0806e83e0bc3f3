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

from bench.bounds import apply_bound, baseline_bound, pages_per_tenant, plan_bound
from bench.estate import EstateShape

PLAN_RATIO = 1.5  # plan wall time ≤ 1.5 x its lower bound
BASELINE_SPEEDUP = 20.0  # plan ≥ 20 x faster than one GET per resource
APPLY_RATIO = 1.3  # apply wall time ≤ 1.3 x its lower bound
RSS_LIMIT_MB = 400.0
LINEAR_SLACK = 1.3  # CPU per resource at the largest scale ≤ 1.3 x at the smallest


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
    """One row per target of the issue, computed from the raw results."""
    config, phases = raw["config"], raw["phases"]
    a, b = _shape(raw["estates"]["a"]), _shape(raw["estates"]["b"])
    plan, base, apply = phases["plan"], phases["baseline"], phases["apply"]
    rows = [_observe_row(a, plan), *_plan_rows(a, plan, base, config)]
    rows.append(_apply_row(b, apply, config))
    cycle = plan["report"]["apply"]
    writes = cycle["state_writes"]
    rows.append(
        _row("no-change cycle writes no state rows", f"{writes} rows", "0", None, writes == 0)
    )
    for name in ("plan", "setup_apply"):
        rss = phases[name]["report"]["peak_rss_mb"]
        what = "plan" if name == "plan" else "apply from empty"
        rows.append(
            _row(
                f"peak RSS, {what} of {a.resources:,} resources",
                f"{rss:.0f} MB",
                f"{RSS_LIMIT_MB:.0f} MB",
                rss / RSS_LIMIT_MB,
                rss <= RSS_LIMIT_MB,
            )
        )
    rows.append(_growth_row(a, phases, config))
    return rows


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
    a: EstateShape, plan: dict[str, Any], base: dict[str, Any], config: dict[str, Any]
) -> list[dict[str, Any]]:
    latency = config["plan_latency_ms"] / 1000
    bound = plan_bound(a, a.tenants, latency)
    wall = plan["report"]["plan"]["wall_s"]
    base_wall = base["report"]["baseline"]["wall_s"]
    speedup = base_wall / wall
    floor = baseline_bound(base["report"]["baseline"]["resources"], latency, 10)
    return [
        _row(
            f"plan at {config['plan_latency_ms']:g} ms ≤ {PLAN_RATIO} x lower bound",
            f"{wall:.2f} s",
            f"{bound.seconds:.2f} s ({bound.requests} req x {latency * 1000:g} ms "
            f"/ {bound.concurrency})",
            wall / bound.seconds,
            wall <= PLAN_RATIO * bound.seconds,
        ),
        _row(
            f"plan ≥ {BASELINE_SPEEDUP:g}x faster than one GET per resource",
            f"{speedup:.1f}x ({wall:.2f} s vs {base_wall:.2f} s)",
            f"baseline {base_wall:.2f} s (its own bound {floor:.2f} s)",
            speedup,
            speedup >= BASELINE_SPEEDUP,
        ),
    ]


def _apply_row(b: EstateShape, apply: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    latency = config["apply_latency_ms"] / 1000
    bound = apply_bound(b, latency, config["apply_parallelism"])
    wall = apply["report"]["apply"]["wall_s"]
    return _row(
        f"apply {bound.changes:,} creates at {config['apply_latency_ms']:g} ms, "
        f"parallelism {bound.parallelism} ≤ {APPLY_RATIO} x lower bound",
        f"{wall:.2f} s",
        f"{bound.strict_s:.2f} s strict ({bound.changes} calls); "
        f"{bound.contract_s:.2f} s by contract ({bound.calls} calls)",
        wall / bound.strict_s,
        wall <= APPLY_RATIO * bound.strict_s,
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
    span = report.get("baseline") or report.get("plan")
    if name in ("apply", "setup_apply"):
        span = report["apply"]
    requests = sum(phase["requests"].values())
    emulator = phase["emulator_cpu_s"]
    return (
        f"| {name} | {report.get('resources', span.get('resources', ''))} "
        f"| {phase['latency_ms']:g} ms | {span['wall_s']:.2f} s | {span['cpu_s']:.2f} s "
        f"| {requests:,} | {span['statements_total']:,} | {span['state_writes']:,} "
        f"| {report['peak_rss_mb']:.0f} MB | {'' if emulator is None else f'{emulator:.2f} s'} |"
    )


def markdown(raw: dict[str, Any]) -> str:
    """The targets table and the phases table, as Markdown."""
    env = raw.get("environment", {})
    lines = [
        f"Benchmark of commit {env.get('git_commit', '?')[:10]} on {env.get('cpu_count')} CPUs, "
        f"Python {env.get('python')}; whole run {raw['duration_s']:.0f} s.",
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
