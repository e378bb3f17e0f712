"""`login --method browser` against another local user: what a browser's command line shows (/proc/PID/cmdline) is
no key to the loopback listener, and a second fetch of the sign-in link ends the login instead of racing it."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from login_setup import user_env, write_profile
from servers import SAMLFED, raw_exchange

from samlfed.iam.arns import role_arn

DEV = "111111111111"


def _fake_browser(tmp_path: Path) -> Path:
    """A browser that only records its command line (as /proc/PID/cmdline shows it to every local user). It writes the
    record whole, by renaming, so that the test never reads a file created but not yet written."""
    script = tmp_path / "browser.py"
    record, partial = str(tmp_path / "argv"), str(tmp_path / "argv.partial")
    script.write_text(
        f"#!{sys.executable}\nimport os, sys, pathlib\npathlib.Path({partial!r}).write_text('\\n'.join(sys.argv))\nos.replace({partial!r}, {record!r})\n"
    )
    script.chmod(0o700)
    return script


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def _status_of_long_content_length(listener: str) -> bytes:
    """The status line for a POST whose Content-Length is 5,000 zeros and a 5 (int() raises on over 4,300 digits)."""
    answer = raw_exchange(listener, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + b"0" * 5000 + b"5\r\nConnection: close\r\n\r\nstate")
    return answer.split(b"\r\n", 1)[0]


def test_a_local_user_who_knows_only_the_command_lines_cannot_complete_the_login(demo: dict, tmp_path: Path) -> None:
    write_profile(tmp_path, demo["url"], method="browser")
    env = user_env(tmp_path, BROWSER=str(_fake_browser(tmp_path)))
    process = subprocess.Popen([SAMLFED, "login", "--profile", "demo", "--role", role_arn(DEV, "Developer")],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        url = re.search(r"Sign in in your browser: (\S+)", process.stderr.readline()).group(1)  # type: ignore[union-attr]
        for _ in range(500):  # the browser is started right after the lines are printed
            if (tmp_path / "argv").exists():
                break
            time.sleep(0.02)
        seen = (tmp_path / "argv").read_text() + " " + _cmdline(process.pid)
        assert url in seen
        listener = url.rsplit("/", 1)[0]
        idp = demo["idp"]
        bobs = idp.issue(idp.config.directory.get("bob"), idp.config.service_providers["aws"], f"{demo['url']}/saml")
        # What the command lines give away is not enough to hand in a response...
        assert httpx.post(f"{listener}/", data={"SAMLResponse": bobs}).status_code == 400
        assert b" 400 " in _status_of_long_content_length(listener)
        # ...and whoever fetches the link first gets the state, but an IdP-initiated response still answers no request.
        location = httpx.get(url, follow_redirects=False).headers["location"]
        state = parse_qs(urlsplit(location).query)["state"][0]
        assert state not in seen
        assert httpx.post(f"{listener}/", data={"SAMLResponse": bobs, "state": state}).status_code == 400
        assert process.poll() is None
        # The user's browser fetches the link second: the login ends rather than guess whose sign-in will arrive.
        second = httpx.get(url, follow_redirects=False)
        assert second.status_code == 409 and "location" not in second.headers
        _, errors = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == 1
    assert "the sign-in link was opened a second time (someone else may have opened it)" in errors and "Traceback" not in errors
    assert not (tmp_path / ".aws" / "credentials").exists()


def test_a_second_fetch_of_the_link_ends_the_login_whoever_was_first(demo: dict, tmp_path: Path) -> None:
    """The user's own browser first, another user's fetch second: still no sign-in is taken from either."""
    write_profile(tmp_path, demo["url"], method="browser")
    process = subprocess.Popen([SAMLFED, "login", "--profile", "demo", "--no-browser"],
                               env=user_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        url = re.search(r"Sign in in your browser: (\S+)", process.stderr.readline()).group(1)  # type: ignore[union-attr]
        first = httpx.get(url, follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"].startswith(f"{demo['url']}/saml/cli?")
        assert first.headers["cache-control"] == "no-store"
        assert httpx.get(url, follow_redirects=False).status_code == 409
        _, errors = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == 1 and "opened a second time" in errors and "Traceback" not in errors
