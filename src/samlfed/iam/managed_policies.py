"""Customer managed policies, and the imported AWS managed ones an account may use: their ARNs, creation, lookup,
listing, tags, uses and deletion. Raises `ServiceError` with AWS's codes and messages; knows nothing about HTTP.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from ..arn_syntax import ARN_PARTITION
from ..context import ServiceContext
from ..errors import ServiceError, ValidationFailed
from ..store import AWS_MANAGED, AlreadyExists, Conflict, LimitReached, ManagedPolicy, NotFound, PolicyVersionsLeft, Role, Tag, policy_size
from . import ids
from .constraints import (
    POLICY_PATH,
    arn_violations,
    check_identity_policy,
    check_model_then_names,
    invalid,
    path_violations,
    policy_document_violations,
    policy_name_violations,
    quota_exceeded,
)
from .tags import MAX_TAGS, check_tag_keys, check_tags, tag_violations, too_many_tags

MAX_POLICIES = 1500
"""IAM's default quota per account (PoliciesPerAccount)."""


def no_such_policy(arn: str) -> ServiceError:
    return ServiceError("NoSuchEntity", f"Policy {arn} does not exist or is not attachable.", 404)


POLICY_ARN = re.compile(rf"arn:{ARN_PARTITION}:iam::(?:\d{{12}}|aws):policy{POLICY_PATH.pattern}[\w+=,.@-]{{1,128}}", re.ASCII)
"""A managed policy's ARN (customer or AWS managed): the policy path and name the model allows."""


def check_policy_arn(arn: str) -> None:
    """A value that cannot be a managed policy's ARN is InvalidInput, as AWS answers it (`ARN … is not valid.`,
    aws-samples/aws-cdk-examples issue #287), not a policy that does not exist."""
    if not POLICY_ARN.fullmatch(arn):
        raise invalid(f"ARN {arn} is not valid.")


def check_policy_arn_parameter(arn: str, field: str) -> None:
    """A managed policy's ARN given as parameter `field`: the model's arnType first (ValidationError), then the
    shape of a policy ARN (`check_policy_arn`)."""
    violations = arn_violations(arn, field)
    if violations:
        raise ValidationFailed(violations)
    check_policy_arn(arn)


MAX_MANAGED_POLICY = 6144


def policy_description_violations(description: str | None) -> list[str]:
    """The model's policyDescriptionType (at most 1,000 characters, no pattern), and no NUL: PostgreSQL text cannot
    hold one, and SQLite would store what PostgreSQL refuses (the backends must agree). In the form of AWS's messages."""
    if description is None:
        return []
    start = f"Value '{description}' at 'description' failed to satisfy constraint: Member must"
    return ([f"{start} not contain the character U+0000"] if "\x00" in description else []) + (
        [f"{start} have length less than or equal to 1000"] if len(description) > 1000 else []
    )


def create_policy(
    ctx: ServiceContext, account_id: str, name: str, document: str, *, path: str = "/", description: str | None = None, tags: Sequence[Tag] = (),
) -> ManagedPolicy:
    # Every model violation at once, in the model's member order, as AWS reports them.
    violations = policy_name_violations(name) + path_violations(path, policy=True) + policy_document_violations(document, "policyDocument")
    violations += policy_description_violations(description)
    violations += tag_violations(tags)
    check_model_then_names(violations, (name, "policyName"))
    check_tags(tags, case_sensitive_keys=True)
    check_managed_document(document)
    now = ctx.clock()
    policy = ManagedPolicy(
        f"arn:aws:iam::{account_id}:policy{path}{name}", account_id, name, ids.unique_id("ANPA"), path, document, now, now, description, tags=tuple(tags),
    )
    try:
        ctx.store.create_policy(policy, limit=MAX_POLICIES)
    except LimitReached:
        raise quota_exceeded(MAX_POLICIES, "PoliciesPerAccount") from None
    except AlreadyExists:
        raise ServiceError("EntityAlreadyExists", f"A policy called {name} already exists. Duplicate names are not allowed.", 409) from None
    return policy


def check_managed_document(document: str) -> None:
    """A managed policy's document (CreatePolicy, CreatePolicyVersion), once it fits the model: the PolicySize quota,
    then the policy grammar."""
    if policy_size(document) > MAX_MANAGED_POLICY:  # IAM's quotas do not count whitespace
        raise ServiceError("LimitExceeded", f"Cannot exceed quota for PolicySize: {MAX_MANAGED_POLICY}", 409)
    check_identity_policy(document, managed=True)


def policy_in_account(ctx: ServiceContext, arn: str, account_id: str) -> ManagedPolicy | None:
    """The managed policy `arn` if `account_id` may use it: its own, or an AWS managed one (another account's policy
    is as good as missing). Its attachment count is the account's."""
    try:
        policy = ctx.store.get_policy(arn, viewer=account_id)
    except NotFound:
        return None
    return policy if policy.account_id in (account_id, AWS_MANAGED) else None


def own_policy(policy: ManagedPolicy) -> ManagedPolicy:
    """The policy, if the account may change it: AWS changes AWS managed policies, an account only reads and
    attaches them. No AWS answer to deleting or versioning one was found: samlfed answers InvalidInput, as AWS
    answers tagging one (_own_policy_tags)."""
    if policy.aws_managed:
        raise invalid(f"Policy {policy.arn} is an AWS managed policy: only AWS changes it.")
    return policy


