"""What the README says about the command line: the doctor's options and JSON, the settings' variables."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

import typer

from samlfed.cli import app
from samlfed.config import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
SAMLFED = str(Path(sys.executable).with_name("samlfed"))
SETTING_VARIABLES = {f"SAMLFED_{field.name.upper()}" for field in fields(Settings)} | {"SAMLFED_CONFIG"}


def samlfed(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "300"}  # one line per option in the help
    return subprocess.run([SAMLFED, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def doctor_table() -> dict[str, str]:
    """The README's doctor options table: each option's first flag → its meaning."""
    rows = re.findall(r"^\| `(--[a-z-]+)[^|]*\| (.+) \|$", README, re.M)
    assert rows
    return dict(rows)


def test_every_documented_doctor_option_exists() -> None:
    shown = samlfed("doctor", "--help").stdout
    assert [flag for flag in doctor_table() if flag not in shown] == []


def test_the_legacy_option_names_the_same_key_sizes_in_the_help_and_the_readme() -> None:
    help_line = next(line for line in samlfed("doctor", "--help").stdout.splitlines() if "--allow-legacy-algorithms" in line)
    assert "1024-2047 bits" in help_line
    assert "1024–2047 bits" in doctor_table()["--allow-legacy-algorithms"]


def test_the_doctors_json_has_the_documented_members(tmp_path: Path) -> None:
    assert samlfed("sample", "--out", "s", cwd=tmp_path).returncode == 0
    done = samlfed("doctor", "s/response.b64", "--metadata", "s/idp-metadata.xml", "--json", cwd=tmp_path)
    documented = re.findall(r"`(\w+)`", doctor_table()["--json"])
    assert sorted(json.loads(done.stdout)) == sorted(documented)


def test_the_variables_the_readme_names_are_settings() -> None:
    # Not settings: the master key, the login configuration, and what the test suite reads.
    named = set(re.findall(r"SAMLFED_[A-Z_]+", README)) - {"SAMLFED_MASTER_KEY", "SAMLFED_LOGIN_CONFIG", "SAMLFED_TEST_POSTGRES_URL", "SAMLFED_SHARED"}
    assert named and named <= SETTING_VARIABLES


def test_every_serve_option_is_also_an_environment_variable() -> None:
    serve = typer.main.get_command(app).commands["serve"]  # type: ignore[attr-defined]
    # The hidden negatives (--no-metrics, …) set their positive flag's setting, off.
    options = {f"SAMLFED_{param.name.upper()}" for param in serve.params if param.name != "help" and not getattr(param, "hidden", False)}
    assert options <= SETTING_VARIABLES


def test_the_demos_aws_cli_step_says_which_key_it_uses(tmp_path: Path) -> None:
    printed = samlfed("demo", "--no-serve", "--data-dir", "demo", "--port", "8089", cwd=tmp_path).stdout
    key = re.search(r"^  111111111111 acme-dev +(\S+) (\S+)$", printed, re.M)
    step = printed[printed.index("  2. AWS CLI:"):printed.index("  3. Doctor:")]
    assert key is not None and "list the account's roles with its administrator key" in step
    assert f"AWS_ACCESS_KEY_ID={key[1]} AWS_SECRET_ACCESS_KEY={key[2]} " in step and step.rstrip().endswith("iam list-roles")


STORE_OPTIONS = {"--data-dir": "SAMLFED_DATA_DIR", "--database-url": "SAMLFED_DATABASE_URL", "--idp-dir": "SAMLFED_IDP_DIR"}
"""The README: the data directory and database options of every command but `doctor` (and `demo`, which takes its
own from the command line) are also these variables, as `serve --help` says of its options."""


def store_options_without_their_variable(command: Any, path: str) -> list[str]:  # typer's own copy of click's Command
    if hasattr(command, "commands"):  # a group
        return [found for name, sub in command.commands.items() for found in store_options_without_their_variable(sub, f"{path} {name}")]
    if path in ("samlfed doctor", "samlfed demo"):
        return []
    return [f"{path} {flag}" for param in command.params for flag in getattr(param, "opts", ())
            if flag in STORE_OPTIONS and STORE_OPTIONS[flag] not in (getattr(param, "help", None) or "")]


def test_every_store_option_names_its_environment_variable_in_the_help() -> None:
    assert store_options_without_their_variable(typer.main.get_command(app), "samlfed") == []


def test_the_store_variables_the_help_names_are_read(tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("SAMLFED_")}
    listed = subprocess.run([SAMLFED, "accounts", "list"], cwd=tmp_path, env={**env, "SAMLFED_DATA_DIR": "elsewhere"},
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 2 and listed.stderr.startswith("samlfed: no samlfed data in elsewhere;")
    users = subprocess.run([SAMLFED, "idp", "users", "list"], cwd=tmp_path, env={**env, "SAMLFED_IDP_DIR": "my-idp"},
                           capture_output=True, text=True, timeout=60)
    assert users.returncode == 0 and (tmp_path / "my-idp" / "idp.yaml").is_file() and not (tmp_path / "samlfed-data").exists()
