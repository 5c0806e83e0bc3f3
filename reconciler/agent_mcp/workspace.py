"""The spec source the MCP server serves, and proposed files held apart from it.

``Workspace`` finds each tenant's folder (the folder of its ``Tenant``
document) under the source and loads one tenant at a time, so one tenant's
broken document never shows in another tenant's answers. Proposed files (an
agent's "what if") are written into a temporary copy of the tenant's folder,
never into the source; their paths are relative to the tenant's folder and
may not leave it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from reconciler.errors import ReconcilerError
from reconciler.load import TenantDesired, _spec_files, load_path
from reconciler.sources import Report, read_documents

MAX_FILES = 50
MAX_BYTES = 1_000_000


class TenantNotFoundError(ReconcilerError):
    """No such tenant (or the caller may not see it)."""


class Workspace:
    """A local folder of tenants (``--source``)."""

    def __init__(self, source: Path) -> None:
        if not source.is_dir():
            raise ReconcilerError(
                f"--source {source} is not a folder", hint="give the folder of the spec documents"
            )
        self.source = source.resolve()

    def tenant_roots(self) -> dict[str, Path]:
        """Tenant name → the folder holding its ``Tenant`` document."""
        report = Report(self.source)
        roots: dict[str, Path] = {}
        for doc in read_documents(_spec_files(self.source), report):
            if doc.kind == "Tenant" and isinstance(doc.name, str):
                roots.setdefault(doc.name, doc.file.parent)
        return roots

    def root(self, tenant: str) -> Path:
        root = self.tenant_roots().get(tenant)
        if root is None:
            raise TenantNotFoundError(f"tenant {tenant} not found", hint="see list_tenants")
        return root

    @contextmanager
    def load(self, tenant: str, files: Mapping[str, str] | None = None) -> Iterator[TenantDesired]:
        """The tenant's documents, with ``files`` (path in its folder → text) laid over them."""
        root = self.root(tenant)
        if not files:
            yield _only(load_path(root), tenant)
            return
        check_files(files)
        with tempfile.TemporaryDirectory(prefix="reconciler-proposed-") as temporary:
            copy = Path(temporary) / root.name
            shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".git"), symlinks=True)
            for name, text in files.items():
                target = copy / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
            yield _only(load_path(copy), tenant)

    @contextmanager
    def loose(self, files: Mapping[str, str]) -> Iterator[Path]:
        """``files`` alone in a temporary folder (to validate without a tenant)."""
        check_files(files)
        with tempfile.TemporaryDirectory(prefix="reconciler-proposed-") as temporary:
            for name, text in files.items():
                target = Path(temporary) / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
            yield Path(temporary)


def _only(tenants: tuple[TenantDesired, ...], name: str) -> TenantDesired:
    found = [t for t in tenants if t.context.name == name]
    if not found:
        raise ReconcilerError(
            f"the documents no longer define tenant {name}",
            hint="keep the tenant's `Tenant` document and its name",
        )
    return found[0]


def check_files(files: Mapping[str, str]) -> None:
    """Proposed paths are relative, inside the tenant's folder, visible, and small."""
    if len(files) > MAX_FILES:
        raise ReconcilerError(f"{len(files)} proposed files; at most {MAX_FILES} at once")
    if sum(len(t.encode("utf-8")) for t in files.values()) > MAX_BYTES:
        raise ReconcilerError(f"the proposed files exceed {MAX_BYTES} bytes")
    for name in files:
        path = PurePosixPath(name)
        bad = (
            not name
            or "\\" in name
            or "\x00" in name
            or path.is_absolute()
            or any(part in ("", ".", "..") or part.startswith(".") for part in path.parts)
        )
        if bad:
            raise ReconcilerError(
                f"proposed file `{name}` is not a plain path inside the tenant's folder",
                hint="name files relative to the tenant's folder, e.g. jobs.yaml or jobs/nightly.yaml",
            )
