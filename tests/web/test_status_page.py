"""The status page in a real headless Chromium against a real `serve`, git repo and emulator.

In file order (they share one site): log in and see both tenants Synced; an
out-of-band edit turns acme OutOfSync with the field on the drift page, with
no reload, and Reconcile turns it Synced again; a job run appears and
finishes; an endpoint is tested, a dataset queried, an index searched;
hostile text renders as text; a form without its CSRF token is refused; a
read token sees no buttons and gets 403 posting anyway. Each page is checked
with axe-core (three in both colour schemes) and saved under .reconciler/screenshots/.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.web.conftest import (
    ADMIN,
    HOSTILE,
    READ,
    RUN_PACE,
    Site,
    assert_accessible,
    log_in,
    screenshot,
)

pytestmark = pytest.mark.slow
EDITED = "edited by hand in the workspace"
COMMENT = "Acme retail analytics and the support agent"


def _row(page: Any, tenant: str) -> Any:
    return page.locator(f'tr[data-tenant="{tenant}"]')


def test_log_in_and_see_two_tenants_synced(context: Any, site: Site) -> None:
    page = log_in(context, site)
    for tenant in ("acme", "globex"):
        row = _row(page, tenant)
        assert row.locator('[data-field="sync"]').inner_text() == "Synced"
        assert row.locator('[data-field="health"]').inner_text() == "Healthy"
    cookie = next(c for c in context.cookies() if c["name"] == "reconciler_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert ADMIN not in cookie["value"], "the token itself is not kept in the cookie"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    screenshot(page, "tenants")
    assert_accessible(page, dark=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.emulate_media(color_scheme="dark")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scroll"
    screenshot(page, "tenants-phone-dark")
    assert_accessible(page)  # at phone width too: the wide table scrolls, by keyboard as well


def test_out_of_band_edit_shows_as_drift_live_and_reconcile_syncs(context: Any, site: Site) -> None:
    tenants = log_in(context, site)
    drift = context.new_page()
    drift.goto(site.url + "/tenants/acme/drift")
    drift.locator("[data-drift-none]").wait_for()
    for page in (tenants, drift):
        page.evaluate("window.notReloaded = true")

    edited = site.api.patch("/databricks/catalogs/acme", json={"comment": EDITED})
    assert edited.status_code == 200, edited.text

    sync = _row(tenants, "acme").locator('[data-field="sync"]')
    sync.filter(has_text="OutOfSync").wait_for()
    field = drift.locator('[data-drift="Tenant/acme"] tr[data-field="comment"]')
    field.wait_for()
    assert field.locator(".before").inner_text() == COMMENT
    assert field.locator(".after").inner_text() == EDITED
    for page in (tenants, drift):
        assert page.evaluate("window.notReloaded") is True, "updated without a reload"
    screenshot(drift, "drift")
    assert_accessible(drift)

    _row(tenants, "acme").get_by_role("button", name="Reconcile acme now").click()
    tenants.wait_for_url(site.url + "/")
    _row(tenants, "acme").locator('[data-field="sync"]').filter(has_text="Synced").wait_for()
    drift.locator("[data-drift-none]").wait_for()
    assert site.api.get("/databricks/catalogs/acme").json()["comment"] == COMMENT

    tenant = context.new_page()
    tenant.goto(site.url + "/tenants/acme")
    assert tenant.locator('[data-field="sync"]').inner_text() == "Synced"
    assert tenant.locator('tr[data-resource="Job/nightly-sales"] a[href^="https://"]').count()
    screenshot(tenant, "tenant")
    assert_accessible(tenant, dark=True)
    tenant.goto(site.url + "/tenants/acme/history")
    newest = tenant.locator("[data-apply]").first
    assert "update Tenant/acme" in newest.inner_text()
    screenshot(tenant, "history")
    assert_accessible(tenant)


def test_run_a_job_and_watch_its_run_appear_and_finish(context: Any, site: Site) -> None:
    page = log_in(context, site, path="/tenants/acme/jobs/nightly-sales")
    before = page.locator("tr[data-run]").count()
    page.get_by_role("button", name="Run now").click()
    started = re.search(r"started=(\d+)", page.url)
    assert started, page.url
    run = page.locator(f'tr[data-run="{started.group(1)}"]')
    run.wait_for()
    page.locator(f'tr[data-run="{started.group(1)}"][data-outcome="SUCCESS"]').wait_for()
    assert "ingest: SUCCESS" in run.inner_text() and "report: SUCCESS" in run.inner_text()
    assert page.locator("tr[data-run]").count() == before + 1
    screenshot(page, "job")
    assert_accessible(page, dark=True)

    form = {
        "csrf": page.locator('form[action$="/runs"] input[name="csrf"]').get_attribute("value"),
        "run_key": page.locator('input[name="run_key"]').get_attribute("value"),
    }
    url = site.url + "/tenants/acme/jobs/nightly-sales/runs"
    counted = _runs(site)
    for _ in range(2):  # the same form sent twice (a double click, a retried post)
        assert context.request.post(url, form=form, max_redirects=0).status == 303
    assert _runs(site) == counted + 1, "one run per form"


def test_cancel_a_running_run(context: Any, site: Site) -> None:
    slow = {**RUN_PACE, "task": 30.0}
    site.api.post(site.emulator.url + "/_emulator/runs", json={"pace": slow}).raise_for_status()
    try:
        page = log_in(context, site, path="/tenants/acme/jobs/nightly-sales")
        page.get_by_role("button", name="Run now").click()
        started = re.search(r"started=(\d+)", page.url)
        assert started, page.url
        run_id = started.group(1)
        page.get_by_role("button", name=f"Cancel run {run_id}").click()
        page.locator(f'tr[data-run="{run_id}"][data-outcome="CANCELED"]').wait_for()
    finally:
        site.api.post(site.emulator.url + "/_emulator/runs", json={"pace": RUN_PACE})


def test_test_an_endpoint_query_a_dataset_search_an_index(context: Any, site: Site) -> None:
    page = log_in(context, site, path="/tenants/acme/endpoints/acme-support-agent")
    assert "READY" in page.locator('[data-field="state"]').inner_text()
    page.get_by_label("Input (JSON)").fill('{"inputs": ["where is my order?"]}')
    page.get_by_role("button", name="Invoke").click()
    answer = page.locator("[data-answer]")
    assert "predictions" in answer.inner_text()
    screenshot(page, "endpoint")
    assert_accessible(page)

    page.goto(site.url + "/tenants/acme/datasets/sales")
    assert page.locator('[data-field="row_count"]').inner_text() == "20"
    page.get_by_label("SQL").fill(
        "SELECT store, sum(amount) AS total FROM retail.sales GROUP BY store"
    )
    page.get_by_role("button", name="Run query").click()
    result = page.locator("[data-result] table")
    assert result.locator("thead th").all_inner_texts() == ["store", "total"]
    assert result.locator("tbody tr").count() >= 1
    screenshot(page, "dataset")
    assert_accessible(page)

    page.goto(site.url + "/tenants/acme/indexes/docs-index")
    page.get_by_label("Text").fill("refund policy")
    page.get_by_role("button", name="Search").click()
    found = page.locator("[data-result] table")
    assert found.locator("thead th").count() >= 1
    screenshot(page, "index")
    assert_accessible(page)


def test_hostile_text_is_shown_as_text(context: Any, site: Site) -> None:
    dialogs: list[str] = []
    page = log_in(context, site)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    assert HOSTILE in _row(page, "globex").inner_text(), "the label is shown as text"
    hostile_comment = '"><img src=x onerror=alert(2)>' + HOSTILE
    site.api.patch("/databricks/catalogs/globex-eu", json={"comment": hostile_comment})
    page.goto(site.url + "/tenants/globex/drift")
    field = page.locator('[data-drift="Tenant/globex"] tr[data-field="comment"] .after')
    field.wait_for()
    assert field.inner_text() == hostile_comment
    page.goto(site.url + "/tenants/globex")
    assert HOSTILE in page.locator("main").inner_text()
    assert page.locator("main script, main img").count() == 0
    assert dialogs == [], "no script ran"


def _runs(site: Site) -> int:
    jobs = site.api.get("/databricks/jobs", params={"tenant_id": "acme"}).json()["jobs"]
    job_id = next(j["job_id"] for j in jobs if j["settings"]["name"] == "nightly-sales")
    runs = site.api.get(f"/databricks/jobs/{job_id}/runs", params={"tenant_id": "acme"}).json()
    return len(runs.get("runs") or [])


def test_a_form_posted_without_its_csrf_token_is_refused(context: Any, site: Site) -> None:
    page = log_in(context, site, path="/tenants/acme/jobs/nightly-sales")
    before = _runs(site)
    url = site.url + "/tenants/acme/jobs/nightly-sales/runs"
    missing = context.request.post(url, form={"params": ""}, max_redirects=0)
    assert missing.status == 403 and "CSRF" in missing.text()
    forged = context.request.post(url, form={"csrf": "0" * 64}, max_redirects=0)
    assert forged.status == 403
    reconcile = context.request.post(site.url + "/tenants/acme/reconcile", max_redirects=0)
    assert reconcile.status == 403
    assert _runs(site) == before, "nothing was started"
    assert page.get_by_role("button", name="Run now").is_visible()


def test_a_read_token_sees_no_buttons_and_gets_403_posting_anyway(context: Any, site: Site) -> None:
    page = log_in(context, site, token=READ)
    assert page.get_by_role("button", name=re.compile("Reconcile")).count() == 0
    page.goto(site.url + "/tenants/acme/jobs/nightly-sales")
    assert page.get_by_role("button", name="Run now").count() == 0
    assert page.get_by_role("button", name="Cancel").count() == 0
    csrf = page.locator('input[name="csrf"]').first.get_attribute("value")
    before = _runs(site)
    refused = context.request.post(
        site.url + "/tenants/acme/jobs/nightly-sales/runs", form={"csrf": csrf}, max_redirects=0
    )
    assert refused.status == 403 and "read token" in refused.text()
    assert _runs(site) == before
    page.goto(site.url + "/tenants/acme/endpoints/acme-support-agent")
    assert page.get_by_role("button", name="Invoke").count() == 0
    page.goto(site.url + "/tenants/acme/datasets/sales")
    page.get_by_role("button", name="Run query").click()
    assert page.locator("[data-result] tbody tr").count() >= 1, "a read token may query"
