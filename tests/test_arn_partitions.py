"""ARNs in every AWS partition (botocore's partitions.json: aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e,
aws-iso-f, aws-eusc) read alike wherever samlfed reads an ARN: roles, SAML providers, managed policies, the
principals of a trust policy and the SAML Role attribute."""

from __future__ import annotations

import json

import pytest

from samlfed.iam.arns import ResourceName, parse_provider_arn, parse_role_arn
from samlfed.iam.managed_policies import check_policy_arn
from samlfed.policy import parse_policy
from samlfed.saml.aws_claims import role_pairs
from samlfed.saml.model import RolePair

AWS_PARTITIONS = ["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"]


def _trust(principal: dict[str, str]) -> str:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.mark.parametrize("partition", AWS_PARTITIONS)
def test_role_and_provider_arns_of_every_partition_parse(partition: str) -> None:
    assert parse_role_arn(f"arn:{partition}:iam::123456789012:role/ops/Dev") == ResourceName(partition, "123456789012", "Dev", "/ops/")
    assert parse_provider_arn(f"arn:{partition}:iam::123456789012:saml-provider/Corp") == ResourceName(partition, "123456789012", "Corp")


@pytest.mark.parametrize("partition", AWS_PARTITIONS)
def test_the_saml_role_attribute_names_roles_of_every_partition(partition: str) -> None:
    role, provider = f"arn:{partition}:iam::123456789012:role/Dev", f"arn:{partition}:iam::123456789012:saml-provider/Corp"
    pairs, problems, _ = role_pairs((f"{provider},{role}",))
    assert (pairs, problems) == ((RolePair(role, provider),), [])


@pytest.mark.parametrize("partition", AWS_PARTITIONS)
def test_policy_arns_of_every_partition_are_valid(partition: str) -> None:
    check_policy_arn(f"arn:{partition}:iam::aws:policy/ReadOnlyAccess")
    check_policy_arn(f"arn:{partition}:iam::123456789012:policy/team/Reader")


@pytest.mark.parametrize("partition", AWS_PARTITIONS)
def test_trust_policy_principals_of_every_partition_are_accepted(partition: str) -> None:
    for principal in (
        {"AWS": f"arn:{partition}:iam::123456789012:root"},
        {"AWS": f"arn:{partition}:sts::123456789012:assumed-role/Dev/alice"},
        {"Federated": f"arn:{partition}:iam::123456789012:saml-provider/Corp"},
    ):
        assert parse_policy(_trust(principal), principal_required=True, as_written=True).statements[0].principal is not None


def test_a_partition_aws_does_not_have_is_still_refused() -> None:
    assert parse_role_arn("arn:aws-iso-z:iam::123456789012:role/Dev") is None
    assert parse_provider_arn("arn:aws-eu:iam::123456789012:saml-provider/Corp") is None
