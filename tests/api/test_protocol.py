"""Query-protocol parsing and XML rendering, checked against botocore's own serializer and parser."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

import botocore.session
import pytest
from botocore.parsers import QueryParser
from botocore.serialize import QuerySerializer
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from samlfed.api.protocol import MAX_BODY_BYTES, QueryRequest, form_pairs, parse_query
from samlfed.api.xml import render_error, render_result
from samlfed.errors import ServiceError, ValidationFailed

IAM = botocore.session.get_session().get_service_model("iam")
STS = botocore.session.get_session().get_service_model("sts")


def serialized(model, operation: str, params: dict) -> bytes:
    body = QuerySerializer().serialize_to_request(params, model.operation_model(operation))["body"]
    return urlencode(body).encode()  # what botocore's HTTP layer sends


def test_parses_what_botocore_serializes() -> None:
    body = serialized(IAM, "TagRole", {"RoleName": "Dev", "Tags": [{"Key": "team", "Value": "a b&c"}, {"Key": "k2", "Value": ""}]})
    request = parse_query(body, "", "application/x-www-form-urlencoded; charset=utf-8")
    assert (request.action, request.version) == ("TagRole", "2010-05-08")
    assert request.params["RoleName"] == "Dev"
    assert request.member_structs("Tags", ("Key", "Value")) == [{"Key": "team", "Value": "a b&c"}, {"Key": "k2", "Value": ""}]
    body = serialized(IAM, "UntagRole", {"RoleName": "Dev", "TagKeys": ["a", "b"]})
    assert parse_query(body, "", None).member_list("TagKeys") == ["a", "b"]


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "Application/X-WWW-Form-URLEncoded ; charset=UTF-8"])
def test_a_form_media_type_is_read_whatever_its_case_and_parameters(content_type: str) -> None:
    assert parse_query(b"Action=GetCallerIdentity&Version=2011-06-15", "", content_type).action == "GetCallerIdentity"


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencodedXYZ", "application/x-www-form-urlencoded, application/json", "application/json", "text/plain"],
)
def test_a_body_of_another_media_type_is_refused(content_type: str) -> None:
    with pytest.raises(ServiceError) as info:
        parse_query(b"Action=GetCallerIdentity&Version=2011-06-15", "", content_type)
    assert info.value.code == "InvalidParameterValue"


def test_query_string_form_and_errors() -> None:
    assert parse_query(b"", "Action=GetCallerIdentity&Version=2011-06-15", None).action == "GetCallerIdentity"
    with pytest.raises(ServiceError) as info:
        parse_query(b"Version=2011-06-15", "", None)
    assert info.value.code == "MissingAction"
    with pytest.raises(ServiceError):
        parse_query(b"x" * (MAX_BODY_BYTES + 1), "", None)
    with pytest.raises(ServiceError) as info:
        parse_query(b"Action=A&Action=B", "", None)
    assert info.value.code == "InvalidParameterValue"
    with pytest.raises(ServiceError):
        parse_query(b"\xff\xfe", "", None)


def test_at_most_ten_thousand_fields_body_and_query_string_together() -> None:
    fields = [b"Action=SimulateCustomPolicy"] + [b"ActionNames.member.%d=s3:GetObject" % n for n in range(1, 10_000)]
    assert len(parse_query(b"&".join(fields), "", None).member_list("ActionNames")) == 9_999
    for body, query_string in ((b"&".join(fields) + b"&", ""), (b"&".join(fields[1:]), "Action=SimulateCustomPolicy&Version=2010-05-08"), (b"&" * 1_000_000, "")):
        with pytest.raises(ServiceError) as info:
            parse_query(body, query_string, None)
        assert (info.value.code, info.value.message, info.value.status) == ("ValidationError", "The request has more than 10000 parameters", 400)


def test_the_query_string_and_the_body_are_read_together() -> None:
    request = parse_query(b"Version=2011-06-15&RoleArn=a", "Action=AssumeRoleWithSAML&RoleArn=a", None)
    assert (request.action, request.version, request.params) == ("AssumeRoleWithSAML", "2011-06-15", {"RoleArn": "a"})
    with pytest.raises(ServiceError) as info:
        parse_query(b"Action=GetCallerIdentity&RoleArn=b", "RoleArn=a", None)
    assert info.value.message == "Parameter RoleArn is given more than once"


def test_rendered_result_parses_with_botocore() -> None:
    expiration = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
    xml = render_result(
        "sts",
        "AssumeRoleWithSAML",
        {
            "Credentials": {"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": expiration},
            "AssumedRoleUser": {"AssumedRoleId": "AROAEXAMPLE:alice", "Arn": "arn:aws:sts::111111111111:assumed-role/Dev/alice"},
            "PackedPolicySize": 6,
            "Subject": "alice",
            "SubjectType": "persistent",
        },
        "req-1",
    )
    parsed = QueryParser().parse({"body": xml, "headers": {}, "status_code": 200}, STS.operation_model("AssumeRoleWithSAML").output_shape)
    assert parsed["Credentials"]["Expiration"] == expiration
    assert parsed["AssumedRoleUser"]["Arn"].endswith("assumed-role/Dev/alice")
    assert parsed["PackedPolicySize"] == 6 and parsed["ResponseMetadata"]["RequestId"] == "req-1"


def test_rendered_error_parses_with_botocore() -> None:
    error = ValidationFailed(["Value '50000' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"])
    xml = render_error("sts", error, "req-2")
    parsed = QueryParser().parse({"body": xml, "headers": {}, "status_code": 400}, None)
    assert parsed["Error"]["Code"] == "ValidationError"
    assert parsed["Error"]["Message"].startswith("1 validation error detected: Value '50000' at 'durationSeconds'")
    assert b"<Type>Sender</Type>" in xml
    two = ValidationFailed(["a", "b"])
    assert two.message == "2 validation errors detected: a; b"


def test_characters_xml_cannot_carry_are_replaced_not_a_500() -> None:
    xml = render_error("iam", ServiceError("NoSuchEntity", "The role with name a\x01b\x00c\ud800d\ufffee cannot be found.", 404), "req-3")
    parsed = QueryParser().parse({"body": xml, "headers": {}, "status_code": 404}, None)
    assert parsed["Error"]["Message"] == "The role with name a\ufffdb\ufffdc\ufffdd\ufffde cannot be found."
    kept = etree.fromstring(render_result("iam", "GetRole", {"Name": "tab\tand\nnewline \U0001f600"}, "r"))
    assert kept.findtext("{*}GetRoleResult/{*}Name") == "tab\tand\nnewline \U0001f600"  # what XML can carry is kept


def test_a_query_string_that_is_not_utf8_is_a_400_not_a_500(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Servers in front may pass raw bytes through; the application answers them with AWS's error."""
    import asyncio

    from samlfed.api.app import build_app
    from samlfed.config import Settings
    from samlfed.server import build_context

    app = build_app(build_context(Settings(data_dir=tmp_path)))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http", "path": "/",
             "raw_path": b"/", "query_string": b"Action=GetCallerIdentity&Version=2011-06-15&x=\xff", "root_path": "", "headers": [],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 400 and b"<Code>MalformedQueryString</Code>" in sent[1]["body"]


