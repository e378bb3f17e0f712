"""A table of evaluation cases from the IAM User Guide ("Policy evaluation logic", "IAM JSON policy elements:
Condition operators", "Variables", "Permissions boundaries", "Session policies"): one policy, then policy sets."""

from __future__ import annotations

import json

import pytest

from samlfed.policy import NamedPolicy, PolicySet, Request, authorize, evaluate, parse_policy

ALLOWED, EXPLICIT, IMPLICIT = "allowed", "explicitDeny", "implicitDeny"
BUCKET = "arn:aws:s3:::bucket"


def stmt(effect: str = "Allow", action: object = "*", resource: object = "*", condition: dict | None = None, **extra: object) -> dict:
    statement: dict = {"Effect": effect, **extra}
    if "NotAction" not in extra:
        statement["Action"] = action
    if "NotResource" not in extra:
        statement["Resource"] = resource
    if condition:
        statement["Condition"] = condition
    return statement


def cond(operator: str, key: str, value: object) -> dict:
    return {operator: {key: value}}


# (name, statements, action, resource, context, expected)
SINGLE: list[tuple[str, list[dict], str, str, dict[str, list[str]], str]] = [
    # --- the basics: explicit deny wins, allow, implicit deny
    ("allow", [stmt()], "s3:GetObject", f"{BUCKET}/a", {}, ALLOWED),
    ("nothing-applies", [stmt(action="s3:PutObject")], "s3:GetObject", f"{BUCKET}/a", {}, IMPLICIT),
    ("deny", [stmt("Deny")], "s3:GetObject", f"{BUCKET}/a", {}, EXPLICIT),
    ("deny-wins-over-allow", [stmt(), stmt("Deny")], "s3:GetObject", f"{BUCKET}/a", {}, EXPLICIT),
    ("deny-first-still-wins", [stmt("Deny"), stmt()], "s3:GetObject", f"{BUCKET}/a", {}, EXPLICIT),
    ("deny-other-action", [stmt(), stmt("Deny", action="s3:PutObject")], "s3:GetObject", f"{BUCKET}/a", {}, ALLOWED),
    ("deny-other-resource", [stmt(), stmt("Deny", resource=f"{BUCKET}/b")], "s3:GetObject", f"{BUCKET}/a", {}, ALLOWED),
    ("two-allows", [stmt(), stmt(action="s3:*")], "s3:GetObject", f"{BUCKET}/a", {}, ALLOWED),
    ("empty-effect-list", [stmt(action=["s3:PutObject", "s3:DeleteObject"])], "s3:GetObject", f"{BUCKET}/a", {}, IMPLICIT),
    ("list-action", [stmt(action=["s3:PutObject", "s3:GetObject"])], "s3:GetObject", f"{BUCKET}/a", {}, ALLOWED),
    # --- actions: wildcards, case, NotAction
    ("action-star", [stmt(action="*")], "ec2:RunInstances", "*", {}, ALLOWED),
    ("action-service-star", [stmt(action="s3:*")], "s3:ListBucket", BUCKET, {}, ALLOWED),
    ("action-service-star-other-service", [stmt(action="s3:*")], "ec2:RunInstances", "*", {}, IMPLICIT),
    ("action-prefix-star", [stmt(action="s3:Get*")], "s3:GetObjectAcl", f"{BUCKET}/a", {}, ALLOWED),
    ("action-prefix-star-miss", [stmt(action="s3:Get*")], "s3:PutObject", f"{BUCKET}/a", {}, IMPLICIT),
    ("action-question-mark", [stmt(action="s3:?etObject")], "s3:GetObject", f"{BUCKET}/a", {}, ALLOWED),
    ("action-question-mark-one-char", [stmt(action="s3:?Object")], "s3:GetObject", f"{BUCKET}/a", {}, IMPLICIT),
    ("action-case-insensitive", [stmt(action="S3:getobject")], "s3:GetObject", f"{BUCKET}/a", {}, ALLOWED),
    ("action-case-insensitive-request", [stmt(action="s3:GetObject")], "S3:GETOBJECT", f"{BUCKET}/a", {}, ALLOWED),
    ("notaction-allow-others", [stmt(NotAction="iam:*")], "s3:GetObject", f"{BUCKET}/a", {}, ALLOWED),
    ("notaction-allow-excluded", [stmt(NotAction="iam:*")], "iam:CreateUser", "*", {}, IMPLICIT),
    ("notaction-deny-others", [stmt(action="*"), stmt("Deny", NotAction=["iam:Get*", "iam:List*"])], "s3:GetObject", "*", {}, EXPLICIT),
    ("notaction-deny-excluded", [stmt(action="*"), stmt("Deny", NotAction=["iam:Get*", "iam:List*"])], "iam:ListRoles", "*", {}, ALLOWED),
    ("notaction-list", [stmt(NotAction=["s3:PutObject", "s3:DeleteObject"])], "s3:DeleteObject", f"{BUCKET}/a", {}, IMPLICIT),
    ("notaction-deny-alone-grants-nothing", [stmt("Deny", NotAction="s3:GetObject")], "s3:GetObject", f"{BUCKET}/a", {}, IMPLICIT),
    # --- resources: wildcards, case, NotResource
    ("resource-exact", [stmt(resource=f"{BUCKET}/a")], "s3:GetObject", f"{BUCKET}/a", {}, ALLOWED),
    ("resource-exact-miss", [stmt(resource=f"{BUCKET}/a")], "s3:GetObject", f"{BUCKET}/b", {}, IMPLICIT),
    ("resource-star-suffix", [stmt(resource=f"{BUCKET}/engineering/*")], "s3:GetObject", f"{BUCKET}/engineering/plan.txt", {}, ALLOWED),
    ("resource-star-spans-slashes", [stmt(resource=f"{BUCKET}/*")], "s3:GetObject", f"{BUCKET}/a/b/c", {}, ALLOWED),
    ("resource-star-not-bucket-itself", [stmt(resource=f"{BUCKET}/*")], "s3:ListBucket", BUCKET, {}, IMPLICIT),
    ("resource-question", [stmt(resource=f"{BUCKET}/file?.txt")], "s3:GetObject", f"{BUCKET}/file1.txt", {}, ALLOWED),
    ("resource-question-empty", [stmt(resource=f"{BUCKET}/file?.txt")], "s3:GetObject", f"{BUCKET}/file.txt", {}, IMPLICIT),
    ("resource-case-sensitive", [stmt(resource=f"{BUCKET}/Engineering/*")], "s3:GetObject", f"{BUCKET}/engineering/x", {}, IMPLICIT),
    ("resource-list", [stmt(resource=[f"{BUCKET}/a", f"{BUCKET}/b"])], "s3:GetObject", f"{BUCKET}/b", {}, ALLOWED),
    ("resource-middle-star", [stmt(resource="arn:aws:iam::*:role/Dev*")], "iam:GetRole", "arn:aws:iam::111111111111:role/Developer", {}, ALLOWED),
    ("notresource-allow", [stmt(NotResource=f"{BUCKET}/secret/*")], "s3:GetObject", f"{BUCKET}/public/x", {}, ALLOWED),
    ("notresource-allow-excluded", [stmt(NotResource=f"{BUCKET}/secret/*")], "s3:GetObject", f"{BUCKET}/secret/x", {}, IMPLICIT),
    ("notresource-deny", [stmt(), stmt("Deny", NotResource=f"{BUCKET}/public/*")], "s3:GetObject", f"{BUCKET}/secret/x", {}, EXPLICIT),
    ("notresource-deny-excluded", [stmt(), stmt("Deny", NotResource=f"{BUCKET}/public/*")], "s3:GetObject", f"{BUCKET}/public/x", {}, ALLOWED),
    ("resource-regex-chars-literal", [stmt(resource=f"{BUCKET}/a.b")], "s3:GetObject", f"{BUCKET}/aXb", {}, IMPLICIT),
    # --- string operators
    ("string-equals", [stmt(condition=cond("StringEquals", "aws:PrincipalTag/team", "blue"))], "s3:GetObject", "*", {"aws:principaltag/team": ["blue"]}, ALLOWED),
    ("string-equals-case-sensitive-value", [stmt(condition=cond("StringEquals", "aws:PrincipalTag/team", "blue"))], "s3:GetObject", "*", {"aws:principaltag/team": ["Blue"]}, IMPLICIT),
    ("string-equals-missing-key", [stmt(condition=cond("StringEquals", "aws:PrincipalTag/team", "blue"))], "s3:GetObject", "*", {}, IMPLICIT),
    ("string-equals-any-of-values", [stmt(condition=cond("StringEquals", "aws:PrincipalTag/team", ["red", "blue"]))], "s3:GetObject", "*", {"aws:principaltag/team": ["blue"]}, ALLOWED),
    ("string-not-equals", [stmt(condition=cond("StringNotEquals", "aws:PrincipalTag/team", "red"))], "s3:GetObject", "*", {"aws:principaltag/team": ["blue"]}, ALLOWED),
    ("string-not-equals-hit", [stmt(condition=cond("StringNotEquals", "aws:PrincipalTag/team", "red"))], "s3:GetObject", "*", {"aws:principaltag/team": ["red"]}, IMPLICIT),
    ("string-not-equals-missing-key-is-true", [stmt(condition=cond("StringNotEquals", "aws:PrincipalTag/team", "red"))], "s3:GetObject", "*", {}, ALLOWED),
    ("string-not-equals-none-of", [stmt(condition=cond("StringNotEquals", "aws:PrincipalTag/team", ["red", "green"]))], "s3:GetObject", "*", {"aws:principaltag/team": ["green"]}, IMPLICIT),
    ("string-equals-ignore-case", [stmt(condition=cond("StringEqualsIgnoreCase", "aws:PrincipalTag/team", "BLUE"))], "s3:GetObject", "*", {"aws:principaltag/team": ["blue"]}, ALLOWED),
    ("string-not-equals-ignore-case", [stmt(condition=cond("StringNotEqualsIgnoreCase", "aws:PrincipalTag/team", "BLUE"))], "s3:GetObject", "*", {"aws:principaltag/team": ["blue"]}, IMPLICIT),
    ("string-like", [stmt(condition=cond("StringLike", "s3:prefix", "home/*"))], "s3:ListBucket", BUCKET, {"s3:prefix": ["home/alice/"]}, ALLOWED),
    ("string-like-miss", [stmt(condition=cond("StringLike", "s3:prefix", "home/*"))], "s3:ListBucket", BUCKET, {"s3:prefix": ["work/"]}, IMPLICIT),
    ("string-like-question", [stmt(condition=cond("StringLike", "s3:prefix", "v?"))], "s3:ListBucket", BUCKET, {"s3:prefix": ["v1"]}, ALLOWED),
    ("string-not-like", [stmt(condition=cond("StringNotLike", "s3:prefix", "secret*"))], "s3:ListBucket", BUCKET, {"s3:prefix": ["public"]}, ALLOWED),
    ("string-not-like-hit", [stmt(condition=cond("StringNotLike", "s3:prefix", "secret*"))], "s3:ListBucket", BUCKET, {"s3:prefix": ["secrets"]}, IMPLICIT),
    ("string-deny-on-mismatch", [stmt(), stmt("Deny", condition=cond("StringNotEquals", "aws:RequestedRegion", "eu-west-1"))], "s3:GetObject", "*", {"aws:requestedregion": ["us-east-1"]}, EXPLICIT),
    ("string-deny-on-match-region", [stmt(), stmt("Deny", condition=cond("StringNotEquals", "aws:RequestedRegion", "eu-west-1"))], "s3:GetObject", "*", {"aws:requestedregion": ["eu-west-1"]}, ALLOWED),
    ("condition-keys-case-insensitive", [stmt(condition=cond("StringEquals", "AWS:PRINCIPALTAG/TEAM", "blue"))], "s3:GetObject", "*", {"aws:principaltag/team": ["blue"]}, ALLOWED),
    ("two-keys-and", [stmt(condition={"StringEquals": {"aws:PrincipalTag/team": "blue", "aws:PrincipalTag/level": "5"}})], "s3:GetObject", "*", {"aws:principaltag/team": ["blue"], "aws:principaltag/level": ["4"]}, IMPLICIT),
    ("two-keys-and-both", [stmt(condition={"StringEquals": {"aws:PrincipalTag/team": "blue", "aws:PrincipalTag/level": "5"}})], "s3:GetObject", "*", {"aws:principaltag/team": ["blue"], "aws:principaltag/level": ["5"]}, ALLOWED),
    ("two-operators-and", [stmt(condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}, "Bool": {"aws:SecureTransport": "true"}})], "s3:GetObject", "*", {"aws:principaltag/team": ["blue"], "aws:securetransport": ["false"]}, IMPLICIT),
    ("number-value-as-string", [stmt(condition=cond("StringEquals", "aws:PrincipalTag/level", 5))], "s3:GetObject", "*", {"aws:principaltag/level": ["5"]}, ALLOWED),
    # --- numeric
    ("numeric-equals", [stmt(condition=cond("NumericEquals", "s3:max-keys", "10"))], "s3:ListBucket", BUCKET, {"s3:max-keys": ["10"]}, ALLOWED),
    ("numeric-equals-float", [stmt(condition=cond("NumericEquals", "s3:max-keys", "10"))], "s3:ListBucket", BUCKET, {"s3:max-keys": ["10.0"]}, ALLOWED),
    ("numeric-not-equals", [stmt(condition=cond("NumericNotEquals", "s3:max-keys", "10"))], "s3:ListBucket", BUCKET, {"s3:max-keys": ["11"]}, ALLOWED),
    ("numeric-less-than", [stmt(condition=cond("NumericLessThan", "s3:max-keys", "10"))], "s3:ListBucket", BUCKET, {"s3:max-keys": ["9"]}, ALLOWED),
    ("numeric-less-than-equal-boundary", [stmt(condition=cond("NumericLessThan", "s3:max-keys", "10"))], "s3:ListBucket", BUCKET, {"s3:max-keys": ["10"]}, IMPLICIT),
    ("numeric-less-than-equals", [stmt(condition=cond("NumericLessThanEquals", "s3:max-keys", "10"))], "s3:ListBucket", BUCKET, {"s3:max-keys": ["10"]}, ALLOWED),
    ("numeric-greater-than", [stmt(condition=cond("NumericGreaterThan", "s3:max-keys", "10"))], "s3:ListBucket", BUCKET, {"s3:max-keys": ["100"]}, ALLOWED),
    ("numeric-greater-than-equals-miss", [stmt(condition=cond("NumericGreaterThanEquals", "s3:max-keys", "10"))], "s3:ListBucket", BUCKET, {"s3:max-keys": ["9"]}, IMPLICIT),
    # at equality: the strict operators do not match, the -Equals ones do
    ("numeric-greater-than-equal-boundary", [stmt(condition=cond("NumericGreaterThan", "s3:max-keys", "10"))], "s3:ListBucket", BUCKET, {"s3:max-keys": ["10"]}, IMPLICIT),
    ("numeric-greater-than-equals-boundary", [stmt(condition=cond("NumericGreaterThanEquals", "s3:max-keys", "10"))], "s3:ListBucket", BUCKET, {"s3:max-keys": ["10"]}, ALLOWED),
    ("numeric-not-a-number", [stmt(condition=cond("NumericEquals", "s3:max-keys", "10"))], "s3:ListBucket", BUCKET, {"s3:max-keys": ["ten"]}, IMPLICIT),
    ("numeric-missing", [stmt(condition=cond("NumericLessThan", "s3:max-keys", "10"))], "s3:ListBucket", BUCKET, {}, IMPLICIT),
    ("numeric-exact-beyond-double", [stmt(condition=cond("NumericEquals", "s3:max-keys", "9007199254740993"))], "s3:ListBucket", BUCKET, {"s3:max-keys": ["9007199254740992"]}, IMPLICIT),
    ("numeric-decimal", [stmt(condition=cond("NumericLessThan", "s3:max-keys", "-0.5"))], "s3:ListBucket", BUCKET, {"s3:max-keys": ["-.75"]}, ALLOWED),
    ("numeric-json-float-policy-value", [stmt(condition=cond("NumericEquals", "s3:max-keys", 1e21))], "s3:ListBucket", BUCKET, {"s3:max-keys": ["1000000000000000000000"]}, ALLOWED),
    ("numeric-underscores-not-a-number", [stmt(condition=cond("NumericEquals", "s3:max-keys", "1000"))], "s3:ListBucket", BUCKET, {"s3:max-keys": ["1_000"]}, IMPLICIT),
    ("numeric-infinity-not-a-number", [stmt(condition=cond("NumericGreaterThan", "s3:max-keys", "10"))], "s3:ListBucket", BUCKET, {"s3:max-keys": ["inf"]}, IMPLICIT),
    ("numeric-spaces-not-a-number", [stmt(condition=cond("NumericEquals", "s3:max-keys", "10"))], "s3:ListBucket", BUCKET, {"s3:max-keys": [" 10"]}, IMPLICIT),
    ("numeric-non-ascii-digits-not-a-number", [stmt(condition=cond("NumericEquals", "s3:max-keys", "10"))], "s3:ListBucket", BUCKET, {"s3:max-keys": ["\u0661\u0660"]}, IMPLICIT),
    # --- dates
    ("date-less-than", [stmt(condition=cond("DateLessThan", "aws:CurrentTime", "2027-01-01T00:00:00Z"))], "s3:GetObject", "*", {"aws:currenttime": ["2026-12-01T12:00:00Z"]}, ALLOWED),
    ("date-less-than-miss", [stmt(condition=cond("DateLessThan", "aws:CurrentTime", "2026-01-01T00:00:00Z"))], "s3:GetObject", "*", {"aws:currenttime": ["2026-12-01T12:00:00Z"]}, IMPLICIT),
    ("date-greater-than", [stmt(condition=cond("DateGreaterThan", "aws:CurrentTime", "2026-01-01T00:00:00Z"))], "s3:GetObject", "*", {"aws:currenttime": ["2026-12-01T12:00:00Z"]}, ALLOWED),
    ("date-equals", [stmt(condition=cond("DateEquals", "aws:TokenIssueTime", "2026-12-01T12:00:00Z"))], "s3:GetObject", "*", {"aws:tokenissuetime": ["2026-12-01T12:00:00Z"]}, ALLOWED),
    ("date-not-equals", [stmt(condition=cond("DateNotEquals", "aws:TokenIssueTime", "2026-12-01T12:00:00Z"))], "s3:GetObject", "*", {"aws:tokenissuetime": ["2026-12-01T12:00:01Z"]}, ALLOWED),
    ("date-epoch-seconds", [stmt(condition=cond("DateLessThan", "aws:CurrentTime", "2027-01-01T00:00:00Z"))], "s3:GetObject", "*", {"aws:currenttime": ["1796212800"]}, ALLOWED),
    ("date-epoch-out-of-range-not-a-date", [stmt(condition=cond("DateLessThan", "aws:CurrentTime", "2027-01-01T00:00:00Z"))], "s3:GetObject", "*", {"aws:currenttime": ["99999999999999999999"]}, IMPLICIT),
    # a value that is not a date is unknown: it fails an Allow's negated operator too (it allowed every such request)
    ("date-epoch-out-of-range-negated", [stmt(condition=cond("DateNotEquals", "aws:CurrentTime", "2027-01-01T00:00:00Z"))], "s3:GetObject", "*", {"aws:currenttime": ["9" * 400]}, IMPLICIT),
    ("date-epoch-policy-value", [stmt(condition=cond("DateGreaterThan", "aws:CurrentTime", "1700000000"))], "s3:GetObject", "*", {"aws:currenttime": ["2026-12-01T12:00:00Z"]}, ALLOWED),
    ("date-less-than-equals-boundary", [stmt(condition=cond("DateLessThanEquals", "aws:CurrentTime", "2026-12-01T12:00:00Z"))], "s3:GetObject", "*", {"aws:currenttime": ["2026-12-01T12:00:00Z"]}, ALLOWED),
    ("date-greater-than-equals-miss", [stmt(condition=cond("DateGreaterThanEquals", "aws:CurrentTime", "2026-12-01T12:00:01Z"))], "s3:GetObject", "*", {"aws:currenttime": ["2026-12-01T12:00:00Z"]}, IMPLICIT),
    ("date-less-than-equal-boundary", [stmt(condition=cond("DateLessThan", "aws:CurrentTime", "2026-12-01T12:00:00Z"))], "s3:GetObject", "*", {"aws:currenttime": ["2026-12-01T12:00:00Z"]}, IMPLICIT),
    ("date-greater-than-equal-boundary", [stmt(condition=cond("DateGreaterThan", "aws:CurrentTime", "2026-12-01T12:00:00Z"))], "s3:GetObject", "*", {"aws:currenttime": ["2026-12-01T12:00:00Z"]}, IMPLICIT),
    ("date-greater-than-equals-boundary", [stmt(condition=cond("DateGreaterThanEquals", "aws:CurrentTime", "2026-12-01T12:00:00Z"))], "s3:GetObject", "*", {"aws:currenttime": ["2026-12-01T12:00:00Z"]}, ALLOWED),
    ("date-epoch-infinite-not-a-date", [stmt(condition=cond("DateLessThan", "aws:CurrentTime", "2027-01-01T00:00:00Z"))], "s3:GetObject", "*", {"aws:currenttime": ["9" * 400]}, IMPLICIT),
    ("date-garbage-context", [stmt(condition=cond("DateLessThan", "aws:CurrentTime", "2027-01-01T00:00:00Z"))], "s3:GetObject", "*", {"aws:currenttime": ["yesterday"]}, IMPLICIT),
    ("date-deny-after-expiry", [stmt(), stmt("Deny", condition=cond("DateGreaterThan", "aws:CurrentTime", "2026-06-30T00:00:00Z"))], "s3:GetObject", "*", {"aws:currenttime": ["2026-12-01T12:00:00Z"]}, EXPLICIT),
    # --- Bool, Binary, IP, ARN, Null
    ("bool-true", [stmt(condition=cond("Bool", "aws:SecureTransport", "true"))], "s3:GetObject", "*", {"aws:securetransport": ["true"]}, ALLOWED),
    ("bool-json-true", [stmt(condition=cond("Bool", "aws:SecureTransport", True))], "s3:GetObject", "*", {"aws:securetransport": ["true"]}, ALLOWED),
    ("bool-false", [stmt(condition=cond("Bool", "aws:SecureTransport", "true"))], "s3:GetObject", "*", {"aws:securetransport": ["false"]}, IMPLICIT),
    ("bool-deny-insecure", [stmt(), stmt("Deny", condition=cond("Bool", "aws:SecureTransport", "false"))], "s3:GetObject", "*", {"aws:securetransport": ["false"]}, EXPLICIT),
    ("bool-missing", [stmt(condition=cond("Bool", "aws:MultiFactorAuthPresent", "true"))], "s3:GetObject", "*", {}, IMPLICIT),
    ("binary-equals", [stmt(condition=cond("BinaryEquals", "key", "QmluYXJ5"))], "s3:GetObject", "*", {"key": ["QmluYXJ5"]}, ALLOWED),
    ("binary-not-equal", [stmt(condition=cond("BinaryEquals", "key", "QmluYXJ5"))], "s3:GetObject", "*", {"key": ["T3RoZXI="]}, IMPLICIT),
    ("binary-bad-base64", [stmt(condition=cond("BinaryEquals", "key", "QmluYXJ5"))], "s3:GetObject", "*", {"key": ["!!"]}, IMPLICIT),
    ("ip-in-range", [stmt(condition=cond("IpAddress", "aws:SourceIp", "203.0.113.0/24"))], "s3:GetObject", "*", {"aws:sourceip": ["203.0.113.7"]}, ALLOWED),
    ("ip-out-of-range", [stmt(condition=cond("IpAddress", "aws:SourceIp", "203.0.113.0/24"))], "s3:GetObject", "*", {"aws:sourceip": ["198.51.100.7"]}, IMPLICIT),
    ("ip-single-address", [stmt(condition=cond("IpAddress", "aws:SourceIp", "203.0.113.7"))], "s3:GetObject", "*", {"aws:sourceip": ["203.0.113.7"]}, ALLOWED),
    ("ip-list", [stmt(condition=cond("IpAddress", "aws:SourceIp", ["10.0.0.0/8", "203.0.113.0/24"]))], "s3:GetObject", "*", {"aws:sourceip": ["10.1.2.3"]}, ALLOWED),
    ("ip-v6", [stmt(condition=cond("IpAddress", "aws:SourceIp", "2001:db8::/32"))], "s3:GetObject", "*", {"aws:sourceip": ["2001:db8::1"]}, ALLOWED),
    ("not-ip-address", [stmt(), stmt("Deny", condition=cond("NotIpAddress", "aws:SourceIp", "10.0.0.0/8"))], "s3:GetObject", "*", {"aws:sourceip": ["203.0.113.7"]}, EXPLICIT),
    ("not-ip-address-inside", [stmt(), stmt("Deny", condition=cond("NotIpAddress", "aws:SourceIp", "10.0.0.0/8"))], "s3:GetObject", "*", {"aws:sourceip": ["10.0.0.7"]}, ALLOWED),
    ("ip-garbage", [stmt(condition=cond("IpAddress", "aws:SourceIp", "10.0.0.0/8"))], "s3:GetObject", "*", {"aws:sourceip": ["not-an-ip"]}, IMPLICIT),
    ("arn-equals", [stmt(condition=cond("ArnEquals", "aws:PrincipalArn", "arn:aws:iam::111111111111:role/Dev"))], "s3:GetObject", "*", {"aws:principalarn": ["arn:aws:iam::111111111111:role/Dev"]}, ALLOWED),
    ("arn-not-equals", [stmt(condition=cond("ArnNotEquals", "aws:PrincipalArn", "arn:aws:iam::111111111111:role/Dev"))], "s3:GetObject", "*", {"aws:principalarn": ["arn:aws:iam::111111111111:role/Ops"]}, ALLOWED),
    ("arn-like", [stmt(condition=cond("ArnLike", "aws:PrincipalArn", "arn:aws:iam::*:role/Dev*"))], "s3:GetObject", "*", {"aws:principalarn": ["arn:aws:iam::111111111111:role/Developer"]}, ALLOWED),
    ("arn-like-star-does-not-cross-colons", [stmt(condition=cond("ArnLike", "aws:PrincipalArn", "arn:aws:iam::*"))], "s3:GetObject", "*", {"aws:principalarn": ["arn:aws:iam::111111111111:role/Developer"]}, IMPLICIT),
    ("arn-like-not-an-arn", [stmt(condition=cond("ArnLike", "aws:PrincipalArn", "arn:aws:iam::*:role/*"))], "s3:GetObject", "*", {"aws:principalarn": ["developer"]}, IMPLICIT),
    ("arn-not-like", [stmt(condition=cond("ArnNotLike", "aws:PrincipalArn", "arn:aws:iam::*:role/Admin*"))], "s3:GetObject", "*", {"aws:principalarn": ["arn:aws:iam::111111111111:role/Developer"]}, ALLOWED),
    ("null-true-absent", [stmt(condition=cond("Null", "aws:TokenIssueTime", "true"))], "s3:GetObject", "*", {}, ALLOWED),
    ("null-true-present", [stmt(condition=cond("Null", "aws:TokenIssueTime", "true"))], "s3:GetObject", "*", {"aws:tokenissuetime": ["2026-12-01T00:00:00Z"]}, IMPLICIT),
    ("null-false-present", [stmt(condition=cond("Null", "aws:TokenIssueTime", "false"))], "s3:GetObject", "*", {"aws:tokenissuetime": ["2026-12-01T00:00:00Z"]}, ALLOWED),
    ("null-false-absent", [stmt(condition=cond("Null", "aws:TokenIssueTime", "false"))], "s3:GetObject", "*", {}, IMPLICIT),
    ("null-deny-untagged", [stmt(), stmt("Deny", condition=cond("Null", "aws:PrincipalTag/department", "true"))], "s3:GetObject", "*", {}, EXPLICIT),
    # --- IfExists
    ("ifexists-missing-is-true", [stmt(condition=cond("StringEqualsIfExists", "ec2:InstanceType", "t3.micro"))], "ec2:RunInstances", "*", {}, ALLOWED),
    ("ifexists-present-match", [stmt(condition=cond("StringEqualsIfExists", "ec2:InstanceType", "t3.micro"))], "ec2:RunInstances", "*", {"ec2:instancetype": ["t3.micro"]}, ALLOWED),
    ("ifexists-present-mismatch", [stmt(condition=cond("StringEqualsIfExists", "ec2:InstanceType", "t3.micro"))], "ec2:RunInstances", "*", {"ec2:instancetype": ["m5.large"]}, IMPLICIT),
    ("ifexists-numeric-missing", [stmt(condition=cond("NumericLessThanIfExists", "s3:max-keys", "10"))], "s3:ListBucket", BUCKET, {}, ALLOWED),
    ("ifexists-deny-missing-is-true", [stmt(), stmt("Deny", condition=cond("StringNotEqualsIfExists", "aws:RequestedRegion", "eu-west-1"))], "s3:GetObject", "*", {}, EXPLICIT),
    ("ifexists-deny-present-ok", [stmt(), stmt("Deny", condition=cond("StringNotEqualsIfExists", "aws:RequestedRegion", "eu-west-1"))], "s3:GetObject", "*", {"aws:requestedregion": ["eu-west-1"]}, ALLOWED),
    ("ifexists-bool-missing", [stmt(condition=cond("BoolIfExists", "aws:MultiFactorAuthPresent", "true"))], "s3:GetObject", "*", {}, ALLOWED),
    ("ifexists-ip-present-outside", [stmt(condition=cond("IpAddressIfExists", "aws:SourceIp", "10.0.0.0/8"))], "s3:GetObject", "*", {"aws:sourceip": ["203.0.113.9"]}, IMPLICIT),
    # --- multivalued keys: ForAnyValue / ForAllValues
    ("forallvalues-subset", [stmt(condition=cond("ForAllValues:StringEquals", "aws:TagKeys", ["team", "project"]))], "s3:GetObject", "*", {"aws:tagkeys": ["team"]}, ALLOWED),
    ("forallvalues-not-subset", [stmt(condition=cond("ForAllValues:StringEquals", "aws:TagKeys", ["team", "project"]))], "s3:GetObject", "*", {"aws:tagkeys": ["team", "cost"]}, IMPLICIT),
    ("forallvalues-empty-set-is-true", [stmt(condition=cond("ForAllValues:StringEquals", "aws:TagKeys", ["team"]))], "s3:GetObject", "*", {"aws:tagkeys": []}, ALLOWED),
    ("forallvalues-missing-key-is-true", [stmt(condition=cond("ForAllValues:StringEquals", "aws:TagKeys", ["team"]))], "s3:GetObject", "*", {}, ALLOWED),
    ("forallvalues-like", [stmt(condition=cond("ForAllValues:StringLike", "aws:TagKeys", ["team*"]))], "s3:GetObject", "*", {"aws:tagkeys": ["team", "teamlead"]}, ALLOWED),
    ("foranyvalue-one-match", [stmt(condition=cond("ForAnyValue:StringEquals", "aws:TagKeys", ["team"]))], "s3:GetObject", "*", {"aws:tagkeys": ["cost", "team"]}, ALLOWED),
    ("foranyvalue-no-match", [stmt(condition=cond("ForAnyValue:StringEquals", "aws:TagKeys", ["team"]))], "s3:GetObject", "*", {"aws:tagkeys": ["cost"]}, IMPLICIT),
    ("foranyvalue-empty-set-is-false", [stmt(condition=cond("ForAnyValue:StringEquals", "aws:TagKeys", ["team"]))], "s3:GetObject", "*", {"aws:tagkeys": []}, IMPLICIT),
    ("foranyvalue-missing-is-false", [stmt(condition=cond("ForAnyValue:StringEquals", "aws:TagKeys", ["team"]))], "s3:GetObject", "*", {}, IMPLICIT),
    ("foranyvalue-deny", [stmt(), stmt("Deny", condition=cond("ForAnyValue:StringEquals", "aws:TagKeys", ["owner"]))], "s3:GetObject", "*", {"aws:tagkeys": ["team", "owner"]}, EXPLICIT),
    ("forallvalues-not-equals", [stmt(condition=cond("ForAllValues:StringNotEquals", "aws:TagKeys", ["secret"]))], "s3:GetObject", "*", {"aws:tagkeys": ["team", "cost"]}, ALLOWED),
    ("single-operator-on-multivalued-any", [stmt(condition=cond("StringEquals", "saml:groups", "admins"))], "s3:GetObject", "*", {"saml:groups": ["users", "admins"]}, ALLOWED),
    ("negated-operator-on-multivalued-none", [stmt(condition=cond("StringNotEquals", "saml:groups", "admins"))], "s3:GetObject", "*", {"saml:groups": ["users", "admins"]}, IMPLICIT),
    # --- policy variables (Version 2012-10-17)
    ("variable-in-resource", [stmt(resource=f"{BUCKET}/${{aws:PrincipalTag/department}}/*")], "s3:GetObject", f"{BUCKET}/Engineering/x", {"aws:principaltag/department": ["Engineering"]}, ALLOWED),
    ("variable-in-resource-other-prefix", [stmt(resource=f"{BUCKET}/${{aws:PrincipalTag/department}}/*")], "s3:GetObject", f"{BUCKET}/Finance/x", {"aws:principaltag/department": ["Engineering"]}, IMPLICIT),
    ("variable-missing-matches-nothing", [stmt(resource=f"{BUCKET}/${{aws:PrincipalTag/department}}/*")], "s3:GetObject", f"{BUCKET}//x", {}, IMPLICIT),
    ("variable-default", [stmt(resource=f"{BUCKET}/${{aws:PrincipalTag/department, 'shared'}}/*")], "s3:GetObject", f"{BUCKET}/shared/x", {}, ALLOWED),
    ("variable-default-not-used-when-present", [stmt(resource=f"{BUCKET}/${{aws:PrincipalTag/department, 'shared'}}/*")], "s3:GetObject", f"{BUCKET}/shared/x", {"aws:principaltag/department": ["Engineering"]}, IMPLICIT),
    ("variable-value-is-literal", [stmt(resource=f"{BUCKET}/${{aws:PrincipalTag/department}}/x")], "s3:GetObject", f"{BUCKET}/Engineering/x", {"aws:principaltag/department": ["*"]}, IMPLICIT),
    ("variable-special-star", [stmt(resource=f"{BUCKET}/${{*}}")], "s3:GetObject", f"{BUCKET}/*", {}, ALLOWED),
    ("variable-special-star-is-literal", [stmt(resource=f"{BUCKET}/${{*}}")], "s3:GetObject", f"{BUCKET}/anything", {}, IMPLICIT),
    ("variable-special-question", [stmt(resource=f"{BUCKET}/what${{?}}")], "s3:GetObject", f"{BUCKET}/what?", {}, ALLOWED),
    ("variable-special-dollar", [stmt(resource=f"{BUCKET}/${{$}}HOME")], "s3:GetObject", f"{BUCKET}/$HOME", {}, ALLOWED),
    ("variable-in-condition", [stmt(condition=cond("StringEquals", "s3:prefix", "home/${aws:userid}/"))], "s3:ListBucket", BUCKET, {"s3:prefix": ["home/AROA1:alice/"], "aws:userid": ["AROA1:alice"]}, ALLOWED),
    ("variable-in-condition-like", [stmt(condition=cond("StringLike", "s3:prefix", "home/${saml:sub}/*"))], "s3:ListBucket", BUCKET, {"s3:prefix": ["home/alice/docs"], "saml:sub": ["alice"]}, ALLOWED),
    ("variable-in-condition-like-value-is-literal", [stmt(condition=cond("StringLike", "s3:prefix", "home/${saml:sub}/*"))], "s3:ListBucket", BUCKET, {"s3:prefix": ["home/alice/docs"], "saml:sub": ["*"]}, IMPLICIT),
    ("variable-in-condition-missing", [stmt(condition=cond("StringEquals", "s3:prefix", "home/${saml:sub}/"))], "s3:ListBucket", BUCKET, {"s3:prefix": ["home//"]}, IMPLICIT),
    ("variable-key-case-insensitive", [stmt(resource=f"{BUCKET}/${{AWS:PrincipalTag/Department}}/*")], "s3:GetObject", f"{BUCKET}/Engineering/x", {"aws:principaltag/department": ["Engineering"]}, ALLOWED),
    ("variable-multivalued-key-matches-nothing", [stmt(resource=f"{BUCKET}/${{saml:groups}}/*")], "s3:GetObject", f"{BUCKET}/a/x", {"saml:groups": ["a", "b"]}, IMPLICIT),
    ("variable-deny-with-missing-var-does-not-deny", [stmt(), stmt("Deny", resource=f"{BUCKET}/${{aws:PrincipalTag/blocked}}/*")], "s3:GetObject", f"{BUCKET}/x/y", {}, ALLOWED),
]


