"""ARNs of the IAM resources samlfed manages."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..arn_syntax import PROVIDER_ARN, ROLE_ARN


@dataclass(frozen=True)
class ResourceName:
    partition: str
    account_id: str
    name: str
    path: str = "/"


# Kept per ARN: every sign-in parses its role ARN twice and its provider ARN once, always the same few ARNs,
# and each parse (a regex and a frozen dataclass) cost about 1 % of the request. The results are immutable.
@lru_cache(maxsize=1024)
def parse_role_arn(arn: str) -> ResourceName | None:
    match = ROLE_ARN.fullmatch(arn)
    return ResourceName(match["partition"], match["account"], match["name"], match["path"]) if match else None


@lru_cache(maxsize=1024)
def parse_provider_arn(arn: str) -> ResourceName | None:
    match = PROVIDER_ARN.fullmatch(arn)
    return ResourceName(match["partition"], match["account"], match["name"]) if match else None


def role_arn(account_id: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{account_id}:role{path}{name}"


def provider_arn(account_id: str, name: str) -> str:
    return f"arn:aws:iam::{account_id}:saml-provider/{name}"
