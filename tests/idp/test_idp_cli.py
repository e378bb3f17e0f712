"""`samlfed idp ...` and `samlfed demo` through typer, on real files."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from lxml import etree
from typer.testing import CliRunner

from samlfed.cli import app
from samlfed.idp.directory import DirectoryError, read_yaml
from samlfed.saml import ValidationSettings, validate
from samlfed.saml.metadata import parse_metadata

runner = CliRunner()


def _run(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=input)


def test_users_add_list_passwd_delete(tmp_path: Path) -> None:
    idp_dir = ["--idp-dir", str(tmp_path / "idp")]
    added = _run("idp", "users", "add", "dana", "--password", "dana's password", "--email", "dana@example.com", "--department", "Ops",
                 "--group", "AWS-111111111111-Ops", "--attribute", "costcenter=42", "--totp", *idp_dir)
    assert added.exit_code == 0, added.output
    assert re.search(r"TOTP secret: [A-Z2-7]{32}", added.output) and "otpauth://totp/" in added.output
    stored = read_yaml(tmp_path / "idp" / "idp.yaml")["users"]["dana"]
    assert stored["password_hash"].startswith("$argon2id$") and "dana's password" not in json.dumps(stored)
    assert stat.S_IMODE((tmp_path / "idp" / "idp.yaml").stat().st_mode) == 0o600

    listed = json.loads(_run("idp", "users", "list", "--json", *idp_dir).output)
    assert listed == [{"username": "dana", "display_name": "", "email": "dana@example.com", "department": "Ops", "groups": ["AWS-111111111111-Ops"], "totp": True, "disabled": False}]
    assert "password_hash" not in _run("idp", "users", "list", *idp_dir).output

    assert _run("idp", "users", "add", "dana", "--password", "another password", *idp_dir).exit_code == 2  # exists
    assert _run("idp", "users", "add", "eve", "--password", "short", *idp_dir).exit_code == 2
    assert _run("idp", "users", "add", "bad name", "--password", "long enough", *idp_dir).exit_code == 2
    old_hash = stored["password_hash"]
    differing = _run("idp", "users", "passwd", "dana", *idp_dir, input="a new password\nanother password\n")
    assert differing.exit_code == 2 and "the passwords differ" in differing.output
    assert read_yaml(tmp_path / "idp" / "idp.yaml")["users"]["dana"]["password_hash"] == old_hash
    assert _run("idp", "users", "passwd", "dana", *idp_dir, input="a new password\r\na new password\r\n").exit_code == 0
    new_hash = read_yaml(tmp_path / "idp" / "idp.yaml")["users"]["dana"]["password_hash"]
    assert new_hash != old_hash and PasswordHasher().verify(new_hash, "a new password")  # line ends are not part of it
    assert _run("idp", "users", "add", "erin", "--idp-dir", str(tmp_path / "idp"), input="erin's password\n").exit_code == 2  # one line
    assert _run("idp", "users", "passwd", "nobody", "--password", "whatever123", *idp_dir).exit_code == 2
    assert _run("idp", "users", "delete", "dana", *idp_dir).exit_code == 0
    assert _run("idp", "users", "delete", "dana", *idp_dir).exit_code == 2
    assert json.loads(_run("idp", "users", "list", "--json", *idp_dir).output) == []


def test_password_stdin_reads_one_line_and_password_on_the_command_line_is_warned_of(tmp_path: Path) -> None:
    """--password puts the password in argv (ps, /proc/PID/cmdline) and the shell history: it still works, with a
    warning naming --password-stdin, which reads the first line of stdin (as `samlfed login` does)."""
    idp_dir = ["--idp-dir", str(tmp_path / "idp")]
    added = _run("idp", "users", "add", "dana", "--password-stdin", *idp_dir, input="dana's password\r\nignored\n")
    assert added.exit_code == 0 and "warning" not in added.stderr, added.output
    assert PasswordHasher().verify(read_yaml(tmp_path / "idp" / "idp.yaml")["users"]["dana"]["password_hash"], "dana's password")
    changed = _run("idp", "users", "passwd", "dana", "--password-stdin", *idp_dir, input="a new password\n")
    assert changed.exit_code == 0 and not changed.stderr, changed.output
    assert PasswordHasher().verify(read_yaml(tmp_path / "idp" / "idp.yaml")["users"]["dana"]["password_hash"], "a new password")
    for command in (["add", "erin"], ["passwd", "dana"]):
        warned = _run("idp", "users", *command, "--password", "long enough", *idp_dir)
        assert warned.exit_code == 0, warned.output
        assert warned.stderr.count("\n") == 1 and "--password shows the password to other local users" in warned.stderr
        assert "--password-stdin" in warned.stderr
        empty = _run("idp", "users", *command, "--password-stdin", *idp_dir, input="")
        assert empty.exit_code == 2 and "--password-stdin: the first line of standard input is empty" in empty.stderr
        both = _run("idp", "users", *command, "--password", "long enough", "--password-stdin", *idp_dir, input="long enough\n")
        assert both.exit_code == 2 and "not both" in both.stderr


def test_rotate_key_publishes_a_new_key(tmp_path: Path) -> None:
    idp_dir = ["--idp-dir", str(tmp_path / "idp"), "--public-url", "http://127.0.0.1:9"]
    first = _run("idp", "metadata", *idp_dir)
    before = parse_metadata(first.stdout.encode())
    assert first.stderr == f"note: there was no built-in IdP in {tmp_path / 'idp'}: made a new, empty one there\n"  # a mistyped path shows
    rotated = _run("idp", "rotate-key", "--grace", "2h", "--idp-dir", str(tmp_path / "idp"))
    assert rotated.exit_code == 0 and "signs from" in rotated.output and not rotated.stderr
    after = parse_metadata(_run("idp", "metadata", *idp_dir).output.encode())
    assert len(after.signing_keys) == len(before.signing_keys) + 1
    for not_one in ("soon", "9" * 5000 + "s"):
        assert _run("idp", "rotate-key", "--grace", not_one, "--idp-dir", str(tmp_path / "idp")).exit_code == 2
    keys = (tmp_path / "idp" / "keys" / "keys.json").read_bytes()
    for too_long in ("366d", "99999999d", "99999999999999999999d"):  # the others overflowed the calendar, then timedelta: tracebacks
        refused = _run("idp", "rotate-key", "--grace", too_long, "--idp-dir", str(tmp_path / "idp"))
        assert refused.exit_code == 2 and "longer than 365 days" in refused.stderr, refused.output
    assert (tmp_path / "idp" / "keys" / "keys.json").read_bytes() == keys


def test_demo_seeds_idempotently_and_its_assertion_step_works(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    first = _run("demo", "--no-serve", "--data-dir", "demo", "--port", "8089")
    assert first.exit_code == 0, first.output
    second = _run("demo", "--no-serve", "--data-dir", "demo", "--port", "8089")
    assert second.exit_code == 0, second.output
    keys = re.findall(r"(\d{12}) acme-\w+\s+(AKIA\w+)", first.output)
    assert [k for k, _ in keys] == ["111111111111", "222222222222"]
    assert re.findall(r"(\d{12}) acme-\w+\s+(AKIA\w+)", second.output) == keys  # the same administrator keys again
    passwords = re.findall(r"^  (alice|bob|admin)\s+(\S+)", first.output, re.M)
    assert [u for u, _ in passwords] == ["alice", "bob", "admin"]
    assert passwords != re.findall(r"^  (alice|bob|admin)\s+(\S+)", second.output, re.M)  # fresh passwords each start

    # Next step 2's first command, as printed.
    command = re.search(r"SAML=\$\(samlfed (idp assertion [^)]*)\)", second.output).group(1).split()
    assertion = _run(*command)
    assert assertion.exit_code == 0, assertion.output
    trust = parse_metadata(Path("demo/idp-metadata.xml").read_bytes()).trust()
    settings = ValidationSettings().accepting(acs_urls=["http://127.0.0.1:8089/saml"])
    verified = validate(assertion.output.strip(), trust, now=datetime.now(UTC), settings=settings)
    assert verified.claims.role_session_name == "alice@acme.example"
    assert etree.fromstring(Path("demo/idp-metadata.xml").read_bytes()).get("entityID") == "http://127.0.0.1:8089/idp/metadata"
    assert _run("idp", "assertion", "--user", "nobody", "--idp-dir", "demo/idp").exit_code == 2


def test_a_second_demo_refuses_before_it_touches_the_running_demos_data(tmp_path: Path) -> None:
    """Run twice (a second terminal, `make demo` again), the second demo re-seeded the first one's data (new
    passwords, the IdP's URLs rewritten to its port) and only then failed to listen: the first one's users could no
    longer sign in."""
    from urllib.parse import urlsplit

    from servers import SAMLFED, free_port, samlfed_process

    data_dir = tmp_path / "demo"
    with samlfed_process(["demo"], "--data-dir", str(data_dir), probe="/healthz") as url:
        seeded = {path: path.read_bytes() for path in sorted(data_dir.rglob("*.yaml")) + [data_dir / "idp-metadata.xml"]}
        port = str(urlsplit(url).port)
        for other_port, refusal in ((port, f"cannot listen on 127.0.0.1:{port}"), (str(free_port()), f"another samlfed demo is running on {data_dir}")):
            second = subprocess.run([SAMLFED, "demo", "--data-dir", str(data_dir), "--port", other_port], capture_output=True, text=True, timeout=60)
            assert second.returncode == 2 and refusal in second.stderr, second.stderr
            assert "Traceback" not in second.stderr and "alice" not in second.stdout  # nothing seeded, no passwords printed
            assert {path: path.read_bytes() for path in seeded} == seeded
    again = subprocess.run([SAMLFED, "demo", "--no-serve", "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr  # the lock ends with the demo that held it


def test_demo_takes_only_its_log_settings_from_the_environment(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Found by a docs probe: the demo read every SAMLFED_* variable, so a shell holding the production database URL
    seeded the demo accounts, with their printed administrator keys, into that database (and SAMLFED_MASTER_KEY
    sealed the demo's secrets with the production key, which a later demo without it could not open)."""
    elsewhere = tmp_path / "production.db"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SAMLFED_DATABASE_URL", f"sqlite:///{elsewhere}")
    monkeypatch.setenv("SAMLFED_PUBLIC_URL", "https://pub.example")
    monkeypatch.setenv("SAMLFED_PORT", "9999")
    monkeypatch.setenv("SAMLFED_CONFIG", str(tmp_path / "missing.toml"))
    monkeypatch.setenv("SAMLFED_LOG_FORMAT", "yaml")  # the one setting it does read: a bad value is refused
    refused = _run("demo", "--no-serve", "--data-dir", "demo", "--port", "8089")
    assert refused.exit_code == 2 and "SAMLFED_LOG_FORMAT" in refused.output
    monkeypatch.setenv("SAMLFED_LOG_FORMAT", "json")
    monkeypatch.setenv("SAMLFED_MASTER_KEY", base64.b64encode(bytes(range(32))).decode())  # production's, say
    seeded = _run("demo", "--no-serve", "--data-dir", "demo", "--port", "8089")
    assert seeded.exit_code == 0, seeded.output
    assert not elsewhere.exists() and (tmp_path / "demo" / "samlfed.db").is_file()
    assert "http://127.0.0.1:8089/" in seeded.output and "pub.example" not in seeded.output
    assert (tmp_path / "demo" / "master.key").read_bytes() != bytes(range(32))  # its own key, kept with its data