@pytest.mark.parametrize(("name", "statements", "action", "resource", "context", "expected"), SINGLE, ids=[c[0] for c in SINGLE])
def test_single_policy(name: str, statements: list[dict], action: str, resource: str, context: dict, expected: str) -> None:
    policy = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": statements}), principal_required=False)
    assert evaluate(policy, Request(action, context, resource=resource)).decision == expected


def test_version_2008_does_not_substitute_variables() -> None:
    statement = stmt(resource=f"{BUCKET}/${{aws:username}}/*")
    policy = parse_policy(json.dumps({"Version": "2008-10-17", "Statement": [statement]}), principal_required=False)
    assert evaluate(policy, Request("s3:GetObject", {"aws:username": ["bob"]}, resource=f"{BUCKET}/bob/x")).decision == IMPLICIT
    assert evaluate(policy, Request("s3:GetObject", {}, resource=f"{BUCKET}/${{aws:username}}/x")).decision == ALLOWED
    like = stmt(condition=cond("StringLike", "s3:prefix", "home/${aws:username}/*"))
    in_condition = parse_policy(json.dumps({"Version": "2008-10-17", "Statement": [like]}), principal_required=False)
    assert evaluate(in_condition, Request("s3:ListBucket", {"s3:prefix": ["home/bob/x"], "aws:username": ["bob"]}, resource=BUCKET)).decision == IMPLICIT


