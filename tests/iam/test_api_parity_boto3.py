"""IAM query API parity with AWS, found by a black-box review: boto3 over HTTP against a real server, with botocore's
client-side validation off where AWS's own server-side checks are what is being compared (other SDKs and raw
requests send anything)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from itertools import count
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from servers import app_in_thread

from samlfed.api.app import build_app
from samlfed.config import Settings
from samlfed.iam import simulate
from samlfed.iam.accounts import create_account
from samlfed.server import build_context

ACCOUNT = "111111111111"
TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:saml-provider/Corp"}, "Action": "sts:AssumeRoleWithSAML",
}]}
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
DOCUMENT_PATTERN = "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"
TAG_KEY_PATTERN = "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"

_numbers = count()


def unique(prefix: str) -> str:
    return f"{prefix}{next(_numbers)}"


class Clients:
    def __init__(self, url: str, key_id: str, secret: str) -> None:
        def client(validate: bool) -> Any:
            return boto3.client(
                "iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id=key_id, aws_secret_access_key=secret,
                config=Config(parameter_validation=validate, retries={"max_attempts": 1}),
            )

        self.iam = client(True)
        self.raw = client(False)
        """No client-side validation: what AWS's server must refuse itself."""


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clients]:
    ctx = build_context(Settings(data_dir=tmp_path_factory.mktemp("data")))
    admin = create_account(ctx, ACCOUNT)
    with app_in_thread(build_app(ctx)) as url:
        yield Clients(url, admin.access_key_id, admin.secret_access_key)


def error_of(call: Callable[[], object]) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as info:
        call()
    response = info.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def validation(*violations: str) -> tuple[int, str, str]:
    noun = "error" if len(violations) == 1 else "errors"
    return 400, "ValidationError", f"{len(violations)} validation {noun} detected: " + "; ".join(violations)


def new_role(clients: Clients, path: str = "/") -> str:
    name = unique("Role")
    clients.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST), Path=path)
    return name


def new_policy(clients: Clients, path: str = "/", **params: Any) -> str:
    return clients.iam.create_policy(PolicyName=unique("Policy"), PolicyDocument=json.dumps(POLICY), Path=path, **params)["Policy"]["Arn"]


# --- 1. PoliciesPerRole -----------------------------------------------------------------------------


def test_an_eleventh_managed_policy_on_a_role_is_refused(clients: Clients) -> None:
    role = new_role(clients)
    for _ in range(10):
        clients.iam.attach_role_policy(RoleName=role, PolicyArn=new_policy(clients))
    eleventh = new_policy(clients)
    assert error_of(lambda: clients.iam.attach_role_policy(RoleName=role, PolicyArn=eleventh)) == (
        409, "LimitExceeded", "Cannot exceed quota for PoliciesPerRole: 10",
    )
    attached = clients.iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    assert len(attached) == 10
    clients.iam.attach_role_policy(RoleName=role, PolicyArn=attached[0]["PolicyArn"])  # already attached: no new one


# --- 2. size quotas without whitespace ----------------------------------------------------------------


def test_managed_and_trust_policy_quotas_do_not_count_whitespace(clients: Clients) -> None:
    """The IAM quotas page: 'IAM does not count white space when calculating the size of a policy'."""
    policy = {**POLICY, "Statement": [{**POLICY["Statement"][0], "Resource": "arn:aws:s3:::" + "a" * 5800}]}
    document = json.dumps(policy, indent=60)
    assert len(document) > 6144 >= len("".join(document.split()))
    clients.iam.create_policy(PolicyName=unique("Spacious"), PolicyDocument=document)
    trust = {**TRUST, "Statement": [{**TRUST["Statement"][0], "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml" + "x" * 1700}}}]}
    trust_document = json.dumps(trust, indent=30)
    assert len(trust_document) > 2048 >= len("".join(trust_document.split()))
    clients.iam.create_role(RoleName=unique("Spacious"), AssumeRolePolicyDocument=trust_document)
    clients.iam.update_assume_role_policy(RoleName=new_role(clients), PolicyDocument=trust_document)
    too_big = json.dumps({**POLICY, "Statement": [{**POLICY["Statement"][0], "Resource": "arn:aws:s3:::" + "a" * 6100}]})
    assert error_of(lambda: clients.iam.create_policy(PolicyName=unique("Big"), PolicyDocument=too_big)) == (
        409, "LimitExceeded", "Cannot exceed quota for PolicySize: 6144",
    )


