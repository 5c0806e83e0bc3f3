"""Where ``serve`` reads the documents: a local folder, or a branch of a git repository.

A git source (``https://``, ``ssh://``, ``git@host:path``, ``file://`` or a
local repository path ending in ``.git``) is kept as a bare repository under
the work directory and updated with ``git fetch`` of the one branch. Each
commit the service considers is exported (``git archive``, extracted with
tarfile's ``data`` filter, so a hostile repository's links and absolute paths
cannot write outside the export) into its own folder, which :func:`load_tenants
<reconciler.load.load_tenants>` reads. Which tenants a new commit touches comes
from ``git diff --name-only`` between the commit in force and the new one, not
from anything a webhook says.

The ``git`` command rather than dulwich: it speaks every transport and
credential helper users already configure (ssh agents, https tokens, proxies),
and it is on every image that has git; dulwich would need its own handling
for each.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import shutil
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import ConfigError, ReconcilerError
from reconciler.scrub import scrub

log = logging.getLogger("reconciler.service")

GIT_TIMEOUT = 120.0
GIT_SCHEMES = ("https://", "http://", "ssh://", "git://", "file://", "git@")
KEEP_EXPORTS = 3


class SourceError(ReconcilerError):
    """The documents could not be fetched (git failed, the folder is gone)."""


@dataclass(frozen=True)
class Snapshot:
    """The documents at one moment: where they are on disk and which commit they are."""

    path: Path
    commit: str | None
    changed: frozenset[str] | None = None  # paths (relative to path) changed since the last one
    fetched_at: float = 0.0


def is_git_url(source: str) -> bool:
    return source.startswith(GIT_SCHEMES) or source.rstrip("/").endswith(".git")


def open_source(source: str, *, branch: str, subdir: str | None, workdir: Path) -> Source:
    if is_git_url(source):
        return GitSource(source, branch=branch, subdir=subdir, workdir=workdir)
    folder = Path(source) / (subdir or "")
    if not folder.is_dir():
        raise ConfigError(
            f"--source {folder} is not a folder",
            hint="give a folder of tenants or a git URL (https://, ssh://, file://)",
        )
    return LocalSource(folder)


class Source:
    """Base: :meth:`fetch` returns the newest snapshot (raises SourceError)."""

    description = ""

    async def fetch(self, previous: str | None) -> Snapshot:
        raise NotImplementedError


class LocalSource(Source):
    """A folder read as it is on every fetch; its commit is the folder's git HEAD, if any."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.description = str(folder)

    async def fetch(self, previous: str | None) -> Snapshot:
        if not self.folder.is_dir():
            raise SourceError(f"the source folder {self.folder} is gone")
        commit = await asyncio.to_thread(_head, self.folder)
        return Snapshot(self.folder, commit, None, time.time())


def _head(folder: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


class GitSource(Source):
    """One branch of a git repository, fetched into a bare clone under ``workdir``."""

    def __init__(self, url: str, *, branch: str, subdir: str | None, workdir: Path) -> None:
        self.url, self.branch, self.subdir = url, branch, (subdir or "").strip("/")
        self.workdir = workdir
        self.repo = workdir / "repo.git"
        self.description = f"{_redact(url)} ({branch})"
        self._lock = asyncio.Lock()

    async def fetch(self, previous: str | None) -> Snapshot:
        async with self._lock:
            return await asyncio.to_thread(self._fetch, previous)

    def _fetch(self, previous: str | None) -> Snapshot:
        if not (self.repo / "HEAD").exists():
            self.workdir.mkdir(parents=True, exist_ok=True)
            self._git("init", "--bare", "--quiet", str(self.repo), cwd=self.workdir)
        ref = f"refs/heads/{self.branch}"
        self._git("fetch", "--quiet", "--no-tags", self.url, f"+{ref}:{ref}")
        commit = self._git("rev-parse", ref).strip()
        export = self._export(commit)
        changed = self._changed(previous, commit) if previous and previous != commit else None
        if previous == commit:
            changed = frozenset()
        return Snapshot(export, commit, changed, time.time())

    def _export(self, commit: str) -> Path:
        exports = self.workdir / "exports"
        target = exports / commit
        if not target.exists():
            data = self._git_bytes("archive", "--format=tar", commit)
            partial = exports / f".{commit}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            with tarfile.open(fileobj=io.BytesIO(data)) as archive:
                archive.extractall(partial, filter="data")
            os.replace(partial, target)
            self._prune(exports, keep=commit)
        folder = target / self.subdir if self.subdir else target
        if not folder.is_dir():
            raise SourceError(f"commit {commit[:12]} has no folder {self.subdir!r}")
        return folder

    def _prune(self, exports: Path, *, keep: str) -> None:
        old = sorted(
            (p for p in exports.iterdir() if p.name != keep and not p.name.startswith(".")),
            key=lambda p: p.stat().st_mtime,
        )
        for path in old[: max(0, len(old) - (KEEP_EXPORTS - 1))]:
            shutil.rmtree(path, ignore_errors=True)

    def _changed(self, previous: str, commit: str) -> frozenset[str] | None:
        """Files changed between two commits, relative to the subfolder (None: unknown)."""
        try:
            out = self._git("diff", "--name-only", "--no-renames", previous, commit)
        except SourceError:
            return None  # the old commit is gone (force push): treat as everything changed
        prefix = f"{self.subdir}/" if self.subdir else ""
        return frozenset(
            line[len(prefix) :] for line in out.splitlines() if line.startswith(prefix)
        )

    def _git(self, *args: str, cwd: Path | None = None) -> str:
        return self._git_bytes(*args, cwd=cwd).decode("utf-8", "replace")

    def _git_bytes(self, *args: str, cwd: Path | None = None) -> bytes:
        command = ["git", *(["--git-dir", str(self.repo)] if cwd is None else []), *args]
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
        try:
            done = subprocess.run(
                command, capture_output=True, timeout=GIT_TIMEOUT, check=False, env=env, cwd=cwd
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise SourceError(f"git {args[0]} failed: {exc}") from exc
        if done.returncode != 0:
            first = (done.stderr.decode("utf-8", "replace").strip().splitlines() or ["?"])[-1]
            raise SourceError(
                f"git {args[0]} of {self.description} failed: {_redact(first)}",
                hint="check the URL, the branch and the credentials git uses",
            )
        return done.stdout


def _redact(text: str) -> str:
    """Hide a password or token written into a URL (``https://user:token@host``), and secrets."""
    import re

    return scrub(re.sub(r"(://[^/@:\s]*):[^@/\s]*@", r"\1:***@", text))
