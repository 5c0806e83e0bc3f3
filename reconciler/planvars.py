"""What a saved plan keeps of its target and variables, so ``apply plan.json`` uses the same.

``plan --target-env dev --var x=1 --out plan.json`` records the target, the
``--var`` values and the ``RECONCILER_VAR_*`` values it planned with;
``apply plan.json`` loads the documents with exactly those. Giving ``apply
plan.json`` another ``--target-env`` or ``--var`` is refused; giving the same
again is fine. The ``RECONCILER_VAR_*`` values come from the apply's environment
and must match the recorded digests, every one present at plan time (those no
tenant uses included: which ones a tenant reads is not recorded).

A ``--var`` value that holds a secret read in this run is not written: only its
SHA-256 is. ``RECONCILER_VAR_*`` values are never written (a pipeline's
environment holds what no tenant may use, tokens included): only their digests
are, and ``apply`` needs the same values in its environment again, checked
against them. Either way ``apply`` is told what to give again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler.errors import ReconcilerError
from reconciler.scrub import scrub
from reconciler.variables import ENV_PREFIX, LoadOptions

Saved = Mapping[str, Any]
"""The ``inputs`` part of a plan file: ``target_env``, ``variables``, ``environment``."""


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _kept(values: Mapping[str, str], *, clear: bool = True) -> dict[str, dict[str, str]]:
    """Each value in clear (with ``clear``, unless it holds a secret), or only its digest."""
    return {
        name: {"value": value} if clear and scrub(value) == value else {"sha256": _sha256(value)}
        for name, value in sorted(values.items())
    }


def _environment(options: LoadOptions) -> dict[str, str]:
    environ = os.environ if options.environ is None else options.environ
    return {k[len(ENV_PREFIX) :]: v for k, v in environ.items() if k.startswith(ENV_PREFIX)}


def saved_inputs(options: LoadOptions) -> dict[str, Any]:
    """The plan file's record of the target and the variable values from outside."""
    return {
        "target_env": options.target_env,
        "variables": _kept(options.variables),
        "environment": _kept(_environment(options), clear=False),
    }


def apply_inputs(saved: Saved | None, given: LoadOptions, plan: Path) -> LoadOptions:
    """The load options that re-make the saved plan; refuses ``given`` ones that differ.
    A plan file written before plans kept them (no ``inputs``) is loaded with ``given``."""
    if saved is None:
        return given
    target, variables, environment_kept = _checked(saved, plan)
    if given.target_env is not None and given.target_env != target:
        raise _differs(plan, f"--target-env {target}" if target else "no --target-env")
    for name, value in given.variables.items():
        if not _matches(variables.get(name), value):
            raise _differs(plan, f"another value of --var {name}" if name in variables else
                           f"no --var {name}")  # fmt: skip
    environment = _environment(given)
    return LoadOptions(
        target_env=target,
        variables=_values(variables, given.variables, plan, "--var {name}=..."),
        environ={
            ENV_PREFIX + name: value
            for name, value in _values(
                environment_kept, environment, plan, f"{ENV_PREFIX}{{name}}"
            ).items()
        },
    )


def _checked(
    saved: Saved, plan: Path
) -> tuple[str | None, Mapping[str, Mapping[str, str]], Mapping[str, Mapping[str, str]]]:
    """The saved target, variables and environment, or an error naming the plan file."""
    if isinstance(saved, Mapping):
        target, tables = saved.get("target_env"), (saved.get("variables"), saved.get("environment"))
        if (target is None or isinstance(target, str)) and all(map(_is_table, tables)):
            return target, tables[0], tables[1]  # type: ignore[return-value]
    raise ReconcilerError(
        f"{plan}: its record of the target and variables (`inputs`) is malformed",
        hint="re-run plan to write the plan file again",
    )


def _is_table(table: Any) -> bool:
    """``{name: {"value": text} or {"sha256": hex}}``."""
    return isinstance(table, Mapping) and all(
        isinstance(entry, Mapping)
        and set(entry) in ({"value"}, {"sha256"})
        and all(isinstance(v, str) for v in entry.values())
        for entry in table.values()
    )


def _matches(kept: Mapping[str, str] | None, value: str) -> bool:
    if kept is None:
        return False
    return kept.get("value") == value or kept.get("sha256") == _sha256(value)


def _values(
    kept: Mapping[str, Mapping[str, str]], given: Mapping[str, str], plan: Path, how: str
) -> dict[str, str]:
    """The saved values; one kept only as a digest comes from ``given`` when it matches."""
    values = {}
    for name, entry in kept.items():
        if "value" in entry:
            values[name] = entry["value"]
        elif _matches(entry, given.get(name, "")):
            values[name] = given[name]
        else:
            raise ReconcilerError(
                f"{plan}: the plan file keeps only the digest of variable `{name}` (a secret, "
                f"or a value from the environment); give the same value again "
                f"({how.format(name=name)})"
            )
    return values


def _differs(plan: Path, planned: str) -> ReconcilerError:
    return ReconcilerError(
        f"{plan} was planned with {planned}; apply a saved plan with the target and variables "
        "it was made with",
        hint="leave out --target-env and --var, or re-run plan with the new values",
    )
