"""AssumeRoleWithSAML against samlfed (or AWS), with the one duration retry client tools need."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from .credentials_file import AwsCredentials
from .roles import RoleOption
from .transport import InsecureUrl, Transport

_TOO_LONG = "exceeds the MaxSessionDuration"


class AssumeFailed(Exception):
    """STS refused; `code` and `message` are AWS's."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{message} ({code})")
        self.code = code
        self.message = message


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
    ~/.aws/credentials (a file login is about to repair may not parse). TLS is verified against the profile's
    transport's CA bundle when it names one (the CLI's --ca-bundle, profile ca_bundle or AWS_CA_BUNDLE), else the defaults.
    """
    import botocore.session
    from botocore import UNSIGNED
    from botocore.config import Config

    session = botocore.session.Session(session_vars={
        "profile": (None, None, None, None),
        "config_file": (None, None, os.devnull, None),
        "credentials_file": (None, None, os.devnull, None),
    })
    return session.create_client(
        "sts", endpoint_url=endpoint, region_name="us-east-1", verify=transport.botocore_verify,
        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 2}, proxies=transport.botocore_proxies(endpoint)),
    )


def _call(endpoint: str, option: RoleOption, saml_response: str, duration: int | None, transport: Transport) -> AwsCredentials:
    from botocore.exceptions import BotoCoreError, ClientError

    params: dict[str, object] = {"RoleArn": option.role_arn, "PrincipalArn": option.provider_arn, "SAMLAssertion": saml_response}
    if duration is not None:
        params["DurationSeconds"] = duration
    try:
        answer = _client(endpoint, transport).assume_role_with_saml(**params)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise AssumeFailed(error.get("Code", "Unknown"), error.get("Message", str(exc))) from None
    except (BotoCoreError, ValueError) as exc:  # ValueError: botocore's answer to an endpoint that is no URL
        raise AssumeFailed("ConnectionError", str(exc)) from None
    c = answer["Credentials"]
    return AwsCredentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"], c["Expiration"])
