"""What `samlfed demo` prints: what runs where, who can sign in, and three copy-paste next steps."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from ..iam.arns import role_arn
from .demo import ACCOUNTS, DemoSeed, provider_arn


def commands() -> tuple[str, str]:
    """How to call samlfed and the AWS CLI as this process was called (`.venv/bin/samlfed` under `make demo`)."""
    program = Path(sys.argv[0])
    if program.name == "samlfed" and program.parent != Path("."):
        aws = program.parent / "aws"
        return shlex.quote(str(program)), shlex.quote(str(aws)) if aws.exists() else "aws"
    return "samlfed", "aws"


def next_steps(seed: DemoSeed, base_url: str, data_dir: Path) -> str:
    samlfed, aws = commands()
    dev = "111111111111"
    dev_key, dev_secret = seed.admin_keys[dev]
    idp_dir = shlex.quote(str(data_dir / "idp"))
    lines = [
        "samlfed demo",
        f"  IAM + STS (AWS query API)   {base_url}/",
        f"  console sign-in             {base_url}/console   (ACS {base_url}/saml, SP metadata {base_url}/saml/metadata)",
        f"  identity provider           {base_url}/idp/   (metadata: {base_url}/idp/metadata)",
        f"  data                        {data_dir}/ (SQLite)",
        "",
        "accounts (administrator keys):",
    ]
    for account_id, alias in ACCOUNTS.items():
        key, secret = seed.admin_keys[account_id]
        lines.append(f"  {account_id} {alias:10} {key} {secret}")
    lines += ["", "users (passwords change at every start):"]
    for user in seed.users:
        extra = f"  TOTP secret {user.totp_secret}" if user.totp_secret else ""
        lines.append(f"  {user.username:6} {user.password}{extra}")
    lines += [
        "",
        "next steps:",
        f"  1. Browser: open {base_url}/console and sign in as alice at the IdP; pick a role in the chooser.",
        f"     (Or start at the IdP portal, {base_url}/idp/, and open the AWS application.)",
        "",
        "  2. AWS CLI: assume alice's Developer role with a fresh assertion; list the account's roles with its administrator key.",
        f"       export AWS_ENDPOINT_URL={base_url} AWS_DEFAULT_REGION=us-east-1",
        f"       SAML=$({samlfed} idp assertion --idp-dir {idp_dir} --user alice --public-url {base_url})",
        f"       {aws} sts assume-role-with-saml --role-arn {role_arn(dev, 'Developer')} \\",
        f"           --principal-arn {provider_arn(dev)} --saml-assertion \"$SAML\"",
        f"       AWS_ACCESS_KEY_ID={dev_key} AWS_SECRET_ACCESS_KEY={dev_secret} {aws} iam list-roles",
        "",
        "  3. Doctor: see why bob cannot be a Developer.",
        f"       {samlfed} idp assertion --idp-dir {idp_dir} --user bob --public-url {base_url} > bob.b64",
        f"       {samlfed} doctor bob.b64 --metadata {shlex.quote(str(seed.metadata_path))} --acs {base_url}/saml \\",
        f"           --role-arn {role_arn(dev, 'Developer')} --principal-arn {provider_arn(dev)}",
    ]
    return "\n".join(lines)
