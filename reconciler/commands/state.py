"""``reconciler state list|show|rm|unlock``: look at and repair the recorded state.

``rm`` forgets a resource without touching the remote object (the next plan
sees it as existing but unmanaged); ``unlock`` force-releases a tenant's lock
whose holder is gone. Both ask for confirmation unless ``--yes`` is given.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from reconciler.commands.common import EXIT_ERROR, EXIT_OK
from reconciler.errors import ReconcilerError

if TYPE_CHECKING:
    from reconciler.kinds.base import ResourceKey
    from reconciler.state import StateStore


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("state", help="list, show or repair the recorded state")
    actions = parser.add_subparsers(dest="state_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="tenants, or one tenant's recorded resources")
    listing.add_argument("--tenant", help="list this tenant's resources")
    show = actions.add_parser("show", help="one recorded resource, as JSON")
    show.add_argument("address", help="TENANT/KIND/NAME")
    remove = actions.add_parser("rm", help="forget a resource; the remote object is kept")
    remove.add_argument("address", help="TENANT/KIND/NAME")
    remove.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    unlock = actions.add_parser("unlock", help="force-release a tenant's lock")
    unlock.add_argument("tenant")
    unlock.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def run(args: argparse.Namespace) -> int:
    from reconciler.config import Settings  # lazy: keeps `--help` light
    from reconciler.state import StateStore

    with StateStore.open(Settings.from_env().database_url) as store:
        handler = {"list": _list, "show": _show, "rm": _remove, "unlock": _unlock}
        return handler[args.state_command](store, args)


def parse_address(text: str) -> ResourceKey:
    from reconciler.kinds.base import ResourceKey  # lazy: keeps `--help` light

    parts = text.split("/")
    if len(parts) != 3 or not all(parts):
        raise ReconcilerError(
            f"{text!r} is not a resource address", hint="write it as TENANT/KIND/NAME"
        )
    return ResourceKey(*parts)


def _list(store: StateStore, args: argparse.Namespace) -> int:
    if args.tenant:
        snapshot = store.read_tenant(args.tenant)
        print(f"tenant {args.tenant} (serial {snapshot.serial})")
        for key, rec in snapshot.resources.items():
            print(f"  {key.kind}/{key.name}  {rec.identity}  id={rec.remote_id}  {rec.status}")
        return EXIT_OK
    locks = {h.tenant: h for h in store.locks()}
    pending: dict[str, int] = {}
    for intent in store.open_intents():
        pending[intent.key.tenant] = pending.get(intent.key.tenant, 0) + 1
    for tenant in sorted(set(store.tenants()) | set(locks)):
        snapshot = store.read_tenant(tenant)
        line = f"{tenant}  serial {snapshot.serial}  {len(snapshot.resources)} resource(s)"
        if tenant in pending:
            line += f"  {pending[tenant]} open intent(s)"
        if tenant in locks:
            line += f"  locked by {locks[tenant].describe()}"
        print(line)
    return EXIT_OK


def _show(store: StateStore, args: argparse.Namespace) -> int:
    key = parse_address(args.address)
    record = store.read_tenant(key.tenant).resources.get(key)
    if record is None:
        raise ReconcilerError(f"{key} is not in state", hint="see `reconciler state list`")
    document = {
        "address": str(key),
        "identity": record.identity,
        "remote_id": record.remote_id,
        "status": record.status,
        "spec": record.spec,
        "depends_on": [str(k) for k in record.depends_on],
        "lifecycle": record.lifecycle,
        "observed": record.observed,
    }
    print(json.dumps(document, indent=2, sort_keys=True, default=str))
    return EXIT_OK


def _remove(store: StateStore, args: argparse.Namespace) -> int:
    key = parse_address(args.address)
    if key not in store.read_tenant(key.tenant).resources:
        raise ReconcilerError(f"{key} is not in state", hint="see `reconciler state list`")
    question = f"Forget {key}? The remote object is kept and becomes unmanaged."
    if not _confirmed(question, args.yes):
        print("Nothing removed.")
        return EXIT_ERROR
    store.remove_resource(key)
    print(f"Removed {key} from state; the remote object was not touched.")
    return EXIT_OK


def _unlock(store: StateStore, args: argparse.Namespace) -> int:
    from reconciler.state.leases import HEARTBEAT_SECONDS

    holder = store.lock_holder(args.tenant)
    if holder is None:
        print(f"tenant {args.tenant} is not locked")
        return EXIT_OK
    print(
        f"warning: tenant {args.tenant} is locked by {holder.describe()}. If that apply is "
        f"still running, it sends no further change once it notices, within about "
        f"{HEARTBEAT_SECONDS:g} s (until then changes it journaled before may still be sent); "
        "its open intents are settled by the next plan.",
        file=sys.stderr,
    )
    if not _confirmed(f"Release the lock on tenant {args.tenant}?", args.yes):
        print("Lock kept.")
        return EXIT_ERROR
    store.force_unlock(args.tenant)
    print(f"Released the lock on tenant {args.tenant}.")
    return EXIT_OK


def _confirmed(question: str, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        raise ReconcilerError(
            "refusing without confirmation: standard input is not a terminal",
            hint="pass --yes",
        )
    try:
        return input(f"{question} Only 'yes' is accepted: ").strip() == "yes"
    except EOFError:
        return False
