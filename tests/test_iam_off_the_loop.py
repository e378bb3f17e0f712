"""An IAM write waiting on the database (another process holds SQLite's write lock: a CLI command, a backup) must not
hold the worker's other requests: health probes and STS calls on the same server are answered meanwhile, and the
write completes once the lock goes. Before, the IAM handlers ran on the event loop and the worker stalled for the
whole busy wait (5 s, again at each SDK retry).

A real server (uvicorn in a thread, one event loop) over a real SQLite data dir; the lock is taken by a separate
sqlite3 connection with BEGIN IMMEDIATE. The busy wait is made longer than any wait below, so that the write is
still waiting when the other answers come, however slow the machine: it ends when the test releases the lock."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import httpx
import pytest
from botocore.config import Config
from saml_factory import ACCOUNT, DEV_ROLE, PROVIDER_ARN, response_b64
from servers import app_in_thread
from service_world import TRUST, developer_world
from sqlalchemy import event

from samlfed.config import Settings
from samlfed.iam.accounts import create_access_key
from samlfed.server import build_server_app
from samlfed.store import locking, sql

WAIT = 60
"""The SQLite busy wait here, and a bound on every wait below, in seconds; none is expected to be reached."""


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    monkeypatch.setattr(sql, "SQLITE_BUSY_TIMEOUT_MS", WAIT * 1000)  # on each new connection
    monkeypatch.setattr(locking, "SQLITE_BUSY_TIMEOUT_MS", WAIT * 1000)  # restored after a shorter wait
    ctx = developer_world(Settings(data_dir=tmp_path))
    ctx.key_ring()  # made now: the first sign-in would make it, waiting for the lock on the event loop
    ctx.store.engine.dispose()  # the connections opened so far had the usual wait
    admin = create_access_key(ctx, ACCOUNT)
    with app_in_thread(build_server_app(Settings(data_dir=tmp_path), ctx)) as url:
        keys = {"aws_access_key_id": admin.access_key_id, "aws_secret_access_key": admin.secret_access_key}
        options = {"endpoint_url": url, "region_name": "us-east-1", "config": Config(retries={"total_max_attempts": 1}, read_timeout=WAIT)}
        yield {"ctx": ctx, "url": url, "iam": boto3.client("iam", **options, **keys), "sts": boto3.client("sts", **options, **keys)}


def _writing(ctx, started: threading.Event) -> None:  # type: ignore[no-untyped-def]
    """Set `started` when the store is about to write (the statement that waits for the lock)."""
    def seen(_connection, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "BEGIN IMMEDIATE")):
            started.set()

    event.listen(ctx.store.engine, "before_cursor_execute", seen)


def test_health_and_sts_are_answered_while_an_iam_write_waits_for_the_lock(server: dict, tmp_path: Path) -> None:
    writing = threading.Event()
    outcome: list[object] = []

    def create_role() -> None:
        try:
            outcome.append(server["iam"].create_role(RoleName="Waiting", AssumeRolePolicyDocument=TRUST)["Role"]["RoleName"])
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            outcome.append(exc)

    holder = sqlite3.connect(tmp_path / "samlfed.db", isolation_level=None, check_same_thread=False)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process's write: a CLI command, a backup
        _writing(server["ctx"], writing)
        write = threading.Thread(target=create_role, daemon=True)
        write.start()
        assert writing.wait(WAIT)

        assert httpx.get(f"{server['url']}/healthz", timeout=WAIT).text == "ok"
        assert server["sts"].get_caller_identity()["Account"] == ACCOUNT
        assumed = server["sts"].assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=response_b64(issue_instant=datetime.now(UTC) - timedelta(seconds=10)))
        assert assumed["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/Developer/")
        assert write.is_alive() and not outcome  # the write still waits for the lock
    finally:
        holder.rollback()
        holder.close()
    write.join(WAIT)
    assert outcome == ["Waiting"]
    assert server["iam"].get_role(RoleName="Waiting")["Role"]["RoleName"] == "Waiting"
