"""What users wait for: a whole ``reconciler`` command, timed from start to exit.

The command runs as its own process with the settings a user would export
(``DATABASE_URL``, ``MCP_SERVER_URL``, ``MCP_API_KEY`` and the secret the
estate names), its output rendered into a file as it would be into a pipe.
Wall time runs from just before the process is started to just after it has
exited, so interpreter start, imports, loading, planning, applying and
rendering all count. CPU time and peak RSS are the process's own, read from
``wait4``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def reconciler_command() -> list[str]:
    """The installed ``reconciler`` entry point next to this interpreter (else ``-m``)."""
    script = Path(sys.executable).with_name("reconciler")
    return [str(script)] if script.exists() else [sys.executable, "-m", "reconciler.cli"]


def run_process(
    argv: Sequence[str], env: Mapping[str, str], output: Path, *, cwd: Path | None = None
) -> dict[str, Any]:
    """Run ``reconciler <argv>``; its wall and CPU time, peak RSS, exit code and output size."""
    command = [*reconciler_command(), *argv]
    with output.open("wb") as out, output.with_suffix(".err").open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=dict(env), cwd=cwd)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return {
        "command": " ".join(["reconciler", *argv]),
        "wall_s": round(wall, 4),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 4),
        "peak_rss_mb": round(usage.ru_maxrss / scale, 1),
        "exit_code": process.returncode,
        "output_bytes": output.stat().st_size,
        "stderr_tail": output.with_suffix(".err").read_text(errors="replace")[-2000:],
    }
