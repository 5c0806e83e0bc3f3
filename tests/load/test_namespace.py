"""A tenant's documents stay in its namespace; two tenant folders never share a claim.

Each refusal is a problem at the file:line:col of the field that reaches out
(``validate`` reports it; nothing is planned or sent). A namespace is the
workspace folder ``/Workspace/AgentProvision/<tenantId>/``, the tenant's
catalog, and its serving endpoint names (``<tenant>-`` or ``spec.namespace``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.load.helpers import HEADER, Tree, load_ok, notebook, problem_lines, tenant

ACME = "/Workspace/AgentProvision/acme"
GLOBEX = "/Workspace/AgentProvision/globex-eu"


def _job(tasks: str, extra: str = "") -> str:
    return f"{HEADER}kind: Job\nmetadata:\n  name: nightly\nspec:\n{extra}  tasks:\n{tasks}"


def _endpoint(name: str, model: str) -> str:
    return (
        f"{HEADER}kind: ServingEndpoint\nmetadata:\n  name: {name}\n"
        f"spec:\n  model:\n    name: {model}\n    version: '1'\n"
    )


def _index(source: str, model_endpoint: str = "databricks-gte-large-en") -> str:
    return (
        f"{HEADER}kind: VectorIndex\nmetadata:\n  name: docs-index\nspec:\n"
        f"  source: {source}\n  primary_key: id\n"
        f"  embedding:\n    source_column: body\n    model_endpoint: {model_endpoint}\n"
    )


def _two_tenants(acme: dict[str, str], acme_spec: str = "{}") -> Tree:
    """acme (with ``acme``'s extra files) next to globex, whose tenantId is globex-eu."""
    files = {
        "acme/tenant.yaml": tenant("acme", acme_spec),
        "globex/tenant.yaml": tenant("globex", "{tenantId: globex-eu, catalog: globex_logistics}"),
        "globex/nb.yaml": notebook("etl"),
    }
    files.update({f"acme/{name}": text for name, text in acme.items()})
    return Tree(files)


def _only_line(root: Path) -> str:
    lines = problem_lines(root)
    assert len(lines) == 1, lines
    return lines[0]


REFUSED: dict[str, tuple[dict[str, str], str, str]] = {
    # case: (acme's files, expected start "file:line:col: field", words in the message)
    "notebook-in-another-tenants-folder": (
        {"nb.yaml": notebook("x", extra=f"  path: {GLOBEX}/x\n")},
        "acme/nb.yaml:8:9: spec.path:",
        "is outside the workspace folder /Workspace/AgentProvision/acme/ of tenant `acme` "
        "(in tenant id `globex-eu`'s folder)",
    ),
    "notebook-outside-every-tenant-folder": (
        {"nb.yaml": notebook("x", extra="  path: /Workspace/Shared/x\n")},
        "acme/nb.yaml:8:9: spec.path:",
        "is outside the workspace folder /Workspace/AgentProvision/acme/",
    ),
    "dot-dot-in-a-notebook-path": (
        {"nb.yaml": notebook("x", extra=f"  path: {ACME}/../globex-eu/x\n")},
        "acme/nb.yaml:8:9: spec.path:",
        "has an empty, `.` or `..` segment",
    ),
    "control-character-in-a-notebook-path": (
        {"nb.yaml": notebook("x", extra=f'  path: "{ACME}/x\\x01y"\n')},
        "acme/nb.yaml:8:9: spec.path:",
        "holds a NUL or control character",
    ),
    "task-notebook-shorthand-outside": (
        {"job.yaml": _job(f"    - key: steal\n      notebook: {GLOBEX}/etl\n")},
        "acme/job.yaml:8:17: spec.tasks[0].notebook:",
        f"task notebook '{GLOBEX}/etl' is outside the workspace folder",
    ),
    "task-notebook-without-the-workspace-prefix-outside": (
        {"job.yaml": _job("    - key: steal\n      notebook: /AgentProvision/globex-eu/etl\n")},
        "acme/job.yaml:8:17: spec.tasks[0].notebook:",
        "(in tenant id `globex-eu`'s folder)",
    ),
    "task-notebook-path-outside": (
        {
            "job.yaml": _job(
                "    - key: mine\n      notebook: ${notebooks.etl.path}\n"
                "    - task_key: steal\n      notebook_task:\n"
                f"        notebook_path: {ACME}/../globex-eu/etl\n"
            ),
            "nb.yaml": notebook("etl"),
        },
        "acme/job.yaml:11:24: spec.tasks[1].notebook_task.notebook_path:",
        "has an empty, `.` or `..` segment",
    ),
    "for-each-inner-task-outside": (
        {
            "job.yaml": _job(
                "    - task_key: loop\n      for_each_task:\n        inputs: '[1, 2]'\n"
                "        task:\n          task_key: inner\n          notebook_task:\n"
                f"            notebook_path: {GLOBEX}/etl\n"
            )
        },
        "acme/job.yaml:13:28: spec.tasks[0].for_each_task.task.notebook_task.notebook_path:",
        "is outside the workspace folder",
    ),
    "model-from-another-tenants-catalog": (
        {"agent.yaml": _endpoint("acme-bot", "globex_logistics.assistants.delay_assistant")},
        "acme/agent.yaml:7:11: spec.model.name:",
        "is in catalog `globex_logistics`, outside tenant `acme`'s catalog `agentprovision_acme`",
    ),
    "endpoint-named-outside-the-prefix": (
        {"agent.yaml": _endpoint("globex-delay-assistant", "${tenants.acme.catalog}.a.m")},
        "acme/agent.yaml:4:9: metadata.name:",
        "serving endpoint `globex-delay-assistant` is outside tenant `acme`'s namespace: its "
        "endpoint names start with `acme-`",
    ),
    "index-over-another-tenants-table": (
        {"index.yaml": _index("globex_logistics.knowledge.docs")},
        "acme/index.yaml:6:11: spec.source:",
        "is outside the tenant's catalog 'agentprovision_acme'",
    ),
    "index-embedding-with-another-tenants-endpoint": (
        {"index.yaml": _index("${tenants.acme.catalog}.default.docs", "globex-delay-assistant")},
        "acme/index.yaml:10:21: spec.embedding.model_endpoint:",
        "embedding serving endpoint `globex-delay-assistant` is outside tenant `acme`'s namespace",
    ),
}


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
def test_reaching_outside_the_namespace_is_refused_at_its_line(
    case: tuple[dict[str, str], str, str], tmp_path: Path
) -> None:
    files, where, words = case
    line = _only_line(_two_tenants(files).write(tmp_path))
    assert line.startswith(where), line
    assert words in line, line


def test_what_stays_inside_the_namespace_loads(tmp_path: Path) -> None:
    """A custom path in the folder, git-sourced paths, a system model, listed names."""
    spec = "{namespace: {endpoints: [legacy-bot], shared_catalogs: [system, models_shared]}}"
    files = {
        "nb.yaml": notebook("x", extra=f"  path: {ACME}/deep/er/x\n"),
        "job.yaml": _job(
            "    - key: run\n      notebook: ${notebooks.x.path}\n"
            "    - key: short\n      notebook: /AgentProvision/acme/deep/er/x\n"
            "    - task_key: from_git\n      notebook_task:\n        notebook_path: etl/run\n",
            extra="  git_source: {git_url: 'https://example.com/r.git', git_provider: gitHub, "
            "git_branch: main}\n",
        ),
        "agent.yaml": _endpoint("acme-bot", "system.ai.llama")
        + "---\n"
        + _endpoint("legacy-bot", "models_shared.m.x"),
        "index.yaml": _index("${tenants.acme.catalog}.default.docs", "legacy-bot"),
    }
    loaded = load_ok(_two_tenants(files, spec).write(tmp_path))
    acme = next(t for t in loaded if t.context.name == "acme")
    assert {r.identity for r in acme.resources.values() if r.key.kind == "ServingEndpoint"} == {
        "acme-bot",
        "legacy-bot",
    }


def test_an_endpoint_prefix_of_another_tenant_inside_ours_is_theirs(tmp_path: Path) -> None:
    """acme- covers acme-labs-...: those names belong to tenant acme-labs, not acme."""
    Tree(
        {
            "acme/tenant.yaml": tenant("acme"),
            "acme/agent.yaml": _endpoint("acme-labs-bot", "${tenants.acme.catalog}.a.m"),
            "labs/tenant.yaml": tenant("acme-labs"),
        }
    ).write(tmp_path)
    line = _only_line(tmp_path)
    assert line.startswith("acme/agent.yaml:4:9: metadata.name:"), line
    assert "serving endpoint `acme-labs-bot` is in tenant `acme-labs`'s namespace" in line


CLAIMS: dict[str, tuple[str, str, str]] = {
    # case: (mallory's Tenant spec, field mallory is blamed at, what acme is blamed at)
    "same-tenant-id": ("{tenantId: acme, adopt: true}", "spec.tenantId", "metadata.name"),
    "same-catalog": (
        "{catalog: agentprovision_acme, adopt: true}",
        "spec.catalog",
        "metadata.name",
    ),
    "same-endpoint-prefix": (
        "{namespace: {endpoint_prefix: acme-}}",
        "spec.namespace.endpoint_prefix",
        "metadata.name",
    ),
}


@pytest.mark.parametrize("case", CLAIMS.values(), ids=CLAIMS.keys())
def test_a_claim_two_tenant_folders_share_is_an_error_in_both(
    case: tuple[str, str, str], tmp_path: Path
) -> None:
    """Both Tenant documents are blamed, each naming the other's file:line; adopt is no help."""
    spec, mallory_field, acme_field = case
    Tree(
        {
            "acme/tenant.yaml": tenant("acme"),
            "mallory/tenant.yaml": tenant("mallory", spec),
            "mallory/nb.yaml": notebook("x"),
        }
    ).write(tmp_path)
    acme, mallory = problem_lines(tmp_path)
    assert acme.startswith(f"acme/tenant.yaml:4:9: {acme_field}:"), acme
    assert "mallory/tenant.yaml:1 (tenant `mallory`)" in acme
    assert mallory.startswith("mallory/tenant.yaml:5:"), mallory
    assert f": {mallory_field}:" in mallory
    assert "acme/tenant.yaml:1 (tenant `acme`)" in mallory
    assert "belongs to exactly one tenant folder (no adopt flag overrides this)" in mallory


def test_another_tenants_catalog_cannot_be_listed_as_shared(tmp_path: Path) -> None:
    Tree(
        {
            "acme/tenant.yaml": tenant(
                "acme", "{namespace: {shared_catalogs: [globex_logistics]}}"
            ),
            "globex/tenant.yaml": tenant("globex", "{catalog: globex_logistics}"),
        }
    ).write(tmp_path)
    line = _only_line(tmp_path)
    assert line.startswith("acme/tenant.yaml:5:38: spec.namespace.shared_catalogs[0]:"), line
    assert "belongs to tenant `globex` (globex/tenant.yaml:1)" in line


def test_another_tenants_endpoint_cannot_be_allow_listed(tmp_path: Path) -> None:
    Tree(
        {
            "acme/tenant.yaml": tenant("acme", "{namespace: {endpoints: [globex-bot]}}"),
            "globex/tenant.yaml": tenant("globex"),
        }
    ).write(tmp_path)
    line = _only_line(tmp_path)
    assert line.startswith("acme/tenant.yaml:5:32: spec.namespace.endpoints[0]:"), line
    assert "`globex-bot` is in tenant `globex`'s namespace (endpoint prefix `globex-`" in line


def test_a_refused_path_holding_a_secret_does_not_show_it(tmp_path: Path, put_secret) -> None:
    put_secret("acme", "SPOT", "hunter2-spot")
    extra = f"  path: {GLOBEX}/${{secret:SPOT}}\n"
    line = _only_line(_two_tenants({"nb.yaml": notebook("x", extra=extra)}).write(tmp_path / "t"))
    assert line.startswith("acme/nb.yaml:8:9: spec.path:"), line
    assert "hunter2" not in line and "(sensitive)" in line
