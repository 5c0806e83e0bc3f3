"""Small builders shared by the kind tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.kinds import KINDS
from reconciler.kinds.base import FieldProblem, TenantContext

TENANT = TenantContext(name="acme", tenant_id="acme", catalog="agentprovision_acme")


def files(contents: Mapping[str, bytes]) -> Any:
    """A ``read_file`` over an in-memory tenant folder."""

    def read(path: str) -> bytes:
        if path not in contents:
            raise FieldProblem(f"no file {path!r} in the tenant folder")
        return contents[path]

    return read


NO_FILES = files({})


def normalize(
    kind: str, spec: Mapping[str, Any], name: str = "demo", read_file: Any = NO_FILES
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Validate ``spec`` with the kind's model and normalise it for tenant ``acme``."""
    k = KINDS[kind]
    model = k.spec_model.model_validate(spec)
    return k.normalize(TENANT, name, model, read_file)
