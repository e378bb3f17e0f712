"""`samlfed demo`: the whole federation on one machine, seeded with two accounts, three roles and three users.

Seeding is idempotent: accounts, providers, roles and policies are created when missing and brought up to date
otherwise; the demo users get fresh passwords on every start (printed, since only their hashes are stored), while
admin keeps the TOTP secret its directory already holds, so an authenticator app set up once keeps working.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp

from ..console.sp import service_provider_key
from ..context import ServiceContext
from ..errors import ServiceError
from ..files import write_private
from ..iam import arns
from ..iam.accounts import create_access_key, create_account
from ..iam.providers import create_saml_provider, update_saml_provider
from ..iam.role_policies import put_role_policy
from ..iam.roles import create_role, update_trust_policy
from ..saml.metadata import parse_metadata
from ..store import NotFound
from .directory import hash_password, read_yaml, write_yaml
from .service import IdentityProvider

ACCOUNTS = {"111111111111": "acme-dev", "222222222222": "acme-prod"}
PROVIDER_NAME = "samlfed-idp"
SP_KEY = "aws"
AWS_ACS = "https://signin.aws.amazon.com/saml"


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    totp_secret: str | None = None


@dataclass(frozen=True)
class DemoSeed:
    admin_keys: dict[str, tuple[str, str]]
    """Account ID -> (access key id, secret access key) of the account's administrator."""
    users: list[DemoUser]
    metadata_path: Path


def provider_arn(account_id: str) -> str:
    return arns.provider_arn(account_id, PROVIDER_NAME)


def idp_configuration(base_url: str, previous: dict[str, Any]) -> dict[str, Any]:
    """The demo's IdP file: one AWS application whose Role values come from AWS-<account>-<role> groups."""
    passwords = previous.get("users") or {}
    return {
        "idp": {},
        "service_providers": {
            SP_KEY: {
                "display_name": "AWS (samlfed)",
                "entity_id": "urn:amazon:webservices",
                "acs_urls": [f"{base_url}/saml", AWS_ACS],
                "preset": "samlfed",
                "claims": {
                    "name_id": "username",
                    "roles": [{"group": r"AWS-(\d{12})-(\w+)", "value": f"arn:aws:iam::$1:role/$2,arn:aws:iam::$1:saml-provider/{PROVIDER_NAME}"}],
                    "role_session_name": "email",
                    "session_duration": 3600,
                    "principal_tags": {"department": "department"},
                    "source_identity": "username",
                    "attributes": {"email": "email"},
                },
            }
        },
        "users": passwords,
    }


def _trust(account_id: str, audiences: list[str], extra: dict[str, Any] | None = None) -> str:
    condition = {"StringEquals": {"SAML:aud": audiences, **(extra or {})}}
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn(account_id)},
        "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession", "sts:SetSourceIdentity"],
        "Condition": condition,
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, indent=2)


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2)


ENGINEERING_DATA = {
    "Sid": "EngineeringDataForEngineering",
    "Effect": "Allow",
    "Action": ["s3:GetObject", "s3:PutObject"],
    "Resource": "arn:aws:s3:::engineering-data/*",
    "Condition": {"StringEquals": {"aws:PrincipalTag/department": "Engineering"}},
}
READ_ONLY = {"Sid": "ReadEverything", "Effect": "Allow", "Action": ["s3:Get*", "s3:List*", "iam:Get*", "iam:List*"], "Resource": "*"}


def _ensure_role(ctx: ServiceContext, account_id: str, name: str, trust: str, inline: dict[str, str]) -> None:
    try:
        create_role(ctx, account_id, name, trust, max_session_duration=3600 * 4, description=f"samlfed demo role {name}")
    except ServiceError as error:
        if error.code != "EntityAlreadyExists":
            raise
        update_trust_policy(ctx, account_id, name, trust)
    for policy_name, document in inline.items():
        put_role_policy(ctx, account_id, name, policy_name, document)


