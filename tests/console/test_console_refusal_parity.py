"""The console answers a response that STS refuses with STS's message and status (the differential probe):

* a validation failure came second to "Specified provider doesn't exist." whenever the Role attribute named a
  missing provider first, though the registered provider's verdict is the one about the response;
* a failure STS answers with 403 (IDPRejectedClaim, a missing NameID) was a 400 on the console page.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from demo_stack import forms
from lxml import etree
from lxml import html as lxml_html
from saml_factory import ACCOUNT, DEV_ROLE, ENTITY_ID, NOW, PROVIDER_ARN, response_b64, signer
from servers import app_in_thread
from service_world import developer_world

from samlfed.config import Settings
from samlfed.console.signin import SignInRefused, make_offer, sign_in
from samlfed.context import ServiceContext
from samlfed.errors import ServiceError
from samlfed.iam.accounts import create_account
from samlfed.iam.provider_options import set_attribute_mapping
from samlfed.iam.providers import create_saml_provider
from samlfed.iam.roles import create_role, update_trust_policy
from samlfed.saml.metadata import build_idp_metadata
from samlfed.server import build_server_app
from samlfed.store import Role
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml

LATER = NOW + timedelta(seconds=5)
NOBODY = f"arn:aws:iam::{ACCOUNT}:saml-provider/Nobody"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"


@pytest.fixture
def ctx(tmp_path: Path) -> ServiceContext:
    ctx = developer_world(Settings(data_dir=tmp_path))
    ctx.clock = lambda: LATER
    return ctx


def _without_name_id(root: etree._Element) -> None:
    name_id = root.find(f".//{{{SAML}}}Subject/{{{SAML}}}NameID")
    name_id.getparent().remove(name_id)


def _sts(ctx: ServiceContext, saml: str) -> tuple[str, str, int]:
    with pytest.raises(ServiceError) as refused:
        assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(role_arn=DEV_ROLE, principal_arn=PROVIDER_ARN, saml_assertion=saml))
    return refused.value.code, refused.value.message, refused.value.status


def _console(ctx: ServiceContext, saml: str) -> tuple[str, int]:
    with pytest.raises(SignInRefused) as refused:
        make_offer(ctx, saml, LATER)
    return refused.value.message, refused.value.status


@pytest.mark.parametrize("roles", [
    [f"{DEV_ROLE},{NOBODY}", f"{DEV_ROLE},{PROVIDER_ARN}"],
    [f"{DEV_ROLE},{PROVIDER_ARN}", f"{DEV_ROLE},{NOBODY}"],
], ids=["missing-provider-first", "missing-provider-last"])
def test_a_registered_providers_verdict_wins_over_a_missing_provider(ctx: ServiceContext, roles: list[str]) -> None:
    saml = response_b64(issue_instant=NOW - timedelta(hours=1), roles=roles)
    code, message, status = _sts(ctx, saml)
    assert (code, message, status) == ("ExpiredTokenException", "Response has expired", 400)
    assert _console(ctx, saml) == (message, status)


def test_only_a_missing_provider_is_named_as_such(ctx: ServiceContext) -> None:
    assert _console(ctx, response_b64(issue_instant=NOW, roles=[f"{DEV_ROLE},{NOBODY}"])) == ("Specified provider doesn't exist.", 400)


def test_a_403_of_sts_is_a_403_on_the_console(ctx: ServiceContext) -> None:
    saml = response_b64(issue_instant=NOW, before_sign=_without_name_id)
    code, message, status = _sts(ctx, saml)
    assert status == 403, (code, message)
    assert _console(ctx, saml) == (message, 403)


def test_a_role_the_console_refuses_is_listed_and_logged_once_with_what_refused_it(ctx: ServiceContext, caplog: pytest.LogCaptureFixture) -> None:
    """As AWS's chooser, every pair of the provider's account is listed, and a role that cannot be assumed is refused
    when chosen (contract §7.1: steps 21-26 on POST-back). The console's role_refused record says why; STS's
    `AssumeRoleWithSAML denied` record was written for each such role too, counting console sign-ins as STS denials."""
    broken, ghost = f"arn:aws:iam::{ACCOUNT}:role/Broken", f"arn:aws:iam::{ACCOUNT}:role/Ghost"
    ctx.store.create_role(Role(ACCOUNT, "Broken", "AROABROKENROLEXXXXXXX", "/", broken, "{not json", 3600, NOW))  # the store: IAM would refuse it
    saml = response_b64(issue_instant=NOW, roles=[f"{DEV_ROLE},{PROVIDER_ARN}", f"{broken},{PROVIDER_ARN}", f"{ghost},{PROVIDER_ARN}"])
    with caplog.at_level("INFO", logger="samlfed"):
        offer = make_offer(ctx, saml, LATER)
    assert [choice.role_arn for choice in offer.choices] == [broken, DEV_ROLE, ghost]
    assert list(offer.admitted) == [DEV_ROLE] and sorted(offer.refused) == [broken, ghost]
    for role in (broken, ghost):  # one answer for both: a missing role is not told from a refusing one
        with pytest.raises(SignInRefused) as refused:
            sign_in(ctx, offer, role, LATER)
        assert (refused.value.message, refused.value.status) == ("Not authorized to perform sts:AssumeRoleWithSAML", 403)
    reasons = {r.role: r.reason for r in caplog.records if getattr(r, "outcome", None) == "role_refused"}
    assert reasons == {
        broken: "malformed_trust: the stored trust policy is not a valid policy",
        ghost: "no_such_role: no role of this ARN in the provider's account",
    }
    assert not [r for r in caplog.records if getattr(r, "action", None) == "AssumeRoleWithSAML"]


def test_the_chooser_lists_a_role_refused_to_everyone_and_refuses_it_when_chosen(tmp_path: Path) -> None:
    """Found by probing: with every role refused, /saml answered 403 where AWS shows its chooser, and saml2aws stopped
    at 'unexpected status code: 403' instead of listing the roles; the JSON names the refused ones for samlfed login."""
    settings = Settings(data_dir=tmp_path)
    ctx = developer_world(settings)
    ctx.clock = lambda: LATER
    ghost = f"arn:aws:iam::{ACCOUNT}:role/Ghost"
    saml = response_b64(issue_instant=NOW, roles=[f"{ghost},{PROVIDER_ARN}", "not a pair"])
    with app_in_thread(build_server_app(settings, ctx)) as base, httpx.Client(base_url=base) as browser:
        chooser = browser.post("/saml", data={"SAMLResponse": saml})
        assert chooser.status_code == 200 and f'value="{ghost}"' in chooser.text
        data = json.loads(base64.b64decode(lxml_html.fromstring(chooser.text).xpath("//meta[@name='data']/@content")[0]))
        assert data["roles_accounts"] == {ACCOUNT: [ghost]} and data["refused_roles"] == [ghost]
        assert "submit()" not in chooser.text  # one role, but a problem to read: the page does not submit itself
        form = forms(chooser)[0]
        chosen = browser.post(form["action"], data={**form["fields"], "roleIndex": ghost})
        assert chosen.status_code == 403 and "Not authorized to perform sts:AssumeRoleWithSAML" in chosen.text
        assert "samlfed_console" not in chosen.headers.get("set-cookie", "")


def _second_provider(ctx: ServiceContext, account: str = ACCOUNT, name: str = "Second") -> str:
    """Another provider registered from the same IdP metadata (an IdP migration names both)."""
    if account != ACCOUNT:
        create_account(ctx, account)
    create_saml_provider(ctx, account, name, build_idp_metadata(ENTITY_ID, [signer().certificate]).decode())
    return f"arn:aws:iam::{account}:saml-provider/{name}"


def _trusting(provider: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": provider}, "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"]}]})


def test_a_role_refused_through_one_provider_is_admitted_through_another(ctx: ServiceContext) -> None:
    """Found by review: the first pair's refusal shadowed a later pair that STS admits."""
    second = _second_provider(ctx)
    update_trust_policy(ctx, ACCOUNT, "Developer", _trusting(second))
    offer = make_offer(ctx, response_b64(issue_instant=NOW, roles=[f"{DEV_ROLE},{PROVIDER_ARN}", f"{DEV_ROLE},{second}"]), LATER)
    assert [(c.role_arn, c.provider_arn) for c in offer.choices] == [(DEV_ROLE, second)] and not offer.refused
    assert sign_in(ctx, offer, DEV_ROLE, LATER).admitted.provider.arn == second


