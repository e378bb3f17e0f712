"""`samlfed backup` copies the data directory's idp/; an IdP directory set elsewhere (--idp-dir, SAMLFED_IDP_DIR, the
settings file) is not copied, and the report said nothing of it (the JSON's IdpCopied false read as "no IdP")."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from servers import SAMLFED

from samlfed.config import Settings
from samlfed.iam.accounts import create_account
from samlfed.server import build_context


def backup(tmp_path: Path, name: str, *more: str, idp_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMLFED_")} | ({"SAMLFED_IDP_DIR": str(idp_dir)} if idp_dir else {})
    command = [SAMLFED, "backup", str(tmp_path / name), "--data-dir", str(tmp_path / "data"), *more]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


def test_an_idp_directory_outside_the_data_directory_is_named_as_left_out(tmp_path: Path) -> None:
    create_account(build_context(Settings(data_dir=tmp_path / "data")), "111111111111")
    elsewhere = tmp_path / "idp-elsewhere"
    elsewhere.mkdir()
    (elsewhere / "idp.yaml").write_text("users: {}\n")

    text = backup(tmp_path, "text", idp_dir=elsewhere)
    assert text.returncode == 0, text.stderr
    assert f"the built-in IdP's directory {elsewhere} is outside the data directory and is not in the backup" in text.stdout
    assert not (tmp_path / "text" / "idp").exists()

    as_json = backup(tmp_path, "json", "--json", idp_dir=elsewhere)
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert (report["IdpCopied"], report["IdpLeftOut"]) == (False, str(elsewhere))


def test_the_data_directorys_own_idp_is_copied_and_not_named(tmp_path: Path) -> None:
    create_account(build_context(Settings(data_dir=tmp_path / "data")), "111111111111")
    (tmp_path / "data" / "idp").mkdir(mode=0o700)
    (tmp_path / "data" / "idp" / "idp.yaml").write_text("users: {}\n")

    for done in (backup(tmp_path, "default"), backup(tmp_path, "named", idp_dir=tmp_path / "data" / "idp")):
        assert done.returncode == 0, done.stderr
        assert "outside the data directory" not in done.stdout
    report = json.loads(backup(tmp_path, "json", "--json").stdout)
    assert report["IdpCopied"] is True and "IdpLeftOut" not in report
