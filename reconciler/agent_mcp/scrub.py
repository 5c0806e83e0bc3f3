"""The last line of defence: secret values cut out of everything the server sends.

Specs and plans already carry masks instead of secrets; this scrub catches a
value that slipped through anyway (a connector echoing what it was sent, an
error quoting a field). It learns the clear values of every tenant the server
loads and replaces them, also in their JSON-escaped form, by "(sensitive)".
"""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import BaseModel

from reconciler.load import TenantDesired
from reconciler.secrets import redact, secret_values

ModelT = TypeVar("ModelT", bound=BaseModel)


class Scrubber:
    def __init__(self) -> None:
        self.values: set[str] = set()

    def learn(self, desired: TenantDesired) -> None:
        for resource in desired.resources.values():
            self.values.update(secret_values(resource.spec, resource.cleartext))

    def _forms(self) -> set[str]:
        escaped = {json.dumps(v)[1:-1] for v in self.values}
        return {v for v in self.values | escaped if v}

    def text(self, text: str) -> str:
        return redact(text, self._forms()) if self.values else text

    def model(self, result: ModelT) -> ModelT:
        raw = result.model_dump_json()
        clean = self.text(raw)
        return result if clean == raw else type(result).model_validate_json(clean)
