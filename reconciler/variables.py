"""A tenant's variables and targets: ``${var.NAME}`` and ``--target-env NAME``.

The ``Tenant`` document declares variables (a default, a description, a type)
and targets (per-target variable values and presets)::

    spec:
      variables:
        oncall: {type: list, default: [data-oncall@acme.example], description: Who is paged}
        warehouse: {default: wh-dev}
      targets:
        dev:
          variables: {warehouse: wh-dev-small}
          presets: {name_prefix: "[dev] ", pause_triggers: true, tags: {env: dev}}
        prod:
          variables: {warehouse: wh-prod}

A value comes from, first to last: ``--var NAME=VALUE``, the environment
variable ``RECONCILER_VAR_NAME``, the chosen target's ``variables``, the
``default``. Values given as text (``--var``, the environment) are read as the
declared type (a number, true/false, a YAML/JSON list or mapping). A whole
``${var.NAME}`` stands for the value itself (a list, a mapping, a number);
inside a longer string it is written as text.

Presets change what the documents ask for in that target: ``name_prefix`` goes
before every job's name, ``pause_triggers`` pauses every job schedule, trigger
and continuous run, ``tags`` are added to every job's tags.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

ENV_PREFIX = "RECONCILER_VAR_"
VariableType = Literal["string", "number", "bool", "list", "object", "any"]
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "bool": (bool,),
    "list": (list,),
    "object": (dict,),
}


class Variable(BaseModel):
    """One variable the tenant's documents may use as ``${var.NAME}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: Any = Field(default=None, description="Value when no target, --var or env sets one.")
    description: str = Field(default="", description="What the variable is for.")
    type: VariableType = Field(
        default="any", description="string, number, bool, list, object or any."
    )


class Presets(BaseModel):
    """What a target changes in every job of the tenant."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name_prefix: str = Field(default="", description="Put before every job's name.")
    pause_triggers: bool = Field(
        default=False, description="Pause every job schedule, trigger and continuous run."
    )
    tags: dict[str, str] = Field(default_factory=dict, description="Tags added to every job.")


class Target(BaseModel):
    """One deployment target (dev, prod, ...) of the tenant: chosen with --target-env."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    variables: dict[str, Any] = Field(
        default_factory=dict, description="Variable values in this target."
    )
    presets: Presets = Field(default_factory=Presets, description="Changes to every job.")


@dataclass(frozen=True)
class LoadOptions:
    """What the command line adds to the documents: the target and variable values."""

    target_env: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)  # --var NAME=VALUE
    environ: Mapping[str, str] | None = None  # default: os.environ

    def env_value(self, name: str) -> str | None:
        environ = os.environ if self.environ is None else self.environ
        return environ.get(ENV_PREFIX + name)


@dataclass(frozen=True)
class Resolved:
    """A tenant's variable values and presets for one target."""

    values: Mapping[str, Any] = field(default_factory=dict)
    presets: Presets | None = None


class VariableProblem(Exception):
    """A variable that has no value or the wrong type; ``path`` is under the Tenant ``spec``."""

    def __init__(self, message: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


def resolve_variables(
    variables: Mapping[str, Variable], targets: Mapping[str, Target], options: LoadOptions
) -> Resolved:
    """Each variable's value for ``options``; raises :class:`VariableProblem`."""
    target = None
    if options.target_env is not None and targets:
        target = targets.get(options.target_env)
        if target is None:
            raise VariableProblem(
                f"--target-env {options.target_env}: this tenant has no target "
                f"`{options.target_env}` (targets: {', '.join(sorted(targets))})",
                ("targets",),
            )
    for name in target.variables if target else {}:
        if name not in variables:
            raise VariableProblem(
                f"target `{options.target_env}` sets `{name}`, which `variables` does not "
                "declare; declare it there",
                ("targets", str(options.target_env), "variables", name),
            )
    values = {
        name: _value(name, spec, target, options.target_env, options)
        for name, spec in variables.items()
    }
    return Resolved(values, target.presets if target else None)


def _value(
    name: str, spec: Variable, target: Target | None, target_name: str | None, opts: LoadOptions
) -> Any:
    text = opts.variables.get(name)
    source = f"--var {name}"
    if text is None:
        text, source = opts.env_value(name), ENV_PREFIX + name
    if text is not None:
        return _parse(text, spec.type, source)
    if target is not None and name in target.variables:
        path: tuple[str | int, ...] = ("targets", str(target_name), "variables", name)
        return _checked(target.variables[name], spec.type, path)
    if spec.default is None:
        raise VariableProblem(
            f"variable `{name}` has no value: give it a `default`, a target value, "
            f"`--var {name}=...` or {ENV_PREFIX}{name}",
            ("variables", name),
        )
    return _checked(spec.default, spec.type, ("variables", name, "default"))


def _parse(text: str, kind: str, source: str) -> Any:
    if kind in ("string", "any"):
        return text
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = text
    return _checked(value, kind, (), source=source)


def _checked(value: Any, kind: str, path: tuple[str | int, ...], *, source: str = "") -> Any:
    allowed = _PYTHON_TYPES.get(kind)
    wrong = allowed is not None and (
        not isinstance(value, allowed) or (kind == "number" and isinstance(value, bool))
    )
    if wrong:
        where = f"{source}: " if source else ""
        raise VariableProblem(f"{where}expected a {kind}, got {json.dumps(value)}", path)
    return value


def parse_var_options(items: list[str]) -> dict[str, str]:
    """``["a=1", "b=x=y"]`` → ``{"a": "1", "b": "x=y"}``; ValueError for an item without ``=``."""
    result = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--var {item!r}: write --var NAME=VALUE")
        result[name.strip()] = value
    return result


def as_text(value: Any) -> str:
    """A value written inside a longer string: text as is, the rest as JSON."""
    return value if isinstance(value, str) else json.dumps(value)
