"""`reconciler --help` and `reconciler validate` start without the state, HTTP or service stacks.

Each check runs the command in a fresh interpreter and reads ``sys.modules``
when it is done, so what is asserted is what a user's process imports. How
fast that is is measured by the benchmark (``bench/``), not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.cli import COMMANDS

HEAVY = ("sqlalchemy", "httpx", "fastapi")
"""The state, HTTP and service stacks: no offline command needs them."""

HELP_FREE = (*HEAVY, "pydantic", "rich", "yaml", "asyncio", "reconciler.kinds", "reconciler.load")
"""What printing help must not import: the documents' models, the renderer, the YAML
parser, the event loop and the library itself (command modules import them where they
run)."""

VALIDATE_FREE = (*HEAVY, "rich", "asyncio")
"""``validate`` reads and checks documents: no renderer, no event loop."""

PROBE = """
import json, sys
watched = json.loads(sys.argv[1])
from reconciler.cli import main
try:
    code = main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": [m for m in watched if m in sys.modules]}), file=sys.stderr)
"""


def _loaded(watched: tuple[str, ...], *argv: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(watched), *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )
    result: dict[str, object] = json.loads(done.stderr.strip().splitlines()[-1])
    return result


@pytest.mark.slow
def test_help_imports_no_library_models_renderer_or_stacks() -> None:
    assert _loaded(HELP_FREE, "--help") == {"code": 0, "loaded": []}


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_command_help_imports_no_library_models_renderer_or_stacks(command: str) -> None:
    assert _loaded(HELP_FREE, command, "--help") == {"code": 0, "loaded": []}


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.slow
def test_validate_imports_no_state_http_service_renderer_or_event_loop() -> None:
    assert _loaded(VALIDATE_FREE, "validate", str(EXAMPLES)) == {"code": 0, "loaded": []}


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    from reconciler.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    listed = capsys.readouterr().out
    assert all(f"\n    {name} " in listed for name in COMMANDS)


KINDS_PROBE = """
import json
from reconciler.kinds import KINDS
from reconciler.kinds.job_models import models
built_on_import = models.cache_info().currsize
first, again = KINDS["Job"].spec_model, type(KINDS["Job"]).spec_model
print(json.dumps([built_on_import, models.cache_info().currsize, first is again, first.__name__]))
"""


@pytest.mark.slow
def test_the_jobs_models_are_built_when_first_read_not_on_import() -> None:
    done = subprocess.run(
        [sys.executable, "-c", KINDS_PROBE], capture_output=True, text=True, timeout=60
    )
    assert json.loads(done.stdout) == [0, 1, True, "JobSpec"]
