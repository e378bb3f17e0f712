"""`POST /saml` over HTTP: the role chooser (as browsers and scrapers read it), sign-in, and refusals."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta

import boto3
import httpx
from console_setup import FACTORY_ACCOUNT, VIEWER, factory_response
from demo_stack import forms, idp_initiated
from lxml import html as lxml_html
from saml_factory import signer

from samlfed.iam.arns import role_arn

DEV, PROD = "111111111111", "222222222222"


def _saml2aws_accounts(page: str) -> list[dict]:
    """saml2aws (aws_account.go): `fieldset > div.saml-account`, its `div.saml-account-name`, every `label` in it."""
    doc = lxml_html.fromstring(page)
    accounts = []
    for block in doc.xpath("//fieldset/div[contains(concat(' ', normalize-space(@class), ' '), ' saml-account ')]"):
        name = "".join(block.xpath(".//div[contains(concat(' ', normalize-space(@class), ' '), ' saml-account-name ')]")[0].itertext()).strip()
        roles = [{"name": label.text_content(), "arn": label.get("for")} for label in block.xpath(".//label")]
        accounts.append({"name": name, "roles": roles})
    return accounts


def _aws_adfs_aliases(page: str) -> dict[str, str]:
    """aws-adfs (account_aliases_fetcher.py): exact-class `div.saml-account-name` texts through its two regexes."""
    doc = lxml_html.fromstring(page)
    aliases = {}
    for element in doc.findall('.//div[@class="saml-account-name"]'):
        text = element.text_content()
        named = re.search(r"Account: *([^(]+) *\(([0-9]+)\)", text)
        if named:
            aliases[named.group(2)] = named.group(1).strip()
        else:
            aliases[re.search(r"Account: *\(?([0-9]+)\)?", text).group(1)] = ""
    return aliases


def _gimme_legacy_roles(page: str) -> list[tuple[str, str]]:
    """gimme-aws-creds legacy parser: `div.saml-role > label[for]` (ARN) and the label's text (role name)."""
    doc = lxml_html.fromstring(page)
    return [(label.get("for"), label.text_content()) for label in doc.xpath("//div[@class='saml-role']/label[@for]")]


def _gimme_meta_roles(page: str) -> dict:
    """gimme-aws-creds (PR #426): the base64 JSON of <meta name="data">."""
    doc = lxml_html.fromstring(page)
    return json.loads(base64.b64decode(doc.xpath("//meta[@name='data']/@content")[0]))


def _chooser(demo: dict, saml_response: str, client: httpx.Client | None = None, **fields: str) -> httpx.Response:
    poster = client or httpx
    return poster.post(f"{demo['url']}/saml", data={"SAMLResponse": saml_response, **fields}, headers={"Accept-Language": "en"})


def _sign_in(demo: dict, client: httpx.Client, page: httpx.Response, role: str) -> httpx.Response:
    form = forms(page)[0]
    return client.post(f"{demo['url']}{form['action']}", data={**form["fields"], "roleIndex": role})


def test_chooser_lists_the_admitted_roles_by_account_for_every_scraper(demo: dict) -> None:
    with httpx.Client() as browser:
        saml_response = idp_initiated(demo, browser, "alice")
    page = _chooser(demo, saml_response)
    assert page.status_code == 200
    assert "nonce-" in page.headers["content-security-policy"] and "form-action 'self'" in page.headers["content-security-policy"]
    dev_role, prod_role = role_arn(DEV, "Developer"), role_arn(PROD, "ReadOnly")
    assert _saml2aws_accounts(page.text) == [
        {"name": f"Account: acme-dev ({DEV})", "roles": [{"name": "Developer", "arn": dev_role}]},
        {"name": f"Account: acme-prod ({PROD})", "roles": [{"name": "ReadOnly", "arn": prod_role}]},
    ]
    assert _aws_adfs_aliases(page.text) == {DEV: "acme-dev", PROD: "acme-prod"}
    assert _gimme_legacy_roles(page.text) == [(dev_role, "Developer"), (prod_role, "ReadOnly")]
    data = _gimme_meta_roles(page.text)
    assert data["roles_accounts"] == {f"acme-dev ({DEV})": [dev_role], f"acme-prod ({PROD})": [prod_role]}
    assert data["SAMLResponse"] == saml_response
    form = lxml_html.fromstring(page.text).get_element_by_id("saml_form")
    assert (form.get("name"), form.get("action"), form.get("method")) == ("saml_form", "/saml", "post")
    assert {i.get("name") for i in form.xpath(".//input[@type='hidden']")} == {"RelayState", "SAMLResponse", "name", "csrf"}
    radios = form.xpath(".//input[@type='radio']")
    assert [(r.get("name"), r.get("value"), r.get("id"), r.get("class")) for r in radios] == [
        ("roleIndex", dev_role, dev_role, "saml-radio"), ("roleIndex", prod_role, prod_role, "saml-radio"),
    ]
    assert "document.getElementById(\"saml_form\").submit()" not in page.text  # two roles: the user chooses


