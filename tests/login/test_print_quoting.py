"""`login --print env|powershell` output is meant for a shell's eval: every value is quoted for that shell, although
the login client already refuses values that are not AWS credentials (test_sts_answers_not_from_sts)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

from samlfed.login.credentials_file import AwsCredentials, render

HOSTILE = AwsCredentials("ASIA$(id)", "a'b\"c`d", "tok;echo pwned\nx", datetime(2030, 1, 1, tzinfo=UTC))


def test_env_output_evaluates_to_the_values_themselves() -> None:
    script = render(HOSTILE, "env") + '\nprintf "%s|%s|%s" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN"'
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30, check=True)
    assert done.stdout == f"{HOSTILE.access_key_id}|{HOSTILE.secret_access_key}|{HOSTILE.session_token}"


def test_env_output_of_real_credentials_is_unchanged() -> None:
    plain = AwsCredentials("ASIAEXAMPLE0000000001", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "IQoJb3==-_", datetime(2030, 1, 1, tzinfo=UTC))
    assert render(plain, "env").splitlines() == [
        "export AWS_ACCESS_KEY_ID=ASIAEXAMPLE0000000001", "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "export AWS_SESSION_TOKEN=IQoJb3==-_", "export AWS_CREDENTIAL_EXPIRATION=2030-01-01T00:00:00Z", "unset AWS_SECURITY_TOKEN",
    ]


def test_env_output_leaves_no_older_token_for_botocore_to_prefer() -> None:
    """AWS_SECURITY_TOKEN, the session token's older name, is what saml2aws's output exports too; botocore reads it
    before AWS_SESSION_TOKEN, so one left from an earlier session went with the new keys (InvalidClientTokenId)."""
    plain = AwsCredentials("ASIAEXAMPLE0000000001", "secret", "NEWTOKEN", datetime(2030, 1, 1, tzinfo=UTC))
    read = f"{sys.executable} -c 'import botocore.session; print(botocore.session.Session().get_credentials().token)'"
    script = f"export AWS_SECURITY_TOKEN=OLDTOKEN\n{render(plain, 'env')}\n{read}"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environment.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=60, check=True, env=environment)
    assert done.stdout.strip() == "NEWTOKEN"


def test_powershell_output_is_single_quoted() -> None:
    lines = render(HOSTILE, "powershell").splitlines()
    assert lines[0] == "$Env:AWS_ACCESS_KEY_ID='ASIA$(id)'"
    assert lines[1] == "$Env:AWS_SECRET_ACCESS_KEY='a''b\"c`d'"
    assert len(lines) == 5 + HOSTILE.session_token.count("\n")
    assert lines[-1] == "$Env:AWS_SECURITY_TOKEN=$null"  # removed, as env's unset: botocore would read it first


def test_powershell_output_sets_what_env_output_sets() -> None:
    """PowerShell's output left out AWS_CREDENTIAL_EXPIRATION, which env's exports (botocore reads it with the keys)."""
    plain = AwsCredentials("ASIAEXAMPLE0000000001", "secret", "TOKEN", datetime(2030, 1, 1, tzinfo=UTC))
    exported = [line.removeprefix("export ").split("=", 1) for line in render(plain, "env").splitlines()[:-1]]
    assert render(plain, "powershell").splitlines()[:-1] == [f"$Env:{name}='{value}'" for name, value in exported]
    assert "$Env:AWS_CREDENTIAL_EXPIRATION='2030-01-01T00:00:00Z'" in render(plain, "powershell").splitlines()

