"""`samlfed login` and `configure` with bad input or a hostile environment: a message and an exit code, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pexpect
import pytest
from login_setup import samlfed, user_env, write_profile
from saml_factory import response_b64
from servers import SAMLFED

from samlfed.login.roles import RoleOption
from samlfed.login.sts import AssumeFailed, _client, assume

NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing answers, so no server data and no STS
TWO_ROLES = [
    "arn:aws:iam::111111111111:role/Developer,arn:aws:iam::111111111111:saml-provider/Idp",
    "arn:aws:iam::111111111111:saml-provider/Idp,arn:aws:iam::111111111111:role/Operator",
]


def _assertion(home: Path) -> str:
    path = home / "captured.b64"
    path.write_text(response_b64(roles=TWO_ROLES))
    return str(path)


def _interrupted(child: pexpect.spawn, prompt: str) -> str:
    """Ctrl-C at `prompt`, pressed again if it was lost, as a user would: CPython's readline handles a SIGINT that
    arrives just before it starts waiting for input only once input arrives (seen once in a dozen runs on a loaded
    machine: '^C' echoed, then nothing for a minute)."""
    try:
        child.expect(prompt)
        for _ in range(5):
            child.sendintr()
            if child.expect([pexpect.EOF, pexpect.TIMEOUT], timeout=10) == 0:
                break
        return child.before
    finally:
        child.close()


def test_end_of_input_at_a_configure_prompt(tmp_path: Path) -> None:
    done = samlfed(tmp_path, "configure", "--profile", "work", stdin="")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.endswith("\nsamlfed: the input ended before the answer to the question above; nothing was done\n")
    assert not (tmp_path / ".config" / "samlfed" / "config.toml").exists()


def test_ctrl_c_at_a_configure_prompt(tmp_path: Path) -> None:
    child = pexpect.spawn(SAMLFED, ["configure", "--profile", "work"], env=user_env(tmp_path), encoding="utf-8", timeout=60)
    output = _interrupted(child, "samlfed URL")
    assert child.exitstatus == 130 and "Aborted!" in output and "Traceback" not in output


def test_ctrl_c_at_the_password_prompt(tmp_path: Path) -> None:
    write_profile(tmp_path, NOWHERE, name="work", ecp_url=f"{NOWHERE}/ecp", username="alice")
    child = pexpect.spawn(SAMLFED, ["login", "--profile", "work"], env=user_env(tmp_path), encoding="utf-8", timeout=60)
    output = _interrupted(child, "Password: ")
    assert child.exitstatus == 130 and "Aborted!" in output and "Traceback" not in output


def test_ctrl_c_at_the_role_chooser(tmp_path: Path) -> None:
    args = ["login", "--endpoint", NOWHERE, "--assertion-file", _assertion(tmp_path)]
    child = pexpect.spawn(SAMLFED, args, env=user_env(tmp_path), encoding="utf-8", timeout=60)
    output = _interrupted(child, "Role: ")
    assert child.exitstatus == 130 and "Aborted!" in output and "Traceback" not in output


def test_a_name_template_that_names_two_roles_alike_is_refused_before_assuming(tmp_path: Path) -> None:
    done = samlfed(tmp_path, "login", "--endpoint", NOWHERE, "--assertion-file", _assertion(tmp_path), "--all-roles", "--profile-name", "same")
    assert done.returncode == 2 and "'same' names both" in done.stderr and "skipped" not in done.stderr


@pytest.mark.parametrize("template", ["{alias.nope}-{role}", "{role[x]}", "{role.upper}", "{role:{x}}", "{0}-{role}", "{role", "{role:d}"])
def test_a_name_template_takes_only_the_plain_fields(tmp_path: Path, template: str) -> None:
    """str.format also reads an attribute or an item of a field: {alias.nope} and {role[x]} ended in a traceback, and
    {role.upper} named each profile '<built-in method upper of str object at 0x...>'."""
    done = samlfed(tmp_path, "login", "--endpoint", NOWHERE, "--assertion-file", _assertion(tmp_path), "--all-roles", "--profile-name", template)
    assert done.returncode == 2 and done.stderr == "samlfed: --profile-name may use {alias}, {account} and {role}\n", done.stderr


@pytest.mark.parametrize("extra", [[], ["--all-roles"]], ids=["one-role", "all-roles"])
def test_an_empty_profile_name_is_refused_not_read_as_the_default(tmp_path: Path, extra: list[str]) -> None:
    """Found by a CLI probe: --profile-name "" fell back to the profile's own name and overwrote [default]."""
    done = samlfed(tmp_path, "login", "--endpoint", NOWHERE, "--assertion-file", _assertion(tmp_path), "--role", "Developer",
                   "--profile-name", "", *extra)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "cannot be an AWS profile name" in done.stderr or "--profile-name" in done.stderr
    assert not (tmp_path / ".aws" / "credentials").exists()


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        (b"[a]\nx = 1\n[a]\ny = 2\n", "section 'a' already exists"),
        (b"[a]\nx = caf\xe9\n", "is not UTF-8 text"),
    ],
)
def test_a_credentials_file_aws_tools_cannot_read_is_found_before_signing_in(tmp_path: Path, credentials: bytes, message: str) -> None:
    path = tmp_path / ".aws" / "credentials"
    path.parent.mkdir()
    path.write_bytes(credentials)
    done = samlfed(tmp_path, "login", "--endpoint", NOWHERE, "--assertion-file", _assertion(tmp_path), "--role", "Developer")
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert path.read_bytes() == credentials


