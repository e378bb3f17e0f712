"""When the database fails a statement for a reason of its own (a full disk, a read-only file, a damaged schema, a
lock held too long), clients get a retryable 503 in their API's form and the log one WARNING line, never an
InternalFailure with a traceback per request; the CLI prints one line. A probe of a full disk got 500s and 115
tracebacks for 80 writes, and CLI commands printed 190-line tracebacks.

The failures are real SQLite ones, brought about on the test's own connections: `PRAGMA query_only` (what a
read-only file does to writes), `PRAGMA max_page_count` (SQLITE_FULL, as a full disk), a renamed table."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from saml_factory import ACCOUNT, response_b64
from servers import SAMLFED, app_in_thread
from service_world import developer_world
from sqlalchemy import event

from samlfed.authz.keys import create_authz_key
from samlfed.config import Settings
from samlfed.context import ServiceContext
from samlfed.iam.accounts import create_access_key
from samlfed.server import build_server_app

BIG_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": f"S{n}", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::bucket-{n:04d}/*"} for n in range(80)
]})


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict]:
    ctx = developer_world(Settings(data_dir=tmp_path))
    admin = create_access_key(ctx, ACCOUNT)
    with app_in_thread(build_server_app(Settings(data_dir=tmp_path), ctx)) as url:
        iam = boto3.client(
            "iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id=admin.access_key_id, aws_secret_access_key=admin.secret_access_key,
            config=Config(retries={"total_max_attempts": 1}),  # one attempt: SDKs retry a 503
        )
        yield {"ctx": ctx, "url": url, "iam": iam, "data_dir": tmp_path}


def every_new_connection(ctx: ServiceContext, pragma: str) -> None:
    """Run `pragma` on each connection the store opens from now on."""
    def on_connect(connection, _record) -> None:  # type: ignore[no-untyped-def]
        connection.execute(pragma)

    event.listen(ctx.store.engine, "connect", on_connect)
    ctx.store.engine.dispose()


def page_count(data_dir: Path) -> int:
    """The database's pages, none of them free: a migration that rebuilds a table (0012) leaves free pages, which
    a write would fill before the file had to grow past max_page_count."""
    with sqlite3.connect(data_dir / "samlfed.db") as db:
        db.execute("VACUUM")
        assert db.execute("PRAGMA freelist_count").fetchone()[0] == 0
        return db.execute("PRAGMA page_count").fetchone()[0]


def error_of(call: Callable[[], object]) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    return error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"], error["Error"]["Message"]


UNAVAILABLE = (503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.")


@pytest.mark.parametrize(("condition", "reason"), [
    ("read-only", "attempt to write a readonly database"),
    ("full", "database or disk is full"),
])
def test_a_write_the_database_refuses_is_a_retryable_503(world: dict, condition: str, reason: str, caplog: pytest.LogCaptureFixture) -> None:
    iam = world["iam"]
    pragma = "PRAGMA query_only = ON" if condition == "read-only" else f"PRAGMA max_page_count = {page_count(world['data_dir'])}"
    every_new_connection(world["ctx"], pragma)
    with caplog.at_level(logging.WARNING):
        assert error_of(lambda: iam.put_role_policy(RoleName="Developer", PolicyName="big", PolicyDocument=BIG_POLICY)) == UNAVAILABLE
    assert iam.get_role(RoleName="Developer")["Role"]["RoleName"] == "Developer"  # reads go on
    warnings = [r for r in caplog.records if r.name == "samlfed.api"]
    assert [r.levelno for r in warnings] == [logging.WARNING] and reason in warnings[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], caplog.text
    assert BIG_POLICY[:40] not in caplog.text  # the driver's reason, not the statement or its parameters


def test_the_authorization_api_answers_503_in_its_own_form(world: dict, caplog: pytest.LogCaptureFixture) -> None:
    key = create_authz_key(world["ctx"], "gateway").key
    with sqlite3.connect(world["data_dir"] / "samlfed.db") as db:
        db.execute("ALTER TABLE authz_keys RENAME TO authz_keys_damaged")
    with caplog.at_level(logging.WARNING):
        answers = [httpx.post(f"{world['url']}/authz/v1/authorize", headers={"Authorization": f"Bearer {key}"}, json={}) for _ in range(3)]
    for answer in answers:
        assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
        assert answer.json() == {"error": {"code": "ServiceUnavailable", "message": UNAVAILABLE[2]}}
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], caplog.text
    # Gateways ask once per request of theirs: the outage is one line, as for the query API (found by the diff review)
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(said) == 1 and said[0].startswith("POST /authz/v1/authorize failed: the database is unavailable: no such table"), said


def test_a_console_page_answers_503(world: dict, caplog: pytest.LogCaptureFixture) -> None:
    with sqlite3.connect(world["data_dir"] / "samlfed.db") as db:
        db.execute("ALTER TABLE saml_providers RENAME TO saml_providers_damaged")
    with caplog.at_level(logging.WARNING):
        answer = httpx.post(f"{world['url']}/saml", data={"SAMLResponse": response_b64()})
    assert answer.status_code == 503 and "temporarily unavailable" in answer.text
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], caplog.text


def test_the_cli_says_what_the_database_refused_in_one_line(tmp_path: Path) -> None:
    developer_world(Settings(data_dir=tmp_path)).store.engine.dispose()
    with sqlite3.connect(tmp_path / "samlfed.db") as db:
        db.execute("ALTER TABLE accounts RENAME TO accounts_damaged")
    done = subprocess.run([SAMLFED, "accounts", "list", "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (2, "samlfed: the database refused the operation: no such table: accounts\n")


def test_an_outage_under_load_logs_a_line_for_the_first_failure_not_for_each(world: dict, caplog: pytest.LogCaptureFixture) -> None:
    """Found by a database-outage probe: each failed request logged its line, 1,400 in 22 s under load, each with
    the driver's whole text. The first is logged; later ones within the minute are counted into the next line."""
    iam = world["iam"]
    every_new_connection(world["ctx"], "PRAGMA query_only = ON")
    with caplog.at_level(logging.WARNING):
        for n in range(5):
            assert error_of(lambda n=n: iam.put_role_policy(RoleName="Developer", PolicyName=f"p{n}", PolicyDocument=BIG_POLICY)) == UNAVAILABLE
    said = [r.getMessage() for r in caplog.records if r.name == "samlfed.api"]
    assert len(said) == 1 and said[0].startswith("request ") and "attempt to write a readonly database" in said[0], said


def test_the_outage_log_counts_what_it_left_out_into_its_next_line(caplog: pytest.LogCaptureFixture) -> None:
    from samlfed.api.outage_log import OutageLog

    now = [0.0]
    outages = OutageLog(logging.getLogger("samlfed.api"), interval=60.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="samlfed.api"):
        outages.failed("request A", "connection refused")
        for second in range(1, 60):
            now[0] = second
            outages.failed(f"request {second}", "connection refused")
        now[0] = 60.0
        outages.failed("request B", "connection refused")
        now[0] = 500.0
        outages.failed("request C", "server closed the connection")
    assert [r.getMessage() for r in caplog.records] == [
        "request A failed: the database is unavailable: connection refused",
        "request B failed: the database is unavailable: connection refused (and 59 more in the minute after the previous such line)",
        "request C failed: the database is unavailable: server closed the connection",
    ]
