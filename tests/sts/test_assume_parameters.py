"""AssumeRoleWithSAML's (and AssumeRole's) parameter constraints at their edges, with the messages AWS's validation gives."""

from __future__ import annotations

import json
import random
import string

import pytest

from samlfed.errors import ServiceError, ValidationFailed
from samlfed.sts import chain
from samlfed.sts.assume import AssumeRoleWithSamlRequest, check_parameters, packed_policy_size
from samlfed.sts.chain import AssumeRoleRequest
from samlfed.sts.parameters import ARN_PATTERN, POLICY_PATTERN, parameter_violations

ROLE = "arn:aws:iam::111111111111:role/Developer"
PROVIDER = "arn:aws:iam::111111111111:saml-provider/Corp"


def request(**overrides: object) -> AssumeRoleWithSamlRequest:
    fields: dict = {"role_arn": ROLE, "principal_arn": PROVIDER, "saml_assertion": "PHNhbWw+"}
    return AssumeRoleWithSamlRequest(**{**fields, **overrides})


ACCEPTED = [
    {"duration_seconds": 900},
    {"duration_seconds": 43200},
    {"policy_arns": tuple(f"arn:aws:iam::aws:policy/P{i}" for i in range(10))},
    {"role_arn": "a" * 20},
    {"role_arn": ROLE + "x" * (2048 - len(ROLE))},
    {"saml_assertion": "abcd"},
    {"saml_assertion": "a" * 100_000},
    {"policy": "{"},
    {"policy": "x" * 2048},
    {"policy": "\t\n\r \u00ff~"},
    {"role_arn": ROLE + "\u00e9\U0001f600\t"},
    {"policy": "x" * (2048 - 40), "policy_arns": ("arn:aws:iam::111111111111:policy/Readers",)},
]

REFUSED = [
    ({"duration_seconds": 899}, "Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"),
    ({"duration_seconds": 43201}, "Value '43201' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"),
    ({"policy_arns": tuple(f"arn:aws:iam::aws:policy/P{i}" for i in range(11))},
     "Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10"),
    ({"role_arn": "a" * 19}, "Value 'aaaaaaaaaaaaaaaaaaa' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20"),
    ({"saml_assertion": "abc"}, "Value at 'sAMLAssertion' failed to satisfy constraint: Member must have length greater than or equal to 4"),
    ({"saml_assertion": "a" * 100_001}, "Value at 'sAMLAssertion' failed to satisfy constraint: Member must have length less than or equal to 100000"),
    ({"policy": "x" * 2049}, f"Value '{'x' * 2049}' at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048"),
    ({"policy": '{"Sid": "\u20ac"}'}, f"Value '{{\"Sid\": \"\u20ac\"}}' at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern: {POLICY_PATTERN}"),
    ({"role_arn": ROLE + "\x01"}, f"Value '{ROLE}\x01' at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: {ARN_PATTERN}"),
    ({"principal_arn": PROVIDER + "\ufffe"}, f"Value '{PROVIDER}\ufffe' at 'principalArn' failed to satisfy constraint: Member must satisfy regular expression pattern: {ARN_PATTERN}"),
    ({"policy_arns": ("arn:x",)}, "Value 'arn:x' at 'policyArns.1.member.arn' failed to satisfy constraint: Member must have length greater than or equal to 20"),
]


@pytest.mark.parametrize("overrides", ACCEPTED)
def test_edges_accepted(overrides: dict) -> None:
    check_parameters(request(**overrides))


