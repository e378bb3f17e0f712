"""The versions of customer managed policies (CreatePolicyVersion, GetPolicyVersion, ListPolicyVersions,
DeletePolicyVersion, SetDefaultPolicyVersion) and their quota.
"""

from __future__ import annotations

import re

from ..context import ServiceContext
from ..errors import ServiceError, ValidationFailed
from ..store import Conflict, LimitReached, ManagedPolicy, NoSuchPolicyVersion, NotFound, PolicyVersion
from .constraints import arn_violations, policy_document_violations
from .managed_policies import check_managed_document, check_policy_exists, looked_up_policy, no_such_policy, own_policy

MAX_POLICY_VERSIONS = 5
"""IAM's quota of versions per managed policy (the default one included); AWS does not raise it."""
VERSION_ID = re.compile(r"v[1-9][0-9]*(\.[A-Za-z0-9-]*)?", re.ASCII)
"""The model's policyVersionIdType."""


def version_violations(arn: str, version_id: str) -> list[str]:
    """PolicyArn and VersionId against the model, in its member order and AWS's wording."""
    violations = arn_violations(arn, "policyArn")
    if not VERSION_ID.fullmatch(version_id):  # AWS quotes no value here (recorded: "Value at 'versionId' ...")
        violations.append(
            "Value at 'versionId' failed to satisfy constraint: Member must satisfy regular expression pattern: "
            "v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?"
        )
    return violations


def _no_such_version(arn: str, version_id: str) -> ServiceError:
    # AWS's wording (recorded answers), for a missing version and for a missing policy's version alike.
    return ServiceError("NoSuchEntity", f"Policy {arn} version {version_id} does not exist or is not attachable.", 404)


def _version_call(call, arn: str, version_id: str):  # type: ignore[no-untyped-def]
    """A store call on a version of a policy that looked_up_policy found (the version, or the policy since deleted:
    NoSuchEntity naming the version, as for a policy that never was)."""
    try:
        return call()
    except (NoSuchPolicyVersion, NotFound):
        raise _no_such_version(arn, version_id) from None


def create_policy_version(ctx: ServiceContext, account_id: str, arn: str, document: str, *, set_as_default: bool = False) -> PolicyVersion:
    """A new version of the policy, with the same document checks and PolicySize quota as CreatePolicy; the default
    when `set_as_default`. At most MAX_POLICY_VERSIONS versions."""
    violations = arn_violations(arn, "policyArn") + policy_document_violations(document, "policyDocument")
    if violations:
        raise ValidationFailed(violations)
    check_managed_document(document)
    own_policy(looked_up_policy(ctx, account_id, arn))
    try:
        return ctx.store.create_policy_version(arn, document, now=ctx.clock(), set_as_default=set_as_default, limit=MAX_POLICY_VERSIONS)
    except LimitReached:  # AWS-observed (99designs/iamy issue #21)
        raise ServiceError(
            "LimitExceeded",
            f"A managed policy can have up to {MAX_POLICY_VERSIONS} versions. Before you create a new version, you must delete an existing version.",
            409,
        ) from None
    except NotFound:  # deleted since looked_up_policy read it
        raise no_such_policy(arn) from None


def _check_version_request(ctx: ServiceContext, account_id: str, arn: str, version_id: str) -> ManagedPolicy:
    """The model's constraints on PolicyArn and VersionId, then the policy must be one the account may use: for a
    missing policy AWS names the version asked for (recorded GetPolicyVersion and SetDefaultPolicyVersion answers)."""
    violations = version_violations(arn, version_id)
    if violations:
        raise ValidationFailed(violations)
    return check_policy_exists(ctx, account_id, arn, _no_such_version(arn, version_id))


def get_policy_version(ctx: ServiceContext, account_id: str, arn: str, version_id: str) -> PolicyVersion:
    _check_version_request(ctx, account_id, arn, version_id)
    return _version_call(lambda: ctx.store.get_policy_version(arn, version_id), arn, version_id)


def list_policy_versions(ctx: ServiceContext, account_id: str, arn: str) -> list[PolicyVersion]:
    """Newest first, as AWS lists them."""
    looked_up_policy(ctx, account_id, arn)
    try:
        return ctx.store.list_policy_versions(arn)
    except NotFound:  # deleted since looked_up_policy read it
        raise no_such_policy(arn) from None


def delete_policy_version(ctx: ServiceContext, account_id: str, arn: str, version_id: str) -> None:
    own_policy(_check_version_request(ctx, account_id, arn, version_id))
    try:
        _version_call(lambda: ctx.store.delete_policy_version(arn, version_id), arn, version_id)
    except Conflict:  # AWS-observed (redradrat/aws-iam-operator issue #13)
        raise ServiceError("DeleteConflict", "Cannot delete the default version of a policy.", 409) from None


def set_default_policy_version(ctx: ServiceContext, account_id: str, arn: str, version_id: str) -> None:
    """Every evaluation of the policy uses the new default from the next request on, on every node."""
    own_policy(_check_version_request(ctx, account_id, arn, version_id))
    _version_call(lambda: ctx.store.set_default_policy_version(arn, version_id), arn, version_id)
