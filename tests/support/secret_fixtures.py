"""A secrets directory for tests: ``put(tenant, NAME, value)`` writes one secret file.

Every test starts with an empty registry of secret values (:mod:`reconciler.scrub`
is process-wide, as it is in ``serve``), so one test's secrets do not hide
another's leaks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reconciler import scrub
from reconciler.secrets import SECRETS_DIR_ENV

PutSecret = Callable[[str, str, str], Path]


@pytest.fixture(autouse=True)
def _fresh_secret_registry() -> Iterator[None]:
    scrub.forget_all()
    yield
    scrub.forget_all()


@pytest.fixture
def put_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PutSecret:
    root = tmp_path / "secrets"
    root.mkdir(exist_ok=True)
    monkeypatch.setenv(SECRETS_DIR_ENV, str(root))

    def put(tenant: str, name: str, value: str) -> Path:
        folder = root / tenant
        folder.mkdir(exist_ok=True)
        path = folder / name
        path.write_text(value + "\n", encoding="utf-8")
        return path

    return put
