"""Deletes that a partly read tenant folder must not cause.

When part of a tenant folder was skipped (a link whose target is gone, a
folder that cannot be listed; see :func:`reconciler.load.load_tenants`), the
documents of resources the plan would delete or stop managing may be in that
part. Such a plan is refused by ``plan`` and ``apply`` unless
``--allow-missing`` is given, and ``serve`` never applies it.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.plan import Action, TenantPlan
from reconciler.sources import Skipped

LOSING = frozenset({Action.DELETE, Action.FORGET})


def missing_deletes(plan: TenantPlan, skipped: Sequence[Skipped]) -> str | None:
    """What ``plan`` would delete or forget although ``skipped`` places were not read."""
    losing = [c for c in plan.actionable if c.action in LOSING]
    if not skipped or not losing:
        return None
    names = ", ".join(f"{plan.tenant}/{c.address} ({c.action.value})" for c in losing)
    where = ", ".join(s.path for s in skipped)
    return f"{names}; skipped: {where}"
