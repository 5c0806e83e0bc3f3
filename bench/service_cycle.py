"""One ``reconciler serve`` process reconciling the whole estate: a no-change cycle.

The service runs as users run it (``reconciler serve --source A``, the same
settings as the CLI, its own process), on estate A already applied, with the
emulator at the plan latency. Its interval is an hour, so after its first
cycle (every tenant once, spread over the first seconds; this one includes
loading the source) nothing runs by itself. Then, ``cycles`` times, every
tenant is reconciled at once through the API (``POST
/api/v1/tenants/{t}/reconcile?wait=true`` for all tenants together, the work a
scheduled cycle does) and timed from the first request to the last answer.
The service's CPU (user + system, from ``/proc``) and the connector requests
(from the emulator's counters) are read around each cycle; the median cycle
counts. A cycle must change nothing: any connector write, or a tenant not
``Synced`` or with an error, fails the phase.

The network bound of a cycle (:func:`bench.bounds.serve_bound`) is the plan's
(one catalog GET and the list pages of each kind per tenant) plus one
latest-runs GET per tenant, which the job health rule reads
(``specs/service.md``), over the client's 32 connections.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import statistics
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from bench.emulator import EmulatorProcess, route_delta
from bench.process import reconciler_command

TOKEN = "bench-admin-token"
START_TIMEOUT = 600.0
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve_cycles(
    emulator: EmulatorProcess,
    env: Mapping[str, str],
    estate: Path,
    workdir: Path,
    *,
    tenants: int,
    cycles: int = 3,
) -> dict[str, Any]:
    """Start ``serve`` on ``estate``; time its first cycle and ``cycles`` no-change cycles."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / "serve.log"
    command = [*reconciler_command(), "serve", "--source", str(estate), "--interval", "3600",
               "--port", str(port), "--workdir", str(workdir / "serve")]  # fmt: skip
    environment = {**env, "RECONCILER_ADMIN_TOKEN": TOKEN, "RECONCILER_READ_TOKEN": TOKEN}
    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=environment, stdout=out, stderr=subprocess.STDOUT)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        names = _first_cycle(url, headers, process, tenants, log)
        first_cycle = time.perf_counter() - started
        first_cpu = _cpu_seconds(process.pid)
        measured = [asyncio.run(_cycle(emulator, url, headers, names, process.pid))
                    for _ in range(cycles)]  # fmt: skip
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    median = sorted(measured, key=lambda c: c["wall_s"])[len(measured) // 2]
    return {
        "tenants": len(names),
        "first_cycle_wall_s": round(first_cycle, 3),
        "first_cycle_cpu_s": round(first_cpu, 3),
        "cycles": measured,
        "cycle_wall_s": median["wall_s"],
        "cycle_cpu_s": median["cpu_s"],
        "cycle_requests": median["requests"],
        "cycle_wall_median_s": round(statistics.median(c["wall_s"] for c in measured), 3),
        "exit_code": process.returncode,
    }


def _first_cycle(
    url: str, headers: dict[str, str], process: subprocess.Popen[bytes], tenants: int, log: Path
) -> list[str]:
    """Wait until every tenant has been reconciled once; their names."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve exited with {process.returncode}:\n{_tail(log)}")
        try:
            answer = httpx.get(f"{url}/api/v1/tenants", headers=headers, timeout=30)
        except httpx.HTTPError:
            answer = None
        if answer is not None and answer.status_code == 200:
            rows = answer.json()["tenants"]
            done = [r for r in rows if r["last_reconcile_at"]]
            if len(rows) >= tenants and len(done) == len(rows):
                bad = [r for r in rows if r["last_error"] or r["sync"] != "Synced"]
                if bad:
                    raise RuntimeError(f"the first cycle left tenants unsynced: {bad[:3]}")
                return [r["tenant"] for r in rows]
        time.sleep(0.5)
    raise RuntimeError(f"serve did not reconcile {tenants} tenants in time:\n{_tail(log)}")


async def _cycle(
    emulator: EmulatorProcess, url: str, headers: dict[str, str], names: list[str], pid: int
) -> dict[str, Any]:
    counts = emulator.counters()
    cpu = _cpu_seconds(pid)
    limits = httpx.Limits(max_connections=len(names) + 1)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=600, limits=limits) as api:
        started = time.perf_counter()
        answers = await asyncio.gather(
            *(api.post(f"/api/v1/tenants/{name}/reconcile", params={"wait": "true"})
              for name in names)
        )  # fmt: skip
        wall = time.perf_counter() - started
    cpu_used = _cpu_seconds(pid) - cpu
    requests = route_delta(counts, emulator.counters())
    for name, answer in zip(names, answers, strict=True):
        status = answer.json().get("status") if answer.status_code == 202 else None
        if not status or status["sync"] != "Synced" or status["last_error"]:
            raise RuntimeError(f"tenant {name}: the cycle did not leave it Synced: {answer.text}")
    writes = {route: n for route, n in requests.items() if route.startswith(WRITES)}
    if writes:
        raise RuntimeError(f"a no-change cycle wrote to the connector: {writes}")
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu_used, 3),
            "requests": sum(requests.values()), "by_route": requests}  # fmt: skip


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""
