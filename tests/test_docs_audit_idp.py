"""The README's built-in IdP section, run as written: its `samlfed idp` commands in their own processes, then its
`service_providers` YAML example as the IdP's configuration, whose assertion the doctor accepts."""

from __future__ import annotations

import base64
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import yaml
from lxml import etree

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
SAMLFED = str(Path(sys.executable).with_name("samlfed"))
ATTRIBUTE = "{urn:oasis:names:tc:SAML:2.0:assertion}Attribute"
AWS = "https://aws.amazon.com/SAML/Attributes/"


def block_starting(language: str, start: str) -> str:
    found = [block for block in re.findall(rf"```{language}\n(.*?)```", README, re.DOTALL) if block.lstrip().startswith(start)]
    assert len(found) == 1, f"the README has {len(found)} {language} blocks starting with {start!r}"
    return found[0]


def readme_commands() -> dict[str, list[str]]:
    """The block's commands by sub-command ('users add', 'users list', …): `a | b NAME` lines list alternatives of
    `samlfed idp users`, `[--totp]` an optional flag (taken), NAME the added user, `> file` a redirect (dropped)."""
    text = block_starting("sh", ".venv/bin/samlfed idp users add").replace("\\\n", " ")
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        words = line.split("#")[0].split(">")[0].split()
        prefix, rest = words[:3], " ".join(words[3:])
        assert prefix[:2] == [".venv/bin/samlfed", "idp"]
        for alternative in [prefix[2] + " " + rest] if prefix[2] != "users" else ("users " + part.strip() for part in rest.split("|")):
            argv = [word.strip("[]").replace("NAME", "alice") for word in alternative.split()]
            found[" ".join(argv[:2]) if argv[0] == "users" else argv[0]] = argv
    return found


def samlfed(argv: list[str], cwd: Path, stdin: str = "") -> str:
    done = subprocess.run([SAMLFED, "idp", *argv], cwd=cwd, input=stdin, capture_output=True, text=True, timeout=60,
                          env={"PATH": os.environ.get("PATH", ""), "HOME": str(cwd)})
    assert done.returncode == 0, done.stderr
    return done.stdout


def aws_attributes(response_b64: str) -> dict[str, list[str]]:
    root = etree.fromstring(base64.b64decode(response_b64))
    return {a.get("Name").removeprefix(AWS): [v.text for v in a] for a in root.iter(ATTRIBUTE) if a.get("Name").startswith(AWS)}


def test_the_readme_idp_commands_and_application_example_work_as_written(tmp_path: Path) -> None:
    commands = readme_commands()
    assert set(commands) == {"users add", "users list", "users passwd", "users disable", "users enable", "users delete", "metadata", "rotate-key"}
    assert "TOTP secret" in samlfed(commands["users add"], tmp_path, stdin="correct horse\ncorrect horse\n")
    assert re.search(r"^alice +alice@example.com +Engineering +AWS-111111111111-Developer totp$", samlfed(commands["users list"], tmp_path), re.M)
    samlfed(commands["users passwd"], tmp_path, stdin="battery staple\nbattery staple\n")
    (tmp_path / "idp-metadata.xml").write_text(samlfed(commands["metadata"], tmp_path))
    samlfed(commands["rotate-key"], tmp_path)

    config_path = tmp_path / "samlfed-data" / "idp" / "idp.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["service_providers"] = yaml.safe_load(block_starting("yaml", "service_providers:"))["service_providers"]
    config_path.write_text(yaml.safe_dump(config))
    response = samlfed(["assertion", "--user", "alice"], tmp_path).strip()
    assert aws_attributes(response) == {
        "Role": ["arn:aws:iam::111111111111:saml-provider/CorpIdP,arn:aws:iam::111111111111:role/Developer"],  # adfs: provider first
        "RoleSessionName": ["alice@example.com"], "SessionDuration": ["3600"], "PrincipalTag:department": ["Engineering"],
        "TransitiveTagKeys": ["department"], "SourceIdentity": ["alice"],
    }
    (tmp_path / "response.b64").write_text(response)
    doctor = subprocess.run([SAMLFED, "doctor", "response.b64", "--metadata", "idp-metadata.xml", "--acs", "http://127.0.0.1:8080/saml"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert doctor.returncode == 0, doctor.stdout  # registered before the rotation, the metadata still verifies

    assert samlfed(commands["users disable"], tmp_path) == "disabled alice; their IdP sessions have ended\n"
    assert samlfed(commands["users enable"], tmp_path) == "enabled alice\n"
    assert samlfed(commands["users delete"], tmp_path) == "deleted alice\n"
    assert samlfed(commands["users list"], tmp_path) == ""


def test_a_data_directory_the_idp_commands_create_is_owner_only(tmp_path: Path) -> None:
    samlfed(["metadata"], tmp_path)
    assert stat.S_IMODE((tmp_path / "samlfed-data").stat().st_mode) == 0o700


def test_idp_metadata_names_the_documented_default_url_and_the_given_one(tmp_path: Path) -> None:
    assert "`idp metadata` and `idp assertion` name the IdP by `--public-url` (default `http://127.0.0.1:8080`" in README
    entity = "{urn:oasis:names:tc:SAML:2.0:metadata}EntityDescriptor"
    default = etree.fromstring(samlfed(["metadata"], tmp_path).encode())
    given = etree.fromstring(samlfed(["metadata", "--public-url", "http://127.0.0.1:8081"], tmp_path).encode())
    assert (default.tag, default.get("entityID")) == (entity, "http://127.0.0.1:8080/idp/metadata")
    assert given.get("entityID") == "http://127.0.0.1:8081/idp/metadata"
