"""Where a RelayState or a federation `Destination` may send the browser: our console pages only.

AWS console URLs (what IdP apps and tools hard-code) and our own /console/... paths land on our console home (the
one console page there is), keeping a valid `region` (a regional console host's, https://{region}.console.aws.amazon.com,
when the URL has no region parameter); anything else is refused, so no parameter can turn samlfed into an open
redirector.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit

CONSOLE_HOME = "/console"
_AWS_CONSOLE_DOMAIN = r"console\.(?:aws\.amazon\.com|amazonaws\.cn|amazonaws-us-gov\.com)"
_AWS_CONSOLE_HOST = re.compile(r"(?:[a-z0-9-]+\.)*" + _AWS_CONSOLE_DOMAIN)
_REGIONAL_CONSOLE_HOST = re.compile(r"(?P<region>[a-z0-9-]+)\." + _AWS_CONSOLE_DOMAIN)
"""A regional console endpoint (AWS, "AWS Management Console endpoints and quotas"): it opens the console in that region."""
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Two to four letters first: botocore's partitions name regions from us-east-1 to eusc-de-east-1 (AWS European
# Sovereign Cloud), whose console URLs name them too.
_REGION = re.compile(r"[a-z]{2,4}(?:-[a-z]+)+-\d", re.ASCII)
_ISSUER_LINK_LENGTH = 2048


def console_destination(value: str | None, base_url: str) -> str | None:
    """The local console path `value` stands for, or None when it points anywhere else."""
    if not value or len(value) > 2048 or any(ch in value for ch in "\\\r\n\t\x00") or not value.isprintable():
        return None
    try:
        parts = urlsplit(value)
    except ValueError:  # an unbalanced or malformed [IPv6] host ("https://[", "//[x]"): no URL, so no console page
        return None
    if parts.scheme or parts.netloc:
        if parts.scheme == "https" and _AWS_CONSOLE_HOST.fullmatch(parts.hostname or "") and parts.username is None:
            regional = _REGIONAL_CONSOLE_HOST.fullmatch(parts.hostname or "")
            return _home(parts.query, regional.group("region") if regional else None)
        if parts.username is not None or parts.password is not None or _origin(parts) != _origin(urlsplit(base_url)):
            return None
    path = parts.path
    if path != CONSOLE_HOME and not path.startswith(CONSOLE_HOME + "/") or "/." in path or "//" in path or "%" in path:
        return None  # no dot segments, encoded or not: a deep link to another page of ours is none of the console's
    return _home(parts.query)


def _origin(parts: SplitResult) -> tuple[str, str | None, int | None] | None:
    """(scheme, host, port) as browsers compare origins: the host's case and the scheme's default port written out
    make no other origin. None for an unreadable port."""
    try:
        port = parts.port
    except ValueError:
        return None
    return parts.scheme, parts.hostname, port if port is not None else _DEFAULT_PORTS.get(parts.scheme)


def console_region(value: str | None) -> str | None:
    """`value` when it is a region's name (us-west-2), else None."""
    return value if value and _REGION.fullmatch(value) else None


def _home(query: str, host_region: str | None = None) -> str:
    """The console home, with the deep link's `region` when it is one, else the region its host names."""
    region = console_region(dict(parse_qsl(query)).get("region")) or console_region(host_region)
    return CONSOLE_HOME + (f"?{urlencode({'region': region})}" if region else "")


def issuer_link(issuer: str) -> str | None:
    """The federation login's `Issuer` as the "sign in again" link: an http(s) URL (its scheme in any letter case, as
    browsers read it) of at most 2048 characters, else None."""
    return issuer if issuer[:8].lower().startswith(("https://", "http://")) and len(issuer) <= _ISSUER_LINK_LENGTH else None
