"""``import bundle``: a Databricks Asset Bundle's jobs as our documents.

Reads ``databricks.yml`` and the files its ``include:`` globs name (YAML
anchors and merge keys as YAML has them), applies the chosen target's
overrides (``targets.T.resources``, ``targets.T.variables``; a job may exist
only in a target), substitutes ``${var.x}``, ``${bundle.target}`` and
``${bundle.name}``, and turns every job into a ``Job`` document. A notebook a
task runs from inside the bundle is copied next to the documents as a
``Notebook`` and the task points at ``${notebooks.<name>.path}``. A
``${resources.jobs.KEY.id}`` of one of the bundle's jobs becomes a reference to
that job's document (its id is filled at plan or apply time). What cannot be
carried over (pipelines, dashboards, apps and other resource types; other
``${resources...}`` references, kept as literal strings) is reported.

Bad input — broken YAML, an include that matches nothing, an undefined
variable, a job our ``Job`` kind refuses — raises :class:`BundleError` naming
the bundle file and line, and nothing is written.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from reconciler.document import API_VERSION, NAME_RULE, is_name
from reconciler.errors import ReconcilerError
from reconciler.kinds import KINDS
from reconciler.yamlpos import FieldPath, ParsedDocument, Position, parse_documents

_VAR = re.compile(r"\$\{(var\.[A-Za-z0-9_-]+|bundle\.target|bundle\.name)\}")
_RESOURCE_REF = re.compile(r"\$\{(resources\.[^}]*)\}")
_OUR_JOB_ID = re.compile(r"\$\{resources\.jobs\.[a-z0-9_-]+\.id\}")
NOTEBOOK_LANGUAGES = {".py": "python", ".sql": "sql", ".scala": "scala", ".r": "r"}


class BundleError(ReconcilerError):
    """Bad bundle input, located at ``file:line`` of the bundle."""


@dataclass
class _File:
    path: Path
    parsed: ParsedDocument

    def at(self, where: FieldPath) -> str:
        pos = self.parsed.value_position(where)
        return f"{self.path}:{pos.line}"


@dataclass
class BundleImport:
    """The documents to write (relative path → YAML data), files to copy, and the report."""

    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    copies: dict[str, Path] = field(default_factory=dict)
    report: list[str] = field(default_factory=list)


def _read(path: Path, shown: Path) -> _File:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BundleError(f"{shown}: cannot read the file: {exc.strerror}") from None
    docs, fault = parse_documents(text)
    if fault is not None:
        raise BundleError(f"{shown}:{fault.position.line}: {fault.message}")
    if not docs or not isinstance(docs[0].data, dict):
        raise BundleError(
            f"{shown}:1: a bundle file is a mapping (bundle, include, resources, ...)"
        )
    return _File(shown, docs[0])


def _files(root: Path) -> list[_File]:
    main = _read(root / "databricks.yml", Path("databricks.yml"))
    files = [main]
    for i, pattern in enumerate(main.parsed.data.get("include") or ()):
        matches = sorted(p for p in root.glob(str(pattern)) if p.is_file())
        if not matches:
            raise BundleError(
                f"{main.at(('include', i))}: include `{pattern}` matches no file in the bundle"
            )
        files.extend(_read(p, p.relative_to(root)) for p in matches)
    return files


def _choose_target(main: _File, wanted: str | None) -> tuple[str | None, dict[str, Any]]:
    targets = main.parsed.data.get("targets") or {}
    if wanted is None:
        wanted = next((n for n, t in targets.items() if (t or {}).get("default")), None)
    if wanted is not None and wanted not in targets:
        listed = ", ".join(targets) or "none"
        raise BundleError(f"{main.at(('targets',))}: no target `{wanted}` (targets: {listed})")
    return wanted, (targets.get(wanted) or {}) if wanted else {}


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{k: _merge(base.get(k), v) for k, v in over.items()}}
    return over if over is not None else base


def read_bundle(root: Path, *, target: str | None, tenant: str) -> BundleImport:
    """Everything ``import bundle`` would write, or a :class:`BundleError`."""
    files = _files(root)
    main = files[0]
    chosen, target_doc = _choose_target(main, target)
    variables = {
        name: (spec or {}).get("default") if isinstance(spec, dict) else spec
        for name, spec in (main.parsed.data.get("variables") or {}).items()
    }
    variables.update(target_doc.get("variables") or {})
    values = {f"var.{k}": v for k, v in variables.items()}
    values["bundle.target"] = chosen or ""
    values["bundle.name"] = str((main.parsed.data.get("bundle") or {}).get("name", ""))
    result = BundleImport()
    jobs: dict[str, tuple[dict[str, Any], _File]] = {}
    for file in files:
        resources = file.parsed.data.get("resources") or {}
        for kind, items in resources.items():
            if kind != "jobs":
                for name in items or {}:
                    result.report.append(f"{file.path}: {kind} `{name}` skipped: not managed here")
                continue
            for name, job in (items or {}).items():
                jobs[name] = (_merge(jobs.get(name, ({}, file))[0], job), file)
    for name, job in ((target_doc.get("resources") or {}).get("jobs") or {}).items():
        jobs[name] = (_merge(jobs.get(name, ({}, main))[0], job), jobs.get(name, ({}, main))[1])
    result.documents["tenant.yaml"] = _document("Tenant", tenant, {})
    for key in jobs:  # ${resources.jobs.KEY.id} of a job of the bundle: a reference to it
        values[f"resources.jobs.{key}.id"] = f"${{resources.jobs.{_job_name(key)}.id}}"
    for name, (job, file) in jobs.items():
        spec = _substitute(job, values, file, ("resources", "jobs", name), result.report)
        _job_documents(root, file, name, spec, result)
    return result


def _substitute(
    node: Any, values: dict[str, Any], file: _File, where: FieldPath, report: list[str]
) -> Any:
    if isinstance(node, dict):
        return {k: _substitute(v, values, file, (*where, k), report) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, values, file, (*where, i), report) for i, v in enumerate(node)]
    if not isinstance(node, str):
        return node
    for ref in re.findall(r"\$\{(var\.[A-Za-z0-9_-]+)\}", node):
        if ref not in values or values[ref] is None:
            raise BundleError(f"{file.at(where)}: undefined variable `{ref}` in `{node}`")
    if any(m.group(1) not in values for m in _RESOURCE_REF.finditer(node)):
        report.append(f"{file.at(where)}: `{node}` kept as a literal string")
    node = _RESOURCE_REF.sub(  # `$${` is a literal `${`
        lambda m: values.get(m.group(1), "$" + m.group(0)), node
    )
    whole = _VAR.fullmatch(node)
    if whole:
        return values[whole.group(1)]
    return _VAR.sub(lambda m: str(values[m.group(1)]), node)


def _job_documents(
    root: Path, file: _File, key: str, job: dict[str, Any], out: BundleImport
) -> None:
    where = ("resources", "jobs", key)
    name = _job_name(key)
    if not is_name(name):
        raise BundleError(
            f"{file.at(where)}: job key `{key}` cannot be a document name ({NAME_RULE})"
        )
    spec = {k: v for k, v in job.items() if k not in ("name",)}
    if "permissions" in spec:
        out.report.append(f"{file.at((*where, 'permissions'))}: permissions copied as they are")
    for i, task in enumerate(spec.get("tasks") or ()):
        notebook = (task or {}).get("notebook_task") if isinstance(task, dict) else None
        if isinstance(notebook, dict) and isinstance(notebook.get("notebook_path"), str):
            _notebook(root, file, (*where, "tasks", i), notebook, out)
    try:
        KINDS["Job"].spec_model.model_validate(_with_stand_ins(spec))
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(p for p in error["loc"] if isinstance(p, int | str))
        message = str(error["msg"]).removeprefix("Value error, ")
        field_path = ".".join(str(p) for p in loc)
        raise BundleError(
            f"{file.at((*where, *loc))}: job `{key}` {field_path}: {message}"
        ) from None
    out.documents[f"jobs/{name}.yaml"] = _document("Job", name, spec)


def _job_name(key: str) -> str:
    """The document name of the bundle's job ``key``."""
    return key.lower().replace("_", "-")


