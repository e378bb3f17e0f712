"""Walkthrough fixes of the command line: `keys list` tells when the ring is created, `serve --help` names the
variables of --data-dir and --database-url."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from samlfed.cli import app
from samlfed.cli_common import UsageExit, idp_app_or_exit
from samlfed.config import Settings
from samlfed.server import build_context
from samlfed.sts.credentials import InvalidSessionToken

runner = CliRunner()


def test_keys_list_says_truly_when_the_ring_is_created(tmp_path: Path) -> None:
    assert runner.invoke(app, ["accounts", "create", "--data-dir", str(tmp_path)]).exit_code == 0
    ctx = build_context(Settings(data_dir=tmp_path))  # what a started node has: no ring yet
    empty = runner.invoke(app, ["keys", "list", "--data-dir", str(tmp_path)])
    assert empty.output == "no keys yet: the ring is created when the service first issues or checks a session token (or by samlfed keys rotate)\n"
    with pytest.raises(InvalidSessionToken):
        ctx.open_session("ASIAAAAAAAAAAAAAAAAA", "not a token")
    created = runner.invoke(app, ["keys", "list", "--data-dir", str(tmp_path)])
    assert created.exit_code == 0 and created.output.count(" active\n") == 1, created.output


def test_serve_help_names_the_data_dir_and_database_url_variables() -> None:
    shown = runner.invoke(app, ["serve", "--help"]).output
    assert "(SAMLFED_DATA_DIR)" in shown and "(SAMLFED_DATABASE_URL)" in shown


@pytest.mark.parametrize("command", ["metadata", "assertion"])
def test_idp_public_url_help_says_where_its_default_comes_from(tmp_path: Path, command: str) -> None:
    """Found by a CLI walkthrough: the help said "default: http://HOST:PORT", but these commands have no --host or
    --port; the default is serve's address from the settings, as the metadata shows."""
    shown = " ".join(runner.invoke(app, ["idp", command, "--help"]).output.replace("│", " ").split())
    assert "HOST:PORT" not in shown
    assert "(SAMLFED_PUBLIC_URL); default: the address samlfed serve listens on, from the settings (SAMLFED_HOST and SAMLFED_PORT, or the SAMLFED_CONFIG file), else http://127.0.0.1:8080" in shown
    metadata = runner.invoke(app, ["idp", "metadata", "--data-dir", str(tmp_path)], env={"SAMLFED_PORT": "9443"})
    assert metadata.exit_code == 0 and 'entityID="http://127.0.0.1:9443/idp/metadata"' in metadata.stdout


def test_serve_help_names_the_negative_flags_in_their_positives_help() -> None:
    """The negatives are hidden options: typer's --x/--no-x form gave them a column of their own, which squeezed the
    help at 80 columns and cut --database-url's with "…"."""
    shown = runner.invoke(app, ["serve", "--help"], terminal_width=80).output
    assert "…" not in shown and "(SAMLFED_DATABASE_URL)" in shown
    flat = " ".join(shown.replace("│", " ").split())
    for said in ("(SAMLFED_STRICT_REPLAY; off: --no-strict-replay)", "(SAMLFED_WITH_IDP; off: --without-idp)", "(SAMLFED_METRICS; off: --no-metrics)"):
        assert said in flat
    options = [line.split()[1] for line in shown.splitlines() if line.startswith("│ --")]
    assert not {"--no-strict-replay", "--without-idp", "--no-metrics"} & set(options)


def test_an_idp_directory_that_is_a_file_is_called_not_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Found by a CLI probe: an --idp-dir (or DATA_DIR/idp) that is a regular file was refused with mkdir's "File
    exists", which reads as if nothing were wrong with it; the data directory says "not a directory" there."""
    (tmp_path / "idp").write_text("")
    listed = subprocess.run([str(Path(sys.executable).with_name("samlfed")), "idp", "users", "list", "--idp-dir", "idp"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert (listed.returncode, listed.stderr) == (2, "samlfed: cannot complete the command: not a directory: idp\n")
    with pytest.raises(UsageExit):
        idp_app_or_exit(Settings(data_dir=tmp_path, with_idp=True))
    assert capsys.readouterr().err == f"samlfed: cannot use the IdP directory {tmp_path / 'idp'}: not a directory\n"
