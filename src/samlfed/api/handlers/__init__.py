"""The operations: query parameters in, a result structure out (rendered by `api.xml`). The dispatch tables name each
action's handler; the handlers live in this package's modules, one per service or IAM resource.
"""

from __future__ import annotations

from .account_details import get_account_authorization_details
from .aliases import create_account_alias, delete_account_alias, list_account_aliases
from .parameters import Handler
from .policies import (
    attach_role_policy,
    create_policy,
    create_policy_version,
    delete_policy,
    delete_policy_version,
    detach_role_policy,
    get_policy,
    get_policy_version,
    list_attached_role_policies,
    list_entities_for_policy,
    list_policies,
    list_policy_tags,
    list_policy_versions,
    set_default_policy_version,
    tag_policy,
    untag_policy,
)
from .providers import (
    create_saml_provider,
    delete_saml_provider,
    get_attribute_mapping,
    get_saml_provider,
    get_validation_options,
    list_saml_provider_tags,
    list_saml_providers,
    set_attribute_mapping,
    set_validation_options,
    tag_saml_provider,
    untag_saml_provider,
    update_saml_provider,
)
from .role_policies import delete_role_policy, get_role_policy, list_role_policies, put_role_policy
from .roles import (
    create_role,
    delete_role,
    delete_role_permissions_boundary,
    get_role,
    list_instance_profiles_for_role,
    list_role_tags,
    list_roles,
    put_role_permissions_boundary,
    tag_role,
    untag_role,
    update_assume_role_policy,
    update_role,
    update_role_description,
)
from .simulation import simulate_custom_policy, simulate_principal_policy
from .sts import assume_role_handler, assume_role_with_saml_handler, get_caller_identity, get_federation_token, get_session_token

STS: dict[str, Handler] = {
    "AssumeRoleWithSAML": assume_role_with_saml_handler,
    "AssumeRole": assume_role_handler,
    "GetCallerIdentity": get_caller_identity,
    "GetSessionToken": get_session_token,
    "GetFederationToken": get_federation_token,
}
IAM: dict[str, Handler] = {
    "CreateSAMLProvider": create_saml_provider,
    "GetSAMLProvider": get_saml_provider,
    "ListSAMLProviders": list_saml_providers,
    "DeleteSAMLProvider": delete_saml_provider,
    "CreateRole": create_role,
    "GetRole": get_role,
    "DeleteRole": delete_role,
    "ListRoles": list_roles,
    "UpdateRole": update_role,
    "UpdateRoleDescription": update_role_description,
    "ListInstanceProfilesForRole": list_instance_profiles_for_role,
    "UpdateAssumeRolePolicy": update_assume_role_policy,
    "TagRole": tag_role,
    "UntagRole": untag_role,
    "ListRoleTags": list_role_tags,
    "PutRolePolicy": put_role_policy,
    "GetRolePolicy": get_role_policy,
    "ListRolePolicies": list_role_policies,
    "DeleteRolePolicy": delete_role_policy,
    "UpdateSAMLProvider": update_saml_provider,
    "TagSAMLProvider": tag_saml_provider,
    "UntagSAMLProvider": untag_saml_provider,
    "ListSAMLProviderTags": list_saml_provider_tags,
    "CreateAccountAlias": create_account_alias,
    "ListAccountAliases": list_account_aliases,
    "DeleteAccountAlias": delete_account_alias,
    "CreatePolicy": create_policy,
    "GetPolicy": get_policy,
    "GetPolicyVersion": get_policy_version,
    "CreatePolicyVersion": create_policy_version,
    "ListPolicyVersions": list_policy_versions,
    "DeletePolicyVersion": delete_policy_version,
    "SetDefaultPolicyVersion": set_default_policy_version,
    "ListPolicies": list_policies,
    "DeletePolicy": delete_policy,
    "AttachRolePolicy": attach_role_policy,
    "DetachRolePolicy": detach_role_policy,
    "ListAttachedRolePolicies": list_attached_role_policies,
    "ListEntitiesForPolicy": list_entities_for_policy,
    "GetAccountAuthorizationDetails": get_account_authorization_details,
    "TagPolicy": tag_policy,
    "UntagPolicy": untag_policy,
    "ListPolicyTags": list_policy_tags,
    "SetSAMLProviderAttributeMapping": set_attribute_mapping,
    "GetSAMLProviderAttributeMapping": get_attribute_mapping,
    "SetSAMLProviderValidationOptions": set_validation_options,
    "GetSAMLProviderValidationOptions": get_validation_options,
    "PutRolePermissionsBoundary": put_role_permissions_boundary,
    "DeleteRolePermissionsBoundary": delete_role_permissions_boundary,
    "SimulatePrincipalPolicy": simulate_principal_policy,
    "SimulateCustomPolicy": simulate_custom_policy,
}
UNAUTHENTICATED = frozenset({"AssumeRoleWithSAML"})