def test_tags_refused_through_one_provider_leave_another_providers_roles_offered(ctx: ServiceContext) -> None:
    """Found by review: tags come from the provider's attribute mapping, so their refusal holds for that provider's
    roles only; STS admits the other provider's role, and so must the console."""
    other = "222222222222"
    second = _second_provider(ctx, other, "Other")
    create_role(ctx, other, "Dev2", _trusting(second))
    set_attribute_mapping(ctx, ACCOUNT, PROVIDER_ARN, {"grp": ["groups"]})
    dev2 = f"arn:aws:iam::{other}:role/Dev2"
    saml = response_b64(issue_instant=NOW, roles=[f"{DEV_ROLE},{PROVIDER_ARN}", f"{dev2},{second}"], attributes={"groups": ["a", "b"]})
    offer = make_offer(ctx, saml, LATER)
    assert [c.role_arn for c in offer.choices] == [dev2] and list(offer.admitted) == [dev2]
    with pytest.raises(SignInRefused) as refused:  # through the first provider alone: the tags refuse it
        make_offer(ctx, response_b64(issue_instant=NOW, roles=[f"{DEV_ROLE},{PROVIDER_ARN}"], attributes={"groups": ["a", "b"]}), LATER)
    assert refused.value.message == "Session tags in AuthnResponse are invalid"


