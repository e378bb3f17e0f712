"""The SQLite file removed, replaced, emptied or overwritten under a running samlfed: SQLite's open connections would
go on with a file that is gone (every change since lost at the next start) or fail some reads with a traceback. Each
is the database being unavailable: a 503 to the request, a failed readiness probe, never a write to a lost file."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from iam.iam_http import error_of, iam_client, serving

from samlfed.store import Account, DatabaseUnavailable, SqlStore, StoreUnavailable


def account(n: int) -> Account:
    return Account(f"{n:012d}", None, datetime.now(UTC))


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _replace(path: Path) -> None:
    other = SqlStore.open(f"sqlite:///{path}.new")
    other.engine.dispose()
    os.replace(f"{path}.new", path)


def _empty(path: Path) -> None:
    os.truncate(path, 0)


@pytest.mark.parametrize(
    ("change", "said"),
    [(_remove, "was removed while samlfed ran"), (_replace, "was replaced while samlfed ran"), (_empty, "was emptied while samlfed ran")],
    ids=["removed", "replaced", "emptied"],
)
def test_a_file_changed_behind_the_store_is_unavailable(tmp_path: Path, change: Callable[[Path], None], said: str) -> None:
    path = tmp_path / "samlfed.db"
    store = SqlStore.open(f"sqlite:///{path}")
    store.create_account(account(1))
    store.ping()
    change(path)
    with pytest.raises(DatabaseUnavailable, match=said):
        store.create_account(account(2))
    with pytest.raises(StoreUnavailable, match=said):
        store.ping()
    store.engine.dispose()


def test_a_file_overwritten_in_place_is_unavailable_not_an_error(tmp_path: Path) -> None:
    """Same file, garbage inside: SQLite's 'file is not a database' (a DatabaseError, not an OperationalError)."""
    path = tmp_path / "samlfed.db"
    store = SqlStore.open(f"sqlite:///{path}")
    store.create_account(account(1))
    store.engine.dispose()
    size = path.stat().st_size
    with open(path, "r+b") as file:
        file.write(b"\x00not sqlite\x00" * (size // 12))
    with pytest.raises(DatabaseUnavailable, match="not a database"):
        store.create_account(account(2))


def test_over_http_a_removed_database_is_a_503_and_not_ready(tmp_path_factory: pytest.TempPathFactory) -> None:
    with serving(tmp_path_factory, "removed-db") as (ctx, url, admin):
        client = iam_client(url, admin.access_key_id, admin.secret_access_key)  # one attempt: the 503 is seen
        assert client.list_roles()["Roles"]
        assert httpx.get(f"{url}/readyz").status_code == 200
        _remove(Path(ctx.store.engine.url.database))
        assert error_of(lambda: client.create_role(RoleName="Lost", AssumeRolePolicyDocument="{}"))[:2] == (503, "ServiceUnavailable")
        assert httpx.get(f"{url}/readyz").status_code == 503
