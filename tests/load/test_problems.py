"""Every kind of bad input, and the exact lines the loader prints for it (snapshots).

Each case is a small tenant tree written to a temporary folder; problem
lines name files relative to that folder, so the snapshots do not depend on
where the test runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.load.helpers import HEADER, Tree, notebook, problem_lines, tenant

JOB_TYPO = """\
    apiVersion: agentprovision.ai/v1
    kind: Job
    metadata:
      name: nightly
    spec:
      tasks:
        - key: load
          notebook: /Workspace/x
      max_concurent_runs: 2
    """

CASES: dict[str, Tree] = {
    "malformed-yaml": Tree(
        {"acme/tenant.yaml": tenant(), "acme/bad.yaml": "kind: Notebook\nmetadata: {name: [x\n"}
    ),
    "tab-indentation": Tree({"acme/tenant.yaml": tenant(), "acme/bad.yaml": "a:\n\tb: 1\n"}),
    "unsafe-python-tag": Tree(
        {"acme/tenant.yaml": tenant(), "acme/bad.yaml": "kind: !!python/object:os.system {}\n"}
    ),
    "not-a-mapping": Tree(
        {"acme/tenant.yaml": tenant(), "acme/list.yaml": "- a\n- b\n---\njust text\n"}
    ),
    "unknown-kind": Tree(
        {
            "acme/tenant.yaml": tenant(),
            "acme/x.yaml": f"{HEADER}kind: Notbook\nmetadata: {{name: a}}\nspec: {{}}\n",
        }
    ),
    "missing-kind": Tree(
        {"acme/tenant.yaml": tenant(), "acme/x.yaml": f"{HEADER}metadata: {{name: a}}\n"}
    ),
    "wrong-api-version": Tree(
        {"acme/tenant.yaml": tenant(), "acme/nb.yaml": notebook("a").replace("/v1", "/v2")}
    ),
    "unknown-field-typo": Tree({"acme/tenant.yaml": tenant(), "acme/job.yaml": JOB_TYPO}),
    "unknown-envelope-field": Tree(
        {"acme/tenant.yaml": tenant(), "acme/nb.yaml": notebook("a") + "status: {}\n"}
    ),
    "string-for-int": Tree(
        {
            "acme/tenant.yaml": tenant(),
            "acme/job.yaml": JOB_TYPO.replace(
                "max_concurent_runs: 2", "max_concurrent_runs: often"
            ),
        }
    ),
    "bad-enum": Tree(
        {"acme/tenant.yaml": tenant(), "acme/nb.yaml": notebook("a").replace("python", "pyhton")}
    ),
    "missing-required-field": Tree(
        {
            "acme/tenant.yaml": tenant(),
            "acme/job.yaml": JOB_TYPO.replace("      notebook: /Workspace/x\n", "").replace(
                "  max_concurent_runs: 2\n", ""
            ),
        }
    ),
    "invalid-name": Tree({"acme/tenant.yaml": tenant(), "acme/nb.yaml": notebook("Daily_ETL")}),
    "duplicate-yaml-key": Tree(
        {"acme/tenant.yaml": tenant(), "acme/nb.yaml": notebook("a") + "  language: sql\n"}
    ),
    "duplicate-names": Tree(
        {
            "acme/tenant.yaml": tenant(),
            "acme/one.yaml": notebook("etl"),
            "acme/sub/two.yaml": notebook("other") + "---\n" + notebook("etl"),
        }
    ),
    "two-tenant-documents": Tree(
        {"acme/tenant.yaml": tenant(), "acme/more.yaml": tenant("acme-again")}
    ),
    "same-tenant-name-twice": Tree(
        {"acme/tenant.yaml": tenant(), "acme-copy/tenant.yaml": tenant()}
    ),
    "outside-any-tenant": Tree({"acme/tenant.yaml": tenant(), "stray/nb.yaml": notebook("lost")}),
    "no-tenant-at-all": Tree({"nb.yaml": notebook("lost")}),
    "dangling-reference": Tree(
        {
            "acme/tenant.yaml": tenant(),
            "acme/etl.yaml": notebook("etl"),
            "acme/job.yaml": JOB_TYPO.replace("/Workspace/x", "${notebooks.elt.path}").replace(
                "max_concurent_runs", "max_concurrent_runs"
            ),
        }
    ),
    "unknown-collection-and-attribute": Tree(
        {
            "acme/tenant.yaml": tenant(),
            "acme/etl.yaml": notebook("etl"),
            "acme/refs.yaml": notebook("refs", "${notebok.etl.path} ${notebooks.etl.pth}"),
        }
    ),
    "malformed-reference": Tree(
        {"acme/tenant.yaml": tenant(), "acme/nb.yaml": notebook("a", "${etl.path}")}
    ),
    "reference-to-other-tenant": Tree(
        {
            "acme/tenant.yaml": tenant(),
            "globex/tenant.yaml": tenant("globex"),
            "globex/etl.yaml": notebook("etl"),
            "acme/nb.yaml": notebook("a", "${notebooks.etl.path}"),
        }
    ),
    "cyclic-references": Tree(
        {
            "acme/tenant.yaml": tenant(),
            "acme/a.yaml": notebook("a", "run ${notebooks.b.path}"),
            "acme/b.yaml": notebook("b", "run ${notebooks.c.path}"),
            "acme/c.yaml": notebook("c", "run ${notebooks.a.path}"),
        }
    ),
    "self-reference": Tree(
        {"acme/tenant.yaml": tenant(), "acme/a.yaml": notebook("a", "${notebooks.a.path}")}
    ),
    "source-missing": Tree(
        {
            "acme/tenant.yaml": tenant(),
            "acme/nb.yaml": notebook("a").replace("content: 'print(1)'", "source: notebooks/a.py"),
        }
    ),
    "source-is-a-folder": Tree(
        {
            "acme/tenant.yaml": tenant(),
            "acme/notebooks/a.py/keep.txt": "",
            "acme/nb.yaml": notebook("a").replace("content: 'print(1)'", "source: notebooks/a.py"),
        }
    ),
    "source-parent-escape": Tree(
        {
            "acme/tenant.yaml": tenant(),
            "x.py": "print('secret')\n",
            "acme/nb.yaml": notebook("a").replace("content: 'print(1)'", "source: ../x.py"),
        }
    ),
    "source-absolute-path": Tree(
        {
            "acme/tenant.yaml": tenant(),
            "acme/nb.yaml": notebook("a").replace("content: 'print(1)'", "source: /etc/hostname"),
        }
    ),
    "source-symlink-out": Tree(
        {
            "acme/tenant.yaml": tenant(),
            "secret.py": "print('secret')\n",
            "acme/nb.yaml": notebook("a").replace(
                "content: 'print(1)'", "source: notebooks/link.py"
            ),
        },
        links={"acme/notebooks/link.py": "{root}/secret.py"},
    ),
    "dataset-source-missing": Tree(
        {
            "acme/tenant.yaml": tenant(),
            "acme/sales.yaml": HEADER
            + "kind: Dataset\n"
            + "metadata:\n"
            + "  name: sales\n"
            + "spec:\n"
            + "  columns:\n"
            + "    - {name: id, type: bigint}\n"
            + "    - {name: amount, type: 'decimal(10,2)'}\n"
            + "  source: {path: data/sales.csv}\n",
        }
    ),
    "bad-column-type": Tree(
        {
            "acme/tenant.yaml": tenant(),
            "acme/sales.yaml": HEADER
            + "kind: Dataset\nmetadata: {name: sales}\nspec:\n  columns:\n"
            + "    - {name: amount, type: money}\n",
        }
    ),
    "invalid-tenant-still-checks-members": Tree(
        {
            "acme/tenant.yaml": tenant(spec="{catalog: Bad-Name}"),
            "acme/nb.yaml": notebook("a", "${notebooks.b.path}", "  colour: blue\n"),
        }
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_problem_lines(case: Tree, tmp_path: Path, snapshot) -> None:
    root = case.write(tmp_path)
    assert problem_lines(root) == snapshot


def test_each_problem_points_at_its_own_line(tmp_path: Path) -> None:
    """The typo sits on line 9, column 3 of job.yaml (1-based), and the message says so."""
    Tree({"acme/tenant.yaml": tenant(), "acme/job.yaml": JOB_TYPO}).write(tmp_path)
    (line,) = problem_lines(tmp_path)
    assert line.startswith("acme/job.yaml:9:3: spec.max_concurent_runs: unknown field")
    assert "did you mean `max_concurrent_runs`?" in line


def test_problems_of_all_files_are_reported_together(tmp_path: Path) -> None:
    Tree(
        {
            "one/tenant.yaml": tenant("one"),
            "one/x.yaml": CASES["unknown-kind"].files["acme/x.yaml"],
            "two/tenant.yaml": tenant("two"),
            "two/nb.yaml": CASES["bad-enum"].files["acme/nb.yaml"],
            "three/tenant.yaml": tenant("three"),
            "three/bad.yaml": CASES["malformed-yaml"].files["acme/bad.yaml"],
        }
    ).write(tmp_path)
    lines = problem_lines(tmp_path)
    assert [line.split(":")[0] for line in lines] == ["one/x.yaml", "three/bad.yaml", "two/nb.yaml"]


def test_a_path_that_does_not_exist_is_a_problem(tmp_path: Path) -> None:
    (line,) = problem_lines(tmp_path / "nowhere")
    assert line.startswith("nowhere:1:1: no such file or folder")


@pytest.mark.parametrize(
    "text",
    [
        "kind: [Notebook]\n",
        "kind: Notebook\n",
        f"{HEADER}kind: Notebook\nmetadata: 5\nspec: null\n",
        f"{HEADER}kind: Notebook\nmetadata: {{name: 7}}\nspec: [1, 2]\n",
        f"{HEADER}kind: Notebook\nmetadata: {{name: a}}\nspec: {{content: {{x: 1}}, language: 3}}\n",
        "? [a, b]\n: 1\n",
        "&a [*a]\n",
        "{{{{\n",
        "\x00\x01",
    ],
    ids=[
        "kind-list",
        "only-kind",
        "metadata-int",
        "name-int",
        "nested-garbage",
        "complex-key",
        "recursive-alias",
        "braces",
        "control-chars",
    ],
)
def test_garbage_becomes_problems_not_tracebacks(text: str, tmp_path: Path) -> None:
    Tree({"acme/tenant.yaml": tenant(), "acme/bad.yaml": text}).write(tmp_path)
    assert problem_lines(tmp_path)


def test_a_file_that_is_not_utf8_is_a_problem(tmp_path: Path) -> None:
    Tree({"acme/tenant.yaml": tenant()}).write(tmp_path)
    (tmp_path / "acme" / "latin1.yaml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    (line,) = problem_lines(tmp_path)
    assert line.startswith("acme/latin1.yaml:1:1: not UTF-8 text")
