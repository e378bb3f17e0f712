"""Store start-up tests run on SQLite in a temporary directory and on a fresh PostgreSQL database of their own
(start-up locks are per database, so a schema in a shared database would not show what a new deployment sees).

PostgreSQL is at 127.0.0.1:5432 (override with SAMLFED_TEST_POSTGRES_URL); never skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_scratch import POSTGRES_URL, scratch_database
from sqlalchemy import make_url


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """The URL of a new, empty database, dropped afterwards."""
    with scratch_database("samlfed_store") as name:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'samlfed.db'}"
    return request.getfixturevalue("postgres_database")
