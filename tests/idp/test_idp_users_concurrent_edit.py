"""`samlfed idp users ...` reads idp.yaml, changes it and writes it back whole. An edit of the file made meanwhile (by
hand, by a deployment tool, by another `samlfed idp users` command) was replaced without a word: the last writer won
and the other change was lost. The command now compares the file's version right before its rename, and when the
file changed it writes nothing and says to run it again. The race is made deterministic here by editing the file
from holds_comments, which the command calls between reading the file and writing it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from samlfed import cli_idp
from samlfed.cli import app
from samlfed.idp.directory import read_yaml

runner = CliRunner()


def _in_place(path: Path) -> None:
    """An editor that writes the file where it is (same inode): a user added at its end."""
    with path.open("a", encoding="utf-8") as handle:
        handle.write("  carol:\n    password_hash: '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo'\n")


def _renamed(path: Path) -> None:
    """An editor that saves a new file and renames it over the old (a new inode)."""
    data = read_yaml(path)
    data["users"]["carol"] = {"password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"}
    new = path.with_name("idp.yaml.edited")
    new.write_text(yaml.safe_dump(data), encoding="utf-8")
    new.replace(path)


@pytest.mark.parametrize("edit", [_in_place, _renamed], ids=["in-place", "renamed"])
def test_an_edit_made_while_the_command_ran_is_kept_and_the_command_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: Callable[[Path], None]
) -> None:
    idp_dir = ["--idp-dir", str(tmp_path / "idp")]
    path = tmp_path / "idp" / "idp.yaml"
    assert runner.invoke(app, ["idp", "users", "add", "alice", "--password", "alice's password", *idp_dir]).exit_code == 0
    real = cli_idp.holds_comments

    def edited_meanwhile(config: Path) -> bool:
        edit(config)
        return real(config)

    monkeypatch.setattr(cli_idp, "holds_comments", edited_meanwhile)
    refused = runner.invoke(app, ["idp", "users", "add", "bob", "--password", "bob's password", *idp_dir])
    assert refused.exit_code == 2
    assert "idp.yaml changed while this command ran" in refused.output and "nothing was written: run it again" in refused.output
    assert sorted(read_yaml(path)["users"]) == ["alice", "carol"]  # the edit kept, bob not added
    assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith(".idp.yaml")) == []  # no temporary left

    monkeypatch.setattr(cli_idp, "holds_comments", real)
    again = runner.invoke(app, ["idp", "users", "add", "bob", "--password", "bob's password", *idp_dir])
    assert again.exit_code == 0, again.output
    assert sorted(read_yaml(path)["users"]) == ["alice", "bob", "carol"]
