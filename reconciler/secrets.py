"""Sensitive values: how they are hidden everywhere but in the connector call itself.

A spec field is sensitive when its value came from ``${secret:NAME}`` or the
kind marks it so. The planner, the state store and every output see only a
*mask*: ``(sensitive) sha256:<hex>`` — enough to notice that the value changed,
never the value. Only the connector payload is built from the clear text.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path as FsPath
from typing import Any

MASK_PREFIX = "(sensitive) sha256:"

SECRETS_DIR_ENV = "RECONCILER_SECRETS_DIR"
_SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TENANT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def secret_file(tenant: str, name: str, env: Mapping[str, str] | None = None) -> FsPath | None:
    """Where ``${secret:NAME}`` of ``tenant`` lives: ``$RECONCILER_SECRETS_DIR/<tenant>/<NAME>``.

    None when the secrets directory is not configured. The names are checked so
    that a tenant reads only its own folder (no ``/``, ``..`` or NUL in either).
    """
    if not _SECRET_NAME.match(name) or not _TENANT_NAME.match(tenant) or ".." in tenant:
        raise ValueError(f"invalid secret name `{name}` for tenant `{tenant}`")
    root = (os.environ if env is None else env).get(SECRETS_DIR_ENV, "")
    if not root:
        return None
    return FsPath(root) / tenant / name


def read_secret(tenant: str, name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The clear value of one tenant's secret (file content, trailing newline cut), or None.

    Only regular files are read; the environment is never consulted for the
    value, so the reconciler's own settings cannot be read through a secret.
    """
    path = secret_file(tenant, name, env)
    if path is None:
        return None
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    return text or None


def secret_names(tenant: str, env: Mapping[str, str] | None = None) -> list[str]:
    """The names of the tenant's secrets (the files of its folder that a secret may be
    named after), sorted; none when the secrets directory is not configured."""
    try:
        path = secret_file(tenant, "_", env)
        entries = os.listdir(path.parent) if path is not None else []
    except (ValueError, OSError):  # a name no tenant folder has, or no folder
        return []
    return sorted(e for e in entries if _SECRET_NAME.match(e))


def missing_secret_hint(tenant: str, name: str, env: Mapping[str, str] | None = None) -> str:
    """What to do about a secret that cannot be read (for a located error)."""
    path = secret_file(tenant, name, env)
    if path is None:
        return (
            f"secret `{name}` is not set: {SECRETS_DIR_ENV} is not set; point it at a "
            f"secrets directory and put the value in the file <dir>/{tenant}/{name} "
            "(its value is never shown or stored)"
        )
    return (
        f"secret `{name}` is not set: put its value in the file {path} "
        "(a regular, non-empty file; its value is never shown or stored)"
    )


Path = tuple[str, ...]


def mask_value(value: Any) -> str:
    """The mask of one value (already-masked values stay as they are)."""
    if is_masked(value):
        return str(value)
    digest = hashlib.sha256(str(value).encode("utf-8")).hexdigest()
    return f"{MASK_PREFIX}{digest}"


def is_masked(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(MASK_PREFIX)


def mask_paths(spec: Mapping[str, Any], paths: Iterable[Path]) -> dict[str, Any]:
    """A copy of ``spec`` with the value at each path replaced by its mask."""
    result: dict[str, Any] = dict(spec)
    for path in paths:
        result = _masked_at(result, path)
    return result


def masked_paths(spec: Any, prefix: Path = ()) -> list[Path]:
    """Every path of ``spec`` whose value is already a mask (list items by index)."""
    found: list[Path] = []
    items: Iterable[tuple[Any, Any]]
    if isinstance(spec, Mapping):
        items = spec.items()
    elif isinstance(spec, list):
        items = enumerate(spec)
    else:
        return found
    for key, value in items:
        if isinstance(value, Mapping | list):
            found.extend(masked_paths(value, (*prefix, str(key))))
        elif is_masked(value):
            found.append((*prefix, str(key)))
    return found


def _masked_at(node: Any, path: Path) -> Any:
    head, rest = path[0], path[1:]
    if isinstance(node, list):
        if not head.isdigit() or int(head) >= len(node):
            return node
        items = list(node)
        index = int(head)
        items[index] = mask_value(items[index]) if not rest else _masked_at(items[index], rest)
        return items
    if not isinstance(node, Mapping):
        return node
    copy = dict(node)
    if head not in copy:
        return copy
    copy[head] = mask_value(copy[head]) if not rest else _masked_at(copy[head], rest)
    return copy


def secret_values(spec: Mapping[str, Any], clear: Mapping[str, Any] | None) -> list[str]:
    """The clear values behind the masks of ``spec`` (empty when it has none)."""
    if clear is None:
        return []
    values = []
    for path in masked_paths(spec):
        node: Any = clear
        for part in path:
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                node = node.get(part) if isinstance(node, Mapping) else None
        if isinstance(node, str) and node:
            values.append(node)
    return values


def redact(text: str, values: Iterable[str]) -> str:
    """``text`` with every secret value in it replaced by "(sensitive)".

    Error messages can quote what was sent (a connector echoing a bad value);
    they reach the terminal and the state database, so secrets are cut first:
    these ``values`` and every secret registered in :mod:`reconciler.scrub`, in
    all their escaped forms.
    """
    from reconciler.scrub import scrub

    return scrub(text, values)