def _ensure_account(ctx: ServiceContext, account_id: str, alias: str, keys_file: Path) -> tuple[str, str]:
    saved = json.loads(keys_file.read_text()) if keys_file.exists() else {}
    try:
        ctx.store.get_account(account_id)
        exists = True
    except NotFound:
        exists = False
    if exists and account_id in saved:
        return tuple(saved[account_id])
    key = create_access_key(ctx, account_id) if exists else create_account(ctx, account_id, alias)
    saved[account_id] = [key.access_key_id, key.secret_access_key]
    write_private(keys_file, json.dumps(saved, indent=2).encode())
    return key.access_key_id, key.secret_access_key


def _ensure_provider(ctx: ServiceContext, account_id: str, metadata: str) -> None:
    arn = provider_arn(account_id)
    try:
        create_saml_provider(ctx, account_id, PROVIDER_NAME, metadata)
    except ServiceError as error:
        if error.code != "EntityAlreadyExists":
            raise
        update_saml_provider(ctx, account_id, arn, metadata)


def _kept_totp_secret(existing: dict[str, Any], username: str) -> str | None:
    """The TOTP secret an earlier start gave `username` in this IdP file, when it is one the demo makes."""
    users = existing.get("users")
    entry = users.get(username) if isinstance(users, dict) else None
    secret = entry.get("totp_secret") if isinstance(entry, dict) else None
    return secret if isinstance(secret, str) and re.fullmatch(r"[A-Z2-7]{32}", secret) else None


def seed(ctx: ServiceContext, idp: IdentityProvider, base_url: str, data_dir: Path) -> DemoSeed:
    # The IdP: its application and users (fresh passwords every start, the TOTP secret kept).
    existing = read_yaml(idp.config_path)
    config = idp_configuration(base_url, {})
    # The console signs its AuthnRequests (SP-initiated sign-in): the IdP checks them with the published key.
    config["service_providers"][SP_KEY]["request_certificate"] = service_provider_key(ctx).cert_pem().decode()
    users = [
        DemoUser("alice", secrets.token_urlsafe(9)),
        DemoUser("bob", secrets.token_urlsafe(9)),
        DemoUser("admin", secrets.token_urlsafe(9), _kept_totp_secret(existing, "admin") or pyotp.random_base32()),
    ]
    profiles = {
        "alice": {"display_name": "Alice Doe", "email": "alice@acme.example", "department": "Engineering", "groups": ["AWS-111111111111-Developer", "AWS-222222222222-ReadOnly"]},
        "bob": {"display_name": "Bob Roe", "email": "bob@acme.example", "department": "Finance", "groups": ["AWS-111111111111-ReadOnly"]},
        "admin": {"display_name": "Acme Administrator", "email": "admin@acme.example", "department": "IT", "groups": ["AWS-111111111111-Admin", "AWS-222222222222-Admin"]},
    }
    for user in users:
        entry = {"password_hash": hash_password(user.password), **profiles[user.username]}
        if user.totp_secret:
            entry["totp_secret"] = user.totp_secret
        config["users"][user.username] = entry
    config["idp"] = existing.get("idp") or {}
    write_yaml(idp.config_path, config)

    metadata = idp.metadata().decode()
    parse_metadata(metadata.encode())  # the demo must register what a real user would: fail here, not later
    metadata_path = data_dir / "idp-metadata.xml"
    metadata_path.write_text(metadata)

    audiences = [f"{base_url}/saml", AWS_ACS]
    admin_keys = {}
    for account_id, alias in ACCOUNTS.items():
        admin_keys[account_id] = _ensure_account(ctx, account_id, alias, data_dir / "demo-admin-keys.json")
        _ensure_provider(ctx, account_id, metadata)
        _ensure_role(
            ctx, account_id, "Developer", _trust(account_id, audiences),
            {"developer": _policy({"Sid": "OwnBuckets", "Effect": "Allow", "Action": "s3:*", "Resource": [f"arn:aws:s3:::{ACCOUNTS[account_id]}-*"]}, ENGINEERING_DATA)},
        )
        _ensure_role(ctx, account_id, "ReadOnly", _trust(account_id, audiences), {"read-only": _policy(READ_ONLY)})
        _ensure_role(
            ctx, account_id, "Admin", _trust(account_id, audiences, {"SAML:sub": "admin"}),
            {"admin": _policy({"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"})},
        )
    return DemoSeed(admin_keys=admin_keys, users=users, metadata_path=metadata_path)
