"""Nodes starting together on a fresh store (the documented multi-node setup, or several CLI calls at once):
every one starts, the schema is migrated once, and they share one key ring and one master key check."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from samlfed.store import schema as t

NODE = Path(__file__).with_name("startup_node.py")
NODES = 6


def key(seed: bytes) -> str:
    return base64.b64encode(seed * 32).decode()


def start_together(tmp_path: Path, target: dict[str, str], keys: list[str]) -> list[dict]:
    gates = tmp_path / "gates"
    gates.mkdir()
    spec = json.dumps({**target, "gate": str(gates), "count": len(keys)})
    nodes = [
        subprocess.Popen(
            [sys.executable, str(NODE), spec], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "SAMLFED_MASTER_KEY": master} if master else {k: v for k, v in os.environ.items() if k != "SAMLFED_MASTER_KEY"},
        )
        for master in keys
    ]
    results = []
    for node in nodes:
        out, err = node.communicate(timeout=120)
        assert node.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def count(url: str, table) -> int:  # type: ignore[no-untyped-def]
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(table)).scalar_one()
    finally:
        engine.dispose()


def assert_one_ring(results: list[dict], url: str) -> None:
    assert all("error" not in r for r in results), results
    assert len({(r["active"], r["digest"]) for r in results}) == 1, results  # one ring, and every node uses it
    assert count(url, t.server_keys) == 1


def test_sqlite_nodes_start_together(tmp_path: Path) -> None:
    data = tmp_path / "fresh"
    results = start_together(tmp_path, {"data_dir": str(data)}, [""] * NODES)  # master.key made on first start
    assert_one_ring(results, f"sqlite:///{data / 'samlfed.db'}")


def test_postgresql_nodes_start_together(tmp_path: Path, postgres_database: str) -> None:
    results = start_together(tmp_path, {"database_url": postgres_database}, [key(b"a")] * NODES)
    assert_one_ring(results, postgres_database)


def test_nodes_with_different_master_keys_never_both_start(tmp_path: Path, postgres_database: str) -> None:
    keys = [key(b"a"), key(b"b")] * (NODES // 2)
    results = start_together(tmp_path, {"database_url": postgres_database}, keys)
    started = {master for master, result in zip(keys, results, strict=True) if "error" not in result}
    assert len(started) == 1, results
    refused = [r for r in results if "error" in r]
    assert len(refused) == NODES // 2 and {r["error"] for r in refused} == {"MasterKeyMismatch"}


def _open_fresh_file(url: str, barrier, errors) -> None:  # type: ignore[no-untyped-def]
    from samlfed.store.sql import create_store_engine

    barrier.wait(timeout=30)
    engine = create_store_engine(url)
    try:
        with engine.connect() as connection:
            errors.put(connection.exec_driver_sql("PRAGMA journal_mode").scalar_one())
    except Exception as exc:  # noqa: BLE001 - the test reports it
        errors.put(f"{type(exc).__name__}: {exc}")
    finally:
        engine.dispose()


def test_processes_opening_a_fresh_sqlite_file_together_all_get_wal(tmp_path: Path) -> None:
    """Switching a fresh file to WAL needs it to oneself: SQLite refused some of several processes doing so together
    with "database is locked" at once, without its busy wait (in one round of six processes in 12 to 60 here), and
    such a worker or node did not start. The first connection's switch is now asked again."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    outcomes: list[str] = []
    for round_number in range(80):
        url = f"sqlite:///{tmp_path / f'fresh-{round_number}.db'}"
        barrier, answers = context.Barrier(6), context.Queue()
        processes = [context.Process(target=_open_fresh_file, args=(url, barrier, answers)) for _ in range(6)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=60)
        outcomes.extend(answers.get(timeout=5) for _ in processes)
    assert set(outcomes) == {"wal"}, sorted(set(outcomes))


def test_the_switch_to_wal_is_asked_again_while_the_file_is_locked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The refusal above, as SQLite gives it, made deterministic: asked again until it passes; other errors, and a
    lock that outlasts a statement's wait, still fail the connection."""
    import sqlite3

    from samlfed.store import sql

    class Answers:
        def __init__(self, *errors: str) -> None:
            self.errors, self.asked = list(errors), 0

        def execute(self, statement: str) -> None:
            assert statement == "PRAGMA journal_mode=WAL"
            self.asked += 1
            if self.errors:
                raise sqlite3.OperationalError(self.errors.pop(0))

    locked_twice = Answers("database is locked", "database is locked")
    sql._switch_to_wal(locked_twice)  # type: ignore[arg-type]
    assert locked_twice.asked == 3
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        sql._switch_to_wal(Answers("disk I/O error"))  # type: ignore[arg-type]
    monkeypatch.setattr(sql, "SQLITE_BUSY_TIMEOUT_MS", 0)
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        sql._switch_to_wal(Answers("database is locked", "database is locked"))  # type: ignore[arg-type]
