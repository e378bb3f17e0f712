"""docs/login.md says only what the login client does: its options and variables exist, its profile is one the
client loads, and its time and size limits are the client's."""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields
from pathlib import Path

import click
import typer

from samlfed.cli import app
from samlfed.login import ecp, exchange, sts
from samlfed.login.config import LoginProfile, load_profile
from samlfed.login.transport import MAX_DEADLINE

DOC = (Path(__file__).resolve().parents[1] / "docs" / "login.md").read_text()
TEXT = " ".join(DOC.split())
COMMANDS = ("login", "credential-process", "console", "console-url", "configure")


def _params() -> list[click.Parameter]:
    group = typer.main.get_command(app)
    return [param for name in COMMANDS for param in group.commands[name].params]  # type: ignore[attr-defined]


def test_every_documented_option_exists() -> None:
    options = {option for param in _params() for option in getattr(param, "opts", [])}
    documented = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", DOC))
    assert documented and documented <= options


def test_every_documented_variable_is_read() -> None:
    read = {param.envvar for param in _params() if getattr(param, "envvar", None)} | {"SAMLFED_LOGIN_CONFIG"}
    documented = set(re.findall(r"SAMLFED_[A-Z_]+", DOC))
    assert "SAMLFED_OTP" in documented and documented <= read


def test_the_documented_profile_holds_every_key_and_loads(tmp_path: Path) -> None:
    block = re.search(r"```toml\n(.*?)```", DOC, re.DOTALL)
    assert block is not None
    path = tmp_path / "config.toml"
    path.write_text(block.group(1))
    assert set(tomllib.loads(block.group(1))["profiles"]["work"]) == {f.name for f in fields(LoginProfile)} - {"name"}
    assert load_profile("work", path).timeout == exchange.DEFAULT_DEADLINE


def test_the_documented_limits_are_the_clients() -> None:
    assert f"It is {exchange.DEFAULT_DEADLINE} seconds, or the profile's `timeout` (1 to {MAX_DEADLINE} seconds)" in TEXT
    assert f"may have {exchange.MAX_ANSWER_BYTES} bytes, the ECP answer and the AssumeRoleWithSAML answer {ecp.MAX_ANSWER_BYTES} bytes" in TEXT
    assert ecp.MAX_ANSWER_BYTES == sts.MAX_ANSWER_BYTES
    assert f"each single read also gives up after {sts.READ_TIMEOUT} seconds of silence" in TEXT
