"""An IPv4 client of a dual-stack listener shows as an IPv4-mapped IPv6 address (::ffff:203.0.113.5). AWS sees the
IPv4 address, so IpAddress and NotIpAddress treat the mapped form as that address: a Deny on an IPv4 range must not be
escaped by connecting through a dual-stack socket."""

from __future__ import annotations

import json

import pytest

from samlfed.policy import Request, evaluate, parse_policy


def policy(*statements: dict) -> object:
    return parse_policy(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, *statements]}), principal_required=False)


def decision(document: object, source_ip: str) -> str:
    return evaluate(document, Request("s3:GetObject", {"aws:sourceip": [source_ip]}, resource="arn:aws:s3:::b/k")).decision  # type: ignore[arg-type]


@pytest.mark.parametrize("source_ip", ["203.0.113.5", "::ffff:203.0.113.5", "::FFFF:cb00:7105"])
def test_a_deny_on_an_ipv4_range_covers_its_mapped_addresses(source_ip: str) -> None:
    denied = policy({"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}})
    assert decision(denied, source_ip) == "explicitDeny"


@pytest.mark.parametrize(("source_ip", "expected"), [("10.1.2.3", "allowed"), ("::ffff:10.1.2.3", "allowed"), ("::ffff:192.0.2.1", "explicitDeny"),
                                                     ("2001:db8::1", "explicitDeny")])
def test_a_deny_outside_an_ipv4_range_spares_its_mapped_addresses(source_ip: str, expected: str) -> None:
    fenced = policy({"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}})
    assert decision(fenced, source_ip) == expected


def test_an_ipv6_range_written_as_mapped_addresses_still_matches_them() -> None:
    denied = policy({"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "::ffff:203.0.113.0/120"}}})
    assert decision(denied, "::ffff:203.0.113.5") == "explicitDeny"
    assert decision(denied, "198.51.100.1") == "allowed"
