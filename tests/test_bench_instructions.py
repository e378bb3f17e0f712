"""bench/instructions.py counts the instructions of sign-ins served as a busy server serves them."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from sql_statements import statements

from samlfed.config import Settings
from samlfed.server import BoundedHeadProtocol, build_server_app

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
instructions = pytest.importorskip("instructions")


def test_counted_sign_ins_read_nothing_from_the_store_however_long_they_take(tmp_path: Path) -> None:
    """Found: under callgrind a sign-in takes ~50 ms of wall time, so the provider and role copies (kept 1 s) ran
    out every ~20 counted requests and the store's reads fell into the count: 30, 56 and 133 SQL statements in
    three counts of the same 100 requests, a count that moved by several percent with the machine's speed. The
    counted world keeps what the warm-up read for as long as the count takes."""
    settings = Settings(data_dir=tmp_path)
    ctx = instructions.counted_world(settings)
    run = instructions.over_uvicorn(build_server_app(settings, ctx), instructions.form_body(), BoundedHeadProtocol)
    run(2)  # the warm-up: reads the rows and the ring, records the role's use
    time.sleep(1.2)  # longer than identity_cache_seconds
    with statements(ctx.store) as seen:
        run(3)
    assert seen == []
