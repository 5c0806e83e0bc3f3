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
    fast, fast_fault = yamlpos.parse_documents(text)
    pure, pure_fault = _pure(text)
    assert fast_fault == pure_fault
    assert [_view(f, p) for f, p in zip(fast, pure, strict=True)] == [_view(p, p) for p in pure]


def _view(doc: yamlpos.ParsedDocument, pure: yamlpos.ParsedDocument) -> tuple[object, ...]:
    """What a reader of ``doc`` sees: its data and the position of every path the pure
    loader wrote down (the fast path builds its tables only when first asked)."""
    assert pure.values is not None
    values = {path: doc.value_position(path) for path in pure.values}
    keys = {path: doc.key_position(path) for path in pure.keys}
    return doc.index, doc.data, doc.start, values, keys, doc.duplicate_keys


def test_fast_documents_build_positions_only_when_asked() -> None:
    docs, _ = yamlpos.parse_documents(PLAIN)
    assert all(d.values is None for d in docs)  # nothing built for documents without problems
    assert docs[0].value_position(("spec", "columns", 1, "type")) == yamlpos.Position(6, 24)
    assert docs[0].key_position(("spec", "timeout")) == yamlpos.Position(8, 3)
    assert docs[1].value_position(("metadata", "name")) == yamlpos.Position(13, 9)