def test_a_credentials_path_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "g").write_text("a file")
    done = samlfed(tmp_path, "login", "--endpoint", NOWHERE, "--assertion-file", _assertion(tmp_path), "--role", "Developer",
                   AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "g" / "creds"))
    assert done.returncode == 2 and "is not a directory" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("config", "message"),
    [(b"profiles = 5\n", "profiles must be a table"), (b'[profiles.work]\nusername = "caf\xe9"\n', "not UTF-8"),
     (b'[profiles.work]\nendpoint = "notaurl"\n', "is not an http:// or https:// URL")],
)
def test_a_login_config_of_the_wrong_shape(tmp_path: Path, config: bytes, message: str) -> None:
    path = tmp_path / ".config" / "samlfed" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_bytes(config)
    done = samlfed(tmp_path, "login", "--profile", "work", "--assertion-file", _assertion(tmp_path))
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_an_endpoint_that_is_not_a_url(tmp_path: Path) -> None:
    done = samlfed(tmp_path, "login", "--endpoint", "notaurl", "--assertion-file", _assertion(tmp_path), "--role", "Developer")
    assert done.returncode == 2 and "--endpoint 'notaurl' is not an http:// or https:// URL" in done.stderr


def test_the_sts_client_ignores_the_users_aws_profile_and_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "broken"
    broken.write_text("[a]\nx = 1\n[a]\n")
    monkeypatch.setenv("AWS_PROFILE", "work")  # not defined anywhere: login is about to create it
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(broken))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(broken))
    assert _client(NOWHERE).meta.endpoint_url == NOWHERE
    option = RoleOption("arn:aws:iam::111111111111:role/R", "arn:aws:iam::111111111111:saml-provider/P")
    with pytest.raises(AssumeFailed):
        assume("notaurl", option, "response", None)


def test_an_empty_password_on_standard_input(tmp_path: Path) -> None:
    write_profile(tmp_path, NOWHERE, name="work", ecp_url=f"{NOWHERE}/ecp", username="alice")
    done = samlfed(tmp_path, "login", "--profile", "work", "--password-stdin", stdin="")
    assert done.returncode == 1 and "standard input is empty" in done.stderr


@pytest.mark.parametrize("stdin", ["s3cret-pass\n", "s3cret-pass\nmore input\n"])
def test_password_stdin_without_a_user_name_never_reads_the_password_as_one(tmp_path: Path, stdin: str) -> None:
    """Standard input holds the password: the user name prompt read its line as the user name (and with more lines
    piped, sent the password to the IdP as a user name, which IdPs log), then said that the password line was empty."""
    write_profile(tmp_path, NOWHERE, name="work", ecp_url=f"{NOWHERE}/ecp")
    done = samlfed(tmp_path, "login", "--profile", "work", "--password-stdin", stdin=stdin)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr == ("samlfed: --password-stdin: standard input holds the password, so give the user name with --username or username "
                           "in profile work\n")


