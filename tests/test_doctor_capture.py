"""`samlfed doctor` on browser captures as they are: a HAR file of the sign-in, or the saved HTML page with the IdP's
auto-posting form. Runs the installed command on `samlfed sample`'s signed response, tampered copy and metadata."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
import typer
from servers import SAMLFED

from samlfed.cli_login import _read_assertion
from samlfed.doctor import DoctorUsageError, read_input, read_source
from samlfed.doctor_capture import MAX_CAPTURE_BYTES, MAX_HAR_CONTAINERS, MAX_PAGE_BYTES, MAX_POSTED_BYTES, CaptureError, from_capture

ACS = "https://signin.aws.amazon.com/saml"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    subprocess.run([SAMLFED, "sample", "--out", str(out)], check=True, capture_output=True, timeout=60)
    return out


def response(sample: Path, name: str = "response.b64") -> str:
    return (sample / name).read_text().strip()


def doctor(sample: Path, capture: Path) -> tuple[int, dict | None, str]:
    done = subprocess.run(
        [SAMLFED, "doctor", str(capture), "--metadata", str(sample / "idp-metadata.xml"), "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    return done.returncode, json.loads(done.stdout) if done.returncode in (0, 1) else None, done.stderr


def har(*entries: dict) -> str:
    return json.dumps({"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, "entries": list(entries)}})


def get(url: str) -> dict:
    return {"request": {"method": "GET", "url": url, "headers": []}, "response": {"status": 200}}


def post_form(url: str, b64: str) -> dict:
    """As Chromium exports a form post: the body as sent (URL-encoded), and its fields."""
    body = f"SAMLResponse={quote(b64, safe='')}&RelayState="
    params = [{"name": "SAMLResponse", "value": quote(b64, safe="")}, {"name": "RelayState", "value": ""}]
    return {"request": {"method": "POST", "url": url, "postData": {"mimeType": "application/x-www-form-urlencoded", "text": body, "params": params}}}


def post_params(url: str, b64: str) -> dict:
    """Fields only, their values decoded (no body text)."""
    return {"request": {"method": "POST", "url": url, "postData": {"mimeType": "application/x-www-form-urlencoded", "params": [{"name": "SAMLResponse", "value": b64}]}}}


def test_a_har_file_of_the_sign_in(sample: Path, tmp_path: Path) -> None:
    capture = tmp_path / "signin.har"
    capture.write_text(har(get("https://idp.example.test/sso?SAMLRequest=x"), post_form(f"{ACS}?session=s3cr3t", response(sample)), get("https://console.aws.amazon.com/")))
    code, report, _ = doctor(sample, capture)
    assert code == 0 and report is not None and report["valid"] is True
    assert report["notes"][0] == f"read from the HAR file: request 2 of 3, POST {ACS}"  # the query left out: it may hold secrets


def test_a_har_file_with_fields_only(sample: Path, tmp_path: Path) -> None:
    capture = tmp_path / "fields.har"
    capture.write_text(har(post_params(ACS, response(sample))))
    code, report, _ = doctor(sample, capture)
    assert code == 0 and report is not None and report["valid"] is True


def test_the_last_posted_response_of_a_har_file_is_checked(sample: Path, tmp_path: Path) -> None:
    first_good = tmp_path / "good-then-tampered.har"
    first_good.write_text(har(post_form(ACS, response(sample)), post_form(ACS, response(sample, "tampered.b64"))))
    code, report, _ = doctor(sample, first_good)
    assert code == 1 and report is not None and report["valid"] is False
    assert report["notes"][0] == f"read from the HAR file: request 2 of 2, POST {ACS} (the last of the 2 requests that post a SAMLResponse)"
    first_tampered = tmp_path / "tampered-then-good.har"
    first_tampered.write_text(har(post_form(ACS, response(sample, "tampered.b64")), post_form(ACS, response(sample))))
    assert doctor(sample, first_tampered)[0] == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (har(get("https://idp.example.test/sso")), "none of the 1 requests in the HAR file posts a SAMLResponse"),
        ('{"log": {"entries": [', "is not JSON: a HAR file cut short?"),
        ('{"SAMLResponse": "PHNhbWxwOlJlc3BvbnNlLz4="}', "not a HAR file (it has no log.entries)"),
        ("<!DOCTYPE html><html><body><p>Your session has expired.</p></body></html>", "the HTML page has no form field named SAMLResponse"),
    ],
    ids=["no-saml-post", "cut-short", "other-json", "html-without-the-field"],
)
def test_a_capture_without_a_response_is_a_usage_error(sample: Path, tmp_path: Path, content: str, message: str) -> None:
    capture = tmp_path / "capture"
    capture.write_text(content)
    code, _, stderr = doctor(sample, capture)
    assert code == 2 and message in stderr and "Traceback" not in stderr


def test_the_saved_auto_posting_page(sample: Path, tmp_path: Path) -> None:
    page = tmp_path / "post.html"
    page.write_text(
        "<!DOCTYPE html>\n<html><head><title>Working...</title></head><body onload=\"document.forms[0].submit()\">"
        f"<form method=\"post\" action=\"{ACS}\"><input type=\"hidden\" name=\"SAMLResponse\" value=\"{response(sample)}\" />"
        "<input type=\"hidden\" name=\"RelayState\" value=\"\" /><noscript><input type=\"submit\" value=\"Continue\" /></noscript></form></body></html>"
    )
    code, report, _ = doctor(sample, page)
    assert code == 0 and report is not None and report["valid"] is True
    assert report["notes"][0] == f"read from the SAMLResponse field of the HTML form that posts to {ACS}"


def test_raw_xml_is_still_read_as_xml(sample: Path, tmp_path: Path) -> None:
    xml = tmp_path / "response.xml"
    xml.write_bytes(base64.b64decode(response(sample)))
    code, report, _ = doctor(sample, xml)
    assert code == 0 and report is not None and report["notes"] == []


def test_login_reads_an_assertion_file_as_the_doctor_does(sample: Path, tmp_path: Path) -> None:
    capture = tmp_path / "signin.har"
    capture.write_text(har(post_form(ACS, response(sample))))
    assert _read_assertion(str(capture)) == response(sample)


# --- hostile captures: what someone sent must neither leak, crash, stall nor fill the memory -----------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://alice:S3cretPassw0rd@sp.example/saml", "https://sp.example/saml"),
        ("https://sp.example/acs;jsessionid=7F3A9C0DEADBEEF?q=1#f", "https://sp.example/acs"),
        ("https://bob:Pa55@SP.example:8443/a;x=1/b;y=2?q", "https://sp.example:8443/a"),
        ("https://u:p@[2001:db8::1]:444/acs", "https://[2001:db8::1]:444/acs"),
        ("https://sp.example:port/acs", "(no URL)"),
    ],
    ids=["userinfo", "jsessionid", "port-and-params", "ipv6", "bad-port"],
)
def test_the_note_shows_no_credentials_or_session_of_the_address(url: str, shown: str) -> None:
    captured = from_capture(har(post_params(url, "PHg+")).encode())
    assert captured is not None and captured.note == f"read from the HAR file: request 1 of 1, POST {shown}"
    page = f'<!DOCTYPE html><html><body><form method="post" action="{url}"><input name="SAMLResponse" value="PHg+"></form></body></html>'
    captured = from_capture(page.encode())
    assert captured is not None and captured.note == f"read from the SAMLResponse field of the HTML form that posts to {shown}"


def _deep_json() -> str:
    return '{"a":' + "[" * 200_000 + "]" * 200_000 + "}"


def _surrogate_param() -> str:
    return '{"log":{"entries":[{"request":{"method":"POST","url":"https://x/","postData":{"params":[{"name":"SAMLResponse","value":"\\ud800abc"}]}}}]}}'


def _surrogate_text() -> str:
    return '{"log":{"entries":[{"request":{"method":"POST","url":"https://x/","postData":{"text":"SAMLResponse=\\ud800abc"}}}]}}'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("<html><![&", "the HTML page has no form field named SAMLResponse"),
        ("<html><body><![if !IE]>x<![endif]></body></html>", "the HTML page has no form field named SAMLResponse"),
        (_deep_json(), "JSON nested deeper than any HAR file"),
        (_surrogate_param(), "a lone surrogate"),
        (_surrogate_text(), "a lone surrogate"),
    ],
    ids=["html-parser-assertion", "html-conditional-comment", "deep-json", "surrogate-param", "surrogate-text"],
)
def test_a_hostile_capture_is_one_line_and_exit_code_2(
    sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    capture = tmp_path / "capture"
    capture.write_text(content)
    code, _, stderr = doctor(sample, capture)
    assert code == 2 and stderr.startswith("samlfed: ") and stderr.count("\n") == 1
    assert message in stderr and "Traceback" not in stderr
    with pytest.raises(typer.Exit) as exited:  # samlfed login --assertion-file reads it as the doctor does
        _read_assertion(str(capture))
    assert exited.value.exit_code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("unit", [b"<!--", b"<a"], ids=["comments", "open-tags"])
def test_pathological_html_as_large_as_a_page_may_be_is_read(unit: bytes) -> None:
    # The stdlib's HTMLParser is quadratic on these: 17 s for 160 KB of "<!--", and no end in sight (over 165 s) at
    # this size, which is what this test would take. libxml2's parser reads them in linear time.
    content = b"<html>" + unit * ((MAX_PAGE_BYTES - 6) // len(unit))
    with pytest.raises(CaptureError, match="no form field named SAMLResponse"):
        from_capture(content)


class _Endless(io.RawIOBase):
    """/dev/zero as standard input, which fails the test instead of filling the memory when read to its end."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        buffer[:] = b"\0" * len(buffer)
        return len(buffer)

    def readall(self) -> bytes:
        raise AssertionError("standard input read to its end")

    def isatty(self) -> bool:
        return False