def _idp_serve_until_up(port: int, *args: str, **popen: object) -> tuple[str, str]:
    """Run `samlfed idp serve --port PORT ARGS` until its metadata answers, then stop it: its stdout and stderr."""
    from servers import SAMLFED, wait_until_up

    server = subprocess.Popen([SAMLFED, "idp", "serve", "--port", str(port), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)
    try:
        up = wait_until_up(f"http://127.0.0.1:{port}/idp/metadata", seconds=30, gave_up=lambda: server.poll() is not None)
    finally:
        server.terminate()
        out, err = server.communicate(timeout=15)
    assert up, err
    return out, err


def test_idp_serve_says_where_it_listens(tmp_path: Path) -> None:
    """It used to start in silence: no URL, not even uvicorn's listening line, which `serve` prints."""
    from servers import free_port

    port = free_port()
    out, err = _idp_serve_until_up(port, "--idp-dir", str(tmp_path / "idp"))
    assert f"IdP metadata: http://127.0.0.1:{port}/idp/metadata\nIdP sign-in page: http://127.0.0.1:{port}/idp/login\n" in out
    assert f"Uvicorn running on http://127.0.0.1:{port}" in err and "Traceback" not in err


def test_idp_serve_reads_the_environment_as_idp_users_does(tmp_path: Path) -> None:
    """Found by the diff review: isolating idp serve from SAMLFED_* variables (as the demo is) made it serve a new,
    empty IdP with new keys where `idp users` had put the users, at another entity ID."""
    from servers import SAMLFED, free_port

    port = free_port()
    env = {**os.environ, "SAMLFED_IDP_DIR": str(tmp_path / "idp"), "SAMLFED_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    added = subprocess.run([SAMLFED, "idp", "users", "add", "alice", "--password", "correct horse"], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    _, err = _idp_serve_until_up(port, env=env, cwd=tmp_path)
    assert "there was no built-in IdP" not in err and not (tmp_path / "samlfed-data").exists()


def test_idp_serve_runs_the_idp_alone(tmp_path: Path) -> None:
    """`samlfed idp serve`, the installed console script in its own process."""
    import httpx
    from servers import samlfed_process

    with samlfed_process(["idp", "serve"], "--idp-dir", str(tmp_path / "idp"), probe="/idp/metadata") as url:
        metadata = httpx.get(f"{url}/idp/metadata")
        assert metadata.status_code == 200
        assert parse_metadata(metadata.content).entity_id == f"{url}/idp/metadata"
        assert httpx.get(f"{url}/idp/login").status_code == 200
        assert httpx.get(f"{url}/").status_code == 404  # the IdP alone: no IAM/STS API


def test_a_user_listed_twice_in_idp_yaml_is_a_configuration_error(tmp_path: Path) -> None:
    """PyYAML keeps the last of two equal keys: the second `alice` replaced the first unseen (here it disabled her),
    and a `users` command rewrote the file without the first."""
    assert _run("idp", "users", "add", "alice", "--password", "alice's password", "--idp-dir", str(tmp_path)).exit_code == 0
    path = tmp_path / "idp.yaml"
    path.write_text(path.read_text() + "  alice:\n    password_hash: x\n    disabled: true\n")
    listed = _run("idp", "users", "list", "--idp-dir", str(tmp_path))
    assert listed.exit_code == 2 and "found key 'alice' more than once (line" in listed.output
    written = path.read_text()
    assert _run("idp", "users", "disable", "alice", "--idp-dir", str(tmp_path)).exit_code == 2
    assert path.read_text() == written


def test_keys_merged_in_by_yaml_may_still_be_overridden(tmp_path: Path) -> None:
    path = tmp_path / "idp.yaml"
    path.write_text(
        "service_providers:\n"
        "  base: &base {entity_id: urn:a, acs_urls: ['https://a.example/saml']}\n"
        "  other: {<<: *base, entity_id: urn:b}\n"
        "users: {}\n"
    )
    assert read_yaml(path)["service_providers"]["other"] == {"entity_id": "urn:b", "acs_urls": ["https://a.example/saml"]}
    path.write_text("service_providers:\n  aws: {entity_id: urn:a, entity_id: urn:b, acs_urls: ['https://a.example/saml']}\n")
    with pytest.raises(DirectoryError, match=r"found key 'entity_id' more than once \(line 2, column"):
        read_yaml(path)


def test_yaml_nested_too_deeply_is_a_configuration_error(tmp_path: Path) -> None:
    """PyYAML reads nested collections recursively: a file of thousands of `[` raised RecursionError (a traceback)."""
    (tmp_path / "idp.yaml").write_text("users: " + "[" * 50_000 + "]" * 50_000 + "\n")
    listed = _run("idp", "users", "list", "--idp-dir", str(tmp_path))
    assert listed.exit_code == 2 and "idp.yaml nests lists or mappings too deeply to be read" in listed.output