def test_configure_refuses_a_duration_no_login_takes(tmp_path: Path) -> None:
    """Saved, every login refused it, blaming a --duration the user never gave."""
    answers = f"{NOWHERE}\n\necp\nalice\n\n100\nn\n"
    done = samlfed(tmp_path, "configure", "--profile", "work", stdin=answers)
    assert done.returncode == 2
    assert done.stderr.rstrip().endswith("samlfed: the duration must be from 900 to 43200 seconds; nothing was saved")
    assert not (tmp_path / ".config" / "samlfed" / "config.toml").exists()


def test_a_profile_duration_out_of_range_is_named_as_the_profiles(tmp_path: Path) -> None:
    write_profile(tmp_path, NOWHERE, name="work", duration=100)
    done = samlfed(tmp_path, "login", "--profile", "work", "--assertion-file", _assertion(tmp_path))
    assert done.returncode == 2
    config = tmp_path / ".config" / "samlfed" / "config.toml"
    assert done.stderr.strip() == (f"samlfed: duration = 100 of profile work in {config} must be from 900 to 43200 seconds "
                                   "(samlfed configure --profile work, or --duration)")
    flag = samlfed(tmp_path, "login", "--profile", "work", "--assertion-file", _assertion(tmp_path), "--duration", "90")
    assert flag.returncode == 2 and flag.stderr.strip() == "samlfed: --duration must be from 900 to 43200 seconds"


def test_an_empty_profile_name_is_a_usage_error(tmp_path: Path) -> None:
    """`--profile ''` was read as no --profile: configure saved the answers as profile default, and login with
    --endpoint wrote the AWS profile default."""
    refusal = "samlfed: --profile: a profile name cannot be empty (leave --profile out for the default profile)"
    configured = samlfed(tmp_path, "configure", "--profile", "", stdin=f"{NOWHERE}\n\necp\nalice\n\n\nn\n")
    assert (configured.returncode, configured.stderr.strip()) == (2, refusal)
    assert not (tmp_path / ".config" / "samlfed" / "config.toml").exists()
    logged_in = samlfed(tmp_path, "login", "--profile", "", "--endpoint", NOWHERE, "--assertion-file", _assertion(tmp_path))
    assert (logged_in.returncode, logged_in.stderr.strip()) == (2, refusal)
    served = samlfed(tmp_path, "credential-process", "--profile", "")
    assert (served.returncode, served.stderr.strip()) == (2, refusal)


def test_a_user_name_with_a_colon_is_refused_before_any_request(tmp_path: Path) -> None:
    """HTTP Basic ends the user name at the first ':': the IdP read 'alice:x' with password p as user alice with
    password 'x:p', so a failed attempt counted against alice's sign-in throttle. Nothing is sent now."""
    colon = "a user name cannot hold ':' (ECP signs in with HTTP Basic authentication, whose user name ends at the first ':')"
    write_profile(tmp_path, NOWHERE, ecp_url=f"{NOWHERE}/idp/ecp")
    flag = samlfed(tmp_path, "login", "--profile", "demo", "--username", "alice:x", "--password-stdin", "--print", "json", stdin="p\n")
    assert (flag.returncode, flag.stderr.strip()) == (2, f"samlfed: --username: {colon}")

    write_profile(tmp_path, NOWHERE, ecp_url=f"{NOWHERE}/idp/ecp", username="alice:x", remember_password=True)
    config = tmp_path / ".config" / "samlfed" / "config.toml"
    profile = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", "--print", "json", stdin="p\n")
    assert (profile.returncode, profile.stderr.strip()) == (2, f"samlfed: username of profile demo in {config}: {colon}")
    # credential-process signs in by itself with a kept password: not with this user name (nor its keyring entry)
    (tmp_path / "keyring.json").write_text(json.dumps({"samlfed\x00demo:alice:x": "p"}))
    served = samlfed(tmp_path, "credential-process", "--profile", "demo", "--role", "Developer")
    assert served.returncode == 1
    assert f"samlfed: could not refresh the credentials without you: username of profile demo: {colon}\n" in served.stderr

    answers = f"{NOWHERE}\n\necp\nalice:x\nalice\n\n\nn\n"  # configure asks again
    configured = samlfed(tmp_path, "configure", "--profile", "work", stdin=answers)
    assert configured.returncode == 0, configured.stderr
    assert f"Error: {colon}" in configured.stderr
    assert 'username = "alice"' in config.read_text()
