"""What people do with their resources: run, follow, invoke, query, search.

One library behind every face (the CLI commands ``run``, ``runs``,
``invoke``, ``query`` and ``search``, the service's action routes, the status
page and the MCP tools). Each action takes a connector client and a
:class:`Target` (a resource named as the documents name it, found in the
state by :func:`find_target`) and answers a frozen value with a
``to_dict()`` for JSON. Errors are :class:`~reconciler.errors.ActionError`
(:class:`~reconciler.errors.NotAppliedError` for a resource never applied)
or the connector's own errors, each one line.
"""

from reconciler.actions.data import (
    QueryResult,
    SearchResult,
    Table,
    check_read_only,
    dataset_info,
    index_info,
    parse_vector,
    query,
    search,
)
from reconciler.actions.runs import (
    RunStatus,
    TaskStatus,
    cancel_run,
    follow_run,
    get_run,
    list_runs,
    new_idempotency_key,
    parse_params,
    start_job,
    start_notebook,
)
from reconciler.actions.serving import (
    EndpointStatus,
    Invocation,
    endpoint_status,
    invoke,
    wait_ready,
)
from reconciler.actions.targets import (
    Target,
    choose_tenant,
    find_target,
    recorded_context,
    targets_of,
    tenant_context,
)

__all__ = [
    "EndpointStatus",
    "Invocation",
    "QueryResult",
    "RunStatus",
    "SearchResult",
    "Table",
    "Target",
    "TaskStatus",
    "cancel_run",
    "check_read_only",
    "choose_tenant",
    "dataset_info",
    "endpoint_status",
    "find_target",
    "follow_run",
    "get_run",
    "index_info",
    "invoke",
    "list_runs",
    "new_idempotency_key",
    "parse_params",
    "parse_vector",
    "query",
    "recorded_context",
    "search",
    "start_job",
    "start_notebook",
    "targets_of",
    "tenant_context",
    "wait_ready",
]
