"""`samlfed doctor -`: a response read from standard input is read once, though the doctor checks it again (without
an opt-in it relied on) before it reports."""

from __future__ import annotations

import json
from pathlib import Path

from saml_factory import ENTITY_ID, response_b64, signer
from typer.testing import CliRunner

from samlfed.cli import app
from samlfed.saml.metadata import build_idp_metadata

runner = CliRunner()


def test_an_opt_in_the_response_needs_is_reported_for_standard_input_too(tmp_path: Path) -> None:
    metadata = tmp_path / "idp-metadata.xml"
    metadata.write_bytes(build_idp_metadata(ENTITY_ID, [signer().certificate]))
    saml = response_b64("response")  # needs --allow-response-only-signature
    args = ["doctor", "--metadata", str(metadata), "--now", "2026-11-24T12:00:05Z", "--allow-response-only-signature", "--json"]

    from_file = tmp_path / "response.b64"
    from_file.write_text(saml)
    by_file = runner.invoke(app, [*args, str(from_file)])
    by_stdin = runner.invoke(app, [*args, "-"], input=saml)

    assert by_file.exit_code == by_stdin.exit_code == 0, by_stdin.output  # was 2: "the input is empty" on the second read
    caveats = json.loads(by_stdin.stdout)["caveats"]
    assert any(c.startswith("valid only with --allow-response-only-signature") for c in caveats)
    assert caveats == json.loads(by_file.stdout)["caveats"]
