"""Build small spec trees in a temporary folder and collect what the loader says."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import SpecError
from reconciler.load import TenantDesired, load_path

HEADER = "apiVersion: agentprovision.ai/v1\n"


def tenant(name: str = "acme", spec: str = "{}") -> str:
    """A minimal Tenant document."""
    return f"{HEADER}kind: Tenant\nmetadata:\n  name: {name}\nspec: {spec}\n"


def notebook(name: str, content: str = "print(1)", extra: str = "") -> str:
    """A minimal inline Python notebook document."""
    return (
        f"{HEADER}kind: Notebook\nmetadata:\n  name: {name}\n"
        f"spec:\n  language: python\n  content: {content!r}\n{extra}"
    )


@dataclass(frozen=True)
class Tree:
    """Files (path → YAML or other text) and symbolic links (path → target) to create."""

    files: Mapping[str, str]
    links: Mapping[str, str] = field(default_factory=dict)

    def write(self, root: Path) -> Path:
        for rel, text in self.files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        for rel, target in self.links.items():
            link = root / rel
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(target.replace("{root}", str(root)))
        return root


def problem_lines(path: Path) -> list[str]:
    """What ``load_path`` reports for ``path``, one ``file:line:col: ...`` line each."""
    try:
        load_path(path)
    except SpecError as exc:
        return exc.lines()
    raise AssertionError("expected the loader to report problems")


def load_ok(path: Path) -> tuple[TenantDesired, ...]:
    """``load_path`` that shows the problem lines if there are any."""
    try:
        return load_path(path)
    except SpecError as exc:
        raise AssertionError("\n".join(exc.lines())) from None
