"""Pytest plugin: an emulator running over real HTTP, and a client for it.

``emulator`` starts a fresh emulator per test (Bearer key ``test-key``, ready
delay 0.2 s); ``emulator_client`` is an ``httpx.Client`` whose base URL is the
connector API (``<url>/agentprovision/v1``) and which sends the key.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from reconciler.emulator.server import RunningEmulator, running_emulator


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator(api_key="test-key", ready_delay=0.2) as running:
        yield running


@pytest.fixture
def emulator_client(emulator: RunningEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=emulator.url + "/agentprovision/v1",
        headers={"Authorization": "Bearer test-key"},
        timeout=10.0,
    ) as client:
        yield client