ROLE = "arn:aws:iam::111111111111:role/Dev"
SESSION = "arn:aws:sts::111111111111:assumed-role/Dev/alice"


def named(kind: str, *statements: dict, policy_id: str = "p") -> NamedPolicy:
    principal_required = kind == "resource"
    return NamedPolicy(policy_id, kind, parse_policy(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}), principal_required=principal_required))


def rstmt(effect: str = "Allow", principal: object = None, **extra: object) -> dict:
    return {**stmt(effect, resource=f"{BUCKET}/*", **extra), "Principal": principal or {"AWS": ROLE}}


ALLOW_ALL = stmt(action="s3:*")
ALLOW_GET = stmt(action="s3:GetObject")
ALLOW_PUT = stmt(action="s3:PutObject")
DENY_GET = stmt("Deny", action="s3:GetObject")

# (name, policy set, action, expected)
SETS: list[tuple[str, PolicySet, str, str]] = [
    ("identity-only-allow", PolicySet(identity=(named("role", ALLOW_GET),)), "s3:GetObject", ALLOWED),
    ("identity-only-implicit", PolicySet(identity=(named("role", ALLOW_PUT),)), "s3:GetObject", IMPLICIT),
    ("no-policies", PolicySet(), "s3:GetObject", IMPLICIT),
    ("inline-and-managed-union", PolicySet(identity=(named("role", ALLOW_PUT), named("user-managed", ALLOW_GET))), "s3:GetObject", ALLOWED),
    ("deny-in-managed-wins", PolicySet(identity=(named("role", ALLOW_ALL), named("user-managed", DENY_GET))), "s3:GetObject", EXPLICIT),
    ("boundary-allows", PolicySet(identity=(named("role", ALLOW_GET),), boundary=named("permissions-boundary", ALLOW_ALL)), "s3:GetObject", ALLOWED),
    ("boundary-implicit-limits", PolicySet(identity=(named("role", ALLOW_ALL),), boundary=named("permissions-boundary", ALLOW_PUT)), "s3:GetObject", IMPLICIT),
    ("boundary-alone-grants-nothing", PolicySet(boundary=named("permissions-boundary", ALLOW_ALL)), "s3:GetObject", IMPLICIT),
    ("boundary-deny-wins", PolicySet(identity=(named("role", ALLOW_ALL),), boundary=named("permissions-boundary", ALLOW_ALL, DENY_GET)), "s3:GetObject", EXPLICIT),
    ("boundary-intersection-other-action", PolicySet(identity=(named("role", ALLOW_GET),), boundary=named("permissions-boundary", ALLOW_GET)), "s3:PutObject", IMPLICIT),
    ("session-policy-cannot-widen", PolicySet(identity=(named("role", ALLOW_PUT),), session=(named("session", ALLOW_ALL),)), "s3:GetObject", IMPLICIT),
    ("session-policy-narrows", PolicySet(identity=(named("role", ALLOW_ALL),), session=(named("session", ALLOW_PUT),)), "s3:GetObject", IMPLICIT),
    ("session-policy-intersection", PolicySet(identity=(named("role", ALLOW_ALL),), session=(named("session", ALLOW_GET),)), "s3:GetObject", ALLOWED),
    ("session-policy-deny", PolicySet(identity=(named("role", ALLOW_ALL),), session=(named("session", ALLOW_ALL, DENY_GET),)), "s3:GetObject", EXPLICIT),
    ("session-policies-union", PolicySet(identity=(named("role", ALLOW_ALL),), session=(named("session", ALLOW_PUT), named("session", ALLOW_GET))), "s3:GetObject", ALLOWED),
    ("empty-session-set-denies", PolicySet(identity=(named("role", ALLOW_ALL),), session=()), "s3:GetObject", IMPLICIT),
    ("session-and-boundary", PolicySet(identity=(named("role", ALLOW_ALL),), session=(named("session", ALLOW_ALL),), boundary=named("permissions-boundary", ALLOW_GET)), "s3:GetObject", ALLOWED),
    ("session-and-boundary-one-refuses", PolicySet(identity=(named("role", ALLOW_ALL),), session=(named("session", ALLOW_PUT),), boundary=named("permissions-boundary", ALLOW_ALL)), "s3:GetObject", IMPLICIT),
    ("resource-policy-allows-role", PolicySet(resource=(named("resource", rstmt()),)), "s3:GetObject", ALLOWED),
    ("resource-policy-other-principal", PolicySet(resource=(named("resource", rstmt(principal={"AWS": "arn:aws:iam::111111111111:role/Other"})),)), "s3:GetObject", IMPLICIT),
    # Naming the account delegates to its identity policies: alone it allows nothing (IAM User Guide, Principal).
    ("resource-policy-account-root", PolicySet(resource=(named("resource", rstmt(principal={"AWS": "arn:aws:iam::111111111111:root"})),)), "s3:GetObject", IMPLICIT),
    ("resource-policy-account-id", PolicySet(resource=(named("resource", rstmt(principal={"AWS": "111111111111"})),)), "s3:GetObject", IMPLICIT),
    ("resource-policy-account-root-with-identity", PolicySet(identity=(named("role", ALLOW_ALL),), resource=(named("resource", rstmt(principal={"AWS": "arn:aws:iam::111111111111:root"})),)), "s3:GetObject", ALLOWED),
    ("resource-policy-everyone", PolicySet(resource=(named("resource", rstmt(principal="*")),)), "s3:GetObject", ALLOWED),
    ("resource-policy-deny-wins", PolicySet(identity=(named("role", ALLOW_ALL),), resource=(named("resource", rstmt("Deny")),)), "s3:GetObject", EXPLICIT),
    ("resource-policy-role-arn-limited-by-boundary", PolicySet(resource=(named("resource", rstmt()),), boundary=named("permissions-boundary", ALLOW_PUT)), "s3:GetObject", IMPLICIT),
    ("resource-policy-session-arn-not-limited-by-boundary", PolicySet(resource=(named("resource", rstmt(principal={"AWS": SESSION})),), boundary=named("permissions-boundary", ALLOW_PUT)), "s3:GetObject", ALLOWED),
    ("resource-policy-session-arn-not-limited-by-session-policy", PolicySet(resource=(named("resource", rstmt(principal={"AWS": SESSION})),), session=(named("session", ALLOW_PUT),)), "s3:GetObject", ALLOWED),
    ("resource-policy-session-arn-explicit-deny-still-wins", PolicySet(identity=(named("role", DENY_GET),), resource=(named("resource", rstmt(principal={"AWS": SESSION})),)), "s3:GetObject", EXPLICIT),
    # A Deny's NotPrincipal spares a session only when it names the session, its role and its account: the IAM User
    # Guide (NotPrincipal) says AWS "might" deny at the first of those levels left out.
    *[
        (f"resource-policy-notprincipal-{label}", PolicySet(identity=(named("role", ALLOW_ALL),), resource=(named("resource", {**stmt("Deny", resource=f"{BUCKET}/*"), "NotPrincipal": {"AWS": names}}),)), "s3:GetObject", expected)
        for label, names, expected in [
            ("every-level", [SESSION, ROLE, "arn:aws:iam::111111111111:root"], ALLOWED),
            ("every-level-account-id", [SESSION, ROLE, "111111111111"], ALLOWED),
            ("role-only", [ROLE], EXPLICIT),
            ("session-only", [SESSION], EXPLICIT),
            ("account-only", ["arn:aws:iam::111111111111:root"], EXPLICIT),
            ("without-session", [ROLE, "arn:aws:iam::111111111111:root"], EXPLICIT),
            ("without-role", [SESSION, "111111111111"], EXPLICIT),
            ("without-account", [SESSION, ROLE], EXPLICIT),
        ]
    ],
    ("resource-policy-notprincipal-other", PolicySet(identity=(named("role", ALLOW_ALL),), resource=(named("resource", {**stmt("Deny", resource=f"{BUCKET}/*"), "NotPrincipal": {"AWS": "arn:aws:iam::111111111111:role/Other"}}),)), "s3:GetObject", EXPLICIT),
    # IAM User Guide, NotPrincipal: a Deny with NotPrincipal "will always deny any IAM principal that has a permissions
    # boundary policy attached, regardless of the values specified in the NotPrincipal element".
    ("resource-policy-notprincipal-bounded-principal", PolicySet(identity=(named("role", ALLOW_ALL),), resource=(named("resource", {**stmt("Deny", resource=f"{BUCKET}/*"), "NotPrincipal": {"AWS": [ROLE, SESSION]}}),), boundary=named("permissions-boundary", ALLOW_ALL)), "s3:GetObject", EXPLICIT),
    ("resource-policy-notprincipal-bounded-other-resource", PolicySet(identity=(named("role", ALLOW_ALL),), resource=(named("resource", {**stmt("Deny", resource=f"{BUCKET}/b/*"), "NotPrincipal": {"AWS": ROLE}}),), boundary=named("permissions-boundary", ALLOW_ALL)), "s3:GetObject", ALLOWED),
    ("identity-or-resource", PolicySet(identity=(named("role", ALLOW_PUT),), resource=(named("resource", rstmt()),)), "s3:GetObject", ALLOWED),
]


