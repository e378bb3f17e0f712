"""The AWS partitions whose ARNs samlfed reads, as one regular expression fragment: IAM (`iam.arns`), the policy
engine (principals) and the SAML Role attribute (`saml.aws_claims`) must agree on it, and none of them should
depend on another for it."""

ARN_PARTITION = r"aws(?:-cn|-us-gov|-iso|-iso-b)?"
"""The partition field of an ARN: commercial, China, GovCloud and the two isolated regions."""
