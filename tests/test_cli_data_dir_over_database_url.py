"""A --data-dir on the command line names the store, over a database URL from SAMLFED_DATABASE_URL or the settings
file (command line over environment over file, operations.md): the URL used to win silently, so that `accounts
list --data-dir X` listed another database's accounts and `serve --data-dir X` served it."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

from iam.iam_http import iam_client
from servers import SAMLFED, samlfed_process

KEY = base64.b64encode(bytes(range(32))).decode()


def samlfed(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([SAMLFED, *arguments], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    return done


def test_a_data_dir_on_the_command_line_beats_a_database_url_from_the_environment_or_file(tmp_path: Path) -> None:
    clean = {name: value for name, value in os.environ.items() if not name.startswith("SAMLFED_")}
    other = f"sqlite:///{tmp_path / 'other.db'}"
    data = str(tmp_path / "data")
    (tmp_path / "samlfed.toml").write_text(f'database_url = "{other}"\n')
    from_variable = {**clean, "SAMLFED_MASTER_KEY": KEY, "SAMLFED_DATABASE_URL": other}
    from_file = {**clean, "SAMLFED_MASTER_KEY": KEY, "SAMLFED_CONFIG": str(tmp_path / "samlfed.toml")}
    samlfed("accounts", "create", "--id", "222222222222", env=from_variable)
    admin = json.loads(samlfed("accounts", "create", "--id", "111111111111", "--json", "--data-dir", data, env=from_variable).stdout)

    for env in (from_variable, from_file):
        assert samlfed("accounts", "list", "--data-dir", data, env=env).stdout == "111111111111\n"
        assert samlfed("accounts", "list", env=env).stdout == "222222222222\n"
    both = samlfed("accounts", "list", "--data-dir", data, "--database-url", other, env=from_variable)
    assert both.stdout == "222222222222\n"  # a URL given on the command line too is the store's

    with samlfed_process(["serve"], "--data-dir", data, probe="/readyz", env=from_variable) as url:
        roles = iam_client(url, admin["AccessKeyId"], admin["SecretAccessKey"]).list_roles()  # the workers' store too
    assert roles["Roles"] == []
