"""Where `samlfed login` takes the one-time code from without putting it on the command line (which every local user
can read in the process list): SAMLFED_OTP, or a prompt that does not echo it; and never standard input a second time.

The demo's admin has TOTP; a code signs in once, so only one test here signs in with a right code."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pexpect
import pyotp
from login_setup import login_in_a_terminal, samlfed, user_env, write_profile
from servers import SAMLFED

from samlfed.iam.arns import role_arn

PROD = "222222222222"
WRONG_CODE = "not-a-code-4711"


def test_the_code_comes_from_samlfed_otp(demo: dict, tmp_path: Path) -> None:
    write_profile(tmp_path, demo["url"], username="admin")
    code = pyotp.TOTP(demo["totp"]["admin"]).now()
    done = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", "--role", role_arn(PROD, "Admin"),
                   stdin=demo["passwords"]["admin"] + "\n", SAMLFED_OTP=code)
    assert done.returncode == 0, done.stderr
    assert "wrote profile demo" in done.stderr and code not in done.stderr


def test_without_a_code_or_a_terminal_the_error_names_the_variable(demo: dict, tmp_path: Path) -> None:
    write_profile(tmp_path, demo["url"], username="admin")
    done = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", stdin=demo["passwords"]["admin"] + "\n")
    assert done.returncode == 1
    assert done.stderr.strip() == ("samlfed: the identity provider asks for a one-time code: set SAMLFED_OTP "
                                   "(or pass --otp CODE, which other local users can see)")


def test_the_code_prompt_does_not_echo_it(demo: dict, tmp_path: Path) -> None:
    child = login_in_a_terminal(tmp_path, demo["url"], "admin", demo["passwords"]["admin"])
    try:
        child.expect("One-time code: ")  # its trailing space comes once echo is off (getpass)
        child.sendline(WRONG_CODE)
        child.expect(pexpect.EOF)
        output = child.before
    finally:
        child.close()
    assert child.exitstatus == 1
    assert "refused the sign-in" in output and WRONG_CODE not in output


def test_with_password_stdin_at_a_terminal_the_code_is_not_read_from_stdin(demo: dict, tmp_path: Path) -> None:
    """Standard input carried the password: the code is not taken from it as well, even when it is a terminal."""
    write_profile(tmp_path, demo["url"], username="admin")
    child = pexpect.spawn(SAMLFED, ["login", "--profile", "demo", "--password-stdin"], env=user_env(tmp_path), encoding="utf-8", timeout=60)
    try:
        child.sendline(demo["passwords"]["admin"])
        child.expect(pexpect.EOF)
        output = child.before
    finally:
        child.close()
    assert child.exitstatus == 1
    assert "One-time code" not in output and "set SAMLFED_OTP" in output


def test_the_help_says_otp_is_visible_and_names_the_variable(tmp_path: Path) -> None:
    done = subprocess.run([SAMLFED, "login", "--help"], env={**user_env(tmp_path), "COLUMNS": "400"}, capture_output=True, text=True, timeout=60)
    otp_line = next(line for line in done.stdout.splitlines() if "--otp" in line)
    assert "other local users can see it" in otp_line and "SAMLFED_OTP" in otp_line


def test_a_code_with_a_line_break_around_it_goes_without_it(demo: dict, tmp_path: Path) -> None:
    """A code read with $(...) from a tool that ends its lines with CRLF keeps the CR: it went into the header as it was,
    and http.client's refusal of a line break in a header ended login with a traceback."""
    write_profile(tmp_path, demo["url"], username="admin")
    done = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", "--role", role_arn(PROD, "Admin"),
                   stdin=demo["passwords"]["admin"] + "\n", SAMLFED_OTP=WRONG_CODE + "\r")
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("samlfed: the identity provider refused the sign-in") and "Traceback" not in done.stderr


def test_a_code_that_no_header_carries_is_a_usage_error_before_the_sign_in(demo: dict, tmp_path: Path) -> None:
    write_profile(tmp_path, demo["url"], username="admin")
    for code in ("4711\n0815", "€4711"):
        done = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", stdin="not read\n", SAMLFED_OTP=code)
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip() == "samlfed: --otp (SAMLFED_OTP): the one-time code may hold only letters, digits and punctuation (ASCII)"


def test_the_code_prompt_asks_again_for_a_code_no_header_carries(demo: dict, tmp_path: Path) -> None:
    child = login_in_a_terminal(tmp_path, demo["url"], "admin", demo["passwords"]["admin"])
    try:
        child.expect("One-time code: ")
        child.sendline("€4711")
        child.expect("the one-time code may hold only letters, digits and punctuation")
        child.expect("One-time code: ")  # asked again, nothing sent to the IdP
        child.sendintr()
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 130
