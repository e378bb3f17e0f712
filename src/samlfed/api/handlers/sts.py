"""The STS operations: AssumeRoleWithSAML (the sign-in path), AssumeRole, GetCallerIdentity, and the refused
GetSessionToken and GetFederationToken.
"""

from __future__ import annotations

from typing import Any

from ...context import ServiceContext
from ...errors import ServiceError, ValidationFailed
from ...sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml
from ...sts.chain import AssumeRoleRequest, assume_role
from ...sts.chain import parameter_violations as chain_parameter_violations
from ...sts.parameters import parameter_violations
from ..auth import Administrator, Caller, Session
from ..protocol import QueryRequest
from ..xml import Verbatim
from .parameters import Handler, integer, refuse_unimplemented, tags


def assume_role_with_saml_handler(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    params = request.params
    role_arn, principal_arn, assertion = params.get("RoleArn"), params.get("PrincipalArn"), params.get("SAMLAssertion")
    duration = integer(request, "DurationSeconds")
    policy = params.get("Policy")
    policy_arns = tuple(p["arn"] for p in request.member_structs("PolicyArns", ("arn",)))
    if role_arn is None or principal_arn is None or assertion is None:  # reported with every other violation, as AWS does
        raise ValidationFailed(parameter_violations(role_arn, principal_arn, assertion, duration, policy, policy_arns))
    if "MinimumSessionTokenSize" in params:  # _UNIMPLEMENTED's one member here, tested first: this is the sign-in path
        refuse_unimplemented(request)
    assumed = assume_role_with_saml(
        ctx,
        AssumeRoleWithSamlRequest(
            role_arn, principal_arn, assertion, duration_seconds=duration, policy=policy, policy_arns=policy_arns,
            source_ip=request.source_ip, secure_transport=request.secure_transport,
        ),
    )
    credentials, response, claims = assumed.credentials, assumed.verified.response, assumed.verified.claims
    return {
        "Credentials": {
            # base32 and base64 of random and sealed bytes: nothing to escape
            "AccessKeyId": Verbatim(credentials.access_key_id),
            "SecretAccessKey": Verbatim(credentials.secret_access_key),
            "SessionToken": Verbatim(credentials.session_token),
            "Expiration": credentials.claims.expiration,
        },
        "AssumedRoleUser": {
            "AssumedRoleId": f"{assumed.role.role_id}:{claims.role_session_name}",
            "Arn": credentials.claims.assumed_role_arn,
        },
        "PackedPolicySize": assumed.packed_policy_size,
        "Subject": response.name_id,
        "SubjectType": response.subject_type,
        "Issuer": response.issuer,
        "Audience": response.recipient,
        "NameQualifier": credentials.claims.saml.get("saml:namequalifier"),
        "SourceIdentity": claims.source_identity,
    }


def assume_role_handler(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    params = request.params
    role_arn, session_name = params.get("RoleArn"), params.get("RoleSessionName")
    chain = AssumeRoleRequest(
        role_arn=role_arn or "", session_name=session_name or "", duration_seconds=integer(request, "DurationSeconds"),
        policy=params.get("Policy"), policy_arns=tuple(p["arn"] for p in request.member_structs("PolicyArns", ("arn",))),
        external_id=params.get("ExternalId"), source_ip=request.source_ip, secure_transport=request.secure_transport,
        tags=tuple(tags(request)), transitive_tag_keys=tuple(request.member_list("TransitiveTagKeys")),
        source_identity=params.get("SourceIdentity"), serial_number=params.get("SerialNumber"), token_code=params.get("TokenCode"),
    )
    # Every model violation, a missing parameter or a malformed one, in one ValidationError as AWS reports them: one
    # phase, so both come before the refusal of an administrator (root) key, not the missing ones alone.
    violations = chain_parameter_violations(chain, role_arn=role_arn, session_name=session_name)
    if violations:
        raise ValidationFailed(violations)
    if not isinstance(caller, Session):
        # samlfed has no IAM users: an administrator key is its account's root, which AWS refuses in these words.
        raise ServiceError("AccessDenied", "Roles may not be assumed by root accounts.", 403)
    refuse_unimplemented(request)
    chained = assume_role(ctx, caller.claims, chain, region=caller.region)
    credentials = chained.credentials
    claims = credentials.claims
    return {
        "Credentials": {
            "AccessKeyId": credentials.access_key_id, "SecretAccessKey": credentials.secret_access_key,
            "SessionToken": credentials.session_token, "Expiration": claims.expiration,
        },
        "AssumedRoleUser": {"AssumedRoleId": f"{claims.role_id}:{claims.session_name}", "Arn": claims.assumed_role_arn},
        "PackedPolicySize": chained.packed_policy_size,
        "SourceIdentity": claims.source_identity,
    }


def _session_credentials_refused(action: str, administrator_message: str) -> Handler:
    """GetSessionToken and GetFederationToken: AWS refuses both to temporary credentials (aws-saml-contract.md §3.11)
    with this exact message, which SDK users and tools such as Hadoop's S3A report as the cause. samlfed has no IAM
    users to issue either for, so an administrator key is told that plainly instead of a vague unknown operation."""

    def refuse(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
        if isinstance(caller, Session):
            raise ServiceError("AccessDenied", f"Cannot call {action} with session credentials", 403)
        raise ServiceError("InvalidAction", administrator_message, 400)

    return refuse


get_session_token = _session_credentials_refused(
    "GetSessionToken",
    "samlfed does not implement GetSessionToken: sign requests with the account administrator key itself (MFA sessions are not offered).",
)
get_federation_token = _session_credentials_refused(
    "GetFederationToken",
    "samlfed does not implement GetFederationToken (it has no IAM users to federate): give users roles through AssumeRoleWithSAML.",
)


def get_caller_identity(ctx: ServiceContext, caller: Caller | None, request: QueryRequest) -> dict[str, Any]:
    if isinstance(caller, Session):
        claims = caller.claims
        return {"UserId": f"{claims.role_id}:{claims.session_name}", "Account": claims.account_id, "Arn": claims.assumed_role_arn}
    if isinstance(caller, Administrator):
        return {"UserId": caller.account_id, "Account": caller.account_id, "Arn": f"arn:aws:iam::{caller.account_id}:root"}
    raise ServiceError("MissingAuthenticationToken", "Request is missing Authentication Token", 403)