def _decoded(decode: Callable[[str], object], source: str) -> object:
    try:
        return decode(source)
    except UnicodeDecodeError:
        return UnicodeDecodeError


def _parse_qsl_strict(source: str) -> object:
    return parse_qsl(source, keep_blank_values=True, errors="strict")


@given(st.text(alphabet="ab=&+%2BFD3f0é/CA9", max_size=40))
def test_form_pairs_decode_as_parse_qsl_does(source: str) -> None:
    assert _decoded(form_pairs, source) == _decoded(_parse_qsl_strict, source)


@pytest.mark.parametrize(
    "source",
    ["a=%C3%A9", "a=%e2%82%AC", "a=%C3", "a=%%41", "a=%4", "a=%", "a=%zz%41", "a=%2B+%2b", "&&a&=b&", "é=%41é", "a=%ED%A0%80"],
)
def test_form_pairs_edge_cases_decode_as_parse_qsl_does(source: str) -> None:
    assert _decoded(form_pairs, source) == _decoded(_parse_qsl_strict, source)


def test_form_pairs_on_a_saml_assertion() -> None:
    value = base64.b64encode(bytes(range(256)) * 4).decode()
    assert form_pairs(urlencode({"SAMLAssertion": value, "RoleArn": "arn:aws:iam::1:role/a b"})) == [("SAMLAssertion", value), ("RoleArn", "arn:aws:iam::1:role/a b")]


