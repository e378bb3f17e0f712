"""Which roles a SAML response offers, with account aliases, and choosing among them.

The response's Role attribute is read without verifying its signature: that is the server's job when the role
is assumed, and the client only uses it to ask. Account aliases and the roles that really admit the user come
from the server's role chooser (`POST /saml`, its `<meta name="data">`), falling back to the response alone.
"""

from __future__ import annotations

import binascii
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from urllib.parse import urlencode

from lxml import etree
from lxml import html as lxml_html

from ..decimal_text import decimal_at_most
from ..jsoninput import parse_json
from ..saml import constants as c
from ..saml.aws_claims import named_role_pairs
from ..saml.b64 import strict_b64decode
from ..saml.timeutil import parse_xs_datetime
from ..saml.xmlparse import XmlRejected, parse_xml
from .transport import InsecureUrl, Transport

_LABEL = re.compile(r"^(?:(?P<alias>.+) \()?(?P<account>\d{12})\)?$", re.ASCII)


class RolesError(ValueError):
    pass


@dataclass(frozen=True)
class RoleOption:
    role_arn: str
    provider_arn: str
    alias: str | None = None

    @property
    def account_id(self) -> str:
        return self.role_arn.split(":")[4]

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]

    @property
    def account_label(self) -> str:
        return f"{self.alias} ({self.account_id})" if self.alias else self.account_id


def roles_in(saml_response: str) -> list[RoleOption]:
    """The role/provider pairs of the response's Role attribute (either order), in document order."""
    try:
        root = parse_xml(strict_b64decode(saml_response))
    except (binascii.Error, ValueError, XmlRejected):
        raise RolesError("the SAML response is not base64 of an XML document") from None
    pairs = named_role_pairs(root)
    if not pairs and root.find(c.ENCRYPTED_ASSERTION) is not None:
        raise RolesError(
            "the SAML response's assertion is encrypted for samlfed, so this client cannot read the roles it grants: have "
            "the IdP send unencrypted assertions to this client, or sign in to the console in a browser"
        )
    if not pairs:
        raise RolesError("the SAML response grants no roles (no usable Role attribute)")
    return [RoleOption(pair.role_arn, pair.provider_arn) for pair in pairs]


class SessionLimits(NamedTuple):
    session_duration: int | None
    session_not_on_or_after: datetime | None


def session_limits(saml_response: str) -> SessionLimits:
    """What in the response shortens the credentials (read, not verified: only to tell the user why). Nothing is
    known of an encrypted assertion."""
    try:
        root = parse_xml(strict_b64decode(saml_response))
    except (binascii.Error, ValueError, XmlRejected):
        return SessionLimits(None, None)
    ns = {"saml": c.NS_ASSERTION}
    values = root.xpath("//saml:Attribute[@Name=$name]/saml:AttributeValue/text()", namespaces=ns, name=c.AWS_SESSION_DURATION)
    duration = decimal_at_most(values[0].strip(), 99_999) if len(values) == 1 else None
    stamps = root.xpath("//saml:AuthnStatement/@SessionNotOnOrAfter", namespaces=ns)
    try:
        ends = parse_xs_datetime(str(stamps[0])) if stamps else None
    except ValueError:
        ends = None
    return SessionLimits(duration, ends)


def chooser_data(endpoint: str, saml_response: str, transport: Transport, timeout: float = 30) -> dict[str, list[str]] | None:
    """`roles_accounts` of the server's role chooser without its `refused_roles` (listed as AWS lists them, refused
    when chosen), or None when the server does not offer one for this response.

    A redirect is not followed: the chooser is samlfed's own page, and the data is only a help."""
    try:
        transport.check(endpoint, "the role chooser")
    except InsecureUrl:  # the response is a bearer token: not sent where the transport refuses
        return None
    request = urllib.request.Request(
        f"{endpoint.rstrip('/')}/saml", data=urlencode({"SAMLResponse": saml_response}).encode(), method="POST",
        headers={"Accept-Language": "en", "Content-Type": "application/x-www-form-urlencoded"},
    )
    try:  # the transport bounds the time and the size (a larger page is no chooser data: fail closed)
        with transport.opener(follow_redirects=False).open(request, timeout=timeout) as answer:
            page = answer.read()
    except (urllib.error.URLError, OSError):
        return None
    try:
        content = lxml_html.fromstring(page).xpath("//meta[@name='data']/@content")
        if not content:
            return None
        data = parse_json(strict_b64decode(content[0]))
        refused = set(data.get("refused_roles") or [])
        return {label: [arn for arn in arns if arn not in refused] for label, arns in data["roles_accounts"].items()}
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, etree.ParserError):
        return None


def with_aliases(options: list[RoleOption], roles_accounts: dict[str, list[str]] | None) -> list[RoleOption]:
    """Aliases from the chooser data; when the server answered, only the roles it offers (it checked trust)."""
    if roles_accounts is None:
        return options
    alias_of: dict[str, str | None] = {}
    offered: set[str] = set()
    for label, arns in roles_accounts.items():
        match = _LABEL.match(label)
        if match:
            alias_of[match.group("account")] = match.group("alias")
        offered.update(arns)
    return [RoleOption(o.role_arn, o.provider_arn, alias_of.get(o.account_id)) for o in options if o.role_arn in offered]


def grouped(options: list[RoleOption]) -> dict[str, list[RoleOption]]:
    groups: dict[str, list[RoleOption]] = {}
    for option in sorted(options, key=lambda o: (o.account_label, o.role_name)):
        groups.setdefault(option.account_label, []).append(option)
    return groups


def matching(role_arns: list[str], wanted: str) -> list[str]:
    """The role ARNs that `wanted` names: the ARN itself, else every role of that name (one per account, perhaps)."""
    return [arn for arn in role_arns if arn == wanted] or [arn for arn in role_arns if arn.rsplit("/", 1)[-1] == wanted]


def pick(options: list[RoleOption], wanted: str) -> RoleOption:
    """The option for a role ARN (exact), or a role name when it is unique."""
    found = matching([o.role_arn for o in options], wanted)
    if len(found) != 1:
        offered = ", ".join(o.role_arn for o in options) or "none"
        raise RolesError(f"the role {wanted} is not {'unique' if found else 'offered'} in this response (offered: {offered})")
    return next(o for o in options if o.role_arn == found[0])
