"""Every storage backend runs the same conformance suite: SQLite in a temporary directory and a real PostgreSQL.

PostgreSQL is at 127.0.0.1:5432 on every developer and CI machine (override with SAMLFED_TEST_POSTGRES_URL);
each run gets a fresh schema of its own, dropped afterwards. It is never skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from postgres_scratch import fresh_store

from samlfed.store import SqlStore


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[SqlStore]:
    with fresh_store(request.param, tmp_path) as store:
        yield store
