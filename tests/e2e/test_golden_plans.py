"""Plans of the examples are byte-identical to the recorded goldens, in every format.

Three plans, each in text, JSON and Markdown: from empty (every create), after
an apply with no change, and after edits to the documents plus a change made
outside the reconciler (updates, a replace, drift). The goldens live in
``tests/e2e/golden/``; ``GOLDEN_UPDATE=1`` rewrites them (only when an output
change is intended).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.e2e.conftest import World

GOLDEN = Path(__file__).parent / "golden"
FORMATS = ("text", "json", "markdown")
REMOTE = re.compile(r'"(fingerprint|remote_id)": "[^"]+"')


def _plans(world: World, stage: str) -> list[tuple[str, str]]:
    outputs = []
    for fmt in FORMATS:
        result = world.run("plan", str(world.specs), "--format", fmt)
        assert result.code == 0, result.err
        text = result.out.replace(str(world.specs), "<specs>")
        # remote ids (given in apply's concurrent order) and digests of observed
        # objects (which carry the emulator's modification times) vary by run
        text = REMOTE.sub(r'"\1": "<remote>"', text)
        outputs.append((f"{stage}.{fmt}", text))
    return outputs


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def _change_documents_and_remote(world: World) -> None:
    acme = world.specs / "acme"
    _edit(acme / "jobs.yaml", 'cron: "0 30 2 * * ?"', 'cron: "0 45 3 * * ?"')
    _edit(acme / "jobs.yaml", "timeout_seconds: 1800", "timeout_seconds: 900")
    _edit(
        acme / "datasets.yaml",
        "    - {name: updated_at, type: timestamp}",
        "    - {name: updated_at, type: timestamp}\n    - {name: lang, type: string}",
    )
    _edit(acme / "datasets.yaml", "type: int}", "type: bigint}")
    _edit(acme / "agent.yaml", "workload_size: Small", "workload_size: Medium")
    _edit(acme / "notebooks.yaml", 'get("table")', 'get("target")')
    jobs = world.api.get("/jobs", params={"tenant_id": "acme"}).json()["jobs"]
    job = jobs[0]
    settings = dict(job["settings"], max_concurrent_runs=4)
    world.api.post(
        f"/jobs/{job['job_id']}/reset", json={"tenant_id": "acme", "new_settings": settings}
    ).raise_for_status()


def test_plans_of_the_examples_match_the_goldens(world: World) -> None:
    outputs = _plans(world, "empty")
    applied = world.run("apply", str(world.specs), "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    outputs += _plans(world, "unchanged")
    _change_documents_and_remote(world)
    outputs += _plans(world, "changed")
    if os.environ.get("GOLDEN_UPDATE"):
        GOLDEN.mkdir(exist_ok=True)
        for name, text in outputs:
            (GOLDEN / name).write_text(text, encoding="utf-8")
        pytest.skip("goldens rewritten")
    for name, text in outputs:
        assert text == (GOLDEN / name).read_text(encoding="utf-8"), f"{name} differs"