def _own_policy_tags(policy: ManagedPolicy) -> ManagedPolicy:
    """The policy, if the account may tag it: AWS managed policies have no tags (AWS's answer to TagPolicy, quoted in
    aws-controllers-k8s/community issue #2774)."""
    if policy.aws_managed:
        raise invalid("Tags not supported for policies in this domain")
    return policy


def looked_up_policy(ctx: ServiceContext, account_id: str, arn: str) -> ManagedPolicy:
    """The account's managed policy, for the operations that look one up: a missing one is NoSuchEntity "… does not
    exist or is not attachable." (recorded for AttachRolePolicy and ListEntitiesForPolicy). GetPolicy words it
    otherwise (get_policy)."""
    check_policy_arn_parameter(arn, "policyArn")
    policy = policy_in_account(ctx, arn, account_id)
    if policy is None:
        raise no_such_policy(arn)
    return policy


def list_policies(
    ctx: ServiceContext, account_id: str, path_prefix: str = "/", *, after: str | None = None, limit: int | None = None,
    attached: bool = False, boundary: bool = False, scope: str = "All", aws_in_use: bool = False,
) -> list[ManagedPolicy]:
    """The account's customer managed policies and the AWS managed ones the operator imported, as `scope` selects.
    See SqlStore.list_policies: `policy_listing_key` order, `limit` of them after `after`, maybe only attached or
    boundaries, maybe only the AWS managed ones in use."""
    return ctx.store.list_policies(
        account_id, path_prefix, after=after, limit=limit, attached=attached, boundary=boundary, scope=scope, aws_in_use=aws_in_use,
    )


POLICY_USAGES = ("PermissionsPolicy", "PermissionsBoundary")


def roles_using_policy(ctx: ServiceContext, account_id: str, arn: str, usage: str | None = None) -> list[Role]:
    """The account's roles that the managed policy is attached to ("PermissionsPolicy"), is the permissions boundary
    of ("PermissionsBoundary"), or either (None), each once, by lower-cased name."""
    looked_up_policy(ctx, account_id, arn)  # NoSuchEntity for another account's policy too, in the attach wording (recorded)
    try:
        return ctx.store.roles_using_policy(account_id, arn, attached=usage != "PermissionsBoundary", boundary=usage != "PermissionsPolicy")
    except NotFound:  # deleted since
        raise no_such_policy(arn) from None


def boundary_uses(ctx: ServiceContext, account_id: str) -> Counter[str]:
    """How many roles of the account have each managed policy as their permissions boundary."""
    return Counter(ctx.store.permissions_boundary_uses(account_id))


def policy_not_found(arn: str) -> ServiceError:
    """GetPolicy's NoSuchEntity (AWS-observed: AWS CLI output in a blog post on an EKS Grafana agent set-up), and
    TagPolicy's, UntagPolicy's, DeletePolicy's and DetachRolePolicy's (recorded answers), not the attach wording of
    the others."""
    return ServiceError("NoSuchEntity", f"Policy {arn} was not found.", 404)


def check_policy_exists(ctx: ServiceContext, account_id: str, arn: str, missing: ServiceError) -> ManagedPolicy:
    """looked_up_policy's checks, with `missing` raised instead of its NoSuchEntity: some operations word it otherwise."""
    try:
        return looked_up_policy(ctx, account_id, arn)
    except ServiceError as refused:
        raise missing if refused.code == "NoSuchEntity" else refused from None


def get_policy(ctx: ServiceContext, account_id: str, arn: str) -> ManagedPolicy:
    """GetPolicy: a missing policy "was not found" (AWS-observed), not looked_up_policy's attach wording."""
    return check_policy_exists(ctx, account_id, arn, policy_not_found(arn))


def tag_policy(ctx: ServiceContext, account_id: str, arn: str, tags: Sequence[Tag]) -> None:
    check_tags(tags, case_sensitive_keys=True)
    _own_policy_tags(get_policy(ctx, account_id, arn))
    try:
        ctx.store.tag_policy(arn, tags, limit=MAX_TAGS)
    except NotFound:
        raise policy_not_found(arn) from None
    except LimitReached:
        raise too_many_tags() from None


def untag_policy(ctx: ServiceContext, account_id: str, arn: str, keys: Sequence[str]) -> None:
    check_tag_keys(keys)
    _own_policy_tags(get_policy(ctx, account_id, arn))
    try:
        ctx.store.untag_policy(arn, keys)
    except NotFound:
        raise policy_not_found(arn) from None


def delete_policy(ctx: ServiceContext, account_id: str, arn: str) -> None:
    own_policy(get_policy(ctx, account_id, arn))
    try:
        ctx.store.delete_policy(arn)
    except PolicyVersionsLeft:  # AWS-observed (rebuy-de/aws-nuke issue #1, redradrat/aws-iam-operator issue #13)
        raise ServiceError(
            "DeleteConflict",
            "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. "
            "The default version is deleted with the policy.",
            409,
        ) from None
    except Conflict:  # attached, or some role's permissions boundary: AWS refuses both alike
        raise ServiceError("DeleteConflict", "Cannot delete a policy attached to entities.", 409) from None
    except NotFound:  # deleted by a concurrent request since get_policy read it
        raise policy_not_found(arn) from None
