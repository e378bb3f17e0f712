"""The login client at a real terminal (pexpect's pseudo-terminal), in the user's browser (Chromium), and configure."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import time
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pexpect
import pytest
from chromium import launch_chromium
from login_setup import login_in_a_terminal, samlfed, user_env, write_profile
from servers import SAMLFED

from samlfed.iam.arns import role_arn

DEV, PROD = "111111111111", "222222222222"


def test_interactive_chooser_in_a_terminal(demo: dict, tmp_path: Path) -> None:
    child = login_in_a_terminal(tmp_path, demo["url"], "alice", demo["passwords"]["alice"])
    try:
        child.expect(re.escape(f"Account: acme-dev ({DEV})"))
        child.expect(r"\[1\] Developer")
        child.expect(re.escape(f"Account: acme-prod ({PROD})"))
        child.expect(r"\[2\] ReadOnly")
        child.expect("Role: ")
        child.sendline("7")  # out of range: asked again
        child.expect("Role: ")
        child.sendline("2")
        child.expect("wrote profile demo")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    text = (tmp_path / ".aws" / "credentials").read_text()
    assert "[demo]" in text and "aws_session_token = " in text


def test_password_and_code_prompts_in_a_terminal(demo: dict, tmp_path: Path) -> None:
    import pyotp

    write_profile(tmp_path, demo["url"])
    child = pexpect.spawn(SAMLFED, ["login", "--profile", "demo", "--role", role_arn(DEV, "Admin")], env=user_env(tmp_path), encoding="utf-8", timeout=60)
    try:
        child.expect("User name: ")
        child.sendline("admin")
        child.expect("Password: ")
        child.sendline(demo["passwords"]["admin"])
        child.expect("One-time code: ")
        child.sendline(pyotp.TOTP(demo["totp"]["admin"]).now())
        child.expect("wrote profile demo")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def test_browser_method_hands_the_response_to_the_loopback_listener(demo: dict, tmp_path: Path) -> None:
    write_profile(tmp_path, demo["url"], method="browser")
    process = subprocess.Popen(
        [SAMLFED, "login", "--profile", "demo", "--no-browser", "--role", role_arn(PROD, "ReadOnly")],
        env=user_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        url = re.search(r"Sign in in your browser: (\S+)", line).group(1)
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/start", url)  # the listener's own: no secret on a command line
        code = re.search(r"Check that your browser shows the code ([A-Z2-7]{4}-[A-Z2-7]{4}), then press Send", process.stderr.readline()).group(1)
        with launch_chromium() as browser:
            page = browser.new_page()
            page.goto(url)
            page.wait_for_url(f"{demo['url']}/idp/login")
            page.fill("input[name=username]", "alice")
            page.fill("input[name=password]", demo["passwords"]["alice"])
            page.click("button[type=submit]")
            page.wait_for_selector("#verification-code")
            assert page.text_content("#verification-code") == code  # what the user compares with the terminal
            page.click("#send")
            page.wait_for_selector("text=You can close this window")
        _, errors = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, errors
    assert "wrote profile demo" in errors
    assert "[demo]" in (tmp_path / ".aws" / "credentials").read_text()


def test_the_loopback_listener_refuses_a_wrong_state(demo: dict, tmp_path: Path) -> None:
    import httpx

    write_profile(tmp_path, demo["url"], method="browser")
    process = subprocess.Popen(
        [SAMLFED, "login", "--profile", "demo", "--no-browser"], env=user_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stderr is not None
        port = re.search(r"http://127\.0\.0\.1:(\d+)/start", process.stderr.readline()).group(1)
        forged = httpx.post(f"http://127.0.0.1:{port}/", data={"SAMLResponse": "PHg+", "state": "guess"})
        assert forged.status_code == 400
        assert process.poll() is None  # still waiting for the real one
    finally:
        process.kill()
        process.wait(timeout=10)


def test_cli_sign_in_needs_port_and_state_and_our_own_request(demo: dict) -> None:
    import httpx

    assert httpx.get(f"{demo['url']}/saml/cli", params={"port": "80", "state": "x" * 20}).status_code == 400
    assert httpx.get(f"{demo['url']}/saml/cli", params={"port": "5000", "state": "short"}).status_code == 400
    # An IdP-initiated response carrying a CLI RelayState is not handed to any listener.
    idp = demo["idp"]
    response = idp.issue(idp.config.directory.get("alice"), idp.config.service_providers["aws"], f"{demo['url']}/saml")
    page = httpx.post(f"{demo['url']}/saml", data={"SAMLResponse": response, "RelayState": f"samlfed-cli:5000:{'x' * 20}"})
    assert page.status_code == 400 and "127.0.0.1" not in page.text


def test_configure_writes_the_profile(tmp_path: Path) -> None:
    answers = "http://127.0.0.1:9999\n\nbrowser\nalice\narn:aws:iam::111111111111:role/Developer\n7200\ny\n"
    done = samlfed(tmp_path, "configure", "--profile", "work", stdin=answers)
    assert done.returncode == 0, done.stderr
    path = tmp_path / ".config" / "samlfed" / "config.toml"
    profile = tomllib.loads(path.read_text())["profiles"]["work"]
    assert profile == {
        "endpoint": "http://127.0.0.1:9999", "idp_metadata_url": "http://127.0.0.1:9999/idp/metadata", "method": "browser",
        "username": "alice", "role": "arn:aws:iam::111111111111:role/Developer", "duration": 7200, "remember_password": True,
        "sp_entity_id": "urn:amazon:webservices",
    }
    assert oct(path.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("bad", ["[profiles.demo]\nendpoint = 1\nnonsense = true\n", "not toml ["])
def test_a_broken_config_is_a_usage_error(tmp_path: Path, bad: str) -> None:
    path = tmp_path / ".config" / "samlfed" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(bad)
    done = samlfed(tmp_path, "login", "--profile", "demo")
    assert done.returncode == 2 and "config.toml" in done.stderr


def _recording_browser(tmp_path: Path) -> Path:
    """A browser that only records its command line, which every local user can read (/proc/PID/cmdline)."""
    opener = tmp_path / "open-url"
    opener.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {tmp_path / 'argv'}\n")
    opener.chmod(0o700)
    return opener


def _end_page_removers(under: Path) -> None:
    """End the processes `samlfed console` left to remove its pages later (they would sleep for 15 minutes)."""
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and str(under).encode() in (entry / "cmdline").read_bytes():
                os.kill(int(entry.name), signal.SIGTERM)
        except (OSError, ProcessLookupError):  # gone meanwhile
            pass


def _logged_in_with_a_temporary_directory(demo: dict, tmp_path: Path) -> Path:
    """Profile demo's credentials for alice's Developer role, and an empty directory for TMPDIR."""
    write_profile(tmp_path, demo["url"], username="alice")
    login = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", "--role", role_arn(DEV, "Developer"), stdin=demo["passwords"]["alice"] + "\n")
    assert login.returncode == 0, login.stderr
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    return temporary


def test_console_command_opens_the_console_without_the_token_on_a_command_line(demo: dict, tmp_path: Path) -> None:
    temporary = _logged_in_with_a_temporary_directory(demo, tmp_path)
    try:
        done = samlfed(tmp_path, "console", "--profile", "demo", "--endpoint", demo["url"], BROWSER=str(_recording_browser(tmp_path)), TMPDIR=str(temporary))
        assert done.returncode == 0, done.stderr
        assert done.stdout == "" and "opened the console in your browser" in done.stderr
        argv = (tmp_path / "argv").read_text().split()
        assert len(argv) == 1 and argv[0].startswith("file://") and "SigninToken" not in argv[0]
        page = Path(urlsplit(argv[0]).path)
        assert page.parent.parent == temporary
        assert stat.S_IMODE(page.stat().st_mode) == 0o600 and stat.S_IMODE(page.parent.stat().st_mode) == 0o700
        token = re.search(r'name="SigninToken" value="([^"]+)"', page.read_text()).group(1)  # type: ignore[union-attr]
        assert token not in argv[0]
        with launch_chromium() as browser:  # the page posts the token to /federation, which signs the browser in
            tab = browser.new_page()
            tab.goto(argv[0])
            tab.wait_for_url(f"{demo['url']}/console")
            assert "assumed-role/Developer/alice@acme.example" in tab.content()
    finally:
        _end_page_removers(temporary)


def test_console_command_without_a_browser_prints_the_url_and_keeps_no_page(demo: dict, tmp_path: Path) -> None:
    temporary = _logged_in_with_a_temporary_directory(demo, tmp_path)
    done = samlfed(tmp_path, "console", "--profile", "demo", "--endpoint", demo["url"], BROWSER="false", TMPDIR=str(temporary))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{demo['url']}/federation?Action=login&") and "SigninToken=" in done.stdout
    assert list(temporary.iterdir()) == []


def test_the_sign_in_page_is_removed_by_a_process_that_outlives_the_command(tmp_path: Path) -> None:
    from samlfed.login.console_page import remove_later

    page = tmp_path / "samlfed-console-x" / "signin.html"
    page.parent.mkdir()
    page.write_text("a token")
    remove_later(str(page.parent), 0)
    for _ in range(500):
        if not page.parent.exists():
            break
        time.sleep(0.02)
    assert not page.parent.exists()


def test_a_bad_profile_name_template_is_a_usage_error(tmp_path: Path) -> None:
    done = samlfed(tmp_path, "login", "--all-roles", "--profile-name", "{nope}-{role}", "--assertion-file", "-", stdin="")
    assert done.returncode == 2 and "{alias}, {account} and {role}" in done.stderr
