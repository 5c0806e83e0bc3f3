"""One root error and a small tree.

Every error says what happened, to which resource or file, and what to do next.
The CLI prints ``str(error)`` as one line (plus the hint) and exits 1; a
traceback appears only with ``--debug``.

    ReconcilerError
    ├── ConfigError            settings missing or malformed
    ├── SpecError              the YAML documents are wrong (carries Problems)
    ├── ConnectorError         the MCP connector said no or could not be reached
    │   ├── UnauthenticatedError   401/403: the API key is wrong
    │   ├── NotFoundError          404
    │   ├── ConflictError          409/412: exists already, or moved underneath us
    │   ├── ClientError            other 4xx: the request was wrong
    │   └── ServerError            5xx
    │       └── UnavailableError   unreachable, 429, 502-504: worth retrying
    │           └── CircuitOpenError   the service stopped calling a failing connector for now
    ├── StateError             the state database failed or holds something unexpected
    ├── PlanRefused            the plan holds changes that must not be applied as they are
    │   └── StalePlanError     a saved plan no longer matches state or the remote objects
    ├── ApplyError             one or more apply steps failed
    └── ActionError            an action (run, invoke, query, search) cannot be done as asked
        └── NotAppliedError        it names a resource the state does not hold yet
"""

from __future__ import annotations

from dataclasses import dataclass


class ReconcilerError(Exception):
    """Root of every error the reconciler raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(ReconcilerError):
    """A setting is missing or malformed."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the spec documents, located as precisely as we can."""

    file: str
    line: int
    col: int
    message: str
    path: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"


class SpecError(ReconcilerError):
    """The spec documents cannot be used; ``problems`` lists every finding."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(sorted(problems, key=lambda p: (p.file, p.line, p.col, p.message)))
        count = len(self.problems)
        super().__init__(
            f"{count} problem{'s' if count != 1 else ''} in the spec documents",
            hint="fix the lines listed above and run `reconciler validate` again",
        )

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class ConnectorError(ReconcilerError):
    """The MCP connector refused a call or could not be reached."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code
        self.request_id = request_id


class UnauthenticatedError(ConnectorError):
    """The connector rejected the API key (401/403)."""


class NotFoundError(ConnectorError):
    """The object does not exist (or belongs to another tenant)."""


class ConflictError(ConnectorError):
    """The object exists already, or changed since it was read."""


class ClientError(ConnectorError):
    """The connector rejected the request as malformed."""


class ServerError(ConnectorError):
    """The connector failed on its side."""


class UnavailableError(ServerError):
    """The connector is unreachable, overloaded or rate limiting: try again later."""

    retryable = True


class CircuitOpenError(UnavailableError):
    """The circuit breaker is open: no request was sent (``serve`` waits for the connector)."""

    retryable = False


class StateError(ReconcilerError):
    """The state database failed or holds something we cannot use."""


class PlanRefused(ReconcilerError):
    """The plan holds changes that cannot or must not be applied as they are."""


class ClaimError(PlanRefused):
    """A tenant claims a tenantId or catalog another tenant of the state database holds."""


class StalePlanError(PlanRefused):
    """A saved plan was made against a state serial or remote objects that have moved."""


class ApplyError(ReconcilerError):
    """One or more apply steps failed; the rest of the plan ran where it could."""


class ActionError(ReconcilerError):
    """An action (run, invoke, query, search) cannot be done as asked."""


class NotAppliedError(ActionError):
    """An action names a resource that was never applied (the state does not hold it)."""
