"""`login --print env|powershell` output is meant for a shell's eval: every value is quoted for that shell, although
the login client already refuses values that are not AWS credentials (test_sts_answers_not_from_sts)."""

from __future__ import annotations

import subprocess
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
        "export AWS_SESSION_TOKEN=IQoJb3==-_", "export AWS_CREDENTIAL_EXPIRATION=2030-01-01T00:00:00Z",
    ]


def test_powershell_output_is_single_quoted() -> None:
    lines = render(HOSTILE, "powershell").splitlines()
    assert lines[0] == "$Env:AWS_ACCESS_KEY_ID='ASIA$(id)'"
    assert lines[1] == "$Env:AWS_SECRET_ACCESS_KEY='a''b\"c`d'"
    assert len(lines) == 3 + HOSTILE.session_token.count("\n")