# --- 3. ListAttachedRolePolicies PathPrefix, ListPolicies PolicyUsageFilter ---------------------------


def test_list_attached_role_policies_honours_the_path_prefix(clients: Clients) -> None:
    role = new_role(clients)
    team, other = new_policy(clients, "/team/"), new_policy(clients, "/other/")
    for arn in (team, other):
        clients.iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    listed = clients.iam.list_attached_role_policies(RoleName=role, PathPrefix="/team/")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in listed] == [team]
    assert len(clients.iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]) == 2
    assert error_of(lambda: clients.iam.list_attached_role_policies(RoleName=role, PathPrefix="/a*b/")) == validation(
        "Value '/a*b/' at 'pathPrefix' failed to satisfy constraint: Member must satisfy regular expression pattern: ((/[A-Za-z0-9\\.,\\+@=_-]+)*)/"
    )


def test_list_policies_honours_the_policy_usage_filter(clients: Clients) -> None:
    path = f"/{unique('usage')}/"
    attached, boundary, unused = new_policy(clients, path), new_policy(clients, path), new_policy(clients, path)
    clients.iam.attach_role_policy(RoleName=new_role(clients), PolicyArn=attached)
    clients.iam.put_role_permissions_boundary(RoleName=new_role(clients), PermissionsBoundary=boundary)

    def listed(usage: str) -> list[str]:
        return [p["Arn"] for p in clients.iam.list_policies(Scope="Local", PathPrefix=path, PolicyUsageFilter=usage)["Policies"]]

    assert listed("PermissionsPolicy") == [attached]
    assert listed("PermissionsBoundary") == [boundary]
    assert len(clients.iam.list_policies(Scope="Local", PathPrefix=path)["Policies"]) == 3 and unused
    assert error_of(lambda: clients.raw.list_policies(PolicyUsageFilter="bogus")) == validation(
        "Value 'bogus' at 'policyUsageFilter' failed to satisfy constraint: Member must satisfy enum value set: [PermissionsPolicy, PermissionsBoundary]"
    )


# --- 4. PathPrefix is case-sensitive ----------------------------------------------------------------------


def test_path_prefixes_are_case_sensitive(clients: Clients) -> None:
    path = f"/{unique('lower')}/"
    role = new_role(clients, path)
    policy = new_policy(clients, path)
    assert clients.iam.list_roles(PathPrefix=path.upper())["Roles"] == []
    assert clients.iam.list_policies(PathPrefix=path.upper())["Policies"] == []
    assert [r["RoleName"] for r in clients.iam.list_roles(PathPrefix=path)["Roles"]] == [role]
    assert [p["Arn"] for p in clients.iam.list_policies(PathPrefix=path)["Policies"]] == [policy]


# --- 5. the policy document character set ---------------------------------------------------------------


def test_policy_documents_outside_the_models_characters_are_refused(clients: Clients) -> None:
    document = json.dumps({**POLICY, "Statement": [{**POLICY["Statement"][0], "Resource": "arn:aws:s3:::b/\u20ac"}]}, ensure_ascii=False)
    trust = json.dumps({**TRUST, "Statement": [{**TRUST["Statement"][0], "Sid": "Euro\u20ac"}]}, ensure_ascii=False)

    def violation(value: str, field: str) -> tuple[int, str, str]:
        return validation(f"Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: {DOCUMENT_PATTERN}")

    role = new_role(clients)
    assert error_of(lambda: clients.iam.create_policy(PolicyName=unique("Euro"), PolicyDocument=document)) == violation(document, "policyDocument")
    assert error_of(lambda: clients.iam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=document)) == violation(document, "policyDocument")
    assert error_of(lambda: clients.iam.create_role(RoleName=unique("Euro"), AssumeRolePolicyDocument=trust)) == violation(trust, "assumeRolePolicyDocument")
    assert error_of(lambda: clients.iam.update_assume_role_policy(RoleName=role, PolicyDocument=trust)) == violation(trust, "policyDocument")
    latin1 = json.dumps({**POLICY, "Statement": [{**POLICY["Statement"][0], "Resource": "arn:aws:s3:::b/\u00e9"}]}, ensure_ascii=False)
    clients.iam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=latin1)  # up to U+00FF is allowed


