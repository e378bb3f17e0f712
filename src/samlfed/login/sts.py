"""AssumeRoleWithSAML against samlfed (or AWS), with the one duration retry client tools need.

botocore builds the request and reads the answer, but the login client's transport sends it (botocore's documented
`before-send` hook): botocore's own HTTP stack bounds each read, not the exchange, nor the size of the answer."""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .credentials_file import AwsCredentials
from .exchange import TransportError
from .roles import RoleOption
from .transport import InsecureUrl, Transport, redacted

_TOO_LONG = "exceeds the MaxSessionDuration"
MAX_ANSWER_BYTES = 1_000_000
"""An AssumeRoleWithSAML answer is a few kilobytes."""
READ_TIMEOUT = 30
"""Seconds one read may wait (the transport's deadline bounds the whole exchange)."""
_ACCESS_KEY_ID = re.compile(r"[A-Z0-9]{16,128}", re.ASCII)
_KEY_MATERIAL = re.compile(r"[A-Za-z0-9+/=_-]{1,8192}", re.ASCII)
"""A secret key or session token: base64 (AWS's) or base64url (samlfed's). Nothing else may reach the credentials
file, whose lines a value with a line break could add to, or a shell's `eval` of `--print env`."""
UNANSWERED = ("ConnectionError", "InsecureEndpoint", "NotAnStsAnswer")
"""Codes of failures on the way to STS: nothing refused the response."""


class AssumeFailed(Exception):
    """STS refused; `code` and `message` are AWS's."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{message} ({code})")
        self.code = code
        self.message = message

    @property
    def unanswered(self) -> bool:
        """No STS check refused the response. botocore names an error answer without an error document (a proxy's
        502 page, a 503 while STS is down) by its HTTP status; STS's own codes are never numbers."""
        return self.code in UNANSWERED or self.code.isdecimal()


@dataclass(frozen=True)
class Assumed:
    credentials: AwsCredentials
    duration_note: str | None = None
    """Set when the requested duration was refused and a shorter one was used."""


def assume(endpoint: str, option: RoleOption, saml_response: str, duration: int | None, transport: Transport = Transport()) -> Assumed:
    """Assume `option` with the response; if the duration exceeds the role's maximum, retry once with 3600."""
    try:
        transport.check(endpoint, "the STS endpoint")
    except InsecureUrl as exc:  # the assertion would go there, and the credentials come back
        raise AssumeFailed("InsecureEndpoint", str(exc)) from None
    try:
        return Assumed(_call(endpoint, option, saml_response, duration, transport))
    except AssumeFailed as failure:
        if duration is None or duration <= 3600 or failure.code != "ValidationError" or _TOO_LONG not in failure.message:
            raise
    return Assumed(
        _call(endpoint, option, saml_response, 3600, transport),
        f"{option.role_name} allows less than {duration} seconds; its credentials last 3600 seconds instead",
    )


def _client(endpoint: str, transport: Transport = Transport()) -> Any:
    """An STS client that nothing of the user's AWS setup can break.

    AssumeRoleWithSAML is unsigned, so no credentials, profile or AWS file are needed: the session neither
    follows AWS_PROFILE (a profile that login is about to create may not exist yet) nor reads ~/.aws/config or
    ~/.aws/credentials (a file login is about to repair may not parse). The transport sends the request (_send): its
    TLS rules (the CLI's --ca-bundle, profile ca_bundle or AWS_CA_BUNDLE, else the system's CAs), proxy rules,
    deadline and answer cap, never botocore's own settings.
    """
    import botocore.session
    from botocore import UNSIGNED
    from botocore.config import Config

    session = botocore.session.Session(session_vars={
        "profile": (None, None, None, None),
        "config_file": (None, None, os.devnull, None),
        "credentials_file": (None, None, os.devnull, None),
    })
    client = session.create_client(
        "sts", endpoint_url=endpoint, region_name="us-east-1", config=Config(signature_version=UNSIGNED, retries={"max_attempts": 2}),
    )
    client.meta.events.register("before-send.sts.AssumeRoleWithSAML", lambda request, **_: _send(transport, request))
    return client


class _Body:
    """An answer already read, as botocore's AWSResponse reads its raw stream."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def _send(transport: Transport, request: Any) -> Any:
    """Send botocore's prepared request through the transport; the answer (an error status too) goes back to botocore."""
    from botocore.awsrequest import AWSResponse, HeadersDict

    body = request.body.encode() if isinstance(request.body, str) else request.body
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    http = urllib.request.Request(request.url, data=body, headers=headers, method=request.method)
    try:  # no redirect is followed (nor does botocore follow one): the assertion stays with the endpoint
        with transport.opener(follow_redirects=False, max_bytes=MAX_ANSWER_BYTES).open(http, timeout=READ_TIMEOUT) as answer:
            status, answer_headers, data = answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as exc:
        status, answer_headers, data = exc.code, exc.headers, exc.read()
    # botocore-stubs wants HTTPHeaders here; AWSResponse takes any mapping into a HeadersDict of its own.
    return AWSResponse(request.url, status, HeadersDict(answer_headers.items()), _Body(data))  # type: ignore[arg-type]


def _not_sts(endpoint: str) -> AssumeFailed:
    return AssumeFailed("NotAnStsAnswer", f"STS at {redacted(endpoint)} gave an answer that is not from STS (a web page, a proxy's?): "
                                          "check the endpoint URL")


def _call(endpoint: str, option: RoleOption, saml_response: str, duration: int | None, transport: Transport) -> AwsCredentials:
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    params: dict[str, object] = {"RoleArn": option.role_arn, "PrincipalArn": option.provider_arn, "SAMLAssertion": saml_response}
    if duration is not None:
        params["DurationSeconds"] = duration
    try:
        answer = _client(endpoint, transport).assume_role_with_saml(**params)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if not error.get("Code"):  # an XML error answer that is no STS error document (an HTML page that parses)
            raise _not_sts(endpoint) from None
        raise AssumeFailed(error["Code"], error.get("Message", str(exc))) from None
    except TransportError as exc:  # the deadline, the size cap, or not HTTP
        raise AssumeFailed("ConnectionError", f"STS at {redacted(endpoint)}: {exc}") from None
    except urllib.error.URLError as exc:  # the transport's, raised through botocore
        raise AssumeFailed("ConnectionError", f"cannot reach {redacted(endpoint)}: {exc.reason}") from None
    except (ResponseParserError, KeyError):  # botocore's, on a body that is no XML, or XML that is no STS answer
        raise _not_sts(endpoint) from None
    except (BotoCoreError, ValueError, OSError) as exc:  # ValueError: botocore's answer to an endpoint that is no URL
        raise AssumeFailed("ConnectionError", str(exc)) from None
    try:
        c = answer["Credentials"]
        credentials = AwsCredentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"], c["Expiration"])
    except KeyError:  # an answer of the right shape without them
        raise _not_sts(endpoint) from None
    if not _ACCESS_KEY_ID.fullmatch(credentials.access_key_id) or not all(
        _KEY_MATERIAL.fullmatch(value) for value in (credentials.secret_access_key, credentials.session_token)
    ):
        raise AssumeFailed("NotAnStsAnswer", f"STS at {redacted(endpoint)} answered credentials that are not AWS credentials "
                                             "(characters no access key, secret key or session token holds): check the endpoint URL")
    return credentials