@pytest.mark.parametrize(("name", "policies", "action", "expected"), SETS, ids=[c[0] for c in SETS])
def test_policy_sets(name: str, policies: PolicySet, action: str, expected: str) -> None:
    request = Request(action, {}, resource=f"{BUCKET}/a", principal_type="AWS", principal=ROLE,
                      principal_aliases=(SESSION, "arn:aws:iam::111111111111:root", "111111111111"))
    assert authorize(policies, request, session_arn=SESSION).decision == expected


def test_the_table_is_big_enough() -> None:
    assert len(SINGLE) + len(SETS) >= 150


def test_missing_context_values_are_reported_as_written() -> None:
    policy = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": [
        stmt(condition={"StringEquals": {"aws:PrincipalTag/Department": "x"}, "Bool": {"aws:SecureTransport": "true"}}),
        stmt(resource=f"{BUCKET}/${{saml:sub}}/*"),
        stmt(action="ec2:*", condition=cond("StringEquals", "ec2:Region", "x")),  # another action: not reported
    ]}), principal_required=False)
    result = evaluate(policy, Request("s3:GetObject", {"aws:securetransport": ["true"]}, resource=f"{BUCKET}/a/b"), explain=True)
    assert result.missing == {"aws:PrincipalTag/Department", "saml:sub"}


