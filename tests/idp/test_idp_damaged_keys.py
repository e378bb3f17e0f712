"""A damaged key list (keys.json edited by hand, key files restored in part) is a clear error, never a traceback:
`samlfed idp ...` says which file and exits 2, and the serving IdP answers a retryable 503 until it is repaired.
A session secret too short to sign cookies safely is refused at start, never used."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import httpx
import pytest
from servers import SAMLFED, free_port

from samlfed.forwarding import ForwardingWatch
from samlfed.idp.keys import KeysUnavailable
from samlfed.idp.service import IdentityProvider
from samlfed.idp.web import SESSION_SECRET_FILE, IdpApp


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


def _idp_with_secret(idp_dir: Path, secret: bytes | None) -> IdentityProvider:
    (idp_dir / "keys").mkdir(parents=True)
    if secret is not None:
        (idp_dir / "keys" / SESSION_SECRET_FILE).write_bytes(secret)
    (idp_dir / "idp.yaml").write_text("idp: {}\n")
    return IdentityProvider(idp_dir / "idp.yaml", idp_dir / "keys", "http://127.0.0.1:18399/idp")


@pytest.mark.parametrize(("secret", "said"), [
    (b"", "is empty"), (b" \n", "is empty"), (b"x" * 31 + b"\n", "holds 31 bytes"), (b"\xff" * 64, "is not text"),
])
def test_a_session_secret_too_short_to_sign_cookies_is_refused(tmp_path: Path, secret: bytes, said: str) -> None:
    """An empty keys/session.secret was taken as the HMAC key of the session cookies: anyone could sign one."""
    idp = _idp_with_secret(tmp_path, secret)
    with pytest.raises(KeysUnavailable, match=f"session secret .*{SESSION_SECRET_FILE} {said}") as refused:
        IdpApp(idp, ForwardingWatch(()))
    assert "\n" not in str(refused.value)
    assert (tmp_path / "keys" / SESSION_SECRET_FILE).read_bytes() == secret  # not replaced behind the operator's back


def test_an_unreadable_session_secret_is_refused_and_a_good_one_is_used(tmp_path: Path) -> None:
    idp = _idp_with_secret(tmp_path / "unreadable", None)
    (tmp_path / "unreadable" / "keys" / SESSION_SECRET_FILE).mkdir()
    with pytest.raises(KeysUnavailable, match="session secret .* cannot be read"):
        IdpApp(idp, ForwardingWatch(()))
    assert IdpApp(_idp_with_secret(tmp_path / "given", b"y" * 32), ForwardingWatch(())).session_secret == "y" * 32
    made = IdpApp(_idp_with_secret(tmp_path / "made", None), ForwardingWatch(())).session_secret
    assert len(made) >= 64 and (tmp_path / "made" / "keys" / SESSION_SECRET_FILE).read_text() == made


@pytest.mark.parametrize("command", [["idp", "serve", "--idp-dir", "{data}/idp"], ["serve", "--with-idp", "--data-dir", "{data}"]])
def test_serving_with_an_empty_session_secret_is_refused_in_one_line(tmp_path: Path, command: list[str]) -> None:
    _idp_with_secret(tmp_path / "idp", b"")
    arguments = [part.format(data=tmp_path) for part in command]
    try:
        done = subprocess.run([SAMLFED, *arguments, "--port", str(free_port())], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("it served, its session cookies signed with an empty key")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert f"session secret {tmp_path / 'idp' / 'keys' / SESSION_SECRET_FILE} is empty" in done.stderr
