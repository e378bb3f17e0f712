"""Console sessions as stored: a row whose sealed state this release cannot read is no session, and says so."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from samlfed.console import sessions
from samlfed.context import ServiceContext
from samlfed.masterkey import MasterKey
from samlfed.store import SqlStore


def test_a_console_session_stored_by_another_release_ends_with_a_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Stored state with a field this release does not know (ConsoleState lost `region` in an upgrade): the user signs
    in again, and the log says why sessions ended, once."""
    store = SqlStore.open(f"sqlite:///{tmp_path / 'samlfed.db'}")
    now = datetime.now(UTC)
    try:
        ctx = ServiceContext(store=store, master=MasterKey(b"m" * 32))
        state = sessions.ConsoleState.new(access_key_id="ASIAEXAMPLE", session_token="t", expires_at=int(now.timestamp()) + 600, name_id=None)
        cookie = sessions.create_session(ctx, state)
        assert sessions.load_session(ctx, cookie) == state
        older = json.dumps({**asdict(state), "region": "us-east-1"}).encode()
        sealed = ctx.master.seal(older, context="samlfed console session")
        store.put_console_session(sessions._hash(cookie), sealed, expires_at=now + timedelta(minutes=10), now=now)
        with caplog.at_level("INFO", logger="samlfed.console"):
            assert [sessions.load_session(ctx, cookie) for _ in range(3)] == [None] * 3
        said = [r.getMessage() for r in caplog.records if r.name == "samlfed.console"]
        assert said == ["A console session could not be read (TypeError); its user must sign in again"]  # once, not per request
    finally:
        store.engine.dispose()