def test_missing_variables_of_conditions_are_reported() -> None:
    policy = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": [stmt(condition=cond("StringEquals", "s3:prefix", "home/${aws:userid}/"))]}), principal_required=False)
    result = evaluate(policy, Request("s3:ListBucket", {"s3:prefix": ["home/x/"]}, resource=BUCKET), explain=True)
    assert result.missing == {"aws:userid"}
    written = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": [
        stmt(condition=cond("StringEquals", "s3:prefix", "home/${aws:PrincipalTag/Team}/${aws:userid}/")),
        stmt(resource=f"{BUCKET}/${{aws:PrincipalTag/Project, 'none'}}/${{SAML:Sub}}/${{*}}"),
    ]}), principal_required=False)
    asked = Request("s3:ListBucket", {"s3:prefix": ["home/x/"], "aws:userid": ["AROA:x"]}, resource=BUCKET)
    assert evaluate(written, asked, explain=True).missing == {"aws:PrincipalTag/Team", "aws:PrincipalTag/Project", "SAML:Sub"}  # as written, as condition keys are
    older = parse_policy(json.dumps({"Version": "2008-10-17", "Statement": [stmt(condition=cond("StringEquals", "s3:prefix", "home/${aws:userid}/"))]}), principal_required=False)
    assert evaluate(older, Request("s3:ListBucket", {"s3:prefix": ["home/x/"]}, resource=BUCKET), explain=True).missing == frozenset()