def test_endless_input_is_refused_at_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(_Endless())))
    data = read_source("-")
    assert len(data) == MAX_CAPTURE_BYTES + 1
    with pytest.raises(DoctorUsageError, match=f"over the limit of {MAX_CAPTURE_BYTES:,} bytes"):
        read_input(data)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (har(*[{}] * (MAX_HAR_CONTAINERS + 1)).encode(), f"more than {MAX_HAR_CONTAINERS:,} JSON objects and arrays"),
        (b"<!DOCTYPE html><html>" + b" " * MAX_PAGE_BYTES + b"</html>", f"HTML page is over the limit of {MAX_PAGE_BYTES:,} bytes"),
        (b"PHg+" * (MAX_POSTED_BYTES // 4 + 1), f"over the limit of {MAX_POSTED_BYTES:,} bytes"),
        (b"<x>" + b" " * MAX_POSTED_BYTES + b"</x>", f"over the limit of {MAX_POSTED_BYTES:,} bytes"),
    ],
    ids=["har-of-empty-entries", "html", "base64", "xml"],
)
def test_each_kind_of_input_has_its_cap(content: bytes, message: str) -> None:
    with pytest.raises(CaptureError, match=message):
        from_capture(content)


def test_a_tampered_response_holding_a_good_one_in_an_input_element_is_checked_itself(sample: Path, tmp_path: Path) -> None:
    # The root is a SAML Response: the document is the response to check, whatever elements it holds; read as an HTML
    # page, its embedded good response was checked instead, and the tampered document passed.
    tampered = base64.b64decode(response(sample, "tampered.b64"))
    decoy = f'<input xmlns="urn:x" name="SAMLResponse" value="{response(sample)}"/>'.encode()
    root_tag = re.search(rb"<samlp:Response[^>]*>", tampered)
    assert root_tag is not None
    document = tmp_path / "tampered-with-decoy.xml"
    document.write_bytes(tampered[: root_tag.end()] + decoy + tampered[root_tag.end() :])
    code, report, _ = doctor(sample, document)
    assert code == 1 and report is not None and report["valid"] is False
    assert not any("HTML form" in note for note in report["notes"])


