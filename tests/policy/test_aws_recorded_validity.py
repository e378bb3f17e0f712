"""Which policy documents IAM stores, and with which MalformedPolicyDocument message it refuses the others: every
document of LocalStack's tests/aws/services/iam/test_iam_policies.py, class TestPolicyDocumentValidity, with the
answers recorded against AWS in test_iam_policies.snapshot.json (`test_create_policy_invalid_document[invalid-N]`,
`test_create_policy_valid_document[valid-N]`). The documents are rewritten here in short form; N is the case's id.
They were sent to CreatePolicy, so they are checked as a managed policy's document (which must have Version
2012-10-17); no network is needed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from samlfed.errors import ServiceError
from samlfed.iam.constraints import check_identity_policy
from samlfed.iam.managed_policies import create_policy
from samlfed.iam.policy_versions import create_policy_version
from samlfed.policy import MalformedPolicy, Request, evaluate, parse_policy

BUCKET = "arn:aws:s3:::example_bucket"
LIST = "s3:ListBucket"


def doc(*statements: dict[str, Any], version: str | None = "2012-10-17", single: bool = True, **top: Any) -> dict[str, Any]:
    """A document: one statement as an object (as most cases write it) unless `single` is False."""
    body: dict[str, Any] = {} if version is None else {"Version": version}
    body.update(top)
    body["Statement"] = statements[0] if single and len(statements) == 1 else list(statements)
    return body


def st(effect: str | None = "Allow", action: Any = LIST, resource: Any = BUCKET, **more: Any) -> dict[str, Any]:
    """A statement; None leaves an element out. `more` adds elements (NotAction, Condition, Sid, ...)."""
    statement: dict[str, Any] = {}
    for name, value in (("Effect", effect), ("Action", action), ("Resource", resource)):
        if value is not None:
            statement[name] = value
    statement.update(more)
    return statement


SYNTAX = "Syntax errors in policy."
VERSION = "Policy document must be version 2012-10-17 or greater."
VENDOR = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
ONE_COLON = "Actions/Condition can contain only one colon."
RESOURCES = "Policy statement must contain resources."
ACTIONS = "Policy statement must contain actions."
LEGACY = "The policy failed legacy parsing"
IAM_PATH = (
    'IAM resource path must either be "*", root, or start with user/, federated-user/, role/, group/, instance-profile/, '
    "mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, report/, access-report/."
)


def arn_format(resource: str) -> str:
    return f'Resource {resource} must be in ARN format or "*".'


def partition(name: str, shown: str) -> str:
    return f'Partition "{name}" is not valid for resource "{shown}".'


def date(operator: str, value: str, *, action: Any = LIST, resource: Any = BUCKET) -> dict[str, Any]:
    return st(action=action, resource=resource, Condition={operator: {"a": value}})


DUPLICATE_SIDS = (st(Sid="sdf"), {"Sid": "sdf", "Effect": "Allow"})

INVALID: list[tuple[Any, str]] = [
    ("This is not a json document", SYNTAX),  # 0
    (doc(st(), version=None), VERSION),
    (doc(st(), version="2008-10-17"), VERSION),
    (doc(st(), version="2013-10-17"), SYNTAX),
    ({"Version": "2012-10-17"}, SYNTAX),
    (doc("afd", single=False), SYNTAX),  # 5
    (doc(st(), **{"Extra field": "value"}), SYNTAX),
    (doc(st(**{"Extra field": "value"})), SYNTAX),
    (doc(st(), Id=["cd3a324d2343d942772346-34234234423404-4c2242343242349d1642ee"]), SYNTAX),
    (doc(st(), Id={}), SYNTAX),
    (doc(st(effect="invalid")), SYNTAX),  # 10
    (doc(st(action="invalid")), VENDOR),
    (doc(st(action=None, NotAction="")), VENDOR),
    (doc(st(action="a a:ListBucket")), "Vendor a a is not valid"),
    (doc(st(action="s3:List:Bucket")), ONE_COLON),
    (doc(st(action="s3s:ListBucket"), st(action="s:3s:ListBucket")), ONE_COLON),  # 15
    (doc(st(resource="invalid resource")), arn_format("invalid resource")),
    (doc(st(action=["account:EnableRegion", "account:DisableRegion"], resource="", Sid="EnableDisableHongKong",
            Condition={"StringEquals": {"account:TargetRegion": "ap-east-1"}}),
         st(action=["aws-portal:ViewAccount", "account:ListRegions"], resource="", Sid="ViewConsole")), arn_format("")),
    (doc(st(action="s:3:ListBucket", resource="sdfsadf")), arn_format("sdfsadf")),
    (doc(st(resource=["adf"])), arn_format("adf")),
    (doc(st(resource="")), arn_format("")),  # 20
    (doc(st(action=None, NotAction="s3s:ListBucket", resource="a:bsdfdsafsad")), partition("bsdfdsafsad", "arn:bsdfdsafsad:*:*:*:*")),
    (doc(st(action=None, NotAction="s3s:ListBucket", resource="a:b:cadfsdf")), partition("b", "arn:b:cadfsdf:*:*:*")),
    (doc(st(action=None, NotAction="s3s:ListBucket", resource="a:b:c:d:e:f:g:h")), partition("b", "arn:b:c:d:e:f:g:h")),
    (doc(st(resource="aws:s3:::example_bucket")), partition("s3", "arn:s3:::example_bucket:*")),
    (doc(st(resource=["arn:error:s3:::example_bucket", "arn:error:s3::example_bucket"])), partition("error", "arn:error:s3:::example_bucket")),  # 25
    (doc(single=False), SYNTAX),
    (doc(st(resource=None)), RESOURCES),
    (doc(st(resource=[])), RESOURCES),
    (doc(st(action="invalid", resource=None)), RESOURCES),
    (doc(st(action=None)), ACTIONS),  # 30
    (doc(st(effect=None)), SYNTAX),
    (doc(st(action=None, resource=None)), ACTIONS),
    (doc(st(action=[])), ACTIONS),
    (doc({"Effect": "Deny"}, st()), ACTIONS),
    (doc(st(resource="arn:aws:iam:::example_bucket")), IAM_PATH),  # 35
    (doc(st(resource="arn:aws:s3::example_bucket")), LEGACY),
    (doc(st(action=None, resource="arn:aws:s3::example_bucket")), LEGACY),
    (doc(st(resource="arn:aws")), "Resource vendor must be fully qualified and cannot contain regexes."),
    (doc(st(resource={"a": BUCKET})), SYNTAX),
    (doc(st(effect="Deny", resource=["adfdf", {}])), SYNTAX),  # 40
    (doc(st(action=None, NotAction=LIST, NotResource=[])), SYNTAX),
    (doc(st(effect="Deny", action=[[]])), SYNTAX),
    (doc(st(action=[], NotAction="s3s:ListBucket")), SYNTAX),
    (doc(st(action={})), SYNTAX),
    (doc(st(Condition=[])), SYNTAX),  # 45
    (doc(st(Condition="a")), SYNTAX),
    (doc(st(Condition={"a": "b"})), SYNTAX),
    (doc(st(Condition={"DateGreaterThan": "b"})), SYNTAX),
    (doc(st(Condition={"DateGreaterThan": []})), SYNTAX),
    (doc(st(Condition={"DateGreaterThan": {"a": {}}})), SYNTAX),  # 50
    (doc(st(action=None, Condition={"DateGreaterThan": {"a": {}}})), SYNTAX),
    (doc(st(Condition={"x": {"a": "1"}})), SYNTAX),
    (doc(st(Condition={"ForAnyValue::StringEqualsIfExists": {"a": "asf"}})), SYNTAX),
    (doc(st(Condition=[{"ForAllValues:StringEquals": {"aws:TagKeys": "Department"}}])), SYNTAX),
    (doc(st(resource="arn:aws:iam:us-east-1::example_bucket")), "IAM resource arn:aws:iam:us-east-1::example_bucket cannot contain region information."),  # 55
    (doc(st(resource="arn:aws:s3:us-east-1::example_bucket")), "Resource arn:aws:s3:us-east-1::example_bucket can not contain region information."),
    (doc(st(Sid={})), SYNTAX),
    (doc(st(Sid=[])), SYNTAX),
    (doc(*DUPLICATE_SIDS), "Statement IDs (SID) in a single policy must be unique."),
    (doc(*DUPLICATE_SIDS, version=None), VERSION),  # 60
    (doc(st(NotAction=LIST, action="iam:dsf")), SYNTAX),
    (doc(st(NotResource="*")), SYNTAX),
    (doc(st(effect="denY")), LEGACY),
    (doc(date("DateGreaterThan", "sdfdsf")), LEGACY),
    (doc(date("DateGreaterThan", "sdfdsf"), version=None), VERSION),  # 65
    (doc(st(effect="denY"), version=None), VERSION),
    (doc(date("DateGreaterThan", "sdfdsf", action=None, resource=None)), LEGACY),
    (doc(st(action=None, NotAction=LIST, resource="arn:aws::::example_bucket")), LEGACY),
    (doc(st(effect="allow", action=None, resource="arn:aws:s3:us-east-1::example_bucket")), LEGACY),
    (doc({**st(), "Sid": "sdf", "Effect": "aLLow"}, {"Sid": "sdf", "Effect": "Allow"}), LEGACY),  # 70
    (doc(st(resource=None, NotResource="arn:aws:s3::example_bucket")), LEGACY),
    (doc(date("DateLessThanEquals", "234-13")), LEGACY),
    (doc(date("DateLessThanEquals", "2016-12-13t2:00:00.593194+1")), LEGACY),
    (doc(date("DateLessThanEquals", "2016-12-13t2:00:00.1999999999+10:59")), LEGACY),
    (doc(date("DateLessThan", "9223372036854775808")), LEGACY),  # 75
    (doc(date("DateGreaterThan", "sdfdsf", resource="arn:error:s3:::example_bucket")), LEGACY),
    (doc(st(resource="arn:aws::fdsasf")), LEGACY),
]

TIMES = {"DateGreaterThan": {"aws:CurrentTime": "2017-07-01T00:00:00Z"}, "DateLessThan": {"aws:CurrentTime": "2017-12-31T23:59:59Z"}}
OWN_USER = "arn:aws:iam::*:user/${aws:username}"
OWN_CREDENTIALS = [
    st(action=["iam:GetAccountPasswordPolicy", "iam:GetAccountSummary"], resource="*", Sid="AllowViewAccountInfo"),
    st(action=["iam:ChangePassword", "iam:GetUser"], resource=OWN_USER, Sid="AllowManageOwnPasswords"),
    st(action=["iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys", "iam:UpdateAccessKey"], resource=OWN_USER, Sid="AllowManageOwnAccessKeys"),
    st(action=["iam:DeleteSigningCertificate", "iam:ListSigningCertificates", "iam:UpdateSigningCertificate", "iam:UploadSigningCertificate"],
       resource=OWN_USER, Sid="AllowManageOwnSigningCertificates"),
    st(action=["iam:DeleteSSHPublicKey", "iam:GetSSHPublicKey", "iam:ListSSHPublicKeys", "iam:UpdateSSHPublicKey", "iam:UploadSSHPublicKey"],
       resource=OWN_USER, Sid="AllowManageOwnSSHPublicKeys"),
    st(action=["iam:CreateServiceSpecificCredential", "iam:DeleteServiceSpecificCredential", "iam:ListServiceSpecificCredentials",
               "iam:ResetServiceSpecificCredential", "iam:UpdateServiceSpecificCredential"], resource=OWN_USER, Sid="AllowManageOwnGitCredentials"),
]
MFA = [
    st(action=["iam:CreateVirtualMFADevice", "iam:DeleteVirtualMFADevice"], resource="arn:aws:iam::*:mfa/${aws:username}", Sid="AllowManageOwnVirtualMFADevice"),
    st(action=["iam:DeactivateMFADevice", "iam:EnableMFADevice", "iam:ListMFADevices", "iam:ResyncMFADevice"], resource=OWN_USER, Sid="AllowManageOwnUserMFA"),
    st(effect="Deny", action=None, resource="*", Sid="DenyAllExceptListedIfNoMFA",
       NotAction=["iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:GetUser", "iam:ListMFADevices", "iam:ListVirtualMFADevices",
                  "iam:ResyncMFADevice", "sts:GetSessionToken"], Condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}),
]
COGNITO = "${cognito-identity.amazonaws.com:sub}"
VOLUMES = ["ec2:AttachVolume", "ec2:DetachVolume"]

VALID: list[Any] = [
    doc(st(resource=[BUCKET])),  # 0
    doc(st(action="iam: asdf safdsf af ")),
    doc(st(resource=[BUCKET, "*"])),
    doc(st(action="*")),
    doc(st(), single=False),
    doc(st(action="service-prefix:action-name", resource="*", Condition=TIMES)),  # 5
    doc(st(action="fsx:ListBucket")),
    doc(st(resource="arn:aws:iam:::user/example_bucket")),
    doc(st(resource="arn:aws:s33:::example_bucket")),
    doc(st(resource="arn:aws:fdsasf")),
    doc(st(Condition={})),  # 10
    doc(st(Condition={"ForAllValues:StringEquals": {"aws:TagKeys": "Department"}})),
    doc(st(resource="arn:aws:cloudwatch:us-east-1::example_bucket")),
    doc(st(resource="arn:aws:ec2:us-east-1::example_bucket")),
    doc(st(resource="arn:aws:invalid-service:::example_bucket")),
    doc(st(resource="arn:aws:invalid-service:us-east-1::example_bucket")),  # 15
    doc(st(Condition=TIMES)),
    doc(st(Condition={"DateGreaterThan": {}})),
    doc(st(Condition={"DateGreaterThan": {"a": []}})),
    doc(st(Condition={"a": {}})),
    doc(st(Sid="dsfsdfsdfsdfsdfsadfsd")),  # 20
    doc(st(action=["iam:GetRole", "iam:GetUser", "iam:ListRoles", "iam:ListRoleTags", "iam:ListUsers", "iam:ListUserTags"], resource="*", Sid="ConsoleDisplay"),
        st(action=["iam:TagUser", "iam:TagRole"], resource="*", Sid="AddTag",
           Condition={"StringEquals": {"aws:RequestTag/CostCenter": ["A-123", "B-456"]}, "ForAllValues:StringEquals": {"aws:TagKeys": "CostCenter"}})),
    doc(st(action=None, NotAction=LIST)),
    doc(st(effect="Deny", action="s3:*", resource=None, NotResource=["arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"])),
    doc(st(action=None, NotAction=LIST), Id="sdfsdfsdf"),
    doc(st(action="aaaaaadsfdsafsadfsadfaaaaa:ListBucket")),  # 25
    doc(st(action="s3-s:ListBucket")),
    doc(st(action="s3.s:ListBucket")),
    doc(st(action=None, resource=None, NotAction=LIST, NotResource="*")),
    doc(st(Sid="sdf"), st()),
    doc(date("DateGreaterThan", "01T")),  # 30
    doc(st(Condition={"x": {}, "y": {}})),
    doc(st(Condition={"StringEqualsIfExists": {"a": "asf"}})),
    doc(st(Condition={"ForAnyValue:StringEqualsIfExists": {"a": "asf"}})),
    doc(date("DateLessThanEquals", "2019-07-01T13:20:15Z")),
    doc(date("DateLessThanEquals", "2016-12-13T21:20:37.593194+00:00")),  # 35
    doc(date("DateLessThanEquals", "2016-12-13t2:00:00.593194+23")),
    doc(date("DateLessThan", "-292275054")),
    doc(st(action=["iam:GetAccountPasswordPolicy", "iam:GetAccountSummary", "iam:ListVirtualMFADevices"], resource="*", Sid="AllowViewAccountInfo"),
        *OWN_CREDENTIALS[1:], *MFA),
    doc(st(action=["dynamodb:List*", "dynamodb:DescribeReservedCapacity*", "dynamodb:DescribeLimits", "dynamodb:DescribeTimeToLive"], resource="*",
           Sid="ListAndDescribe"),
        st(action=["dynamodb:BatchGet*", "dynamodb:DescribeStream", "dynamodb:DescribeTable", "dynamodb:Get*", "dynamodb:Query", "dynamodb:Scan",
                   "dynamodb:BatchWrite*", "dynamodb:CreateTable", "dynamodb:Delete*", "dynamodb:Update*", "dynamodb:PutItem"],
           resource="arn:aws:dynamodb:*:*:table/MyTable", Sid="SpecificTable")),
    doc(st(action=VOLUMES, resource=["arn:aws:ec2:*:*:volume/*", "arn:aws:ec2:*:*:instance/*"],
           Condition={"ArnEquals": {"ec2:SourceInstanceARN": "arn:aws:ec2:*:*:instance/instance-id"}}), single=False),  # 40
    doc(st(action=VOLUMES, resource="arn:aws:ec2:*:*:instance/*", Condition={"StringEquals": {"ec2:ResourceTag/Department": "Development"}}),
        st(action=VOLUMES, resource="arn:aws:ec2:*:*:volume/*", Condition={"StringEquals": {"ec2:ResourceTag/VolumeUser": "${aws:username}"}})),
    doc(st(action=["ec2:StartInstances", "ec2:StopInstances", "ec2:DescribeTags"], resource="arn:aws:ec2:region:account-id:instance/*", Sid="StartStopIfTags",
           Condition={"StringEquals": {"ec2:ResourceTag/Project": "DataAnalytics", "aws:PrincipalTag/Department": "Data"}}), single=False),
    doc(st(resource=["arn:aws:s3:::bucket-name"], Sid="ListYourObjects", Condition={"StringLike": {"s3:prefix": [f"cognito/application-name/{COGNITO}"]}}),
        st(action=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Sid="ReadWriteDeleteYourObjects",
           resource=[f"arn:aws:s3:::bucket-name/cognito/application-name/{COGNITO}", f"arn:aws:s3:::bucket-name/cognito/application-name/{COGNITO}/*"])),
    doc(st(action=["s3:ListAllMyBuckets", "s3:GetBucketLocation"], resource="*"),
        st(resource="arn:aws:s3:::bucket-name", Condition={"StringLike": {"s3:prefix": ["", "home/", "home/${aws:userid}/*"]}}),
        st(action="s3:*", resource=["arn:aws:s3:::bucket-name/home/${aws:userid}", "arn:aws:s3:::bucket-name/home/${aws:userid}/*"])),
    doc(st(action=["s3:GetAccountPublicAccessBlock", "s3:GetBucketAcl", "s3:GetBucketLocation", "s3:GetBucketPolicyStatus", "s3:GetBucketPublicAccessBlock",
                   "s3:ListAllMyBuckets"], resource="*", Sid="ConsoleAccess"),
        st(resource=["arn:aws:s3:::bucket-name"], Sid="ListObjectsInBucket"),
        st(action="s3:*Object", resource=["arn:aws:s3:::bucket-name/*"], Sid="AllObjectActions")),  # 45
    doc(*OWN_CREDENTIALS),
    doc(st(action="ec2:*", resource="*", Condition={"StringEquals": {"ec2:Region": "region"}}), single=False),
    doc(st(action="rds:*", resource=["arn:aws:rds:region:*:*"]), st(action=["rds:Describe*"], resource=["*"])),
    doc(st(action="rds:*", resource=["arn:aws:rds:region:*:*"], Sid=""), st(action=["rds:Describe*"], resource=["*"], Sid="")),
    doc(st(action=["s3:*"], resource=["arn:aws:s3:us-west-2:123456789012:accesspoint/my-access-point",
                                      "arn:aws:s3:us-west-2:123456789012:accesspoint/my-access-point/object/*"], Sid=""), single=False),  # 50
]


def _text(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def test_the_cases_are_all_there() -> None:
    assert (len(INVALID), len(VALID)) == (78, 51)


@pytest.mark.parametrize(("document", "message"), INVALID, ids=[f"invalid-{n}" for n in range(len(INVALID))])
def test_create_policy_invalid_document(document: Any, message: str) -> None:
    with pytest.raises(ServiceError) as refused:
        check_identity_policy(_text(document), managed=True)
    assert (refused.value.code, refused.value.message) == ("MalformedPolicyDocument", message)


@pytest.mark.parametrize("document", VALID, ids=[f"valid-{n}" for n in range(len(VALID))])
def test_create_policy_valid_document(document: Any) -> None:
    check_identity_policy(_text(document), managed=True)
    parse_policy(_text(document), principal_required=False)  # and, once stored, it is read back


def test_create_policy_and_create_policy_version_answer_so(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from saml_factory import ACCOUNT
    from service_world import developer_world

    from samlfed.config import Settings

    ctx = developer_world(Settings(data_dir=tmp_path))
    policy = create_policy(ctx, ACCOUNT, "Recorded", _text(VALID[19]))
    create_policy_version(ctx, ACCOUNT, policy.arn, _text(VALID[30]))
    for document, message in (INVALID[1], INVALID[13], INVALID[64]):
        with pytest.raises(ServiceError) as refused:
            create_policy(ctx, ACCOUNT, "Refused", _text(document))
        assert refused.value.message == message
        with pytest.raises(ServiceError) as refused:
            create_policy_version(ctx, ACCOUNT, policy.arn, _text(document))
        assert refused.value.message == message


def test_an_epoch_of_thousands_of_digits_is_refused_not_a_500() -> None:
    """int() raises a plain ValueError past 4,300 digits, which no caller expected: CreatePolicy answered 500."""
    with pytest.raises(ServiceError) as refused:
        check_identity_policy(_text(doc(date("DateLessThan", "9" * 5000))), managed=True)
    assert (refused.value.code, refused.value.message) == ("MalformedPolicyDocument", LEGACY)  # past 64 bits, as invalid-75
    check_identity_policy(_text(doc(date("DateLessThan", "0" * 5000 + "1"))), managed=True)  # leading zeros, as Java reads them


def test_the_detail_stays_for_humans() -> None:
    """IAM answers the bare "Syntax errors in policy."; what is wrong is MalformedPolicy.detail."""
    with pytest.raises(MalformedPolicy) as malformed:
        parse_policy(_text(INVALID[52][0]), principal_required=False, as_written=True, managed=True)
    assert (str(malformed.value), malformed.value.detail) == (SYNTAX, "Invalid Condition type : x")
    assert malformed.value.explained == "Syntax errors in policy. Invalid Condition type : x"


def test_inline_and_trust_policies_keep_the_2008_version() -> None:
    """Only CreatePolicy's answers are recorded: an inline policy may still omit Version or give 2008-10-17."""
    for version in (None, "2008-10-17"):
        check_identity_policy(_text(doc(st(), version=version)))


