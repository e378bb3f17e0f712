"""The XDG base directories the login client writes under ($XDG_CACHE_HOME, default ~/.cache; $XDG_CONFIG_HOME,
default ~/.config) were made, when missing, with the umask's mode (0755 as a rule) by mkdir(parents=True): only
samlfed's own directories in them were 0700. The XDG Base Directory spec asks that a missing destination directory be
made 0700 and an existing one left as it is; samlfed now does both."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from samlfed.login import cache
from samlfed.login.config import LoginProfile, config_path, save_profile
from samlfed.login.credentials_file import AwsCredentials, write_profiles

CREDENTIALS = AwsCredentials("ASIAXDG", "secret", "token", datetime(2030, 1, 1, tzinfo=UTC))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A home without ~/.cache or ~/.config, no XDG variables set, and the common umask 022."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for variable in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "SAMLFED_LOGIN_CONFIG"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / ".aws" / "credentials"))
    previous = os.umask(0o022)
    try:
        yield home
    finally:
        os.umask(previous)


def _modes(*paths: Path) -> list[int]:
    return [stat.S_IMODE(path.stat().st_mode) for path in paths]


def test_a_missing_cache_home_is_made_0700(home: Path) -> None:
    cache.store("work", "arn:aws:iam::111111111111:role/Developer", CREDENTIALS)
    assert _modes(home / ".cache", home / ".cache" / "samlfed", home / ".cache" / "samlfed" / "credentials") == [0o700] * 3


def test_a_missing_cache_home_is_made_0700_by_the_credentials_file_lock(home: Path) -> None:
    write_profiles(home / ".aws" / "credentials", {"work": CREDENTIALS})
    assert _modes(home / ".cache", home / ".cache" / "samlfed") == [0o700] * 2


def test_a_missing_config_home_is_made_0700(home: Path) -> None:
    path = save_profile(LoginProfile(name="work"), config_path())
    assert path == home / ".config" / "samlfed" / "config.toml"
    assert _modes(home / ".config", home / ".config" / "samlfed", path) == [0o700, 0o700, 0o600]


def test_every_missing_directory_of_an_xdg_variable_is_made_0700(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "xdg" / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "xdg" / "cache"))
    save_profile(LoginProfile(name="work"))
    cache.store("work", "arn:aws:iam::111111111111:role/Developer", CREDENTIALS)
    assert _modes(home / "xdg", home / "xdg" / "config", home / "xdg" / "cache") == [0o700] * 3
    assert _modes(home) == [0o755]  # it was there: left as it is


def test_existing_base_directories_are_never_chmod_ed(home: Path) -> None:
    for name in (".cache", ".config"):
        (home / name).mkdir(mode=0o755)
    cache.store("work", "arn:aws:iam::111111111111:role/Developer", CREDENTIALS)
    save_profile(LoginProfile(name="work"))
    assert _modes(home / ".cache", home / ".config") == [0o755, 0o755]
    assert _modes(home / ".cache" / "samlfed", home / ".config" / "samlfed") == [0o700, 0o700]


def test_a_login_config_file_named_by_its_variable_keeps_the_directories_above_it_as_before(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$SAMLFED_LOGIN_CONFIG is no XDG base directory: its own directory is made 0700, as before, and those above it
    with the umask's mode, as before."""
    monkeypatch.setenv("SAMLFED_LOGIN_CONFIG", str(home / "elsewhere" / "login" / "config.toml"))
    save_profile(LoginProfile(name="work"), config_path())
    assert _modes(home / "elsewhere", home / "elsewhere" / "login") == [0o755, 0o700]
    assert not (home / ".config").exists()
