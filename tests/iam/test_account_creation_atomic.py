"""An account and its first administrator key are made in one transaction: a failure between the two must leave
neither, so that the same `accounts create --id` can simply be run again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from samlfed.config import Settings
from samlfed.errors import ServiceError
from samlfed.iam.accounts import create_account
from samlfed.server import build_context
from samlfed.store import NotFound

ACCOUNT = "222222222222"


def _refuse_keys_of(database: Path, account_id: str) -> None:
    """The database refuses the key's insert, as a full disk or a lost connection would midway."""
    with sqlite3.connect(database) as db:
        db.execute(
            f"CREATE TRIGGER refuse_key BEFORE INSERT ON access_keys WHEN NEW.account_id = '{account_id}' "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )


def test_a_key_that_cannot_be_stored_leaves_no_account_behind(tmp_path: Path) -> None:
    ctx = build_context(Settings(data_dir=tmp_path))
    create_account(ctx, "111111111111")
    _refuse_keys_of(tmp_path / "samlfed.db", ACCOUNT)

    with pytest.raises(ServiceError):
        create_account(ctx, ACCOUNT)
    with pytest.raises(NotFound):
        ctx.store.get_account(ACCOUNT)

    with sqlite3.connect(tmp_path / "samlfed.db") as db:
        db.execute("DROP TRIGGER refuse_key")
    made = create_account(ctx, ACCOUNT)  # the retry is not refused as "already exists"
    assert [key.access_key_id for key in ctx.store.list_access_keys(ACCOUNT)] == [made.access_key_id]
