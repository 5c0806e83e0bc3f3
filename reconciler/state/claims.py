"""Stored claims: which tenant holds each tenantId and catalog name (see reconciler.claims)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager

from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reconciler.errors import StateError
from reconciler.state.models import ClaimRow, utcnow


class ClaimsMixin:
    """Claim methods of :class:`~reconciler.state.StateStore`."""

    _session: Callable[[str], AbstractContextManager[Session]]
    _read_session: Callable[[str], AbstractContextManager[Session]]

    def claim_holders(self, wanted: Mapping[str, str]) -> dict[str, str]:
        """For each ``kind -> value`` asked for, the tenant holding it (unclaimed ones left out)."""
        pairs = [(kind, value) for kind, value in wanted.items()]
        if not pairs:
            return {}
        query = select(ClaimRow.kind, ClaimRow.tenant).where(
            tuple_(ClaimRow.kind, ClaimRow.value).in_(pairs)
        )
        with self._read_session("reading the tenants' claims") as session:
            return {kind: tenant for kind, tenant in session.execute(query)}

    def add_claims(self, tenant: str, wanted: Mapping[str, str]) -> dict[str, str]:
        """Claim every ``kind -> value`` not yet held for ``tenant``, in one transaction.

        Returns the claims another tenant holds (``kind -> tenant``); when there is
        any, nothing is written. Of two tenants racing for one value, exactly one
        gets it (the primary key), and the other sees it held.
        """
        held = self.claim_holders(wanted)
        others = {kind: owner for kind, owner in held.items() if owner != tenant}
        missing = {kind: value for kind, value in wanted.items() if kind not in held}
        if others or not missing:
            return others
        try:
            with self._session(f"claiming the tenantId and catalog of tenant {tenant}") as session:
                now = utcnow()
                for kind, value in missing.items():
                    session.add(ClaimRow(kind=kind, value=value, tenant=tenant, claimed_at=now))
                session.commit()
        except StateError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise  # not a race lost: the database failed
        else:
            return {}
        held = self.claim_holders(wanted)
        return {kind: owner for kind, owner in held.items() if owner != tenant}

    def claims_of(self, tenant: str) -> dict[str, str]:
        """The tenant's own claims, ``kind -> value`` (the newest of a kind if it moved)."""
        query = (
            select(ClaimRow.kind, ClaimRow.value)
            .where(ClaimRow.tenant == tenant)
            .order_by(ClaimRow.claimed_at, ClaimRow.value)
        )
        with self._read_session(f"reading the claims of tenant {tenant}") as session:
            return {kind: value for kind, value in session.execute(query)}

    def claims(self) -> list[tuple[str, str, str]]:
        """Every claim as (kind, value, tenant), sorted."""
        query = select(ClaimRow.kind, ClaimRow.value, ClaimRow.tenant).order_by(
            ClaimRow.kind, ClaimRow.value
        )
        with self._read_session("reading the tenants' claims") as session:
            return [(kind, value, tenant) for kind, value, tenant in session.execute(query)]
