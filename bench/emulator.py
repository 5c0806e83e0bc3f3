"""A handle on the emulator process the benchmark talks to.

The harness starts ``python -m bench.serve`` once, sets the injected latency
before each phase, and reads the emulator's request counters (by route) and
its CPU time around each phase, so every phase reports the connector
requests it made and what serving them cost.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

API_PREFIX = "/agentprovision/v1"
START_TIMEOUT = 20.0


@dataclass
class EmulatorProcess:
    """The running emulator: its origin URL, key and process."""

    url: str
    api_key: str
    process: subprocess.Popen[str]

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def counters(self) -> dict[str, int]:
        """Requests served so far, by ``METHOD /route/{template}``."""
        response = httpx.get(f"{self.url}/_emulator/counters", headers=self._headers())
        response.raise_for_status()
        counts: dict[str, int] = response.json()["requests"]
        return counts

    def set_latency(self, latency_ms: float, jitter_ms: float) -> None:
        """Delay every connector call by ``latency_ms`` plus up to ``jitter_ms`` (uniform)."""
        body = {"latency_ms": latency_ms, "jitter_ms": jitter_ms}
        response = httpx.post(f"{self.url}/_emulator/faults", headers=self._headers(), json=body)
        response.raise_for_status()

    def cpu_seconds(self) -> float | None:
        """User + system CPU the emulator process has used (Linux ``/proc``; else None)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


def route_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Requests per route made between two counter snapshots (routes with none left out)."""
    short = {route.replace(API_PREFIX, ""): n - before.get(route, 0) for route, n in after.items()}
    return {route: n for route, n in sorted(short.items()) if n}


def _wait_healthy(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the emulator process exited while starting")
        try:
            if httpx.get(f"{url}{API_PREFIX}/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the emulator did not answer at {url} within {START_TIMEOUT:g} s")


@contextmanager
def emulator_process(api_key: str) -> Iterator[EmulatorProcess]:
    """Start the emulator in its own process for the block; stop it afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.serve", "--api-key", api_key],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        _wait_healthy(url, process)
        yield EmulatorProcess(url=url, api_key=api_key, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
