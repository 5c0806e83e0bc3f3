"""A secrets directory for tests: ``put(tenant, NAME, value)`` writes one secret file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.secrets import SECRETS_DIR_ENV

PutSecret = Callable[[str, str, str], Path]


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