def test_a_role_the_trust_policy_refuses_is_not_offered(demo: dict) -> None:
    # admin's Admin role in acme-dev requires SAML:sub = admin; alice's assertion never offers it.
    with httpx.Client() as browser:
        saml_response = idp_initiated(demo, browser, "alice")
    page = _chooser(demo, saml_response)
    assert "Admin" not in [name for _, name in _gimme_legacy_roles(page.text)]
    with httpx.Client() as client:
        answer = _sign_in(demo, client, page, role_arn(DEV, "Admin"))
    assert answer.status_code == 403 and "Not authorized to perform sts:AssumeRoleWithSAML" in answer.text


def test_choosing_a_role_opens_a_console_session_whose_credentials_work(demo: dict) -> None:
    with httpx.Client() as browser:
        saml_response = idp_initiated(demo, browser, "alice")
        page = _chooser(demo, saml_response, browser)
        answer = _sign_in(demo, browser, page, role_arn(PROD, "ReadOnly"))
        assert answer.status_code == 303 and answer.headers["location"] == "/console"
        cookie = answer.headers["set-cookie"]
        assert "samlfed_console=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        console = browser.get(f"{demo['url']}/console")
    assert console.status_code == 200
    doc = lxml_html.fromstring(console.text)
    assert doc.get_element_by_id("assumed-role-arn").text_content() == f"arn:aws:sts::{PROD}:assumed-role/ReadOnly/alice@acme.example"
    assert doc.get_element_by_id("account").text_content() == f"acme-prod ({PROD})"
    assert doc.get_element_by_id("source-identity").text_content() == "alice"
    assert "department" in doc.get_element_by_id("session-tags").text_content()
    assert "ReadEverything" in console.text  # the role's inline policy, which allows iam:Get*: shown
    exports = doc.get_element_by_id("cred-shell").text_content()
    values = dict(line.removeprefix("export ").split("=", 1) for line in exports.splitlines())
    sts = boto3.client("sts", endpoint_url=demo["url"], region_name="us-east-1", aws_access_key_id=values["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=values["AWS_SECRET_ACCESS_KEY"], aws_session_token=values["AWS_SESSION_TOKEN"])
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:sts::{PROD}:assumed-role/ReadOnly/alice@acme.example"
    ends = datetime.fromisoformat(doc.get_element_by_id("session-ends").get("datetime"))
    assert timedelta(minutes=55) < ends - datetime.now(UTC) <= timedelta(hours=1)  # default console session: one hour


def test_the_console_shows_a_policy_document_only_to_a_session_that_may_read_it(demo: dict) -> None:
    """Found by a cross-account probe: the console showed every document of the role, so a role another account lets
    one assume (or one whose policies deny iam:Get*) showed what the IAM API refuses that session. Developer's
    policy allows s3 only: neither its name nor its document is shown (found by the diff review: names too need
    iam:ListRolePolicies, as over the API)."""
    with httpx.Client() as browser:
        saml_response = idp_initiated(demo, browser, "alice")
        page = _chooser(demo, saml_response, browser)
        assert _sign_in(demo, browser, page, role_arn(DEV, "Developer")).status_code == 303
        console = browser.get(f"{demo['url']}/console")
    assert console.status_code == 200
    permissions = [card for card in lxml_html.fromstring(console.text).find_class("card") if "Permissions of" in card.text_content()]
    assert [" ".join(card.text_content().split()) for card in permissions] == [
        "Permissions of Developer This session may not list the role's inline policies (iam:ListRolePolicies). "
        "This session may not list the role's managed policies (iam:ListAttachedRolePolicies).",
    ]
    assert "OwnBuckets" not in console.text and "developer" not in permissions[0].text_content()


def test_one_role_signs_in_by_itself_in_a_browser_and_keeps_the_markup(demo: dict) -> None:
    with httpx.Client() as browser:
        saml_response = idp_initiated(demo, browser, "bob")
    page = _chooser(demo, saml_response)
    assert re.search(r'<script nonce="[^"]+">document.getElementById\("saml_form"\).submit\(\);</script>', page.text)
    assert _saml2aws_accounts(page.text) == [{"name": f"Account: acme-dev ({DEV})", "roles": [{"name": "ReadOnly", "arn": role_arn(DEV, "ReadOnly")}]}]


def test_the_chooser_csrf_token_is_bound_to_the_assertion(demo: dict) -> None:
    with httpx.Client() as browser:
        first = _chooser(demo, idp_initiated(demo, browser, "alice"))
        second = _chooser(demo, idp_initiated(demo, browser, "alice"))
    token_of_first = forms(first)[0]["fields"]["csrf"]
    with httpx.Client() as client:
        form = forms(second)[0]
        forged = client.post(f"{demo['url']}/saml", data={**form["fields"], "csrf": token_of_first, "roleIndex": role_arn(DEV, "Developer")})
        missing = client.post(f"{demo['url']}/saml", data={**{k: v for k, v in form["fields"].items() if k != "csrf"}, "roleIndex": role_arn(DEV, "Developer")})
    assert forged.status_code == 403 and missing.status_code == 403
    assert "samlfed_console" not in forged.headers.get("set-cookie", "")


def test_a_forged_response_gets_the_error_page_with_the_check_and_hint(demo: dict) -> None:
    page = _chooser(demo, factory_response(by=signer("attacker")))
    assert page.status_code == 400
    doc = lxml_html.fromstring(page.text)
    assert doc.get_element_by_id("error").text_content() == "Response signature invalid"
    assert doc.get_element_by_id("check").text_content() == "Every signature verifies with a registered signing key"
    assert "samlfed_console" not in page.headers.get("set-cookie", "")


def test_an_expired_response_gets_the_error_page_with_the_hint(demo: dict) -> None:
    old = datetime.now(UTC) - timedelta(minutes=20)
    page = _chooser(demo, factory_response(issue_instant=old))
    assert page.status_code == 400
    doc = lxml_html.fromstring(page.text)
    assert doc.get_element_by_id("error").text_content() == "Response has expired"
    assert doc.get_element_by_id("hint").text_content()


def test_no_role_attribute_gives_aws_invalid_response_text(demo: dict) -> None:
    page = _chooser(demo, factory_response(roles=[]))
    assert page.status_code == 400
    text = lxml_html.fromstring(page.text).get_element_by_id("error").text_content()
    assert text == "Your request included an invalid SAML response. To logout, click here."
    assert _chooser(demo, "not base64 !").status_code == 400
    assert httpx.post(f"{demo['url']}/saml", data={}).status_code == 400


def test_assertion_text_is_escaped_everywhere(demo: dict) -> None:
    evil = '<script>alert("x")</script>'
    saml_response = factory_response(name_id=evil, attributes={"https://aws.amazon.com/SAML/Attributes/Role": [f"{evil},{VIEWER}"]})
    with httpx.Client() as browser:
        page = _chooser(demo, saml_response, browser)
        assert evil not in page.text and "&lt;script&gt;" in page.text  # the problem list names the bad value, escaped
        assert _sign_in(demo, browser, page, VIEWER).status_code == 303
        console = browser.get(f"{demo['url']}/console")
    assert evil not in console.text
    assert lxml_html.fromstring(console.text).get_element_by_id("name-id").text_content() == evil


def test_a_name_id_that_would_show_as_something_else_is_shown_escaped(demo: dict) -> None:
    """A right-to-left override makes "alice\u202etxt.exe" read "aliceexe.txt": the console shows the escape."""
    tricky = "alice\u202etxt.exe\u200b"
    saml_response = factory_response(name_id=tricky)
    with httpx.Client() as browser:
        assert _sign_in(demo, browser, _chooser(demo, saml_response, browser), VIEWER).status_code == 303
        console = browser.get(f"{demo['url']}/console")
    assert lxml_html.fromstring(console.text).get_element_by_id("name-id").text_content() == "alice\\u202etxt.exe\\u200b"


def test_relay_state_deep_links_only_to_console_pages(demo: dict) -> None:
    cases = {
        "https://evil.example/phish": "/console",
        "//evil.example/console": "/console",
        "javascript:alert(1)": "/console",
        "https://console.aws.amazon.com/console/home?region=eu-west-1": "/console?region=eu-west-1",
        f"{demo['url']}/console?region=us-west-2": "/console?region=us-west-2",
        "/console/../saml": "/console",
    }
    for relay_state, landing in cases.items():
        with httpx.Client() as browser:
            page = _chooser(demo, factory_response(), browser, RelayState=relay_state)
            answer = _sign_in(demo, browser, page, VIEWER)
        assert answer.headers["location"] == landing, relay_state


def test_console_session_length_follows_session_duration_not_the_role_maximum(demo: dict) -> None:
    with httpx.Client() as browser:
        page = _chooser(demo, factory_response(session_duration=43200), browser)
        _sign_in(demo, browser, page, VIEWER)
        console = lxml_html.fromstring(browser.get(f"{demo['url']}/console").text)
    now = datetime.now(UTC)
    ends = datetime.fromisoformat(console.get_element_by_id("session-ends").get("datetime"))
    credentials = datetime.fromisoformat(console.get_element_by_id("credentials-expire").text_content().replace("Z", "+00:00"))
    assert timedelta(hours=11, minutes=55) < ends - now <= timedelta(hours=12)
    assert credentials - now <= timedelta(hours=1)  # Viewer's MaxSessionDuration still bounds API credentials


def test_session_not_on_or_after_caps_the_console_session(demo: dict) -> None:
    with httpx.Client() as browser:
        page = _chooser(demo, factory_response(session_duration=43200, session_not_on_or_after=datetime.now(UTC) + timedelta(minutes=30)), browser)
        _sign_in(demo, browser, page, VIEWER)
        console = lxml_html.fromstring(browser.get(f"{demo['url']}/console").text)
    ends = datetime.fromisoformat(console.get_element_by_id("session-ends").get("datetime"))
    assert ends - datetime.now(UTC) <= timedelta(minutes=30)


def test_acs_with_provider_uuid_accepts_only_that_provider(demo: dict) -> None:
    uuid = demo["ctx"].store.get_provider(f"arn:aws:iam::{FACTORY_ACCOUNT}:saml-provider/ExampleIdP").uuid
    other = demo["ctx"].store.get_provider(f"arn:aws:iam::{DEV}:saml-provider/samlfed-idp").uuid
    ok = httpx.post(f"{demo['url']}/saml/acs/{uuid}", data={"SAMLResponse": factory_response()})
    wrong = httpx.post(f"{demo['url']}/saml/acs/{other}", data={"SAMLResponse": factory_response()})
    assert ok.status_code == 200 and VIEWER in ok.text
    assert wrong.status_code == 400


def test_sp_metadata_is_shaped_like_aws(demo: dict) -> None:
    for path in ("/saml/metadata", "/static/saml-metadata.xml"):
        answer = httpx.get(f"{demo['url']}{path}")
        assert answer.status_code == 200
        doc = lxml_html.etree.fromstring(answer.content)
        ns = {"md": "urn:oasis:names:tc:SAML:2.0:metadata"}
        assert doc.get("entityID") == "urn:amazon:webservices"
        assert doc.find("md:SPSSODescriptor", ns).get("WantAssertionsSigned") == "true"
        acs = doc.find("md:SPSSODescriptor/md:AssertionConsumerService", ns)
        assert acs.get("Location") == f"{demo['url']}/saml" and acs.get("Binding").endswith("HTTP-POST")
        required = {a.get("Name") for a in doc.iterfind(".//md:RequestedAttribute", ns) if a.get("isRequired") == "true"}
        assert required == {"https://aws.amazon.com/SAML/Attributes/Role", "https://aws.amazon.com/SAML/Attributes/RoleSessionName"}


def test_the_console_shows_a_region_only_when_it_is_one(demo: dict) -> None:
    """RelayState and Destination deep links keep only a region's name, but anyone can link to /console?region=…:
    the page showed any text of up to 32 characters there as the session's region."""
    with httpx.Client() as browser:
        _sign_in(demo, browser, _chooser(demo, factory_response(), browser), VIEWER)
        shown = {
            region: lxml_html.fromstring(browser.get(f"{demo['url']}/console", params={"region": region}).text).get_element_by_id("region", None)
            for region in ("eu-west-1", "Call IT now: +1 555 0100", "us-east-1\u202e", "<b>x</b>")
        }
    assert shown["eu-west-1"] is not None and shown["eu-west-1"].text_content() == "eu-west-1"
    assert [region for region, element in shown.items() if element is not None] == ["eu-west-1"]
