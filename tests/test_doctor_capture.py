"""`samlfed doctor` on browser captures as they are: a HAR file of the sign-in, or the saved HTML page with the IdP's
auto-posting form. Runs the installed command on `samlfed sample`'s signed response, tampered copy and metadata."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from servers import SAMLFED

from samlfed.cli_login import _read_assertion

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
