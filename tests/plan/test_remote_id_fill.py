"""Filling remote ids into a desired spec: a secret's field stays masked, whatever its shape."""

from __future__ import annotations

from reconciler.kinds.base import DesiredResource, ResourceKey, SourceLocation
from reconciler.remote_ids import filled
from reconciler.secrets import mask_value


def test_a_reference_under_a_masked_parent_is_filled_only_in_the_clear_text() -> None:
    clear = {"params": {"job": "${resources.jobs.other.id}", "key": "s3cret"}, "n": 1}
    masked = {"params": mask_value(clear["params"]), "n": 1}  # the whole mapping is the mask
    resource = DesiredResource(
        key=ResourceKey("acme", "Job", "caller"),
        identity="caller",
        spec=masked,
        location=SourceLocation("jobs.yaml", 1, 1),
        cleartext=clear,
        templates=((("params", "job"), "${resources.jobs.other.id}"),),
    )
    done = filled(resource, {("Job", "other"): "42"})
    assert done.spec == masked
    assert done.cleartext is not None and done.cleartext["params"] == {"job": 42, "key": "s3cret"}
