"""``reconciler import remote``: bring a tenant's existing objects under the documents.

    reconciler import remote --tenant NAME --out DIR [--kind K] [--tenant-id ID] [--catalog C]
    reconciler import bundle PATH [--bundle-target T] --tenant NAME --out DIR

writes one document per unmanaged remote object of every kind (what ``drift``
lists as unmanaged; see :mod:`reconciler.import_remote`), each marked
``adopt: true``, plus the tenant's ``tenant.yaml`` and each notebook's body;
``apply DIR`` then adopts them and the plan after is empty. Nothing is written
when DIR already holds one of the files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reconciler.commands.common import EXIT_OK
from reconciler.errors import ReconcilerError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("import", help="write documents for work that exists already")
    what = parser.add_subparsers(dest="source", required=True, metavar="SOURCE")
    remote = what.add_parser("remote", help="a tenant's unmanaged remote objects, for adoption")
    remote.add_argument("--tenant", required=True, help="the tenant's name (metadata.name)")
    remote.add_argument("--tenant-id", help="its AgentProvision tenant id (default: the name)")
    remote.add_argument("--catalog", help="its catalog (default: agentprovision_<tenant id>)")
    remote.add_argument("--out", type=Path, required=True, help="folder to write documents to")
    remote.add_argument(
        "--kind", action="append", default=[], help="only objects of this kind (repeatable)"
    )

    bundle = what.add_parser("bundle", help="a Databricks Asset Bundle's jobs and notebooks")
    bundle.add_argument("path", type=Path, help="the bundle folder (holding databricks.yml)")
    bundle.add_argument("--bundle-target", help="the bundle target to read (default: its default)")
    bundle.add_argument("--tenant", required=True, help="the tenant's name (metadata.name)")
    bundle.add_argument("--out", type=Path, required=True, help="folder to write documents to")


def run(args: argparse.Namespace) -> int:
    import asyncio  # lazy: keeps `--help` light

    if args.source == "bundle":
        return _bundle(args)
    return asyncio.run(_remote(args))


def _bundle(args: argparse.Namespace) -> int:
    from reconciler import import_bundle

    bundle = import_bundle.read_bundle(args.path, target=args.bundle_target, tenant=args.tenant)
    for path in import_bundle.write(args.out, bundle):
        print(f"wrote {path}")
    for line in bundle.report:
        print(f"skipped {line}", file=sys.stderr)
    print(f"run `reconciler apply {args.out}` to create the jobs", file=sys.stderr)
    return EXIT_OK


async def _remote(args: argparse.Namespace) -> int:
    from reconciler import import_remote
    from reconciler.commands.common import connected
    from reconciler.commands.plan import parse_address
    from reconciler.document import NAME_RULE, is_name
    from reconciler.kinds.base import TenantContext
    from reconciler.kinds.tenant import default_catalog
    from reconciler.reconcile import observe_tenant

    if not is_name(args.tenant):
        raise ReconcilerError(
            f"--tenant {args.tenant!r} is not a valid metadata.name", hint=NAME_RULE
        )
    kinds = {parse_address(f"{k}/x")[0] for k in args.kind}
    tenant_id = args.tenant_id or args.tenant
    context = TenantContext(args.tenant, tenant_id, args.catalog or default_catalog(tenant_id))
    secrets = import_remote.tenant_secrets(context.name)  # registered before any call's error
    async with connected() as (store, client):
        observed = await observe_tenant(client, context)
        recorded = list(store.read_tenant(context.name).resources.values())
        unrecorded = import_remote.unmanaged(observed, recorded)
        owners = store.owners(context.name, {(o.kind, o.identity) for o in unrecorded})
        objects = [o for o in unrecorded if (o.kind, o.identity) not in owners]
        wanted = [o for o in objects if not kinds or o.kind in kinds]
        sources = await import_remote.notebook_sources(client, context, wanted)
    endpoints = frozenset(o.identity for o in observed if o.kind == "ServingEndpoint")
    remote = import_remote.Remote(context, objects, endpoints, sources, secrets)
    imported = import_remote.documents(remote, kinds or None)
    imported.skipped[:0] = [
        f"{kind} {identity!r}: recorded by tenant `{owner}` of this state database; "
        "a tenant never imports another tenant's objects"
        for (kind, identity), owner in sorted(owners.items())
        if not kinds or kind in kinds
    ]
    try:
        written = import_remote.write(args.out, imported)
    except FileExistsError as exc:
        raise ReconcilerError(
            f"{exc} already exist(s); nothing was written", hint="choose an empty --out folder"
        ) from None
    except ValueError as exc:
        raise ReconcilerError(f"{exc}; nothing was written") from None
    for path in written:
        print(f"wrote {path}")
    for reason in imported.skipped:
        print(f"skipped {reason}", file=sys.stderr)
    print(
        f"{len(imported.documents) - 1} object(s) to adopt, {len(imported.skipped)} skipped; "
        f"run `reconciler apply {args.out}` to adopt them",
        file=sys.stderr,
    )
    return EXIT_OK
