"""Spec files read into positioned documents, and the report that collects problems.

Each YAML document becomes a :class:`SourceDocument` once its envelope names
a known ``kind``; anything that is not even that (malformed YAML, a list
instead of a mapping, an unknown kind) is reported here and dropped. Every
later stage adds its problems to the same :class:`Report`, which locates
them at ``file:line:col`` relative to the folder the user named.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reconciler.document import DocumentBase, document_models
from reconciler.errors import Problem
from reconciler.explain import did_you_mean, dotted, explain
from reconciler.kinds import KINDS
from reconciler.kinds.base import SourceLocation
from reconciler.limits import text_problems
from reconciler.refs import has_reference
from reconciler.yamlpos import FieldPath, ParsedDocument, Position, parse_documents


@dataclass(frozen=True)
class SourceDocument:
    """One document of a known kind, with where it was written."""

    file: Path
    rel: str  # the file, relative to the folder the user named (posix)
    parsed: ParsedDocument
    kind: str

    @property
    def data(self) -> dict[str, Any]:
        return self.parsed.data  # type: ignore[no-any-return]

    @property
    def name(self) -> str | None:
        """``metadata.name`` as written, if it is a string at all."""
        metadata = self.data.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        return name if isinstance(name, str) else None

    @property
    def location(self) -> SourceLocation:
        return SourceLocation(self.rel, self.parsed.start.line, self.parsed.start.col)

    def where(self) -> str:
        """``file:line`` of the document, for messages that point at another document."""
        return f"{self.rel}:{self.parsed.start.line}"


@dataclass(frozen=True)
class Skipped:
    """A place under the folder given that was not read (a warning, not a problem)."""

    path: str  # relative to the folder the user named (posix)
    reason: str

    def __str__(self) -> str:
        return f"warning: {self.path}: skipped: {self.reason}"


class Report:
    """Collects every problem of one load, each located in its file, and what was skipped."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.problems: list[Problem] = []
        self.skipped: list[Skipped] = []

    def relative(self, path: Path) -> str:
        """``path`` relative to the folder the user named, with ``/`` separators."""
        return Path(os.path.relpath(path, self.base)).as_posix()

    def folder(self, path: Path) -> str:
        """A folder as shown in messages: ``acme/`` (or ``./`` for the named folder)."""
        rel = self.relative(path)
        return "./" if rel == "." else f"{rel}/"

    def add(
        self, doc: SourceDocument, path: FieldPath, message: str, *, at_key: bool = False
    ) -> None:
        """A problem in ``doc`` at the field ``path`` (its key or its value)."""
        parsed = doc.parsed
        where = parsed.key_position(path) if at_key else parsed.value_position(path)
        self.add_at(doc.rel, where, message, dotted(path))

    def add_at(self, rel: str, where: Position, message: str, path: str = "") -> None:
        self.problems.append(Problem(rel, where.line, where.col, message, path))

    def skip(self, path: Path, reason: str) -> None:
        """``path`` was not read: every output that loads the documents shows it as a warning."""
        self.skipped.append(Skipped(self.relative(path), reason))

    def extend(self, problems: Iterable[Problem]) -> None:
        self.problems.extend(problems)


def read_documents(files: Iterable[Path], report: Report) -> list[SourceDocument]:
    """Every document of a known kind in ``files``; everything else becomes a problem."""
    documents: list[SourceDocument] = []
    for file in files:
        rel = report.relative(file)
        text = _read_text(file, rel, report)
        if text is None:
            continue
        parsed, fault = parse_documents(text)
        if fault is not None:
            report.add_at(rel, fault.position, fault.message)
        escaped = "\\u" in text or "\\U" in text  # the only way to a lone surrogate
        for doc in parsed:
            if escaped and _report_bad_text(rel, doc, report):
                continue
            _report_duplicate_keys(rel, doc, report)
            kind = _known_kind(rel, doc, report)
            if kind is not None:
                documents.append(SourceDocument(file, rel, doc, kind))
    return documents


def _read_text(file: Path, rel: str, report: Report) -> str | None:
    try:
        if not stat.S_ISREG(file.stat().st_mode):
            report.add_at(rel, Position(1, 1), "not a regular file; spec files must be plain files")
            return None
        return file.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text (byte {exc.start}); save the file as UTF-8"
    except OSError as exc:
        message = f"cannot read the file: {exc.strerror}"
    report.add_at(rel, Position(1, 1), message)
    return None


def _report_bad_text(rel: str, doc: ParsedDocument, report: Report) -> bool:
    """Report strings that are no text (lone surrogates); True when the document has any."""
    found = False
    for path, message in text_problems(doc.data):
        report.add_at(rel, doc.value_position(path), message, dotted(path))
        found = True
    return found


def _report_duplicate_keys(rel: str, doc: ParsedDocument, report: Report) -> None:
    for path, first, second in doc.duplicate_keys:
        message = (
            f"`{path[-1]}` is given twice in one mapping (first on line {first.line}); keep one"
        )
        report.add_at(rel, second, message, dotted(path))


_TYPE_NAMES = {
    list: "a list",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true/false",
}


def _known_kind(rel: str, doc: ParsedDocument, report: Report) -> str | None:
    """The document's ``kind`` when it is one of the registry's, else report why not."""
    kinds = list(KINDS)
    expected = f"expected one of {', '.join(kinds)}"
    if not isinstance(doc.data, dict):
        got = _TYPE_NAMES.get(type(doc.data), "a single value")
        message = (
            f"a document must be a mapping with apiVersion, kind, metadata and spec; got {got}"
        )
        report.add_at(rel, doc.start, message)
        return None
    kind = doc.data.get("kind")
    if kind is None:
        report.add_at(rel, doc.start, f"missing required field `kind`; {expected}", "kind")
        return None
    if not isinstance(kind, str) or kind not in KINDS:
        hint = did_you_mean(str(kind), kinds)
        listed = f" (kinds: {', '.join(kinds)})" if hint else f"; {expected}"
        message = f"unknown kind `{kind}`{hint}{listed}"
        report.add_at(rel, doc.value_position(("kind",)), message, "kind")
        return None
    return str(kind)


def validate(
    doc: SourceDocument,
    report: Report,
    data: dict[str, Any] | None = None,
    *,
    skip_references: bool = False,
) -> DocumentBase | None:
    """Validate ``data`` (default: the document as written) against the kind's model.

    With ``skip_references``, errors about values that still hold a
    ``${...}`` reference are not reported: they are judged after resolution.
    """
    model = document_models()[doc.kind]
    data = doc.data if data is None else data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            if skip_references and has_reference(error.get("input")):
                continue
            finding = explain(error, model, data)
            report.add(doc, finding.path, finding.message, at_key=finding.at_key)
        return None
