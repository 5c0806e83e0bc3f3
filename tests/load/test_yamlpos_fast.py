"""The fast (libyaml) loader path gives the same data, positions and faults as the pure one."""

from __future__ import annotations

import pytest
import yaml

from reconciler import yamlpos

TEXT = """\
kind: Job
metadata:
  name: nightly   # a comment
spec:
  tasks:
    - key: a
      notebook: nb/a.py
    - key: b
      depends_on: [a]
  schedule: {cron: "0 1 * * *", timezone: Europe/Paris}
  base: &base {x: 1}
  merged:
    <<: *base
    y: 2
  name: twice
  name: again
---
---
kind: Notebook
metadata: {name: n1}
"""


PLAIN = """\
kind: Dataset
metadata: {name: d1, labels: {1: one, ~: none, no: true}}
spec:
  columns:
    - {name: id, type: bigint, nullable: false}
    - {name: at, type: timestamp, default: 2026-01-31 10:00:00}
    - [nested, [1, 2.5, 0x1f, .inf, null, "quoted: yes", 'on']]
  timeout: 30
  since: 2026-01-31
---
kind: Notebook
metadata:
  name: n2
"""


def _pure(text: str) -> tuple[list[yamlpos.ParsedDocument], yamlpos.YamlFault | None]:
    saved = yamlpos._FastLoader
    yamlpos._FastLoader = None
    try:
        return yamlpos.parse_documents(text)
    finally:
        yamlpos._FastLoader = saved


@pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="PyYAML built without libyaml")
@pytest.mark.parametrize(
    "text",
    [
        TEXT,
        TEXT + "bad: [unclosed\n",
        "a: 1\nb: \x07\n",
        "a: &x [*x]\n",
        "- &a [*a]\n",
        PLAIN,
        PLAIN + "spec: {name: twice}\n",
        PLAIN.replace("timeout: 30", "timeout: !!binary aGk="),
    ],
)
def test_fast_loader_matches_pure_loader(text: str) -> None:
    assert yamlpos._FastLoader is not None
    assert yamlpos.parse_documents(text) == _pure(text)
