"""An empty sp_entity_id in the settings file is refused at start: the process that read the file used it, while the
workers, which get their settings through SAMLFED_* variables where an empty one counts as unset, served AWS's
default entity ID instead."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from samlfed.config import Settings, SettingsError


@pytest.mark.parametrize("value", ['""', '"  "'])
def test_an_empty_sp_entity_id_in_the_settings_file_is_refused(tmp_path: Path, value: str) -> None:
    config = tmp_path / "samlfed.toml"
    config.write_text(f"sp_entity_id = {value}\n")
    with pytest.raises(SettingsError, match=r"samlfed\.toml: sp_entity_id must be a non-empty SAML entity ID"):
        Settings.from_env(config=config)


def test_the_sp_entity_id_the_workers_read_is_the_one_the_file_gave(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "samlfed.toml"
    config.write_text('sp_entity_id = "https://samlfed.example.com"\n')
    for name in [name for name in os.environ if name.startswith("SAMLFED_")]:
        monkeypatch.delenv(name)
    parent = Settings.from_env(config=config)
    for name, value in parent.to_env().items():
        monkeypatch.setenv(name, value)
    assert Settings.from_env().sp_entity_id == parent.sp_entity_id == "https://samlfed.example.com"


def test_an_sp_entity_id_variable_that_is_not_utf8_is_refused_in_one_line(tmp_path: Path) -> None:
    """Found by a CLI probe: SAMLFED_SP_ENTITY_ID bytes that are not UTF-8 (Python's lone surrogates) were taken as
    the entity ID, which no XML document can hold. They are refused as a bad value of any other setting is."""
    import subprocess

    from servers import SAMLFED

    env = {**os.environb, b"SAMLFED_SP_ENTITY_ID": b"urn:samlfed:\xff"}
    done = subprocess.run([SAMLFED, "accounts", "create", "--data-dir", str(tmp_path / "data")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == "", done.stdout
    assert done.stderr == (
        "samlfed: cannot read the settings: SAMLFED_SP_ENTITY_ID: sp_entity_id must be a non-empty SAML entity ID (UTF-8 text), "
        "not 'urn:samlfed:\\udcff'\n"
    )
    assert not (tmp_path / "data").exists()