# --- 6. paths -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/a*b/", "/a#b/", "//", "nope"])
def test_a_policy_path_follows_the_policy_path_pattern(clients: Clients, path: str) -> None:
    assert error_of(lambda: clients.iam.create_policy(PolicyName=unique("P"), PolicyDocument=json.dumps(POLICY), Path=path)) == validation(
        f"Value '{path}' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: ((/[A-Za-z0-9\\.,\\+@=_-]+)*)/"
    )


def test_a_role_path_needs_a_character_between_its_slashes(clients: Clients) -> None:
    pattern = "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"
    assert error_of(lambda: clients.iam.create_role(RoleName=unique("R"), AssumeRolePolicyDocument=json.dumps(TRUST), Path="//")) == validation(
        f"Value '//' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern}"
    )
    long_path = "/" + "a" * 511 + "/"
    assert error_of(lambda: clients.raw.create_role(RoleName=unique("R"), AssumeRolePolicyDocument=json.dumps(TRUST), Path=long_path)) == validation(
        f"Value '{long_path}' at 'path' failed to satisfy constraint: Member must have length less than or equal to 512"
    )
    assert new_role(clients, "/a*b/")  # any printable ASCII between the slashes


# --- 7. CreatePolicy Description and Tags; TagPolicy, UntagPolicy, ListPolicyTags ------------------------


def test_a_policy_description_holds_at_most_1000_characters(clients: Clients) -> None:
    description = "d" * 1001
    assert error_of(lambda: clients.iam.create_policy(PolicyName=unique("P"), PolicyDocument=json.dumps(POLICY), Description=description)) == validation(
        f"Value '{description}' at 'description' failed to satisfy constraint: Member must have length less than or equal to 1000"
    )
    assert clients.iam.get_policy(PolicyArn=new_policy(clients, Description="d" * 1000))["Policy"]["Description"] == "d" * 1000


def test_list_policies_leaves_the_description_to_get_policy(clients: Clients) -> None:
    """The model documents a Policy's Description as part of GetPolicy's answer and not of ListPolicies'."""
    path = f"/{unique('described')}/"
    arn = new_policy(clients, path, Description="kept for GetPolicy")
    (listed,) = clients.iam.list_policies(Scope="Local", PathPrefix=path)["Policies"]
    assert listed["Arn"] == arn and "Description" not in listed
    assert clients.iam.get_policy(PolicyArn=arn)["Policy"]["Description"] == "kept for GetPolicy"


def test_policy_tags_are_stored_returned_and_changed(clients: Clients) -> None:
    created = clients.iam.create_policy(PolicyName=unique("Tagged"), PolicyDocument=json.dumps(POLICY), Tags=[{"Key": "team", "Value": "a"}])["Policy"]
    arn = created["Arn"]
    assert created["Tags"] == [{"Key": "team", "Value": "a"}]
    assert clients.iam.get_policy(PolicyArn=arn)["Policy"]["Tags"] == [{"Key": "team", "Value": "a"}]
    assert "Tags" not in clients.iam.list_policies(Scope="Local")["Policies"][0]  # listing leaves them out, as AWS
    clients.iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "cost", "Value": "42"}, {"Key": "TEAM", "Value": "b"}, {"Key": "team", "Value": "c"}])
    # A managed policy's tag keys are case-sensitive (IAM's tagging rules): TEAM is a tag of its own.
    assert clients.iam.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "cost", "Value": "42"}, {"Key": "TEAM", "Value": "b"}, {"Key": "team", "Value": "c"}]
    clients.iam.untag_policy(PolicyArn=arn, TagKeys=["team"])
    assert clients.iam.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "cost", "Value": "42"}, {"Key": "TEAM", "Value": "b"}]
    clients.iam.tag_policy(PolicyArn=arn, Tags=[{"Key": f"k{n}", "Value": "v"} for n in range(48)])
    assert error_of(lambda: clients.iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "one-more", "Value": "v"}])) == (
        409, "LimitExceeded", "The number of tags has reached the maximum limit.",
    )
    missing = arn + "Missing"
    assert error_of(lambda: clients.iam.list_policy_tags(PolicyArn=missing)) == (404, "NoSuchEntity", f"Policy {missing} does not exist or is not attachable.")
    assert error_of(lambda: clients.iam.create_policy(PolicyName=unique("P"), PolicyDocument=json.dumps(POLICY), Tags=[{"Key": "a#b", "Value": "v"}])) == validation(
        f"Value at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: {TAG_KEY_PATTERN}"
    )


# --- 8. DeleteRole's two conflicts --------------------------------------------------------------------------


