"""Nodes starting together on a fresh store (the documented multi-node setup, or several CLI calls at once):
every one starts, the schema is migrated once, and they share one key ring and one master key check."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

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
