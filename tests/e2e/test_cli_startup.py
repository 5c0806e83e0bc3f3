"""`reconciler --help` and `reconciler validate` start without the state, HTTP or service stacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("sqlalchemy", "httpx", "fastapi")

PROBE = f"""
import json, sys
HEAVY = {HEAVY!r}
from reconciler.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({{"code": code, "loaded": [m for m in HEAVY if m in sys.modules]}}), file=sys.stderr)
"""


def _loaded(*argv: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=60
    )
    result: dict[str, object] = json.loads(done.stderr.strip().splitlines()[-1])
    return result


@pytest.mark.slow
def test_help_imports_no_state_http_or_service_library() -> None:
    assert _loaded("--help") == {"code": 0, "loaded": []}


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.slow
def test_validate_imports_no_state_http_or_service_library() -> None:
    assert _loaded("validate", str(EXAMPLES)) == {"code": 0, "loaded": []}
