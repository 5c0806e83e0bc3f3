"""Normalised shapes, defaults and the projection of connector objects onto them."""

from __future__ import annotations

import hashlib

import pytest

from reconciler.kinds import KINDS, KINDS_BY_COLLECTION, TenantSpec, get_kind, tenant_context
from reconciler.kinds.base import FieldProblem
from reconciler.kinds.job_form import to_settings
from tests.kinds.helpers import TENANT, files, normalize

CSV = b"id,name\n1,a\n2,b\n"


def sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


# ---- registry and rules ------------------------------------------------------------------


def test_registry_is_in_dependency_order() -> None:
    assert list(KINDS) == ["Tenant", "Dataset", "Notebook", "Job", "ServingEndpoint", "VectorIndex"]
    assert list(KINDS_BY_COLLECTION) == [
        "tenants",
        "datasets",
        "notebooks",
        "jobs",
        "serving_endpoints",
        "vector_indexes",
    ]


@pytest.mark.parametrize("name", ["Job", "jobs"])
def test_get_kind_by_kind_or_collection(name: str) -> None:
    assert get_kind(name) is KINDS["Job"]


def test_get_kind_unknown_lists_known_kinds() -> None:
    with pytest.raises(KeyError, match="known kinds: Tenant"):
        get_kind("Cluster")


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_rule_has_a_reason(kind: str) -> None:
    assert all(rule.reason for rule in KINDS[kind].rules)


def test_every_vector_index_field_is_create_only() -> None:
    spec, _ = normalize(
        "VectorIndex",
        {
            "source": "agentprovision_acme.default.d",
            "primary_key": "id",
            "embedding": {"vector_column": "v", "dimension": 2},
        },
    )
    kind = KINDS["VectorIndex"]
    assert all(kind.rule_for(field).rule == "create_only" for field in spec)  # type: ignore[union-attr]


# ---- Tenant ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "spec", "tenant_id", "catalog"),
    [
        ("acme", {}, "acme", "agentprovision_acme"),
        ("acme", {"tenantId": "Acme-Corp.EU"}, "Acme-Corp.EU", "agentprovision_acme_corp_eu"),
        ("acme", {"catalog": "sales"}, "acme", "sales"),
    ],
    ids=["defaults", "tenant-id-sanitised", "explicit-catalog"],
)
def test_tenant_context(name: str, spec: dict[str, str], tenant_id: str, catalog: str) -> None:
    context = tenant_context(name, TenantSpec.model_validate(spec))
    assert (context.name, context.tenant_id, context.catalog) == (name, tenant_id, catalog)


def test_tenant_normalize_leaves_policy_out() -> None:
    spec, blobs = normalize(
        "Tenant", {"comment": "c", "properties": {"a": "1"}, "policy": {"prune": False}}
    )
    assert spec == {"catalog_name": "agentprovision_acme", "comment": "c", "properties": {"a": "1"}}
    assert blobs == {}


def test_tenant_projection_fills_absent_comment() -> None:
    raw = {"exists": True, "catalog_name": "agentprovision_acme", "comment": None, "properties": {}}
    assert KINDS["Tenant"].project(raw).spec == normalize("Tenant", {})[0]


# ---- Dataset -----------------------------------------------------------------------------

COLUMNS = [
    {"name": "id", "type": "INT", "nullable": False},
    {"name": "name", "type": "string", "comment": "who"},
]


def test_dataset_shape_with_source() -> None:
    spec, blobs = normalize(
        "Dataset",
        {"schema": "sales", "columns": COLUMNS, "source": {"path": "data/people.csv"}},
        name="people-2024",
        read_file=files({"data/people.csv": CSV}),
    )
    assert spec == {
        "schema": "sales",
        "description": "",
        "columns": {
            "id": {"position": 0, "type": "int", "nullable": False, "comment": ""},
            "name": {"position": 1, "type": "string", "nullable": True, "comment": "who"},
        },
        "source_sha256": sha(CSV),
        "source_format": "csv",
    }
    assert blobs == {"source": CSV}


def test_dataset_without_source_has_no_source_keys() -> None:
    spec, blobs = normalize("Dataset", {"columns": COLUMNS})
    assert "source_sha256" not in spec and blobs == {}


def test_dataset_identity_and_attributes() -> None:
    kind = KINDS["Dataset"]
    model = kind.spec_model.model_validate({"schema": "sales", "columns": COLUMNS})
    assert kind.identity(TENANT, "q1-orders", model) == "agentprovision_acme.sales.q1_orders"
    assert kind.attributes(TENANT, "q1-orders", model) == {
        "table": "agentprovision_acme.sales.q1_orders",
        "name": "q1_orders",
        "schema": "sales",
    }


