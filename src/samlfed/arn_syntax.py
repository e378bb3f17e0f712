"""The syntax of the ARNs samlfed reads, in one place: IAM (`iam.arns`), the policy engine (principals) and the
SAML Role attribute (`saml.aws_claims`) must agree on it, and none of them should depend on another for it."""

from __future__ import annotations

import re

PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc")
"""AWS's partitions, as botocore's partitions.json lists them: commercial, China, GovCloud, the four isolated
ones and the European Sovereign Cloud."""
ARN_PARTITION = "(?:" + "|".join(sorted(PARTITIONS, key=len, reverse=True)) + ")"
"""The partition field of an ARN (longest first, so an alternative is never cut short by its prefix)."""
# The path is CreateRole's pathType (any printable ASCII between its slashes), so that every role CreateRole
# makes has an ARN that parses here, in an API parameter and in a SAML Role attribute alike. re.ASCII: AWS's
# patterns are Java's, where \w and \d are ASCII (the IAM name checks say the same).
ROLE_ARN = re.compile(
    rf"arn:(?P<partition>{ARN_PARTITION}):iam::(?P<account>\d{{12}}):role(?P<path>/(?:[\x21-\x7e]+/)?)(?P<name>[\w+=,.@-]{{1,64}})", re.ASCII,
)
PROVIDER_ARN = re.compile(rf"arn:(?P<partition>{ARN_PARTITION}):iam::(?P<account>\d{{12}}):saml-provider/(?P<name>[\w.-]{{1,128}})", re.ASCII)
OIDC_PROVIDER_ARN = re.compile(
    rf"arn:{ARN_PARTITION}:iam::\d{{12}}:oidc-provider/"
    r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::\d{1,5})?(?:/[\x21-\x22\x24-\x3e\x40-\x7e]*)*",
    re.ASCII,
)
"""An OpenID Connect provider's ARN: the provider's URL without its `https://`, a host name and a path, never a
query (IAM refuses query parameters in the URL) or a fragment. samlfed keeps no such provider, but a trust policy
may name one."""
