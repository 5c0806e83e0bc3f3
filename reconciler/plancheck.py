"""Checks a plan passes before anything of it is sent, shared by every face.

``reconciler apply`` (CLI), the MCP ``apply`` tool and any other apply of an
approved plan (:func:`reconciler.approvals.apply_approved`) call
:func:`check_plan` on the plan made under the tenants' locks: every
``--target``/``--replace`` names a resource that exists, nothing in it is a
conflict or protected, and data is destroyed only with consent.
"""

from __future__ import annotations

from reconciler.errors import PlanRefused, ReconcilerError
from reconciler.plan import FAILING, Plan, PlanOptions


def check_targets(plan: Plan, options: PlanOptions) -> None:
    """Every --target and --replace must name a resource that exists."""
    found = {(c.key.kind, c.key.name) for t in plan.tenants for c in t.changes}
    missing = sorted("/".join(a) for a in (options.targets | options.replace) - found)
    if missing:
        raise ReconcilerError(
            f"no resource {', '.join(missing)} in the documents or the state",
            hint="check the KIND/NAME spelling with `reconciler plan PATH`",
        )


def refuse_failing(plan: Plan) -> None:
    """Raise when the plan holds changes no apply can make (conflicts, protection)."""
    failing = [c for t in plan.tenants for c in t.changes if c.action in FAILING]
    if failing:
        names = "; ".join(f"{c.key.tenant}/{c.address}: {c.reason}" for c in failing)
        raise PlanRefused(f"the plan cannot be applied as it is: {names}")


def check_plan(plan: Plan, options: PlanOptions, *, allow_data_loss: bool) -> None:
    """Refuse plans with impossible or unconsented changes, before anything is sent."""
    check_targets(plan, options)
    refuse_failing(plan)
    if plan.destructive and not allow_data_loss:
        names = ", ".join(f"{c.key.tenant}/{c.address}" for c in plan.destructive)
        raise PlanRefused(
            f"the plan destroys data: {names}",
            hint="check the reasons above; re-run with --allow-data-loss to accept the loss",
        )
