"""A console sign-in is logged once its session is stored: with the database refusing the session, the user got a
503 page while the log said they had signed in."""

from __future__ import annotations

import json
import logging
import sqlite3

import boto3
import httpx
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from console_setup import FACTORY_PROVIDER, VIEWER, factory_response, prepare
from demo_stack import demo_server, forms, idp_initiated

from samlfed.iam.arns import role_arn

PROD = "222222222222"


def signed_in_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("console sign-in subject=")]


def test_a_sign_in_whose_session_the_database_refuses_is_not_logged_as_one(tmp_path, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    with demo_server(tmp_path, prepare) as demo, httpx.Client() as browser, caplog.at_level(logging.INFO, logger="samlfed.console"):
        def sign_in() -> httpx.Response:
            page = browser.post(f"{demo['url']}/saml", data={"SAMLResponse": idp_initiated(demo, browser, "alice")})
            form = forms(page)[0]
            return browser.post(f"{demo['url']}{form['action']}", data={**form["fields"], "roleIndex": role_arn(PROD, "ReadOnly")})

        with sqlite3.connect(tmp_path / "samlfed.db") as db:
            db.execute("ALTER TABLE console_sessions RENAME TO console_sessions_away")
        refused = sign_in()
        assert refused.status_code == 503 and signed_in_lines(caplog) == []
        with sqlite3.connect(tmp_path / "samlfed.db") as db:
            db.execute("ALTER TABLE console_sessions_away RENAME TO console_sessions")
        assert sign_in().status_code == 303
        assert len(signed_in_lines(caplog)) == 1 and "alice" in signed_in_lines(caplog)[0]


def test_a_sign_in_whose_session_the_database_refuses_leaves_its_response_usable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """With strict replay, the chosen role's use of the response was recorded before the session row was written:
    when that write failed (503), the user's retry with the same response was refused as a replay."""
    with demo_server(tmp_path, prepare, strict_replay=True) as demo, httpx.Client() as browser:
        page = browser.post(f"{demo['url']}/saml", data={"SAMLResponse": idp_initiated(demo, browser, "alice")})
        form = forms(page)[0]

        def choose() -> httpx.Response:
            return browser.post(f"{demo['url']}{form['action']}", data={**form["fields"], "roleIndex": role_arn(PROD, "ReadOnly")})

        with sqlite3.connect(tmp_path / "samlfed.db") as db:
            db.execute("ALTER TABLE console_sessions RENAME TO console_sessions_away")
        assert choose().status_code == 503
        with sqlite3.connect(tmp_path / "samlfed.db") as db:
            db.execute("ALTER TABLE console_sessions_away RENAME TO console_sessions")
        assert choose().status_code == 303  # the retry
        replayed = choose()
        assert replayed.status_code != 303 and "The SAML assertion has already been used" in replayed.text


def federation_login(demo: dict) -> dict[str, str]:
    """/federation's login parameters for a fresh sign-in token of the factory account's Viewer role."""
    sts = boto3.client("sts", endpoint_url=demo["url"], region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    issued = sts.assume_role_with_saml(RoleArn=VIEWER, PrincipalArn=FACTORY_PROVIDER, SAMLAssertion=factory_response())["Credentials"]
    session = json.dumps({"sessionId": issued["AccessKeyId"], "sessionKey": issued["SecretAccessKey"], "sessionToken": issued["SessionToken"]})
    token = httpx.get(f"{demo['url']}/federation", params={"Action": "getSigninToken", "Session": session}).json()["SigninToken"]
    return {"Action": "login", "Destination": "/console", "SigninToken": token}


def test_a_federation_login_whose_session_the_database_refuses_leaves_its_sign_in_token_usable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """/federation's login recorded the token's one use (and dropped its credentials) before the console session was
    written: when that write failed (503), the retry with the same sign-in token was refused as already used."""
    with demo_server(tmp_path, prepare) as demo:
        login = federation_login(demo)
        with sqlite3.connect(tmp_path / "samlfed.db") as db:  # new sessions cannot be written; the token's row is read
            db.execute("CREATE TRIGGER refuse_sessions BEFORE INSERT ON console_sessions BEGIN INSERT INTO nowhere VALUES (1); END")
        assert httpx.get(f"{demo['url']}/federation", params=login).status_code == 503
        with sqlite3.connect(tmp_path / "samlfed.db") as db:
            db.execute("DROP TRIGGER refuse_sessions")
        retried = httpx.get(f"{demo['url']}/federation", params=login)
        assert retried.status_code == 302 and retried.headers["set-cookie"].startswith("samlfed_console=")
        again = httpx.get(f"{demo['url']}/federation", params=login)
        assert again.status_code == 400 and "already used" in again.text and "set-cookie" not in again.headers


def test_a_federation_login_whose_token_row_cannot_be_dropped_still_signs_in(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The session is stored and the token's use recorded: a database failing to drop the token's row afterwards
    must not turn the sign-in into a 503 (the row expires, and the recorded use refuses the token)."""
    with demo_server(tmp_path, prepare) as demo:
        login = federation_login(demo)
        with sqlite3.connect(tmp_path / "samlfed.db") as db:
            # a row's deletion fails as a database error (a statement deleting no row runs)
            db.execute("CREATE TRIGGER keep_sessions BEFORE DELETE ON console_sessions BEGIN SELECT abs(-9223372036854775808); END")
        signed_in = httpx.get(f"{demo['url']}/federation", params=login)
        assert signed_in.status_code == 302 and signed_in.headers["set-cookie"].startswith("samlfed_console=")
        again = httpx.get(f"{demo['url']}/federation", params=login)
        assert again.status_code == 400 and "already used" in again.text
