"""Shared fixtures: each lives in a plugin module under tests/support/."""

pytest_plugins = [
    "tests.support.postgres_fixtures",
    "tests.support.emulator_fixtures",
    "tests.support.secret_fixtures",
]