def _with_stand_ins(node: Any) -> Any:
    """``node`` with each whole ``${resources.jobs.X.id}`` as a number, to validate it as the
    loader does (the id is known only at plan or apply time)."""
    if isinstance(node, dict):
        return {k: _with_stand_ins(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_with_stand_ins(v) for v in node]
    return 1 if isinstance(node, str) and _OUR_JOB_ID.fullmatch(node) else node


def _notebook(
    root: Path, file: _File, where: FieldPath, task: dict[str, Any], out: BundleImport
) -> None:
    path = str(task["notebook_path"])
    if path.startswith("/") or "${" in path:
        return
    source = (root / file.path).parent / path
    candidates = [source, *(source.with_suffix(s) for s in NOTEBOOK_LANGUAGES)]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None or not found.resolve().is_relative_to(root.resolve()):
        out.report.append(f"{file.at(where)}: notebook `{path}` is not in the bundle; kept")
        return
    language = NOTEBOOK_LANGUAGES.get(found.suffix.lower())
    if language is None:
        out.report.append(f"{file.at(where)}: notebook `{path}` ({found.suffix}) not copied")
        return
    name = re.sub(r"[^a-z0-9_-]", "-", found.stem.lower()).strip("-_")[:63] or "notebook"
    out.copies[f"notebooks/{found.name}"] = found
    spec = {"language": language, "source": f"notebooks/{found.name}"}
    out.documents[f"notebooks/{name}.yaml"] = _document("Notebook", name, spec)
    task["notebook_path"] = f"${{notebooks.{name}.path}}"


def _document(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": name}, "spec": spec}


def write(out_dir: Path, bundle: BundleImport) -> list[Path]:
    """Write the documents and copy the notebooks (refusing to overwrite anything)."""
    targets = [out_dir / r for r in [*bundle.documents, *bundle.copies]]
    existing = [str(t) for t in targets if t.exists()]
    if existing:
        raise BundleError(f"{', '.join(existing)} already exist(s); nothing was written")
    for rel, doc in bundle.documents.items():
        (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (out_dir / rel).write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    for rel, source in bundle.copies.items():
        (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, out_dir / rel)
    return targets


__all__ = ["BundleError", "BundleImport", "Position", "read_bundle", "write"]