def test_delete_role_names_inline_and_attached_policies_apart(clients: Clients) -> None:
    inline = new_role(clients)
    clients.iam.put_role_policy(RoleName=inline, PolicyName="p", PolicyDocument=json.dumps(POLICY))
    assert error_of(lambda: clients.iam.delete_role(RoleName=inline)) == (409, "DeleteConflict", "Cannot delete entity, must delete policies first.")
    attached = new_role(clients)
    clients.iam.attach_role_policy(RoleName=attached, PolicyArn=new_policy(clients))
    assert error_of(lambda: clients.iam.delete_role(RoleName=attached)) == (409, "DeleteConflict", "Cannot delete entity, must detach all policies first.")


# --- 9. tag validation -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("tag", "violation"), [
    ({"Key": "k" * 129, "Value": "v"}, "Value at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128"),
    ({"Key": "a#b", "Value": "v"}, f"Value at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: {TAG_KEY_PATTERN}"),
    ({"Key": "k", "Value": "v" * 257}, "Value at 'tags.1.member.value' failed to satisfy constraint: Member must have length less than or equal to 256"),
])
def test_tag_model_violations_are_validation_errors(clients: Clients, tag: dict[str, str], violation: str) -> None:
    role = new_role(clients)
    provider = f"arn:aws:iam::{ACCOUNT}:saml-provider/Missing"  # the model is checked before anything is looked up
    assert error_of(lambda: clients.raw.tag_role(RoleName=role, Tags=[tag])) == validation(violation)
    assert error_of(lambda: clients.raw.tag_saml_provider(SAMLProviderArn=provider, Tags=[tag])) == validation(violation)


def test_more_than_50_tags_in_one_request_is_a_validation_error(clients: Clients) -> None:
    tags = [{"Key": f"k{n}", "Value": "v"} for n in range(51)]
    assert error_of(lambda: clients.raw.tag_role(RoleName=new_role(clients), Tags=tags)) == validation(
        "Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"
    )


def test_tagging_without_tags_is_a_missing_parameter(clients: Clients) -> None:
    role = new_role(clients)
    provider = f"arn:aws:iam::{ACCOUNT}:saml-provider/Missing"
    assert error_of(lambda: clients.raw.tag_role(RoleName=role)) == validation("Value null at 'tags' failed to satisfy constraint: Member must not be null")
    assert error_of(lambda: clients.raw.untag_role(RoleName=role)) == validation("Value null at 'tagKeys' failed to satisfy constraint: Member must not be null")
    assert error_of(lambda: clients.raw.tag_saml_provider(SAMLProviderArn=provider)) == validation(
        "Value null at 'tags' failed to satisfy constraint: Member must not be null"
    )
    clients.iam.tag_role(RoleName=role, Tags=[])  # an empty list is a list (botocore sends `Tags=`)


# --- 10. simulator pagination --------------------------------------------------------------------------------


def test_the_simulator_pages_its_results(clients: Clients) -> None:
    actions = ["s3:GetObject", "s3:PutObject", "s3:ListBucket"]
    first = clients.iam.simulate_custom_policy(PolicyInputList=[json.dumps(POLICY)], ActionNames=actions, MaxItems=2)
    assert [r["EvalActionName"] for r in first["EvaluationResults"]] == actions[:2] and first["IsTruncated"]
    rest = clients.iam.simulate_custom_policy(PolicyInputList=[json.dumps(POLICY)], ActionNames=actions, MaxItems=2, Marker=first["Marker"])
    assert [r["EvalActionName"] for r in rest["EvaluationResults"]] == actions[2:] and not rest["IsTruncated"]
    assert error_of(lambda: clients.raw.simulate_custom_policy(PolicyInputList=[json.dumps(POLICY)], ActionNames=actions, MaxItems=0)) == validation(
        "Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"
    )
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/{new_role(clients)}"
    page = clients.iam.simulate_principal_policy(PolicySourceArn=role_arn, ActionNames=actions, MaxItems=1)
    assert len(page["EvaluationResults"]) == 1 and page["IsTruncated"]


