"""Operating several nodes: the key ring through a database outage, forwarded addresses with a port, empty or
IPv6 settings, and maintenance commands on a PostgreSQL database that holds no samlfed data."""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from postgres_scratch import POSTGRES_URL, scratch_database
from ring_spy import count_ring_reads
from servers import SAMLFED, free_port, wait_until_up
from sqlalchemy import create_engine, inspect, make_url, text
from uvicorn.middleware.proxy_headers import _parse_host_port

from samlfed.config import Settings, SettingsError
from samlfed.context import ServiceContext
from samlfed.forwarding import forwarded_host
from samlfed.masterkey import MasterKey
from samlfed.store import SqlStore
from samlfed.sts.credentials import InvalidSessionToken, KeyRing, SessionClaims, issue

CLAIMS = SessionClaims(account_id="111111111111", role_arn="arn:aws:iam::111111111111:role/R", role_id="AROAEXAMPLE", session_name="s", issued_at=1, expires_at=2)


def database_url(name: str) -> str:
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


@contextmanager
def database_away(name: str) -> Iterator[None]:
    """The database cannot be reached under its name (renamed, its connections ended) until the block ends."""
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as db:
            db.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"), {"name": name})
            db.execute(text(f'ALTER DATABASE "{name}" RENAME TO "{name}_away"'))
        try:
            yield
        finally:
            with admin.connect() as db:
                db.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"), {"name": f"{name}_away"})
                db.execute(text(f'ALTER DATABASE "{name}_away" RENAME TO "{name}"'))
    finally:
        admin.dispose()


def test_sessions_keep_verifying_while_the_database_is_away(caplog: pytest.LogCaptureFixture) -> None:
    with scratch_database("samlfed_ring") as name:
        store = SqlStore.open(database_url(name))
        node = ServiceContext(store=store, master=MasterKey(secrets.token_bytes(32)), ring_refresh_seconds=60, ring_reread_seconds=1)
        try:
            credentials = issue(node.key_ring(), CLAIMS)
            reads = count_ring_reads(store)

            def verifies() -> bool:
                return node.open_session(credentials.access_key_id, credentials.session_token).claims == CLAIMS

            caplog.set_level(logging.INFO, logger="samlfed.context")
            with database_away(name):
                node._ring_loaded -= 61  # a minute passes: the periodic re-read is due
                assert all(verifies() for _ in range(5))
                node.settle_ring_refresh()
                assert all(verifies() for _ in range(5))
                assert reads[0] == 1  # one failed re-read, not one per request
                node._ring_loaded -= 1  # a second later it is tried again, and fails again
                assert verifies()
                node.settle_ring_refresh()
                assert reads[0] == 2
                foreign = issue(KeyRing.generate(), CLAIMS)  # a key this node lacks: the forced re-read fails cleanly
                with pytest.raises(InvalidSessionToken):
                    node.open_session(foreign.access_key_id, foreign.session_token)
                assert reads[0] == 3
            node._ring_loaded -= 61
            assert verifies()
            node.settle_ring_refresh()
            assert reads[0] == 4
            messages = [record.getMessage() for record in caplog.records]
            assert len(messages) == 2 and messages[1] == "the session key ring is read again"
            assert messages[0].startswith("cannot re-read the session key ring, still using the one read before: connection failed")
        finally:
            store.engine.dispose()


@pytest.mark.parametrize("entry", ["203.0.113.7", " 203.0.113.7:5555", "[2001:db8::7]:443", "[2001:db8::7]", "2001:db8::7", "host:port", "[bad", "a:b:c"])
def test_forwarded_entries_are_read_as_uvicorn_reads_them(entry: str) -> None:
    assert forwarded_host(entry) == _parse_host_port(entry.strip())[0]


def test_a_trusted_proxy_forwarding_address_and_port_is_not_reported(tmp_path: Path) -> None:
    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen([SAMLFED, "serve", "--port", str(port), "--data-dir", str(tmp_path / "data"), "--forwarded-allow-ips", "127.0.0.1"],
                                   stdout=subprocess.DEVNULL, stderr=log)
        url = f"http://127.0.0.1:{port}"
        try:
            assert wait_until_up(f"{url}/healthz", seconds=30, gave_up=lambda: process.poll() is not None)
            for client in ("203.0.113.7:5555", "[2001:db8::7]:443"):
                answer = httpx.post(url, data={"Action": "GetCallerIdentity", "Version": "2011-06-15"}, headers={"X-Forwarded-For": client})
                assert answer.status_code == 403
        finally:
            process.terminate()
            process.wait(timeout=15)
    assert "X-Forwarded-For" not in log_path.read_text()