@pytest.mark.parametrize(("overrides", "violation"), REFUSED)
def test_just_beyond_the_edges_refused(overrides: dict, violation: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        check_parameters(request(**overrides))
    assert info.value.violations == [violation]


def test_packed_policy_size_may_reach_exactly_100_percent() -> None:
    """The budget is inclusive: 100 % is reported as the size, the first step above it is PackedPolicyTooLarge."""
    rng = random.Random(7)
    noise = "".join(rng.choice(string.ascii_letters + string.digits + "+/=.@-_") for _ in range(6000))
    policy = noise[:2048]
    sizes: list[int | None] = []
    for extra in range(1, 4000):
        text = noise[2048 : 2048 + extra]
        tags = {f"t{n}": text[start : start + 256] for n, start in enumerate(range(0, len(text), 256))}
        try:
            sizes.append(packed_policy_size(policy, (), tags))
        except ServiceError as error:
            assert (error.code, error.message) == ("PackedPolicyTooLarge", "Packed policy consumes 101% of allotted space.")
            break
    else:
        pytest.fail("the packed size never exceeded the budget")
    assert sizes[0] is not None and sizes[0] < 100 and sizes[-1] == 100


def test_session_tags_alone_past_the_budget_are_refused_in_aws_words() -> None:
    rng = random.Random(7)
    tags = {f"t{n}": "".join(rng.choice(string.ascii_letters) for _ in range(256)) for n in range(50)}
    with pytest.raises(ServiceError) as refused:
        packed_policy_size(None, (), tags)
    percent = refused.value.message.split("consumes ", 1)[1].split("%", 1)[0]
    assert int(percent) > 100
    assert (refused.value.code, refused.value.message) == ("PackedPolicyTooLarge", f"Packed size of session tags consumes {percent}% of allotted space.")


def test_packed_policy_size_counts_every_input() -> None:
    """Sizes are kept per input: each of the policy, the policy ARNs and the tags must change the answer."""
    arns = tuple(f"arn:aws:iam::111111111111:policy/{string.ascii_letters[n] * 100}{n}" for n in range(10))
    tags = {"department": "Engineering"}

    def size(policy: str = "{}", policy_arns: tuple[str, ...] = (), with_tags: dict[str, str] = tags) -> int:
        value = packed_policy_size(policy, policy_arns, with_tags)
        assert value is not None
        return value

    base = size()
    assert size() == base
    assert size(policy_arns=arns) > base
    assert size(with_tags={**tags, "project": "x" * 256}) > base
    assert size(policy=json.dumps({"Statement": [{"Sid": "x" * 1000}]})) > base


def test_session_policies_share_2048_characters_of_plaintext() -> None:
    arn = "arn:aws:iam::111111111111:policy/Readers"  # 40 characters
    check_parameters(request(policy="x" * (2048 - 40), policy_arns=(arn,)))
    with pytest.raises(ServiceError) as info:
        check_parameters(request(policy="x" * (2048 - 39), policy_arns=(arn,)))
    assert (info.value.code, info.value.status) == ("ValidationError", 400)
    assert "2049 characters; at most 2048" in info.value.message


def test_missing_parameters_are_reported_with_the_others() -> None:
    assert parameter_violations(None, "", None, duration_seconds=1) == [
        "Value null at 'roleArn' failed to satisfy constraint: Member must not be null",
        f"Value '' at 'principalArn' failed to satisfy constraint: Member must satisfy regular expression pattern: {ARN_PATTERN}",
        "Value '' at 'principalArn' failed to satisfy constraint: Member must have length greater than or equal to 20",
        "Value null at 'sAMLAssertion' failed to satisfy constraint: Member must not be null",
        "Value '1' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
    ]


CHAINED = [
    ({"role_arn": ""}, [
        f"Value '' at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: {ARN_PATTERN}",
        "Value '' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20",
    ]),
    ({"session_name": "a"}, ["Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"]),
    ({"session_name": "a b"}, ["Value 'a b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"]),
    ({"session_name": "s" * 65}, [f"Value '{'s' * 65}' at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64"]),
    ({"source_identity": "s" * 257}, [f"Value '{'s' * 257}' at 'sourceIdentity' failed to satisfy constraint: Member must have length less than or equal to 256"]),
    ({"policy": "\u20ac"}, [f"Value '\u20ac' at 'policy' failed to satisfy constraint: Member must satisfy regular expression pattern: {POLICY_PATTERN}"]),
    ({"duration_seconds": 899}, ["Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"]),
]


@pytest.mark.parametrize(("overrides", "violations"), CHAINED)
def test_assume_role_parameters_get_the_same_model_messages(overrides: dict, violations: list[str]) -> None:
    fields: dict = {"role_arn": ROLE, "session_name": "chained"}
    with pytest.raises(ValidationFailed) as info:
        chain._check(AssumeRoleRequest(**{**fields, **overrides}))
    assert info.value.violations == violations
    chain._check(AssumeRoleRequest(**fields))


def test_assume_role_takes_a_source_identity_of_up_to_256_characters() -> None:
    """sourceIdentityType in AWS's current STS model (botocore's data) allows 256 characters; before, AssumeRole
    refused 65 to 256 with a ValidationError AWS no longer gives."""
    chain._check(AssumeRoleRequest(role_arn=ROLE, session_name="chained", source_identity="s" * 256))
