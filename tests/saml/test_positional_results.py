"""The validator builds its result objects with positional arguments (matching keywords cost 1 % of a validation),
each argument's line naming its field in a comment: this holds those names to the dataclasses' field order, so that
reordering a field can never silently hand one value (an issuer, a subject, a recipient) to another field."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re

import pytest

from samlfed.saml import dsig, model, response

POSITIONAL = [
    (response, "VerifiedResponse", model.VerifiedResponse),
    (response, "AwsSessionClaims", model.AwsSessionClaims),
    (dsig, "BoundSignature", dsig.BoundSignature),
]


def _calls(module: object, name: str) -> list[ast.Call]:
    tree = ast.parse(inspect.getsource(module))  # type: ignore[arg-type]
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name]


@pytest.mark.parametrize(("module", "name", "cls"), POSITIONAL, ids=[name for _, name, _ in POSITIONAL])
def test_each_positional_argument_names_its_field(module: object, name: str, cls: type) -> None:
    lines = inspect.getsource(module).splitlines()  # type: ignore[arg-type]
    calls = [call for call in _calls(module, name) if call.args]
    assert calls, f"no positional {name}(...) in {module.__name__}"  # type: ignore[attr-defined]
    fields = [field.name for field in dataclasses.fields(cls)]
    for call in calls:
        assert not call.keywords and len(call.args) == len(fields)
        named = [re.search(r"#\s*(\w+)\s*$", lines[arg.end_lineno - 1]) for arg in call.args]  # type: ignore[operator]
        assert [m.group(1) if m else None for m in named] == fields


def test_the_one_line_verified_assertion_follows_its_fields() -> None:
    call = next(call for call in _calls(response, "VerifiedAssertion") if call.args)
    assert [field.name for field in dataclasses.fields(model.VerifiedAssertion)] == ["response", "claims", "warnings", "check_log"]
    assert ast.unparse(call) == "VerifiedAssertion(verified, claims.result(), tuple(run.report.warnings), tuple(run.report.entries))"


def test_a_verified_signature_is_key_then_bytes() -> None:
    assert [field.name for field in dataclasses.fields(dsig.VerifiedSignature)] == ["key", "signed_bytes"]
