"""The built-in IdP puts each Role pair in its preset's order (Okta and ADFS: provider first). A pair naming a role
whose name holds commas (IAM allows them) was passed on in the order its rule wrote it, as 'not a pair'."""

from __future__ import annotations

import pytest

from samlfed.idp.claims import _ordered

ROLE = "arn:aws:iam::111111111111:role/Dev,Ops"
PROVIDER = "arn:aws:iam::111111111111:saml-provider/corp"


@pytest.mark.parametrize("written", [f"{ROLE},{PROVIDER}", f"{PROVIDER},{ROLE}", f" {PROVIDER} ,{ROLE}\n"])
def test_a_pair_naming_a_comma_role_takes_the_presets_order(written: str) -> None:
    assert _ordered(written, "provider,role") == f"{PROVIDER},{ROLE}"
    assert _ordered(written, "role,provider") == f"{ROLE},{PROVIDER}"


def test_a_value_that_is_no_pair_is_passed_on_as_written() -> None:
    value = f"{ROLE},{PROVIDER},{PROVIDER}"
    assert _ordered(value, "provider,role") == value