def _lxml_rendering(service: str, action: str, result: object, request_id: str) -> bytes:
    """The renderer as it was, an lxml tree serialized: the oracle for the text renderer."""
    from samlfed.api.xml import _NOT_XML, NAMESPACES, aws_timestamp

    ns = NAMESPACES[service]

    def append(parent: etree._Element, name: str, value: object) -> None:
        if value is None:
            return
        element = etree.SubElement(parent, f"{{{ns}}}{name}")
        if isinstance(value, dict):
            for key, item in value.items():
                append(element, key, item)
        elif isinstance(value, list | tuple):
            for item in value:
                append(element, "member", item)
        elif isinstance(value, bool):
            element.text = "true" if value else "false"
        elif isinstance(value, datetime):
            element.text = aws_timestamp(value)
        else:
            try:
                element.text = str(value)
            except ValueError:
                element.text = _NOT_XML.sub("\ufffd", str(value))

    root = etree.Element(f"{{{ns}}}{action}Response", nsmap={None: ns})
    append(root, f"{action}Result", result)
    append(root, "ResponseMetadata", {"RequestId": request_id})
    return etree.tostring(root, encoding="UTF-8")


_NAMES = st.from_regex(r"[A-Z][A-Za-z]{0,8}", fullmatch=True)
_SCALARS = (
    st.none() | st.booleans() | st.integers() | st.datetimes(timezones=st.just(UTC))
    | st.text(st.characters(blacklist_categories=())) | st.text(alphabet="a&<>\r\n\t\"' ]\x00\ufffe")
)
_RESULTS = st.recursive(_SCALARS, lambda inner: st.dictionaries(_NAMES, inner, max_size=4) | st.lists(inner, max_size=4), max_leaves=12)


@given(st.dictionaries(_NAMES, _RESULTS, max_size=5) | st.none(), st.sampled_from(["sts", "iam"]))
def test_rendering_is_byte_for_byte_what_lxml_serialized(result: dict | None, service: str) -> None:
    assert render_result(service, "GetRole", result, "req") == _lxml_rendering(service, "GetRole", result, "req")


def test_numbered_members_are_read_in_order_whatever_their_gaps() -> None:
    """botocore numbers members 1, 2, 3…; a hand-made request that skips one once lost every member after the gap
    (a session policy asked for as PolicyArns.member.2 was dropped)."""
    request = QueryRequest("X", "2011-06-15", {
        "PolicyArns.member.3.arn": "c", "PolicyArns.member.2.arn": "b", "TagKeys.member.10": "j", "TagKeys.member.2": "b",
        "Tags.member.5.Key": "k", "Tags.member.5.Value": "v", "TagKeysOther.member.0": "another list's",
    })
    assert request.member_structs("PolicyArns", ("arn",)) == [{"arn": "b"}, {"arn": "c"}]
    assert request.member_list("TagKeys") == ["b", "j"]
    assert request.member_structs("Tags", ("Key", "Value")) == [{"Key": "k", "Value": "v"}]
    assert request.member_list("Nothing") == []


@pytest.mark.parametrize(
    ("key", "fields"),
    [
        ("PolicyArns.member.0.arn", ("arn",)),
        ("PolicyArns.member.01.arn", ("arn",)),
        ("PolicyArns.member.1.Arn", ("arn",)),
        ("PolicyArns.member.1", ("arn",)),
        ("PolicyArns.member.1.arn.x", ("arn",)),
        ("PolicyArns.member.x.arn", ("arn",)),
        ("PolicyArns.member.\u0661.arn", ("arn",)),
        ("TagKeys.member.0", None),
        ("TagKeys.member.02", None),
        ("TagKeys.member.1.Key", None),
        ("TagKeys.member.", None),
    ],
)
def test_a_member_key_that_is_not_canonical_is_refused_not_ignored(key: str, fields: tuple[str, ...] | None) -> None:
    """Ignored, `PolicyArns.member.0.arn` dropped the session policy it asked for, and the session had all of the
    role's permissions; `Tags.member.0.Key` alone made TagRole a silent no-op."""
    name = key.partition(".")[0]
    request = QueryRequest("X", "2011-06-15", {key: "v", f"{name}.member.1{'.' + fields[0] if fields else ''}": "kept"})
    with pytest.raises(ServiceError) as refused:
        request.member_structs(name, fields) if fields else request.member_list(name)
    assert (refused.value.code, refused.value.status) == ("ValidationError", 400)
    assert refused.value.message.startswith(f"Parameter {key} is not a member of {name}: members are {name}.member.N")
