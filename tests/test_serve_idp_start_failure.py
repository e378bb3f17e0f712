"""`samlfed serve --with-idp` whose IdP directory or keys cannot be used stops at start with one line and exit 2,
as it does for its database, before any worker starts.

Before, each worker set the IdP up for itself and died with a traceback: with one worker `serve` ended with the
traceback (exit 1); with `--workers N` the supervisor started workers that died the same way, for ever, while
`serve` held the port and answered no one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from servers import SAMLFED, free_port, kill_server_and_workers, worker_pids


def _broken_idp_dir(tmp_path: Path) -> tuple[list[str], str]:
    (tmp_path / "not-a-directory").write_text("")
    return ["--idp-dir", str(tmp_path / "not-a-directory")], f"cannot use the IdP directory {tmp_path / 'not-a-directory'}: "


def _damaged_key_list(tmp_path: Path) -> tuple[list[str], str]:
    keys = tmp_path / "data" / "idp" / "keys"
    keys.mkdir(parents=True)
    (keys / "keys.json").write_text("garbage")
    return [], f"The IdP's key list {keys / 'keys.json'} is damaged"


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("broken", [_broken_idp_dir, _damaged_key_list])
def test_an_unusable_idp_stops_serve_at_start_with_one_line(tmp_path: Path, workers: str, broken) -> None:  # type: ignore[no-untyped-def]
    options, said = broken(tmp_path)
    server = subprocess.Popen(
        [SAMLFED, "serve", "--port", str(free_port()), "--data-dir", str(tmp_path / "data"), "--with-idp", "--workers", workers, *options],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        _, stderr = server.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        kill_server_and_workers(server, worker_pids(server.pid, count=0, seconds=0))
        raise AssertionError(f"serve did not stop: {server.communicate()[1].decode()[-2000:]}") from None
    text = stderr.decode()
    assert server.returncode == 2, text[-2000:]
    assert "Traceback" not in text and "Process SpawnProcess" not in text, text[-2000:]
    assert text.startswith(f"samlfed: {said}") and text.count("\n") == 1, text[-2000:]
