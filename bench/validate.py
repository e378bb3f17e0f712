"""Full-pipeline SAML response validations per second on one core: samlfed vs signxml vs python3-saml.

All contenders get the same freshly signed ~6 KB AWS-style response (2 roles, 2 PrincipalTags, RoleSessionName,
SessionDuration; Assertion signed enveloped, RSA-2048/SHA-256, exc-c14n, KeyInfo included), base64 in, and
each must validate it once before it is timed. Method (peers-and-baselines.md §6): one process pinned to one
core, warm-up, then `--repeats` rounds in which every contender runs `--seconds` in turn; rates are medians, and
each ratio is the median of the ratios within a round (the machine's slow spells hit all contenders of a round).

    .venv/bin/python bench/validate.py [--seconds 1] [--repeats 9] [--json] [--profile]
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import json
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from samlfed.saml import ProviderTrust, SigningKey, ValidationSettings, validate
from samlfed.saml import constants as c
from samlfed.saml.signing import AssertionSpec, IdpSigner, encode_response, sign_response

sys.path.insert(0, str(Path(__file__).resolve().parent))
from floor_app import verify_floor  # noqa: E402

ACCOUNT = "123456789012"
PROVIDER = f"arn:aws:iam::{ACCOUNT}:saml-provider/CorpIdP"
ENTITY_ID = "https://idp.corp.example.com/adfs/services/trust"
ACS = "https://signin.aws.amazon.com/saml"
TARGETS = {"signxml": 2.0, "python3-saml": 5.0}


def build_document(signer: IdpSigner, now: datetime) -> bytes:
    spec = AssertionSpec(
        issuer=ENTITY_ID,
        name_id="CORP\\jane.doe",
        roles=[
            f"arn:aws:iam::{ACCOUNT}:role/Engineering-ReadWrite,{PROVIDER}",
            f"{PROVIDER},arn:aws:iam::{ACCOUNT}:role/Engineering-ReadOnly",
        ],
        role_session_name="jane.doe@corp.example.com",
        session_duration=28800,
        principal_tags={"department": "Engineering", "costcenter": "CC-4711"},
        attributes={"http://schemas.xmlsoap.org/claims/Group": ["Domain Users", "AWS-123456789012-Engineering-ReadWrite"]},
        issue_instant=now - timedelta(seconds=5),
    )
    return sign_response(spec, signer)


def samlfed_contender(b64: str, signer: IdpSigner, now: datetime) -> Callable[[], object]:
    trust = ProviderTrust(ENTITY_ID, (SigningKey.from_certificate(signer.certificate),))
    settings = ValidationSettings()
    result = validate(b64, trust, now=now, settings=settings)
    assert result.claims.role_session_name == "jane.doe@corp.example.com"
    return lambda: validate(b64, trust, now=now, settings=settings)


def signxml_contender(b64: str, signer: IdpSigner, now: datetime) -> Callable[[], object]:
    from signxml import SignatureConfiguration, XMLVerifier

    config = SignatureConfiguration(location="./{urn:oasis:names:tc:SAML:2.0:assertion}Assertion/", verification_time=now)
    cert = signer.certificate

    def run() -> object:
        xml = base64.b64decode(b64)
        return XMLVerifier().verify(xml, x509_cert=cert, expect_config=config)

    result = run()
    assert result.signed_xml is not None and result.signed_xml.tag == c.ASSERTION
    return run


def python3_saml_contender(b64: str, signer: IdpSigner, now: datetime) -> Callable[[], object]:
    from onelogin.saml2.response import OneLogin_Saml2_Response
    from onelogin.saml2.settings import OneLogin_Saml2_Settings

    cert_b64 = "".join(signer.cert_pem().decode().splitlines()[1:-1])
    settings = OneLogin_Saml2_Settings(
        {
            "strict": True,
            "sp": {
                "entityId": "urn:amazon:webservices",
                "assertionConsumerService": {"url": ACS, "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"},
            },
            "idp": {"entityId": ENTITY_ID, "singleSignOnService": {"url": "https://idp.corp.example.com/sso"}, "x509cert": cert_b64},
            "security": {"wantAssertionsSigned": True, "wantMessagesSigned": False, "rejectDeprecatedAlgorithm": True},
        },
        sp_validation_only=True,
    )
    request = {"https": "on", "http_host": "signin.aws.amazon.com", "script_name": "/saml", "server_port": "443"}

    def run() -> bool:
        response = OneLogin_Saml2_Response(settings, b64)
        ok = response.is_valid(request, raise_exceptions=False)
        if not ok:
            raise AssertionError(f"python3-saml rejected the document: {response.get_error()}")
        return ok

    run()
    return run


def floor_contender(b64: str, signer: IdpSigner, now: datetime) -> Callable[[], object]:
    """What no verifier can avoid: decode, one hardened parse, two exclusive c14n, SHA-256, RSA verify."""
    key = signer.certificate.public_key()
    run = lambda: verify_floor(b64, key)  # noqa: E731
    run()
    return run


def warm_up(run: Callable[[], object]) -> None:
    for _ in range(30):
        run()


def rate(run: Callable[[], object], seconds: float) -> float:
    """Operations per second over about `seconds`."""
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(20):
            run()
        count += 20
    return count / elapsed


def measure(runs: dict[str, Callable[[], object]], seconds: float, repeats: int) -> tuple[dict[str, float], dict[str, float]]:
    """Median rate per contender, and the median of per-round ratios samlfed / contender.

    The contenders take turns within each round, so a slow spell of this (shared, noisy) machine hits all of
    them alike; a ratio is computed only between figures of the same round.
    """
    for run in runs.values():
        warm_up(run)
    rounds: list[dict[str, float]] = []
    for _ in range(repeats):
        rounds.append({name: rate(run, seconds) for name, run in runs.items()})
    rates = {name: statistics.median(r[name] for r in rounds) for name in runs}
    ratios = {name: statistics.median(r["samlfed"] / r[name] for r in rounds) for name in runs if name != "samlfed"}
    return rates, ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--profile", action="store_true", help="profile samlfed for a few seconds instead")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    now = datetime.now(UTC)
    signer = IdpSigner.generate("bench IdP")
    xml = build_document(signer, now)
    b64 = encode_response(xml)
    if args.profile:
        run = samlfed_contender(b64, signer, now)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(3000):
            run()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        return 0

    contenders = {
        "samlfed": samlfed_contender,
        "signxml": signxml_contender,
        "python3-saml": python3_saml_contender,
        "floor": floor_contender,
    }
    runs = {name: build(b64, signer, now) for name, build in contenders.items()}
    rates, ratios = measure(runs, args.seconds, args.repeats)
    report = {
        "document": {"xml_bytes": len(xml), "base64_chars": len(b64)},
        "ops_per_second": {name: round(rate, 1) for name, rate in rates.items()},
        "us_per_op": {name: round(1e6 / rate, 1) for name, rate in rates.items()},
        "samlfed_over": {name: round(ratios[name], 2) for name in TARGETS},
        "targets_met": {name: ratios[name] >= target for name, target in TARGETS.items()},
        "samlfed_share_of_floor": round(ratios["floor"], 2),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"document: {len(xml):,} bytes of XML, {len(b64):,} characters of base64; one core, {args.repeats} interleaved rounds of {args.seconds:g} s each, medians")
    for name, rate in rates.items():
        print(f"  {name:13} {rate:9,.0f} validations/s  {1e6 / rate:8.1f} µs each")
    for name, target in TARGETS.items():
        verdict = "met" if ratios[name] >= target else "NOT met"
        print(f"  samlfed / {name:13} {ratios[name]:5.2f}x  (target ≥ {target:g}x: {verdict}; median of the rounds' ratios)")
    print(f"  samlfed runs at {ratios['floor']:.0%} of the floor's rate (floor = parse + c14n + hash + RSA, no checks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
