"""IAM policy evaluations per second on one core: samlfed's engine, with moto's IAM policy check as the named
baseline measured in the same run.

The policy is the issue's shape: 10 statements with conditions (tag equality, IP ranges, dates, Bool,
IfExists, ForAnyValue, a policy variable in a Resource, a NotAction deny). Requests rotate through 8 cases
(allowed, explicitly denied, implicitly denied). moto's `IAMPolicy` ignores Condition blocks, so it does less
work than samlfed and its decisions differ where conditions matter; it is a reference for speed, not for results.
A second table evaluates a 2,661-action policy shaped like AWS's ReadOnlyAccess (what an imported AWS managed
policy costs) against moto on the same document, and the first evaluation's time (its patterns compiled then).
Method as in validate.py: one process pinned to one core, warm-up, `--repeats` runs of `--seconds`, median.

    .venv/bin/python bench/policy.py [--seconds 2] [--repeats 5] [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import time
from collections.abc import Callable

from samlfed.policy import NamedPolicy, PolicySet, Request, authorize, evaluate, parse_policy

TARGET = 20_000
ACCOUNT = "123456789012"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "EngineeringData", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::data/engineering/*",
         "Condition": {"StringEquals": {"aws:PrincipalTag/department": "Engineering"}}},
        {"Sid": "OwnPrefix", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::home/${aws:PrincipalTag/username}/*"},
        {"Sid": "ListHome", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::home",
         "Condition": {"StringLike": {"s3:prefix": ["${aws:PrincipalTag/username}/*", ""]}}},
        {"Sid": "OfficeOnly", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*",
         "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "203.0.113.0/24"]}}},
        {"Sid": "TlsOnly", "Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "Until2030", "Effect": "Allow", "Action": ["ec2:Describe*", "cloudwatch:Get*"], "Resource": "*",
         "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}},
        {"Sid": "RegionPin", "Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*",
         "Condition": {"StringNotEqualsIfExists": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}}},
        {"Sid": "TaggedTeams", "Effect": "Allow", "Action": "dynamodb:*", "Resource": f"arn:aws:dynamodb:*:{ACCOUNT}:table/team-*",
         "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "project"]}}},
        {"Sid": "ReadIam", "Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"},
        {"Sid": "NoSecrets", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::data/secret/*"},
    ],
}
CONTEXT = {
    "aws:principaltag/department": ["Engineering"], "aws:principaltag/username": ["alice"], "aws:sourceip": ["10.1.2.3"],
    "aws:securetransport": ["true"], "aws:currenttime": ["2026-12-01T12:00:00Z"], "aws:requestedregion": ["eu-west-1"],
    "aws:principalarn": [f"arn:aws:iam::{ACCOUNT}:role/Developer"], "aws:principalaccount": [ACCOUNT],
}
REQUESTS = [
    ("s3:GetObject", "arn:aws:s3:::data/engineering/plan.txt", {}),
    ("s3:PutObject", "arn:aws:s3:::home/alice/notes.txt", {}),
    ("s3:ListBucket", "arn:aws:s3:::home", {"s3:prefix": ["alice/docs"]}),
    ("s3:DeleteObject", "arn:aws:s3:::home/alice/x", {"aws:sourceip": ["198.51.100.1"]}),
    ("s3:GetObject", "arn:aws:s3:::data/secret/keys", {}),
    ("ec2:DescribeInstances", "*", {"aws:requestedregion": ["ap-south-1"]}),
    ("dynamodb:GetItem", f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/team-a", {"aws:tagkeys": ["cost"]}),
    ("iam:ListRoles", f"arn:aws:iam::{ACCOUNT}:role/", {}),
]


# The shape of AWS's ReadOnlyAccess (2,661 actions, nearly all `service:Verb*` wildcards over ~300 services): what
# an imported AWS managed policy costs. Requests name a few services, as a session's calls do.
LARGE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
        f"svc{n:03d}:{verb}" for n in range(300) for verb in ("Describe*", "Get*", "List*", "BatchGet*", "Search*", "View*", "Query*", "Check*", "Read")
    ][:2661]}],
}
LARGE_REQUESTS = [(f"svc{n:03d}:{verb}", "*", {}) for n, verb in ((7, "GetThing"), (150, "ListThings"), (299, "PutThing"), (42, "DescribeIt"))]


def samlfed_evaluate(policy_json: dict = POLICY, cases: list = REQUESTS) -> Callable[[], object]:
    policy = parse_policy(json.dumps(policy_json), principal_required=False)
    requests = itertools.cycle([Request(a, {**CONTEXT, **extra}, resource=r) for a, r, extra in cases])
    return lambda: evaluate(policy, next(requests))


def first_evaluation_ms(policy_json: dict, cases: list) -> float:
    """The first evaluation of a freshly parsed policy (its patterns compiled then), in milliseconds."""
    policy = parse_policy(json.dumps(policy_json), principal_required=False)
    action, resource, extra = cases[0]
    started = time.perf_counter()
    evaluate(policy, Request(action, {**CONTEXT, **extra}, resource=resource))
    return (time.perf_counter() - started) * 1e3


def samlfed_role_session() -> Callable[[], object]:
    """The full role-session decision: identity policy ∩ boundary ∩ session policy."""
    document = parse_policy(json.dumps(POLICY), principal_required=False)
    broad = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}), principal_required=False)
    policies = PolicySet(identity=(NamedPolicy("p", "role", document),), boundary=NamedPolicy("b", "permissions-boundary", broad), session=(NamedPolicy("s", "session", broad),))
    requests = itertools.cycle([Request(a, {**CONTEXT, **extra}, resource=r) for a, r, extra in REQUESTS])
    return lambda: authorize(policies, next(requests))


def moto_baseline(policy_json: dict = POLICY, cases: list = REQUESTS) -> Callable[[], object] | None:
    try:
        from moto.iam.access_control import IAMPolicy
    except ImportError:
        return None
    policy = IAMPolicy(json.dumps(policy_json))
    requests = itertools.cycle([(a, r) for a, r, _ in cases])

    def run() -> object:
        action, resource = next(requests)
        return policy.is_action_permitted(action, resource)

    return run


def measure(run: Callable[[], object], seconds: float, repeats: int, *, batch: int = 100, warmup: int = 2000) -> float:
    for _ in range(warmup):  # caches and regexes
        run()
    rates = []
    for _ in range(repeats):
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            for _ in range(batch):
                run()
            count += batch
        rates.append(count / (time.perf_counter() - started))
    return statistics.median(rates)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    contenders: dict[str, Callable[[], object]] = {"samlfed evaluate (1 policy)": samlfed_evaluate(), "samlfed role session (3 layers)": samlfed_role_session()}
    baseline = moto_baseline()
    if baseline is not None:
        contenders["moto IAMPolicy (no conditions)"] = baseline
    rates = {name: measure(run, args.seconds, args.repeats) for name, run in contenders.items()}
    moto = rates.get("moto IAMPolicy (no conditions)")
    large = {"samlfed evaluate": samlfed_evaluate(LARGE_POLICY, LARGE_REQUESTS)}
    large_baseline = moto_baseline(LARGE_POLICY, LARGE_REQUESTS)
    if large_baseline is not None:
        large["moto IAMPolicy"] = large_baseline
    large_rates = {name: measure(run, args.seconds, args.repeats, batch=1, warmup=10) for name, run in large.items()}  # moto: ms each
    first_ms = first_evaluation_ms(LARGE_POLICY, LARGE_REQUESTS)
    if args.json:
        print(json.dumps({"rates": rates, "target": TARGET, "large_policy_rates": large_rates, "large_policy_first_evaluation_ms": first_ms}))
        return 0
    print(f"IAM policy evaluations per second, one core ({len(POLICY['Statement'])}-statement policy with conditions, 8 rotating requests)")
    for name, rate in rates.items():
        ratio = f"  {rate / moto:5.2f}x moto" if moto else ""
        print(f"  {name:34} {rate:10,.0f}/s  {1e6 / rate:7.1f} µs{ratio}")
    met = rates["samlfed evaluate (1 policy)"] >= TARGET
    print(f"target {TARGET:,}/s for one policy: {'met' if met else 'NOT met'}")
    actions = len(LARGE_POLICY["Statement"][0]["Action"])  # type: ignore[index]
    print(f"A {actions:,}-action policy shaped like AWS's ReadOnlyAccess (4 rotating requests); first evaluation {first_ms:.1f} ms")
    large_moto = large_rates.get("moto IAMPolicy")
    for name, rate in large_rates.items():
        ratio = f"  {rate / large_moto:5.2f}x moto" if large_moto else ""
        print(f"  {name:34} {rate:10,.0f}/s  {1e6 / rate:7.1f} µs{ratio}")
    if moto is None:
        print("(moto not installed: `make bench` installs it for the baseline)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