def test_an_empty_database_url_is_a_settings_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SAMLFED_DATABASE_URL", "SAMLFED_DATA_DIR", "SAMLFED_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SettingsError, match="--database-url: database_url must be a PostgreSQL or SQLite database URL"):
        Settings.from_env(database_url="", data_dir=tmp_path)
    config = tmp_path / "samlfed.toml"
    config.write_text('database_url = ""\n')
    with pytest.raises(SettingsError, match="samlfed.toml: database_url must be a PostgreSQL or SQLite database URL"):
        Settings.from_env(config=config)
    monkeypatch.setenv("SAMLFED_DATABASE_URL", "")
    with pytest.raises(SettingsError, match="SAMLFED_DATABASE_URL: database_url must be a PostgreSQL or SQLite database URL"):
        Settings.from_env(data_dir=tmp_path)
    monkeypatch.delenv("SAMLFED_DATABASE_URL")
    for command in (["accounts", "list", "--database-url", ""], ["serve", "--config", str(config), "--port", str(free_port())]):
        done = subprocess.run([SAMLFED, *command], capture_output=True, text=True, timeout=60, env={**os.environ, "SAMLFED_DATA_DIR": str(tmp_path)})
        assert done.returncode == 2 and "database_url must be a PostgreSQL or SQLite database URL" in done.stderr and "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize("url", ["mysql://app:s3cret@db/samlfed", "postgres://app:s3cret@db/samlfed", "oracle+cx://app:s3cret@db"])
def test_a_database_samlfed_does_not_run_on_is_named_without_its_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Found by a CLI probe: mysql:// failed with "No module named 'MySQLdb'", postgres:// with "Can't load plugin"."""
    monkeypatch.setenv("SAMLFED_DATABASE_URL", url)
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(data_dir=tmp_path)
    assert "SAMLFED_DATABASE_URL: database_url must be a PostgreSQL or SQLite database URL" in str(raised.value)
    assert "s3cret" not in str(raised.value) and ":***@db" in str(raised.value)


def test_an_ipv6_host_is_bracketed_in_the_derived_public_url() -> None:
    assert Settings(host="::1", data_dir=Path("data")).base_url == "http://[::1]:8080"
    assert Settings(host="127.0.0.1", data_dir=Path("data")).base_url == "http://127.0.0.1:8080"


def samlfed(*arguments: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SAMLFED_MASTER_KEY": MASTER_KEY}
    return subprocess.run([SAMLFED, *arguments], capture_output=True, text=True, timeout=60, env=env)


MASTER_KEY = "a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleS0="


def test_commands_refuse_a_postgresql_database_without_samlfed_data() -> None:
    with scratch_database("samlfed_empty") as name:
        url = database_url(name)
        for command in (["accounts", "list"], ["keys", "rotate"], ["keys", "list"], ["authz-keys", "list"]):
            done = samlfed(*command, "--database-url", url)
            assert done.returncode == 2 and "no samlfed data in the database" in done.stderr, (command, done.stderr)
        engine = create_engine(url)
        try:
            with engine.connect() as db:
                assert inspect(db).get_table_names() == []
        finally:
            engine.dispose()
        assert samlfed("accounts", "create", "--id", "111111111111", "--database-url", url).returncode == 0
        assert samlfed("accounts", "list", "--database-url", url).stdout.split() == ["111111111111"]


def test_rotating_a_store_without_a_ring_starts_it_with_one_key(tmp_path: Path) -> None:
    store = SqlStore.open(f"sqlite:///{tmp_path / 'samlfed.db'}")
    try:
        node = ServiceContext(store=store, master=MasterKey(secrets.token_bytes(32)))
        ring = node.rotate_key_ring()
        assert [key.key_id for key in store.list_server_keys()] == [ring.active]
        rotated = node.rotate_key_ring()
        assert [key.key_id for key in store.list_server_keys()] == [ring.active, rotated.active]
    finally:
        store.engine.dispose()


def test_a_password_in_the_query_of_a_database_url_is_never_shown() -> None:
    """libpq takes `?password=` as well as `user:password@`; SQLAlchemy hides only the latter (found by probing:
    the password went to stderr, and so to the journal)."""
    with scratch_database("samlfed_query_password") as name:
        secret_url = make_url(database_url(name)).update_query_dict({"password": "s3cret-in-query", "sslpassword": "s3cret-ssl"})
        empty = samlfed("keys", "list", "--database-url", secret_url.render_as_string(hide_password=False))
        assert empty.returncode == 2 and "no samlfed data in the database" in empty.stderr and "password=***" in empty.stderr
        missing = samlfed("keys", "list", "--database-url", secret_url.set(database=f"{name}_missing").render_as_string(hide_password=False))
        assert missing.returncode == 2 and "cannot open the database" in missing.stderr and "sslpassword=***" in missing.stderr
        assert "s3cret" not in empty.stderr + missing.stderr


@pytest.mark.parametrize("password", ["first@s3cret-rest", "first@s3cret:rest"])
def test_a_password_with_an_at_sign_not_percent_encoded_is_never_shown(password: str) -> None:
    """An '@' or ':' the operator forgot to write %40 / %3A: the password's rest was parsed as the host (or port),
    and `serve` (so the journal) and the other commands printed it, both in the URL and in libpq's or SQLAlchemy's
    own reason (`failed to resolve host 's3cret-rest@127.0.0.1'`, `invalid literal for int() … 's3cret:rest@…'`)."""
    url = f"postgresql+psycopg://samlfed:{password}@127.0.0.1:{free_port()}/samlfed"
    for command in (["keys", "list"], ["serve", "--port", str(free_port())]):
        done = samlfed(*command, "--database-url", url)
        assert done.returncode == 2 and "cannot open the database" in done.stderr, done.stderr
        assert "s3cret" not in done.stdout + done.stderr and "%40" in done.stderr