# --- how the documents IAM newly accepts evaluate -----------------------------------------------------------------


def _decision(statement: dict[str, Any], context: dict[str, list[str]] | None = None) -> str:
    document = parse_policy(_text(doc(statement)), principal_required=False, as_written=True, managed=True)
    return evaluate(document, Request(LIST, context or {}, resource=BUCKET)).decision


@pytest.mark.parametrize("condition", [{"a": {}}, {"DateGreaterThan": {}}, {"x": {}, "y": {}}, {}])
def test_an_operator_without_keys_constrains_nothing(condition: dict[str, Any]) -> None:
    assert _decision(st(Condition=condition)) == "allowed"
    assert _decision(st(effect="Deny", Condition=condition)) == "explicitDeny"


def test_a_key_without_a_vendor_is_a_context_key_absent_unless_given() -> None:
    assert _decision(st(Condition={"StringEquals": {"a": "asf"}})) == "implicitDeny"
    assert _decision(st(Condition={"StringEquals": {"a": "asf"}}), {"a": ["asf"]}) == "allowed"
    assert _decision(st(Condition={"StringEqualsIfExists": {"a": "asf"}})) == "allowed"  # valid-32: absent, so true
    assert _decision(st(Condition={"StringEqualsIfExists": {"a": "asf"}}), {"a": ["other"]}) == "implicitDeny"