@pytest.mark.parametrize(
    ("start", "html"),
    [
        (b"<!-- saved from url=(0014)about:internet -->\n<!DOCTYPE html>\n<HTML>", True),
        (b"<?xml version='1.0'?><html xmlns='http://www.w3.org/1999/xhtml'>", True),
        (b"<form action='https://sp.example/acs'>", True),
        (b"<?xml version='1.0'?>\n<!-- <html> --><samlp:Response xmlns:samlp='urn:oasis:names:tc:SAML:2.0:protocol'>", False),
        (b"<Response xmlns='urn:oasis:names:tc:SAML:2.0:protocol'>", False),
        (b"<!DOCTYPE html><samlp:Response>", False),
    ],
    ids=["ie-saved-page", "xhtml", "copied-form", "prefixed-response", "default-namespace-response", "doctype-then-response"],
)
def test_the_root_element_tells_a_page_from_a_response(start: bytes, html: bool) -> None:
    content = start + b'<input name="SAMLResponse" value="PHg+"/>'
    assert (from_capture(content) is not None) is html


def test_a_capture_of_endless_prolog_items_costs_no_more_memory_than_its_size() -> None:
    """64 MiB of `<??>` (or of comments) took the prolog scan to 2.9 GB: only a page's head is scanned now. Run under
    a 1 GiB address-space limit, where the whole-input scan ends in MemoryError."""
    program = (
        "import resource; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "from samlfed.doctor_capture import MAX_CAPTURE_BYTES, CaptureError, from_capture\n"
        "try:\n"
        "    from_capture(b'<??>' * (MAX_CAPTURE_BYTES // 4))\n"
        "except CaptureError as refused:\n"
        "    print(refused)\n"
    )
    ran = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert (ran.returncode, ran.stdout.strip()) == (0, f"a SAMLResponse (base64, XML or a form body) is over the limit of {MAX_POSTED_BYTES:,} bytes"), ran.stderr[-2000:]
