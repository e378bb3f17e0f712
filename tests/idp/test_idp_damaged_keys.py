"""A damaged key list (keys.json edited by hand, key files restored in part) is a clear error, never a traceback:
`samlfed idp ...` says which file and exits 2, and the serving IdP answers a retryable 503 until it is repaired."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import httpx
import pytest
from servers import SAMLFED

from samlfed.forwarding import ForwardingWatch
from samlfed.idp.service import IdentityProvider
from samlfed.idp.web import IdpApp


def _damage(keys: Path, how: str) -> None:
    listed = json.loads((keys / "keys.json").read_text())
    if how == "json":
        (keys / "keys.json").write_text('{"keys": [')
    elif how == "missing key file":
        (keys / f"{listed['keys'][-1]['kid']}.key.pem").unlink()
    else:
        (keys / "keys.json").write_text(json.dumps({"keys": [{"kid": "k"}]}))


@pytest.mark.parametrize("how", ["json", "missing key file", "fields"])
def test_idp_commands_name_the_damaged_key_list(tmp_path: Path, how: str) -> None:
    idp_dir = tmp_path / "idp"
    made = subprocess.run([SAMLFED, "idp", "metadata", "--idp-dir", str(idp_dir)], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    _damage(idp_dir / "keys", how)
    done = subprocess.run([SAMLFED, "idp", "metadata", "--idp-dir", str(idp_dir)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "signing keys" in done.stderr or "key list" in done.stderr


def test_the_serving_idp_answers_503_while_its_key_list_is_damaged(tmp_path: Path) -> None:
    (tmp_path / "idp.yaml").write_text("idp: {}\n")
    idp = IdentityProvider(tmp_path / "idp.yaml", tmp_path / "keys", "http://127.0.0.1:18399/idp")
    app = IdpApp(idp, ForwardingWatch(())).app()

    async def metadata() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:18399") as client:
            return await client.get("/metadata")

    assert asyncio.run(metadata()).status_code == 200
    _damage(tmp_path / "keys", "json")
    answer = asyncio.run(metadata())
    assert answer.status_code == 503 and "key list" in answer.text and answer.headers["Retry-After"]
