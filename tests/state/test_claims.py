"""Claims in the state database: one tenant per tenantId and catalog (SQLite and PostgreSQL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic import command
from sqlalchemy import text

from reconciler import claims
from reconciler.errors import ClaimError
from reconciler.kinds.base import TenantContext
from reconciler.state import StateStore, normalize_database_url
from reconciler.state.db import create_state_engine
from reconciler.state.migrate import alembic_config

ACME = TenantContext("acme", "acme", "agentprovision_acme")


def test_a_tenant_claims_on_apply_and_another_is_refused_naming_both(store: StateStore) -> None:
    claims.check(store, ACME)  # nothing claimed yet
    claims.stake(store, ACME)
    claims.stake(store, ACME)  # again: nothing to do
    assert store.claims() == [
        ("catalog", "agentprovision_acme", "acme"),
        ("tenant_id", "acme", "acme"),
    ]
    mallory = TenantContext("mallory", "acme", "mallory_catalog")
    for attempt in (claims.check, claims.stake):
        with pytest.raises(ClaimError) as refused:
            attempt(store, mallory)
        message = str(refused.value)
        assert "tenant `mallory` claims" in message
        assert "tenantId `acme` is held by tenant `acme`" in message
        assert "no adopt flag overrides this" in message
    squatter = TenantContext("squatter", "squatter", "agentprovision_acme")
    with pytest.raises(ClaimError, match="catalog `agentprovision_acme` is held by tenant `acme`"):
        claims.stake(store, squatter)
    assert len(store.claims()) == 2, "a refused claim writes nothing"


def test_of_two_tenants_racing_for_one_tenant_id_exactly_one_wins(db_url: str) -> None:
    stores = [StateStore.open(db_url) for _ in range(2)]
    try:
        contexts = [TenantContext(f"t{i}", "shared-id", f"cat_{i}") for i in range(2)]

        def attempt(i: int) -> bool:
            try:
                claims.stake(stores[i], contexts[i])
            except ClaimError:
                return False
            return True

        with ThreadPoolExecutor(2) as pool:
            won = list(pool.map(attempt, range(2)))
        assert sorted(won) == [False, True]
        [(kind, value, holder)] = [c for c in stores[0].claims() if c[0] == "tenant_id"]
        assert (kind, value) == ("tenant_id", "shared-id")
        assert holder == contexts[won.index(True)].name
    finally:
        for opened in stores:
            opened.close()


def test_upgrading_claims_the_catalogs_of_tenants_applied_before(db_url: str) -> None:
    engine = create_state_engine(normalize_database_url(db_url))
    try:
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0004")
            connection.execute(
                text(
                    "INSERT INTO tenants (name, serial, created_at, updated_at) "
                    "VALUES ('acme', 3, :now, :now)"
                ),
                {"now": "2026-12-01 00:00:00+00:00"},
            )
            connection.execute(
                text(
                    "INSERT INTO resources (tenant, kind, name, identity, remote_id, spec, "
                    "depends_on, status, updated_at) VALUES ('acme', 'Tenant', 'acme', "
                    "'agentprovision_acme', 'agentprovision_acme', '{}', '[]', 'applied', :now)"
                ),
                {"now": "2026-12-01 00:00:00+00:00"},
            )
    finally:
        engine.dispose()
    with StateStore.open(db_url) as store:  # opening upgrades to the head
        assert store.claims() == [("catalog", "agentprovision_acme", "acme")]
        squatter = TenantContext("squatter", "squatter", "agentprovision_acme")
        with pytest.raises(ClaimError, match="held by tenant `acme`"):
            claims.check(store, squatter)