@pytest.mark.parametrize(
    ("contents", "message"),
    [({}, "no file"), ({"x.csv": b""}, "empty")],
    ids=["missing-file", "empty-file"],
)
def test_dataset_source_problems_blame_source_path(
    contents: dict[str, bytes], message: str
) -> None:
    with pytest.raises(FieldProblem, match=message) as info:
        normalize(
            "Dataset", {"columns": COLUMNS, "source": {"path": "x.csv"}}, read_file=files(contents)
        )
    assert info.value.path == ("source", "path")


def test_dataset_projection_matches_normalize() -> None:
    spec, _ = normalize(
        "Dataset",
        {
            "columns": [*COLUMNS, {"name": "amount", "type": "decimal(10, 2)"}],
            "source": {"path": "a.json", "format": "json"},
        },
        read_file=files({"a.json": b"[]"}),
    )
    raw = {
        "table_path": "agentprovision_acme.default.demo",
        "schema_name": "default",
        "description": None,
        "columns": [
            {
                "name": "amount",
                "type_text": "decimal(10,2)",
                "nullable": True,
                "comment": None,
                "position": 2,
            },
            {"name": "id", "type_text": "int", "nullable": False, "comment": None, "position": 0},
            {
                "name": "name",
                "type_text": "string",
                "nullable": True,
                "comment": "who",
                "position": 1,
            },
        ],
        "source_sha256": sha(b"[]"),
        "source_format": "json",
        "managed_by": "agentprovision-reconciler",
    }
    observed = KINDS["Dataset"].project(raw)
    assert observed.spec == spec
    assert observed.identity == "agentprovision_acme.default.demo" and observed.managed


# ---- Notebook ----------------------------------------------------------------------------


def test_notebook_inline_content() -> None:
    spec, blobs = normalize(
        "Notebook", {"language": "python", "content": "print('é')\n"}, name="etl"
    )
    body = "print('é')\n".encode()
    assert spec == {
        "path": "/Workspace/AgentProvision/acme/etl",
        "language": "PYTHON",
        "content_sha256": sha(body),
    }
    assert blobs == {"content": body}


def test_notebook_source_file_and_explicit_path() -> None:
    spec, blobs = normalize(
        "Notebook",
        {"language": "sql", "source": "nb/q.sql", "path": "/Shared/q"},
        read_file=files({"nb/q.sql": b"select 1"}),
    )
    assert spec["path"] == "/Shared/q" and spec["language"] == "SQL"
    assert blobs["content"] == b"select 1"


def test_notebook_source_must_be_utf8() -> None:
    with pytest.raises(FieldProblem, match="not UTF-8") as info:
        normalize(
            "Notebook", {"language": "r", "source": "a.r"}, read_file=files({"a.r": b"\xff\xfe"})
        )
    assert info.value.path == ("source",)


def test_notebook_projection_matches_normalize() -> None:
    spec, _ = normalize("Notebook", {"language": "python", "content": "x = 1"}, name="etl")
    raw = {
        "path": spec["path"],
        "object_id": 7,
        "language": "PYTHON",
        "content_sha256": sha(b"x = 1"),
    }
    observed = KINDS["Notebook"].project(raw)
    assert observed.spec == spec and observed.remote_id == "7"


# ---- Job ---------------------------------------------------------------------------------

JOB = {
    "tasks": [
        {"key": "extract", "notebook": "/nb/e"},
        {
            "key": "load",
            "notebook": "/nb/l",
            "depends_on": ["extract"],
            "parameters": {"day": "1"},
            "max_retries": 2,
        },
    ],
    "schedule": {"cron": "0  0 2 * * ?", "paused": True},
    "email_notifications": {"on_failure": ["ops@example.com"]},
}


def test_job_shape_and_defaults() -> None:
    """Shorthands become their long forms; Databricks' defaults are filled; tasks by key."""
    spec, _ = normalize("Job", JOB)
    task = {"timeout_seconds": 0, "max_retries": 0, "run_if": "ALL_SUCCESS"}
    assert spec == {
        "tasks": {
            "extract": {**task, "notebook_task": {"notebook_path": "/nb/e", "source": "WORKSPACE"}},
            "load": {
                **task,
                "notebook_task": {
                    "notebook_path": "/nb/l",
                    "base_parameters": {"day": "1"},
                    "source": "WORKSPACE",
                },
                "depends_on": [{"task_key": "extract"}],
                "max_retries": 2,
            },
        },
        "schedule": {
            "quartz_cron_expression": "0 0 2 * * ?",
            "timezone_id": "UTC",
            "pause_status": "PAUSED",
        },
        "max_concurrent_runs": 1,
        "timeout_seconds": 0,
        "email_notifications": {"on_failure": ["ops@example.com"]},
    }