def test_the_simulator_evaluates_only_the_page_asked_for(clients: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    """300 actions on 300 resources are 90,000 evaluations: evaluating them all for every page held a worker for
    seconds (a probe's 1,400 x 1,400 blocked one for 38 s). A page evaluates its own actions, each against every
    resource, and holds fewer than MaxItems actions when that would make more than EVALUATIONS_PER_PAGE evaluations."""
    evaluated: list[tuple[str, str | None]] = []
    real = simulate.authorize

    def counted(policies, request, **options):  # type: ignore[no-untyped-def]
        evaluated.append((request.action, request.resource))
        return real(policies, request, **options)

    monkeypatch.setattr(simulate, "authorize", counted)  # the server thread runs this very module
    actions = [f"s3:Action{n}" for n in range(300)]
    resources = [f"arn:aws:s3:::bucket/{n}" for n in range(300)]
    ask = {"PolicyInputList": [json.dumps(POLICY)], "ActionNames": actions, "ResourceArns": resources}
    first = clients.iam.simulate_custom_policy(**ask, MaxItems=2)
    assert [r["EvalActionName"] for r in first["EvaluationResults"]] == ["s3:Action0", "s3:Action1"] and first["IsTruncated"]
    assert evaluated == [(action, resource) for action in actions[:2] for resource in resources]
    assert [[r["EvalResourceName"] for r in result["ResourceSpecificResults"]] for result in first["EvaluationResults"]] == [resources, resources]
    evaluated.clear()
    second = clients.iam.simulate_custom_policy(**ask, MaxItems=300, Marker=first["Marker"])
    per_page = simulate.EVALUATIONS_PER_PAGE // len(resources)  # 3
    assert [r["EvalActionName"] for r in second["EvaluationResults"]] == actions[2:2 + per_page] and second["IsTruncated"]
    assert len(evaluated) == per_page * len(resources)
    third = clients.iam.simulate_custom_policy(**ask, MaxItems=300, Marker=second["Marker"])
    assert third["EvaluationResults"][0]["EvalActionName"] == actions[2 + per_page]


def test_the_simulator_answers_one_result_per_action_with_each_resource_inside(clients: Clients) -> None:
    """The IAM API reference: "a single EvaluationResult per action, regardless of how many resource ARNs are
    provided", whose decision is the most restrictive of the resources'; each resource's is in ResourceSpecificResults."""
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/public/*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/secret/*"},
    ]}
    public, other, secret = "arn:aws:s3:::b/public/x", "arn:aws:s3:::b/other", "arn:aws:s3:::b/secret/y"

    def simulated(*resources: str) -> dict[str, Any]:
        (result,) = clients.iam.simulate_custom_policy(PolicyInputList=[json.dumps(policy)], ActionNames=["s3:GetObject"], ResourceArns=list(resources))[
            "EvaluationResults"
        ]
        return result

    result = simulated(public, other, secret)
    assert result["EvalDecision"] == "explicitDeny" and "EvalResourceName" not in result  # several resources: none named
    assert [(r["EvalResourceName"], r["EvalResourceDecision"]) for r in result["ResourceSpecificResults"]] == [
        (public, "allowed"), (other, "implicitDeny"), (secret, "explicitDeny"),
    ]
    # The deny that decided, not the allow that matched another resource:
    assert result["MatchedStatements"] == result["ResourceSpecificResults"][2]["MatchedStatements"] and len(result["MatchedStatements"]) == 1
    result = simulated(public, other)
    assert (result["EvalDecision"], result["MatchedStatements"]) == ("implicitDeny", [])
    result = simulated(public)
    assert (result["EvalDecision"], result["EvalResourceName"], len(result["MatchedStatements"])) == ("allowed", public, 1)


def test_a_simulator_marker_must_be_one_it_handed_out(clients: Clients) -> None:
    forged = base64.urlsafe_b64encode(b"samlfed:SimulateCustomPolicy:-5").decode()
    assert error_of(lambda: clients.iam.simulate_custom_policy(PolicyInputList=[json.dumps(POLICY)], ActionNames=["s3:GetObject"], Marker=forged)) == (
        400, "ValidationError", "Invalid Marker"
    )


def test_simulator_inputs_are_held_to_the_model(clients: Clients) -> None:
    euro = json.dumps({**POLICY, "Statement": [{**POLICY["Statement"][0], "Resource": "arn:aws:s3:::b/\u20ac"}]}, ensure_ascii=False)
    assert error_of(lambda: clients.iam.simulate_custom_policy(PolicyInputList=[euro], ActionNames=["s3:GetObject"])) == validation(
        f"Value '[{euro}]' at 'policyInputList' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or "
        f"equal to 131072, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: {DOCUMENT_PATTERN}]"
    )
    # botocore checks the members' minimum lengths, not their maximums: those are the server's to refuse.
    action, resource = "s3:" + "G" * 126, "arn:aws:s3:::" + "b" * 2036
    assert error_of(lambda: clients.iam.simulate_custom_policy(PolicyInputList=[json.dumps(POLICY)], ActionNames=["s3:GetObject", action])) == validation(
        f"Value '[s3:GetObject, {action}]' at 'actionNames' failed to satisfy constraint: Member must satisfy constraint: "
        "[Member must have length less than or equal to 128, Member must have length greater than or equal to 3]"
    )
    assert error_of(lambda: clients.iam.simulate_custom_policy(PolicyInputList=[json.dumps(POLICY)], ActionNames=["s3:GetObject"], ResourceArns=[resource])) == validation(
        f"Value '[{resource}]' at 'resourceArns' failed to satisfy constraint: Member must satisfy constraint: "
        "[Member must have length less than or equal to 2048, Member must have length greater than or equal to 1]"
    )
    at_most = clients.iam.simulate_custom_policy(PolicyInputList=[json.dumps(POLICY)], ActionNames=[action[:128]], ResourceArns=[resource[:2048]])
    assert at_most["EvaluationResults"][0]["EvalActionName"] == action[:128]
    long_source = f"arn:aws:iam::{ACCOUNT}:role/" + "r" * 2030
    for source, bound in (("arn:aws:iam::1:role", "greater than or equal to 20"), (long_source, "less than or equal to 2048")):
        assert error_of(lambda source=source: clients.raw.simulate_principal_policy(PolicySourceArn=source, ActionNames=["s3:GetObject"])) == validation(
            f"Value '{source}' at 'policySourceArn' failed to satisfy constraint: Member must have length {bound}"
        )
    entry = {"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["x"], "ContextKeyType": "bogus"}
    assert error_of(lambda: clients.raw.simulate_custom_policy(PolicyInputList=[json.dumps(POLICY)], ActionNames=["s3:GetObject"], ContextEntries=[entry])) == validation(
        "Value 'bogus' at 'contextEntries.1.member.contextKeyType' failed to satisfy constraint: Member must satisfy enum value set: "
        "[string, stringList, numeric, numericList, boolean, booleanList, ip, ipList, binary, binaryList, date, dateList]"
    )
    long_key = "aws:PrincipalTag/" + "k" * 240  # 257 characters: the model's most is 256, which botocore leaves to the server
    entries = [{"ContextKeyName": long_key[:256], "ContextKeyValues": ["x"]}, {"ContextKeyName": long_key, "ContextKeyValues": ["x"], "ContextKeyType": "bogus"}]
    assert error_of(lambda: clients.raw.simulate_custom_policy(PolicyInputList=[json.dumps(POLICY)], ActionNames=["s3:GetObject"], ContextEntries=entries)) == validation(
        f"Value '{long_key}' at 'contextEntries.2.member.contextKeyName' failed to satisfy constraint: Member must have length less than or equal to 256",
        "Value 'bogus' at 'contextEntries.2.member.contextKeyType' failed to satisfy constraint: Member must satisfy enum value set: "
        "[string, stringList, numeric, numericList, boolean, booleanList, ip, ipList, binary, binaryList, date, dateList]",
    )



def test_simulator_members_samlfed_does_not_simulate_are_refused(clients: Clients) -> None:
    """An organization's SCP that denies everything, or a policy excluded from the simulation, changes AWS's decision:
    ignored, it would answer "allowed" where AWS answers otherwise."""
    deny_all = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})
    status, code, message = error_of(lambda: clients.iam.simulate_custom_policy(
        PolicyInputList=[json.dumps(POLICY)], ActionNames=["s3:GetObject"], OrderedOrganizationPolicyInputList=[{"ServiceControlPolicyInputList": [deny_all]}],
    ))
    assert (status, code) == (400, "InvalidParameterValue")
    assert message.startswith("samlfed's SimulateCustomPolicy does not support OrderedOrganizationPolicyInputList (")
    role = new_role(clients)
    clients.iam.put_role_policy(RoleName=role, PolicyName="Reads", PolicyDocument=json.dumps(POLICY))
    status, code, message = error_of(lambda: clients.iam.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:role/{role}", ActionNames=["s3:GetObject"], PolicyExclusionList=[{"PolicyType": "inline"}],
    ))
    assert (status, code) == (400, "InvalidParameterValue")
    assert message.startswith("samlfed's SimulatePrincipalPolicy does not support PolicyExclusionList (")
    for operation, source in ((clients.iam.simulate_custom_policy, {}), (clients.iam.simulate_principal_policy, {"PolicySourceArn": f"arn:aws:iam::{ACCOUNT}:role/{role}"})):
        status, code, _ = error_of(lambda operation=operation, source=source: operation(
            **source, PolicyInputList=[json.dumps(POLICY)], ActionNames=["s3:GetObject"], ResourceOwner=f"arn:aws:iam::{ACCOUNT}:root",
        ))
        assert (status, code) == (400, "InvalidParameterValue")

# --- 11. model constraints checked by the server ------------------------------------------------------------------


def test_model_constraints_are_checked_by_the_server(clients: Clients) -> None:
    role, arn = new_role(clients), new_policy(clients)
    assert error_of(lambda: clients.iam.get_policy_version(PolicyArn=arn, VersionId="abc")) == validation(
        "Value at 'versionId' failed to satisfy constraint: Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?"
    )
    # AttachRolePolicy names a value that is no policy ARN before the model's length (AWS's answer, recorded)
    assert error_of(lambda: clients.raw.attach_role_policy(RoleName=role, PolicyArn="notanarn")) == (400, "ValidationError", "ARN notanarn is not valid.")
    assert error_of(lambda: clients.raw.put_role_permissions_boundary(RoleName=role, PermissionsBoundary="x")) == validation(
        "Value 'x' at 'permissionsBoundary' failed to satisfy constraint: Member must have length greater than or equal to 20"
    )
    short, long_arn = "arn:aws:iam::1:s", "arn:aws:iam::111111111111:saml-provider/" + "p" * 2010  # InvalidInput before
    for call in (clients.raw.get_saml_provider, clients.raw.delete_saml_provider, clients.raw.list_saml_provider_tags):
        assert error_of(lambda call=call: call(SAMLProviderArn=short)) == validation(
            f"Value '{short}' at 'sAMLProviderArn' failed to satisfy constraint: Member must have length greater than or equal to 20"
        )
    assert error_of(lambda: clients.raw.get_saml_provider(SAMLProviderArn=long_arn)) == validation(
        f"Value '{long_arn}' at 'sAMLProviderArn' failed to satisfy constraint: Member must have length less than or equal to 2048"
    )
    assert error_of(lambda: clients.raw.create_role(RoleName=unique("R"), AssumeRolePolicyDocument="")) == validation(
        f"Value '' at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must satisfy regular expression pattern: {DOCUMENT_PATTERN}",
        "Value '' at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must have length greater than or equal to 1",
    )
    marker = "a" * 321
    assert error_of(lambda: clients.raw.list_roles(Marker=marker)) == validation(
        f"Value '{marker}' at 'marker' failed to satisfy constraint: Member must have length less than or equal to 320"
    )
    assert error_of(lambda: clients.raw.create_policy(PolicyName="a b", PolicyDocument=json.dumps(POLICY), Path="x")) == validation(
        "Value 'x' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: ((/[A-Za-z0-9\\.,\\+@=_-]+)*)/",
    )  # the name's characters are IAM's own check, made after the model's
    assert error_of(lambda: clients.raw.create_policy(PolicyName="a b", PolicyDocument=json.dumps(POLICY))) == (
        400, "ValidationError", "The specified value for policyName is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-"
    )
    assert error_of(lambda: clients.raw.delete_account_alias(AccountAlias="A")) == validation(
        "Value 'A' at 'accountAlias' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$",
        "Value 'A' at 'accountAlias' failed to satisfy constraint: Member must have length greater than or equal to 3",
    )


def test_our_own_markers_fit_the_model(clients: Clients) -> None:
    """The longest sort keys (policy names of 128 characters on 512-character paths) still give markers of at most
    320 characters, which the next call accepts."""
    path = "/" + "p" * 510 + "/"
    for letter in "ab":
        clients.iam.create_policy(PolicyName=letter * 128, PolicyDocument=json.dumps(POLICY), Path=path)
    first = clients.iam.list_policies(PathPrefix=path, MaxItems=1)
    assert len(first["Marker"]) <= 320
    assert [p["PolicyName"] for p in clients.iam.list_policies(PathPrefix=path, MaxItems=1, Marker=first["Marker"])["Policies"]] == ["b" * 128]
