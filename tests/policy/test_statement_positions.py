"""The statement spans the simulator reports (StartPosition, EndPosition): policy.positions.statement_spans."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from samlfed.policy import MalformedPolicy, parse_policy
from samlfed.policy.positions import Position, StatementSpan, statement_spans


def span(start: tuple[int, int], end: tuple[int, int]) -> StatementSpan:
    return StatementSpan(Position(*start), Position(*end))


def test_a_single_statement_object_is_placed_as_aws_answered() -> None:
    # LocalStack's aws.validated test_simulate_principle_policy: AWS answered columns 41 and 113 for this text.
    text = json.dumps({"Version": "2012-10-17", "Statement": {"Sid": "", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}})
    assert statement_spans(text) == (span((1, 41), (1, 113)),)


def test_an_array_starts_past_its_bracket_then_past_each_statement() -> None:
    text = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}, indent=2)
    assert statement_spans(text) == (span((3, 17), (8, 6)),)  # AdministratorAccess's layout
    two = '{"Statement":[{"Effect":"Allow","Action":"a:b","Resource":"*"} , {"Effect":"Deny","Action":"a:c","Resource":"*"}]}'
    assert statement_spans(two) == (span((1, 15), (1, 63)), span((1, 63), (1, 113)))


def test_strings_hold_braces_brackets_escaped_quotes_and_unicode_escapes() -> None:
    statement = r'{"Sid":"x","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/{}]\"[\\","Condition":{"StringLike":{"k":["}\u00e9\""]}}}'
    text = '{"Id":"{[\\"\\u007d","Version":"2012-10-17","Statement":[' + statement + "]}"
    spans = statement_spans(text)
    start = text.index("[", text.index('"Statement"')) + 1
    assert spans == (span((1, start + 1), (1, start + len(statement) + 1)),)


def test_lines_end_at_lf_crlf_or_a_lone_cr() -> None:
    for newline in ("\n", "\r\n", "\r"):
        text = newline.join(['{"Version": "2012-10-17",', '"Statement": [', '\t{"Effect": "Allow",', '"Action": "*", "Resource": "*"}', "]}"])
        assert statement_spans(text) == (span((2, 15), (4, 32)),), repr(newline)


def test_an_escaped_key_is_the_statement_the_parser_reads() -> None:
    text = '{"\\u0053tatement": {"Effect": "Allow", "Action": "*", "Resource": "*"}, "Version": "2012-10-17"}'
    assert statement_spans(text) == (span((1, 21), (1, 71)),)


def test_other_values_are_skipped_whatever_they_hold() -> None:
    text = '{"Id": [1, {"a": [true, null, -1.5e3]}, "]"], "Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}'
    assert statement_spans(text) == (span((1, 86), (1, 136)),)


@pytest.mark.parametrize("text", ["", "[]", "{}", '{"Version": "2012-10-17"}', '{"Statement": 1}', '{"Statement": [1]}', '{"Statement": [{"a": "b"',
                                  '{"Statement": {"a": "\\', "not json", '{"Statement" {}}'])
def test_a_text_it_cannot_follow_has_no_spans(text: str) -> None:
    assert statement_spans(text) is None


@given(st.text(max_size=80))
def test_no_text_makes_it_raise(text: str) -> None:
    statement_spans(text)


statements = st.fixed_dictionaries({
    "Effect": st.sampled_from(["Allow", "Deny"]), "Action": st.sampled_from(["s3:*", ["a:b", "c:d"]]),
    "Resource": st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12),
})


@given(st.lists(statements, min_size=1, max_size=4), st.sampled_from([None, 1, 2, "\t"]), st.booleans())
def test_each_accepted_document_has_one_span_per_statement_ending_at_its_brace(statement_list: list[dict], indent: int | str | None, ascii_only: bool) -> None:
    text = json.dumps({"Version": "2012-10-17", "Statement": statement_list}, indent=indent, ensure_ascii=ascii_only)
    try:
        document = parse_policy(text, principal_required=False)
    except MalformedPolicy:
        return
    spans = statement_spans(text)
    assert spans is not None and len(spans) == len(document.statements)
    lines = text.split("\n")  # json.dumps ends lines with LF alone (splitlines would also split at U+0085)
    for found in spans:
        assert lines[found.end.line - 1][found.end.column - 2] == "}"