def test_job_without_schedule() -> None:
    spec, _ = normalize("Job", {"tasks": JOB["tasks"]})
    assert "schedule" not in spec


def test_job_projection_of_server_filled_settings_matches_normalize() -> None:
    spec, _ = normalize("Job", JOB, name="nightly")
    settings = to_settings("nightly", spec)
    for task in settings["tasks"]:  # what the server fills, in its own order
        task["run_if"] = "ALL_SUCCESS"
    settings["tasks"].reverse()
    settings["format"] = "MULTI_TASK"
    observed = KINDS["Job"].project({"job_id": 42, "settings": settings})
    assert observed.spec == spec
    assert (observed.identity, observed.remote_id) == ("nightly", "42")


# ---- ServingEndpoint ---------------------------------------------------------------------


def test_endpoint_shape() -> None:
    spec, _ = normalize(
        "ServingEndpoint", {"model": {"name": "main.m.chat", "version": 3}, "tags": {"team": "x"}}
    )
    assert spec == {
        "model": {"name": "main.m.chat", "version": "3"},
        "workload_size": "Small",
        "scale_to_zero": True,
        "tags": {"team": "x"},
    }


@pytest.mark.parametrize("name", ["", "x" * 64, "has space"], ids=["empty", "too-long", "space"])
def test_endpoint_name_is_checked(name: str) -> None:
    with pytest.raises(FieldProblem, match="1-63"):
        normalize("ServingEndpoint", {"model": {"name": "a.b.c", "version": "1"}}, name=name)


def test_endpoint_projection_prefers_pending_config() -> None:
    entity = {
        "entity_name": "a.b.c",
        "entity_version": "1",
        "workload_size": "Small",
        "scale_to_zero_enabled": True,
    }
    raw = {
        "name": "chat",
        "state": {"ready": "READY", "config_update": "IN_PROGRESS"},
        "config": {"served_entities": [entity]},
        "pending_config": {
            "served_entities": [{**entity, "entity_version": 2, "workload_size": "Large"}]
        },
        "tags": [{"key": "team", "value": "x"}],
    }
    observed = KINDS["ServingEndpoint"].project(raw)
    assert observed.spec == {
        "model": {"name": "a.b.c", "version": "2"},
        "workload_size": "Large",
        "scale_to_zero": True,
        "tags": {"team": "x"},
    }
    assert not observed.ready


# ---- VectorIndex -------------------------------------------------------------------------

INDEX = {
    "source": "agentprovision_acme.default.docs",
    "primary_key": "id",
    "embedding": {"source_column": "text", "model_endpoint": "bge"},
    "columns_to_sync": ["text", "id"],
}


def test_index_shape_and_identity() -> None:
    spec, _ = normalize("VectorIndex", INDEX, name="docs-idx")
    assert spec == {
        "endpoint": "agentprovision-vs",
        "source_table": "agentprovision_acme.default.docs",
        "primary_key": "id",
        "embedding": {"source_column": "text", "model_endpoint": "bge"},
        "pipeline": "triggered",
        "columns_to_sync": ["id", "text"],
    }
    kind = KINDS["VectorIndex"]
    model = kind.spec_model.model_validate(INDEX)
    assert kind.attributes(TENANT, "docs-idx", model) == {
        "name": "agentprovision_acme.default.docs_idx"
    }


@pytest.mark.parametrize(
    ("source", "message"),
    [("docs", "full table name"), ("other_catalog.default.docs", "outside the tenant")],
    ids=["not-full-name", "other-tenant"],
)
def test_index_source_problems(source: str, message: str) -> None:
    with pytest.raises(FieldProblem, match=message) as info:
        normalize("VectorIndex", {**INDEX, "source": source})
    assert info.value.path == ("source",)


def test_index_projection_matches_normalize() -> None:
    spec, _ = normalize(
        "VectorIndex",
        {**INDEX, "embedding": {"vector_column": "v", "dimension": 8}, "columns_to_sync": None},
    )
    raw = {
        "name": "agentprovision_acme.default.demo",
        "endpoint_name": "agentprovision-vs",
        "primary_key": "id",
        "delta_sync_index_spec": {
            "source_table": "agentprovision_acme.default.docs",
            "pipeline_type": "TRIGGERED",
            "embedding_vector_columns": [{"name": "v", "embedding_dimension": 8}],
            "pipeline_id": "p-1",
        },
        "status": {"ready": False},
    }
    observed = KINDS["VectorIndex"].project(raw)
    assert observed.spec == spec and not observed.ready
