"""Shared fixtures: the store under test (SQLite, and PostgreSQL started once per session)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.postgres import TempPostgres
from tests.fixtures.browser import browser
from tests.fixtures.pytest_postgres import pg_server
from tests.fixtures.synapse import synapse_server

__all__ = ["browser", "pg_server", "synapse_server"]
# Every log record of the session is checked for secrets (tokens, passwords): a leak fails it.
pytest_plugins = ["tests.fixtures.secret_scan"]

_db_numbers = itertools.count(1)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for one test, on each engine the bot supports."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'maillage.db'}"
        return
    server: TempPostgres = request.getfixturevalue("pg_server")
    yield server.create_database(f"t{next(_db_numbers)}")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'maillage.db'}"