@pytest.mark.parametrize("roles", [[], [""], ["not a pair"]], ids=["no-role-value", "empty-role-value", "no-pair"])
@pytest.mark.parametrize("tags", ["dangling-transitive-key", "bad-mapped-tag"])
def test_session_tags_are_refused_before_the_role_attribute_on_the_providers_acs_url(tmp_path: Path, roles: list[str], tags: str) -> None:
    """Found by probing: STS checks the session tags in full (contract §3.4 step 20) before the Role attribute (step 21),
    but the provider's own ACS URL, which validates a response without a usable Role pair, answered it
    AccessDenied 403 where STS answers InvalidIdentityToken 400. (/saml cannot tell which provider to ask without a pair.)"""
    settings = Settings(data_dir=tmp_path)
    ctx = developer_world(settings)
    ctx.clock = lambda: LATER
    if tags == "bad-mapped-tag":
        set_attribute_mapping(ctx, ACCOUNT, PROVIDER_ARN, {"email": ["mail"]})
        saml = response_b64(issue_instant=NOW, roles=roles, principal_tags={}, attributes={"mail": ["a@example.com", "b@example.com"]})
    else:
        saml = response_b64(issue_instant=NOW, roles=roles, transitive_tag_keys=["nosuchtag"])
    code, message, status = _sts(ctx, saml)
    assert (code, message, status) == ("InvalidIdentityToken", "Session tags in AuthnResponse are invalid", 400)
    uuid = ctx.reads.provider(PROVIDER_ARN).uuid
    with pytest.raises(SignInRefused) as refused:
        make_offer(ctx, saml, LATER, only_provider_uuid=uuid)
    assert (refused.value.message, refused.value.status) == (message, status)
    with app_in_thread(build_server_app(settings, ctx)) as base:
        page = httpx.post(f"{base}/saml/acs/{uuid}", data={"SAMLResponse": saml})
    assert page.status_code == 400 and message in page.text and "Not authorized" not in page.text
    # Tags that pass leave STS's answer to the missing pair as it was.
    fine = response_b64(issue_instant=NOW, roles=roles)
    assert _sts(ctx, fine) == ("AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML", 403)
    with pytest.raises(SignInRefused) as refused:
        make_offer(ctx, fine, LATER, only_provider_uuid=uuid)
    assert (refused.value.message, refused.value.status) == ("Not authorized to perform sts:AssumeRoleWithSAML", 403)


@pytest.mark.parametrize("where", ["chooser", "provider-acs"])
def test_the_page_names_a_session_tags_refusal_by_its_title(tmp_path: Path, where: str) -> None:
    """Found by review: every refusal page said what failed in words (the check's title), but a session-tags refusal
    showed the log's check id, trust.session_tags. At /saml the tags refuse a response whose roles are fine; at a
    provider's own ACS URL they come before a Role attribute that holds no pair."""
    settings = Settings(data_dir=tmp_path)
    ctx = developer_world(settings)
    ctx.clock = lambda: LATER
    roles = {"chooser": None, "provider-acs": ["not a pair"]}[where]
    saml = response_b64(issue_instant=NOW, transitive_tag_keys=["nosuchtag"], **({"roles": roles} if roles is not None else {}))
    path = "/saml" if where == "chooser" else f"/saml/acs/{ctx.reads.provider(PROVIDER_ARN).uuid}"
    with app_in_thread(build_server_app(settings, ctx)) as base:
        page = httpx.post(f"{base}{path}", data={"SAMLResponse": saml})
    assert page.status_code == 400 and "Session tags in AuthnResponse are invalid" in page.text
    shown = lxml_html.fromstring(page.text).get_element_by_id("check").text_content()
    assert shown == "Session tags, mapped ones included, follow AWS's rules and TransitiveTagKeys names only them"
    assert "trust.session_tags" not in page.text
