"""~/.config/samlfed/config.toml: `configure` replaces one profile's table and keeps every other byte."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from samlfed.login.config import ConfigError, LoginProfile, load_profile, save_profile

MINE = """# samlfed login profiles; see the README
[profiles.home]  # my own account
endpoint = "https://home.example"   # at home
username = "me"

# work below: replaced by configure
[profiles.work] # the job
endpoint = "https://old.example"
# an old comment inside work
duration = 900

[profiles."odd name"]
endpoint = "https://odd.example"
"""


ALWAYS_WRITTEN = 'remember_password = false\nsp_entity_id = "urn:amazon:webservices"\n'
"""What every saved profile holds besides the keys given (LoginProfile's defaults that are not None)."""


def test_save_replaces_only_the_profile_table(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(MINE)
    save_profile(LoginProfile(name="work", endpoint="https://new.example", duration=7200), path)
    text = path.read_text()
    assert text == MINE.replace('"https://old.example"', '"https://new.example"').replace("duration = 900\n", "duration = 7200\n" + ALWAYS_WRITTEN)
    assert load_profile("work", path).endpoint == "https://new.example" and load_profile("home", path).username == "me"
    save_profile(LoginProfile(name="new one"), path)
    assert path.read_text().startswith(text) and load_profile("new one", path) == LoginProfile(name="new one")


def test_save_keeps_the_comments_and_unchanged_lines_inside_the_profile(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(MINE)
    # home: the endpoint (with its comment) stays, username goes, duration is new; the file's last line has no newline
    save_profile(LoginProfile(name="home", endpoint="https://home.example", duration=3600), path)
    expected = MINE.replace('username = "me"\n', "duration = 3600\n" + ALWAYS_WRITTEN)
    assert path.read_text() == expected
    path.write_text(MINE.removesuffix("\n"))
    save_profile(LoginProfile(name="odd name", endpoint="https://odd.example", username="x"), path)
    assert path.read_text() == MINE + 'username = "x"\n' + ALWAYS_WRITTEN


def test_a_profile_holding_a_value_over_several_lines_is_written_anew(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[profiles.work]\n# kept only where the table can be edited line by line\nusername = """\nbob"""\n')
    save_profile(LoginProfile(name="work", username="alice"), path)
    assert path.read_text() == '[profiles.work]\nendpoint = "http://127.0.0.1:8080"\nusername = "alice"\n' + ALWAYS_WRITTEN


def test_a_profile_that_is_not_a_plain_table_is_not_rewritten_over_comments(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    inline = '# mine\nprofiles = { work = { endpoint = "https://old.example" } }\n'
    path.write_text(inline)
    with pytest.raises(ConfigError, match="comments"):
        save_profile(LoginProfile(name="work"), path)
    assert path.read_text() == inline
    path.write_text(inline.removeprefix("# mine\n"))  # nothing to lose: written again whole
    save_profile(LoginProfile(name="work", username="bob"), path)
    assert tomllib.loads(path.read_text())["profiles"]["work"]["username"] == "bob"


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"profiles = 5\n", "profiles must be a table"), (b'[profiles.work]\nusername = "caf\xe9"\n', "not UTF-8")],
)
def test_a_config_of_the_wrong_shape_is_a_config_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        load_profile("work", path)
    with pytest.raises(ConfigError, match=message):
        save_profile(LoginProfile(name="work"), path)
    assert path.read_bytes() == content
