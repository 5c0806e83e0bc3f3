"""The envelope every spec document shares, Kubernetes style.

    apiVersion: agentprovision.ai/v1
    kind: Job
    metadata:
      name: nightly-sales
      labels: {team: finance}
    spec: {...}                  # validated by the kind's own spec model

One pydantic model per kind (``JobDocument`` …) is generated from the kind
registry, so adding a kind module adds its document model, its place in the
JSON Schema and its validation here without touching this file.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from reconciler.kinds import KINDS
from reconciler.kinds.base import Kind

API_VERSION = "agentprovision.ai/v1"
"""The only ``apiVersion`` this reconciler understands."""

NAME_PATTERN = r"^[a-z0-9]([-a-z0-9_]{0,61}[a-z0-9])?$"
"""``metadata.name``: lower-case letters, digits, ``-`` and ``_``; 1-63 characters."""

NAME_RULE = (
    "use 1-63 lower-case letters, digits, `-` or `_`, starting and ending with a letter or digit"
)
_NAME = re.compile(NAME_PATTERN)


def is_name(text: str) -> bool:
    """Whether ``text`` is a valid ``metadata.name``, as :class:`Metadata` decides: the
    whole text must match (``re.match`` would also take a name ending in a newline)."""
    return _NAME.fullmatch(text) is not None


class Metadata(BaseModel):
    """Names and labels a document; the name is unique per tenant and kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        pattern=NAME_PATTERN,
        description="Name of the resource, unique per tenant and kind; references use it "
        "(`${notebooks.<name>.path}`). Lower-case letters, digits, `-` and `_`, 1-63 characters.",
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Free-form string labels (team, owner, cost centre); kept with the resource.",
    )


class Lifecycle(BaseModel):
    """How the reconciler may treat the resource beyond making it match its spec.

    ``prevent_destroy`` and ``on_delete`` are remembered in the state database
    with the last apply: deleting the document does not lift them. Only an
    apply with ``prevent_destroy: false`` written out removes the protection.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    prevent_destroy: bool | None = Field(
        default=None,
        description="Refuse every plan that would delete or replace this resource, even after "
        "its document is removed. Set it to false and apply to lift it.",
    )
    on_delete: Literal["delete", "orphan"] | None = Field(
        default=None,
        description="What removing the document does: `delete` the remote object, or `orphan` "
        "it (forget it, keep it and its data). Datasets and tenants default to `orphan`.",
    )
    ignore_changes: list[str] = Field(
        default_factory=list,
        description="Spec fields (dotted paths, `*` for one segment, e.g. `tags` or "
        "`tasks.*.parameters`) whose remote changes the reconciler leaves alone.",
    )


class DocumentBase(BaseModel):
    """What every kind's document model shares; ``spec`` is the kind's own model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    apiVersion: Literal["agentprovision.ai/v1"]
    kind: str
    metadata: Metadata
    spec: Any
    lifecycle: Lifecycle | None = None


def _document_model(kind: Kind) -> type[DocumentBase]:
    """Build ``<Kind>Document``: the envelope with ``kind`` fixed and ``spec`` typed."""
    fields: dict[str, Any] = {
        "apiVersion": (
            Literal["agentprovision.ai/v1"],
            Field(description=f"Always `{API_VERSION}`."),
        ),
        "kind": (Literal[kind.kind], Field(description="The resource kind of this document.")),
        "metadata": (Metadata, Field(description="Name and labels of the resource.")),
        "spec": (kind.spec_model, Field(description=f"What the `{kind.kind}` should look like.")),
        "lifecycle": (
            Lifecycle | None,
            Field(default=None, description="Protection, deletion and ignored fields."),
        ),
    }
    model: type[DocumentBase] = create_model(
        f"{kind.kind}Document",
        __base__=DocumentBase,
        __doc__=f"A `{kind.kind}` spec document.",
        **fields,
    )
    return model


@cache
def document_models() -> dict[str, type[DocumentBase]]:
    """Every kind's document model, keyed by kind name, in registry order."""
    return {name: _document_model(kind) for name, kind in KINDS.items()}


def any_document_type() -> Any:
    """The union of every document model, discriminated by ``kind`` (for the JSON Schema)."""
    members = tuple(document_models().values())
    return Annotated[Union[members], Field(discriminator="kind")]  # noqa: UP007
