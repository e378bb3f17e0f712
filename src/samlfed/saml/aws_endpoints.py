"""The AWS sign-in endpoints that IdP applications target, as accepted Recipient and Audience values.

IdP gallery apps (Okta, Entra ID, Google, JumpCloud) hard-code AWS's sign-in URLs, and some client tools
refuse any other ACS host, so samlfed accepts AWS's own values besides its configured ones
(aws-saml-contract.md §3.9). Matching is always exact string equality against these sets.
"""

from __future__ import annotations

COMMERCIAL_REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2",
    "af-south-1",
    "ap-east-1", "ap-east-2", "ap-south-1", "ap-south-2",
    "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-6",
    "ap-southeast-7",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ca-central-1", "ca-west-1",
    "eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3",
    "eu-south-1", "eu-south-2", "eu-north-1",
    "il-central-1", "me-south-1", "me-central-1",
    "mx-central-1", "sa-east-1",
)
CHINA_REGIONS = ("cn-north-1", "cn-northwest-1")
GOVCLOUD_REGIONS = ("us-gov-west-1", "us-gov-east-1")

_PARTITION_HOSTS = (
    ("signin.aws.amazon.com", COMMERCIAL_REGIONS),
    ("signin.amazonaws.cn", CHINA_REGIONS),
    ("signin.amazonaws-us-gov.com", GOVCLOUD_REGIONS),
)


def _acs_urls() -> frozenset[str]:
    urls = {"https://signin.aws.amazon.com/static/saml"}
    for host, regions in _PARTITION_HOSTS:
        urls.add(f"https://{host}/saml")
        urls.update(f"https://{region}.{host}/saml" for region in regions)
    return frozenset(urls)


AWS_ACS_URLS: frozenset[str] = _acs_urls()
"""Recipient/Destination values AWS's sign-in service answers to, in every partition and region."""

AWS_AUDIENCES: frozenset[str] = frozenset(
    {"urn:amazon:webservices", "urn:amazon:webservices:govcloud"} | AWS_ACS_URLS
)
"""Audience values AWS accepts: its SP entity IDs and its ACS URLs."""
