"""SigV4a (AWS4-ECDSA-P256-SHA256), which STS's model offers beside SigV4: requests signed by botocore with awscrt,
in both forms, verified by samlfed's own derivation of the credential's ECDSA key."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.crt.auth import CrtSigV4AsymAuth, CrtSigV4AsymQueryAuth

from samlfed.api.sigv4 import GLOBAL_REGION, SIGNATURE_MISMATCH, HttpRequest, check_scope, parse_claim, verify
from samlfed.errors import ServiceError

KEY, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
BODY = b"Action=GetCallerIdentity&Version=2011-06-15"


def crt_signed(region_set: str = "us-east-1", *, presign: bool = False, token: str | None = None, service: str = "sts") -> HttpRequest:
    if presign:
        request = AWSRequest(method="GET", url=f"http://127.0.0.1:8080/?{BODY.decode()}")
        CrtSigV4AsymQueryAuth(Credentials(KEY, SECRET, token), service, region_set).add_auth(request)
    else:
        request = AWSRequest(method="POST", url="http://127.0.0.1:8080/", data=BODY,
                             headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        CrtSigV4AsymAuth(Credentials(KEY, SECRET, token), service, region_set).add_auth(request)
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    headers = {k.lower(): v for k, v in prepared.headers.items()}
    headers.setdefault("host", parts.netloc)
    return HttpRequest(prepared.method, parts.path or "/", parts.query, headers, prepared.body or b"")


def verified(request: HttpRequest, secret: str = SECRET):  # noqa: ANN201
    claim = parse_claim(request)
    assert claim is not None
    verify(request, claim, secret, claim.amz_date + timedelta(seconds=1))
    return claim


def refusal(request: HttpRequest, secret: str = SECRET) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        verified(request, secret)
    return info.value


@pytest.mark.parametrize("presign", [False, True], ids=["header", "presigned"])
@pytest.mark.parametrize(("region_set", "region"), [
    ("us-east-1", "us-east-1"), ("eu-west-1", "eu-west-1"), ("*", GLOBAL_REGION), ("us-east-1,eu-west-1", GLOBAL_REGION),
])
def test_an_awscrt_signature_verifies(presign: bool, region_set: str, region: str) -> None:
    claim = verified(crt_signed(region_set, presign=presign, token="FwoGZXIvYXdzEXAMPLE"))
    assert (claim.access_key_id, claim.service, claim.region, ",".join(claim.region_set)) == (KEY, "sts", region, region_set)
    assert claim.session_token == "FwoGZXIvYXdzEXAMPLE"


@pytest.mark.parametrize("presign", [False, True], ids=["header", "presigned"])
def test_another_secret_does_not_verify(presign: bool) -> None:
    error = refusal(crt_signed(presign=presign), secret="x" * 40)
    assert (error.code, error.message, error.status) == ("SignatureDoesNotMatch", SIGNATURE_MISMATCH, 403)


def test_the_region_set_is_signed() -> None:
    """Widening where a signature counts ('*' for one region) breaks it: X-Amz-Region-Set is a signed header."""
    request = crt_signed("eu-west-1")
    widened = HttpRequest(request.method, request.path, request.query_string, {**request.headers, "x-amz-region-set": "*"}, request.body)
    assert refusal(widened).code == "SignatureDoesNotMatch"
    presigned = crt_signed("eu-west-1", presign=True)
    assert "X-Amz-Region-Set=eu-west-1" in presigned.query_string
    query = presigned.query_string.replace("X-Amz-Region-Set=eu-west-1", "X-Amz-Region-Set=%2A")
    assert refusal(HttpRequest("GET", "/", query, presigned.headers, b"")).code == "SignatureDoesNotMatch"


def test_a_region_set_that_is_not_signed_or_not_a_list_of_regions_is_incomplete() -> None:
    request = crt_signed()
    authorization = request.headers["authorization"].replace(";x-amz-region-set", "")
    unsigned = HttpRequest(request.method, request.path, "", {**request.headers, "authorization": authorization}, request.body)
    with pytest.raises(ServiceError) as info:
        parse_claim(unsigned)
    assert (info.value.code, info.value.message) == ("IncompleteSignature", "'X-Amz-Region-Set' must be a 'SignedHeader' in the AWS Authorization.")
    for value in ("", "us-east-1,", "us east", ",".join(["r"] * 33)):
        garbled = HttpRequest(request.method, request.path, "", {**request.headers, "x-amz-region-set": value}, request.body)
        with pytest.raises(ServiceError) as info:
            parse_claim(garbled)
        assert info.value.code == "IncompleteSignature" and "X-Amz-Region-Set must name from 1 to 32 regions" in info.value.message


def test_a_sigv4_scope_is_not_a_sigv4a_one() -> None:
    """Each algorithm reads its own credential scope: SigV4a's names no region."""
    request = crt_signed()
    authorization = request.headers["authorization"].replace("/sts/aws4_request", "/us-east-1/sts/aws4_request")
    with pytest.raises(ServiceError) as info:
        parse_claim(HttpRequest(request.method, request.path, "", {**request.headers, "authorization": authorization}, request.body))
    assert info.value.code == "IncompleteSignature" and "Credential should be scoped to a valid service" in info.value.message


@pytest.mark.parametrize(("region_set", "region", "covered"), [
    ("us-east-1", "us-east-1", True), ("us-east-1", "eu-west-1", False), ("*", "eu-west-1", True),
    ("us-*", "us-west-2", True), ("us-*", "eu-west-1", False), ("eu-west-1,us-east-1", "us-east-1", True),
])
def test_a_region_set_covers_the_regions_it_names(region_set: str, region: str, covered: bool) -> None:
    """The authorization API names the region its service answers as: the set must cover it."""
    claim = parse_claim(crt_signed(region_set, service="s3"))
    if covered:
        check_scope(claim, "s3", region)
    else:
        with pytest.raises(ServiceError) as info:
            check_scope(claim, "s3", region)
        assert (info.value.code, info.value.message) == ("SignatureDoesNotMatch", f"Credential should be scoped to a valid region, not '{region_set}'. ")


def test_a_region_set_pattern_is_matched_without_backtracking() -> None:
    """A regex of '.*'s for each '*' backtracked for minutes on this pattern, holding the GIL; the policy engine's
    matcher does not. Checked in a child process, whose timeout is a hang detector: the check takes microseconds."""
    check = (
        "from samlfed.api.sigv4 import SignatureClaim, check_scope\n"
        "from samlfed.errors import ServiceError\n"
        "from datetime import datetime, UTC\n"
        "claim = SignatureClaim('AKIAIOSFODNN7EXAMPLE', '20261205', 'us-east-1', 's3', ('host',), '00', datetime.now(UTC), None, None,"
        " 'AWS4-ECDSA-P256-SHA256', ('*a' * 30 + '*c',))\n"
        "try:\n    check_scope(claim, 's3', 'a' * 63)\nexcept ServiceError as error:\n    print(error.code)\n"
    )
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "SignatureDoesNotMatch"
