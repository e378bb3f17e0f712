"""Running `samlfed` as a user would: its own process, with a home directory of the test's own."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pexpect
import tomli_w
from servers import SAMLFED

KEYRING_BACKEND = "file_keyring.FileKeyring"
"""A keyring backend for the tests (tests/login/file_keyring.py): the OS keyring's API, in a file of the test's."""


def user_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAMLFED_", "XDG_"))}
    env.update(
        HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / ".aws" / "credentials"), AWS_CONFIG_FILE=str(home / ".aws" / "config"),
        PYTHON_KEYRING_BACKEND=KEYRING_BACKEND, PYTHONPATH=str(Path(__file__).parent), SAMLFED_TEST_KEYRING=str(home / "keyring.json"),
    )
    env.update(extra)
    return env


def samlfed(home: Path, *args: str, stdin: str | None = None, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SAMLFED, *args], env=user_env(home, **env), input=stdin, capture_output=True, text=True, timeout=120, cwd=cwd)


def write_profile(home: Path, url: str, name: str = "demo", **values: object) -> None:
    path = home / ".config" / "samlfed" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {"endpoint": url, "idp_metadata_url": f"{url}/idp/metadata", **values}
    path.write_text(tomli_w.dumps({"profiles": {name: profile}}))


def login_in_a_terminal(home: Path, url: str, username: str, password: str) -> pexpect.spawn:
    """`samlfed login --profile demo` for `username` (its profile written first) in a terminal of its own, with the
    password typed at its prompt: the child, at whatever it asks or says next. The caller closes it."""
    write_profile(home, url, username=username)
    child = pexpect.spawn(SAMLFED, ["login", "--profile", "demo"], env=user_env(home), encoding="utf-8", timeout=60)
    try:
        child.expect("Password: ")
        child.sendline(password)
    except BaseException:
        child.close()
        raise
    return child
