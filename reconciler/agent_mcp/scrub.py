"""The last line of defence: secret values cut out of everything the server sends.

Specs and plans already carry masks instead of secrets; this scrub catches a
value that slipped through anyway (a connector echoing what it was sent, an
error quoting a field). It registers the clear values of every tenant the
server loads with :mod:`reconciler.scrub` (which also knows every secret read
in this process) and replaces them, in all their escaped forms, by
"(sensitive)".
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from reconciler import scrub
from reconciler.load import TenantDesired
from reconciler.secrets import secret_values

ModelT = TypeVar("ModelT", bound=BaseModel)


class Scrubber:
    def learn(self, desired: TenantDesired) -> None:
        for resource in desired.resources.values():
            scrub.register(*secret_values(resource.spec, resource.cleartext))

    @property
    def values(self) -> frozenset[str]:
        return scrub.registered()

    def text(self, text: str) -> str:
        return scrub.scrub(text)

    def model(self, result: ModelT) -> ModelT:
        raw = result.model_dump_json()
        clean = self.text(raw)
        return result if clean == raw else type(result).model_validate_json(clean)