def test_a_key_with_an_empty_list_of_values() -> None:
    """No policy value equals (or is like, or is before...) anything: a positive operator never matches, even when
    the key is present. A negated one ("not equal to any of none") holds, as it did before IAM's acceptance of such a
    document was known here: a policy stored by an older release evaluates as it did."""
    empty = {"DateGreaterThan": {"aws:CurrentTime": []}}
    assert _decision(st(Condition=empty), {"aws:currenttime": ["2030-01-01T00:00:00Z"]}) == "implicitDeny"
    assert _decision(st(effect="Deny", Condition=empty), {"aws:currenttime": ["2030-01-01T00:00:00Z"]}) == "implicitDeny"
    assert _decision(st(Condition={"StringEquals": {"a": []}}), {"a": ["x"]}) == "implicitDeny"
    assert _decision(st(Condition={"StringNotEquals": {"a": []}}), {"a": ["x"]}) == "allowed"
    assert _decision(st(Condition={"Null": {"a": []}})) == "implicitDeny"


def test_an_accepted_date_samlfed_cannot_read_never_matches() -> None:
    """IAM accepts "01T" (valid-30); samlfed's evaluator reads no date from it, so it matches no time, as it did
    before (a stored policy evaluates as it did)."""
    now = {"aws:currenttime": ["2030-01-01T00:00:00Z"]}
    assert _decision(st(Condition={"DateGreaterThan": {"aws:CurrentTime": "01T"}}), now) == "implicitDeny"
