"""Write ``reconciler/kinds/job_settings.json`` from databricks-sdk's Jobs dataclasses.

The ``Job`` kind's spec model is built from this table (see
:mod:`reconciler.kinds.job_models`), so every Jobs 2.2 ``JobSettings`` field is
accepted in its real name, typed as the SDK types it, and described as the SDK
describes it. databricks-sdk is a development dependency only: the table is
committed, and ``tests/jobs/test_models.py`` checks it matches the installed SDK.

    .venv/bin/python scripts/generate_job_settings.py
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import functools
import inspect
import json
import sys
import typing
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "reconciler" / "kinds" / "job_settings.json"
MAX_DOC = 300


@functools.cache
def _classes(module: str) -> dict[str, ast.ClassDef]:
    """Every class of a module by name, parsed once (inspect.getsource re-parses per class)."""
    tree = ast.parse(inspect.getsource(sys.modules[module]))
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def _field_docs(cls: type) -> dict[str, str]:
    """Docstrings written under each dataclass field (the SDK's field descriptions)."""
    node_of = _classes(cls.__module__).get(cls.__name__)
    body = node_of.body if node_of is not None else []
    docs: dict[str, str] = {}
    for node, after in zip(body, [*body[1:], None], strict=True):
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
            docs[node.target.id] = _short(str(after.value.value))
    return docs


def _short(text: str) -> str:
    """The first paragraph, on one line, cut at MAX_DOC characters."""
    first = " ".join(text.strip().split("\n\n")[0].split())
    first = first.replace(":method:", "").replace("``", "`")
    return first if len(first) <= MAX_DOC else first[: MAX_DOC - 3].rstrip() + "..."


class _Collector:
    def __init__(self) -> None:
        self.models: dict[str, Any] = {}
        self.enums: dict[str, list[str]] = {}

    def type_of(self, tp: Any) -> Any:
        origin = typing.get_origin(tp)
        if origin is typing.Union:
            inner = [a for a in typing.get_args(tp) if a is not type(None)]
            return self.type_of(inner[0])
        if origin is list:
            return {"list": self.type_of(typing.get_args(tp)[0])}
        if origin is dict:
            return {"dict": self.type_of(typing.get_args(tp)[1])}
        if dataclasses.is_dataclass(tp):
            self.model(tp)
            return {"model": tp.__name__}
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            self.enums[tp.__name__] = [str(m.value) for m in tp]
            return {"enum": tp.__name__}
        return {str: "str", int: "int", float: "float", bool: "bool"}[tp]

    def model(self, cls: type) -> None:
        name = cls.__name__
        if name in self.models:
            return
        self.models[name] = {}  # placeholder: recursion (Task -> ForEachTask -> Task)
        hints = typing.get_type_hints(cls)
        docs = _field_docs(cls)
        fields: dict[str, Any] = {}
        for item in dataclasses.fields(cls):
            required = (
                item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING
            )
            fields[item.name] = {
                "type": self.type_of(hints[item.name]),
                "required": required,
                "doc": docs.get(item.name, ""),
            }
        doc = _short(cls.__doc__ or "") if not (cls.__doc__ or "").startswith(name + "(") else ""
        self.models[name] = {"doc": doc, "fields": fields}


def generate() -> dict[str, Any]:
    """The table for the installed databricks-sdk."""
    from databricks.sdk.service.jobs import JobSettings
    from databricks.sdk.version import __version__

    collector = _Collector()
    collector.model(JobSettings)
    return {
        "generated_by": "scripts/generate_job_settings.py",
        "databricks_sdk": __version__,
        "root": "JobSettings",
        "models": dict(sorted(collector.models.items())),
        "enums": dict(sorted(collector.enums.items())),
    }


def render(table: dict[str, Any]) -> str:
    return json.dumps(table, indent=1, sort_keys=False, ensure_ascii=False) + "\n"


def main() -> int:
    OUT.write_text(render(generate()), encoding="utf-8")
    print(f"wrote {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
