"""The saml:* condition keys of a verified assertion."""

from __future__ import annotations

from saml_factory import NOW, response_b64, trust

from samlfed.saml import validate
from samlfed.sts.saml_context import name_qualifier, persisted, saml_context


def test_name_qualifier_vector() -> None:
    # Base64(SHA1("https://example.com/saml" + "123456789012" + "/MySAMLIdP")), computed independently with
    # `printf %s 'https://example.com/saml123456789012/MySAMLIdP' | openssl sha1 -binary | base64`.
    assert name_qualifier("https://example.com/saml", "123456789012", "MySAMLIdP") == "1uAJanUnBc2XeUkHURMht+xam2c="


def test_context_keys() -> None:
    verified = validate(
        response_b64(
            attributes={
                "urn:oid:1.3.6.1.4.1.5923.1.1.1.1": ["member", "staff"],
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress": ["alice@example.com"],
                "groups": ["aws-admins", "users"],
            }
        ),
        trust(),
        now=NOW,
    )
    context = saml_context(verified, account_id="111111111111", provider_name="ExampleIdP")
    assert context["saml:aud"] == ["https://signin.aws.amazon.com/saml"]  # the Recipient, not the Audience
    assert context["saml:sub"] == ["alice@example.com"] and context["saml:sub_type"] == ["persistent"]
    assert context["saml:doc"] == ["111111111111/ExampleIdP"]
    assert context["saml:edupersonaffiliation"] == ["member", "staff"]
    assert context["saml:mail"] == ["alice@example.com"]
    assert context["saml:groups"] == ["aws-admins", "users"]
    assert set(persisted(context)) == {"saml:namequalifier", "saml:sub", "saml:sub_type"}


def test_an_attribute_named_like_a_documented_key_does_not_fill_it() -> None:
    """`saml:mail` is the emailaddress claim (or its OIDs); an attribute merely named `mail` is not, so a trust
    policy written for AWS cannot be satisfied by it. Its value stays readable under no other key."""
    verified = validate(
        response_b64(attributes={"mail": ["boss@example.com"], "cn": ["Boss"], "edupersonaffiliation": ["faculty"], "dept": ["it"]}),
        trust(),
        now=NOW,
    )
    context = saml_context(verified, account_id="111111111111", provider_name="ExampleIdP")
    assert "saml:mail" not in context and "saml:cn" not in context and "saml:edupersonaffiliation" not in context
    assert context["saml:dept"] == ["it"]  # an undocumented name is still a key of its own (contract §11)


def test_no_attribute_fills_saml_primary_group_sid() -> None:
    """AWS lists saml:primaryGroupSID without a source attribute (contract §5.2: ours, none), so a trust policy
    written for AWS never sees it; an attribute named `primaryGroupSID` must not make it present here."""
    verified = validate(response_b64(attributes={"primaryGroupSID": ["S-1-5-21-1-2-3-513"]}), trust(), now=NOW)
    assert "saml:primarygroupsid" not in saml_context(verified, account_id="111111111111", provider_name="ExampleIdP")


def test_the_first_documented_claim_in_document_order_wins() -> None:
    verified = validate(
        response_b64(
            attributes={
                "0.9.2342.19200300100.1.3": ["first@example.com"],
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress": ["second@example.com"],
            }
        ),
        trust(),
        now=NOW,
    )
    assert saml_context(verified, account_id="111111111111", provider_name="ExampleIdP")["saml:mail"] == ["first@example.com"]
