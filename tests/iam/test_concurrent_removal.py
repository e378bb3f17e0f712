"""An IAM call that reads an entity and then changes it, while a concurrent request deletes that entity in between:
the caller gets AWS's NoSuchEntity, never an InternalFailure (a probe of `serve --workers 4` got 500s from parallel
DeleteSAMLProvider and DeletePolicy calls).

The other request is staged by the store itself: right after the service's read, the entity is deleted through the
same real store, exactly what a second worker's request does between the two statements."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from saml_factory import ACCOUNT, PROVIDER_ARN
from service_world import developer_world

from samlfed.config import Settings
from samlfed.context import ServiceContext
from samlfed.errors import ServiceError
from samlfed.iam.attached_policies import attach_role_policy, list_attached_role_policies
from samlfed.iam.managed_policies import create_policy, delete_policy
from samlfed.iam.provider_options import set_attribute_mapping
from samlfed.iam.providers import delete_saml_provider, untag_saml_provider

POLICY_DOCUMENT = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}'


@pytest.fixture
def ctx(tmp_path) -> ServiceContext:
    return developer_world(Settings(data_dir=tmp_path))


def deleted_after_read(ctx: ServiceContext, read: str, delete: Callable[[], None]) -> None:
    """The next `ctx.store.<read>` returns what it read, then `delete` runs, as a concurrent request would."""
    original = getattr(ctx.store, read)

    def read_then_lose(*args, **kwargs):  # type: ignore[no-untyped-def]
        found = original(*args, **kwargs)
        setattr(ctx.store, read, original)
        delete()
        return found

    setattr(ctx.store, read, read_then_lose)


def no_such_entity(call: Callable[[], object]) -> str:
    with pytest.raises(ServiceError) as caught:
        call()
    assert (caught.value.code, caught.value.status) == ("NoSuchEntity", 404)
    return caught.value.message


@pytest.mark.parametrize(
    "operation",
    [
        lambda ctx: delete_saml_provider(ctx, ACCOUNT, PROVIDER_ARN),
        lambda ctx: untag_saml_provider(ctx, ACCOUNT, PROVIDER_ARN, ["team"]),
        lambda ctx: set_attribute_mapping(ctx, ACCOUNT, PROVIDER_ARN, {"team": ["department"]}),
    ],
    ids=["DeleteSAMLProvider", "UntagSAMLProvider", "attribute mapping"],
)
def test_a_provider_deleted_meanwhile_is_no_such_entity(ctx: ServiceContext, operation) -> None:
    deleted_after_read(ctx, "get_provider", lambda: ctx.store.delete_provider(PROVIDER_ARN))
    assert no_such_entity(lambda: operation(ctx)) == f"Manifest not found for arn {PROVIDER_ARN}"


def test_a_policy_deleted_meanwhile_is_no_such_entity_for_delete_policy(ctx: ServiceContext) -> None:
    arn = create_policy(ctx, ACCOUNT, "Reader", POLICY_DOCUMENT).arn
    deleted_after_read(ctx, "get_policy", lambda: ctx.store.delete_policy(arn))
    assert no_such_entity(lambda: delete_policy(ctx, ACCOUNT, arn)) == f"Policy {arn} was not found."


def test_a_policy_deleted_meanwhile_is_named_as_missing_by_attach(ctx: ServiceContext) -> None:
    arn = create_policy(ctx, ACCOUNT, "Reader", POLICY_DOCUMENT).arn
    deleted_after_read(ctx, "get_policy", lambda: ctx.store.delete_policy(arn))
    message = no_such_entity(lambda: attach_role_policy(ctx, ACCOUNT, "Developer", arn))
    assert message == f"Policy {arn} does not exist or is not attachable."  # not "the role cannot be found"
    assert list_attached_role_policies(ctx, ACCOUNT, "Developer") == []


def test_a_role_deleted_meanwhile_is_named_as_missing_by_attach(ctx: ServiceContext) -> None:
    arn = create_policy(ctx, ACCOUNT, "Reader", POLICY_DOCUMENT).arn
    deleted_after_read(ctx, "get_policy", lambda: ctx.store.delete_role(ACCOUNT, "Developer"))
    message = no_such_entity(lambda: attach_role_policy(ctx, ACCOUNT, "Developer", arn))
    assert message == "The role with name Developer cannot be found."
