"""Idempotency-Key replays the first answer; ETags and If-Match guard updates."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.emulator.helpers import TENANT, assert_problem, make_catalog, make_notebook, ok


def job_body(path: str, name: str = "nightly") -> dict:
    task = {"task_key": "t", "notebook_task": {"notebook_path": path}}
    return {"tenant_id": TENANT, "name": name, "tasks": [task]}


def jobs(c: httpx.Client) -> list[dict]:
    return ok(c.get("/databricks/jobs", params={"tenant_id": TENANT}))["jobs"]


def test_a_repeated_create_with_the_same_key_returns_the_first_result(
    emulator_client: httpx.Client,
) -> None:
    c = emulator_client
    body = job_body(make_notebook(c)["path"])
    first = c.post("/databricks/jobs", json=body, headers={"Idempotency-Key": "k-1"})
    again = c.post("/databricks/jobs", json=body, headers={"Idempotency-Key": "k-1"})
    assert ok(first, 201) == ok(again, 201)
    assert again.headers["idempotent-replayed"] == "true"
    assert len(jobs(c)) == 1
    ok(c.post("/databricks/jobs", json=body, headers={"Idempotency-Key": "k-2"}), 201)
    assert len(jobs(c)) == 2


def test_errors_are_replayed_too_but_not_5xx(emulator_client: httpx.Client) -> None:
    c = emulator_client
    body = {"tenant_id": TENANT, "name": "t", "schema": [{"name": "id", "type": "int"}]}
    headers = {"Idempotency-Key": "ds-1"}
    assert_problem(c.post("/databricks/datasets", json=body, headers=headers), 404, "NOT_FOUND")
    make_catalog(c)
    again = c.post("/databricks/datasets", json=body, headers=headers)
    assert again.status_code == 404 and again.headers["idempotent-replayed"] == "true"


def test_the_same_key_with_another_body_is_a_conflict(emulator_client: httpx.Client) -> None:
    c = emulator_client
    path = make_notebook(c)["path"]
    headers = {"Idempotency-Key": "k"}
    ok(c.post("/databricks/jobs", json=job_body(path, "a"), headers=headers), 201)
    other = c.post("/databricks/jobs", json=job_body(path, "b"), headers=headers)
    assert_problem(other, 409, "CONFLICT")


def test_concurrent_repeats_of_one_key_create_one_object(emulator_client: httpx.Client) -> None:
    c = emulator_client
    body = job_body(make_notebook(c)["path"])
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda _: c.post(
                    "/databricks/jobs", json=body, headers={"Idempotency-Key": "same"}
                ),
                range(8),
            )
        )
    assert len({a.json()["job_id"] for a in answers}) == 1
    assert len(jobs(c)) == 1


def test_run_now_accepts_an_idempotency_key(emulator_client: httpx.Client) -> None:
    c = emulator_client
    job_id = ok(c.post("/databricks/jobs", json=job_body(make_notebook(c)["path"])), 201)["job_id"]
    headers = {"Idempotency-Key": "run-1"}
    first = ok(
        c.post(f"/databricks/jobs/{job_id}/run", json={"tenant_id": TENANT}, headers=headers)
    )
    again = ok(
        c.post(f"/databricks/jobs/{job_id}/run", json={"tenant_id": TENANT}, headers=headers)
    )
    assert first["run_id"] == again["run_id"]
    runs = ok(c.get(f"/databricks/jobs/{job_id}/runs"))["runs"]
    assert len(runs) == 1


def test_etag_is_in_the_body_and_header_and_moves_with_changes(
    emulator_client: httpx.Client,
) -> None:
    c = emulator_client
    path = make_notebook(c)["path"]
    read = c.get(f"/databricks/notebooks/{TENANT}", params={"path": path})
    etag = ok(read)["etag"]
    assert read.headers["etag"] == f'"{etag}"'
    listed = ok(c.get("/databricks/notebooks", params={"tenant_id": TENANT}))["notebooks"]
    assert listed[0]["etag"] == etag
    assert ok(c.get(f"/databricks/notebooks/{TENANT}", params={"path": path}))["etag"] == etag
    update = {"content": "print('new')"}
    changed = ok(
        c.put(f"/databricks/notebooks/{TENANT}", params={"path": path}, json=update,
              headers={"If-Match": f'"{etag}"'})
    )  # fmt: skip
    assert changed["etag"] != etag
    stale = c.put(
        f"/databricks/notebooks/{TENANT}", params={"path": path}, json=update,
        headers={"If-Match": f'"{etag}"'},
    )  # fmt: skip
    assert_problem(stale, 412, "PRECONDITION_FAILED")


@pytest.mark.parametrize("if_match", ["*", None])
def test_if_match_star_or_absent_always_matches(
    emulator_client: httpx.Client, if_match: str | None
) -> None:
    c = emulator_client
    make_catalog(c)
    headers = {"If-Match": if_match} if if_match else {}
    ok(c.patch(f"/databricks/catalogs/{TENANT}", json={"comment": "x"}, headers=headers))


def test_job_reset_with_a_stale_etag_is_412(emulator_client: httpx.Client) -> None:
    c = emulator_client
    job_id = ok(c.post("/databricks/jobs", json=job_body(make_notebook(c)["path"])), 201)["job_id"]
    job = ok(c.get(f"/databricks/jobs/{job_id}"))
    settings = {**job["settings"], "max_concurrent_runs": 3}
    reset = {"tenant_id": TENANT, "new_settings": settings}
    ok(c.post(f"/databricks/jobs/{job_id}/reset", json=reset, headers={"If-Match": job["etag"]}))
    stale = c.post(
        f"/databricks/jobs/{job_id}/reset", json=reset, headers={"If-Match": job["etag"]}
    )
    assert_problem(stale, 412, "PRECONDITION_FAILED")
