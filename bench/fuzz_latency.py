"""Worst-case latency of `validate` on hostile inputs: every input must be answered within 50 ms.

Feeds a bounded set of inputs at or near the 100,000-character cap, in the shapes that make XML processors
slow (many elements, attributes, namespaces, IDs, signatures, comments, deep nesting, long text, a validly
signed response padded with attributes), plus random mutations of a genuine response. Prints max and p99 per
shape and exits 1 if any input took longer than the bound.

    .venv/bin/python bench/fuzz_latency.py [--rounds 5] [--mutations 2000] [--seconds 60]
"""

from __future__ import annotations

import argparse
import base64
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from saml_factory import NOW, response_b64, trust  # noqa: E402

from samlfed.saml import MAX_INPUT_CHARS, SamlValidationError, validate  # noqa: E402

BOUND_MS = 50.0
RAW_LIMIT = MAX_INPUT_CHARS * 3 // 4 - 200  # XML bytes whose base64 stays under the cap
HEAD = (
    b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
    b'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" '
    b'ID="_r" Version="2.0">'
)
TAIL = b"</samlp:Response>"


def fill(unit: bytes, head: bytes = HEAD, tail: bytes = TAIL) -> bytes:
    count = (RAW_LIMIT - len(head) - len(tail)) // len(unit)
    return head + unit * count + tail


def shapes() -> dict[str, bytes]:
    deep = b"<a>" * 250 + b"</a>" * 250
    return {
        "many elements": fill(b"<saml:Issuer>x</saml:Issuer>"),
        "many attributes": HEAD[:-1] + b"".join(b' a%d="x"' % i for i in range(6000)) + b">" + TAIL,
        "many namespaces": HEAD[:-1] + b"".join(b' xmlns:p%d="urn:x:%d"' % (i, i) for i in range(3000)) + b">" + TAIL,
        "many IDs": fill(b'<x ID="_a"/>'),
        "many signatures": fill(b"<ds:Signature><ds:SignedInfo/></ds:Signature>"),
        "many assertions": fill(b'<saml:Assertion ID="_a"/>'),
        "many comments": fill(b"<!--xxxxxxxx-->"),
        "deep nesting": HEAD + deep + TAIL,
        "too deep nesting": HEAD + b"<a>" * 300 + b"</a>" * 300 + TAIL,
        "long text": HEAD + b"<saml:Issuer>" + b"x" * (RAW_LIMIT - 200) + b"</saml:Issuer>" + TAIL,
        "entity-like text": fill(b"&amp;&lt;&gt;"),
        "text of '!' and '?'": HEAD + b"<saml:Issuer>" + b"!?" * ((RAW_LIMIT - 200) // 2) + b"</saml:Issuer>" + TAIL,  # the bytes the pre-scans look for
    }


def padded_signed_response() -> str:
    """A validly signed response whose attributes take it close to the cap: the full pipeline runs."""
    attributes = {f"urn:example:attribute:{i}": [f"value-{i}" * 4] for i in range(300)}
    return response_b64(attributes=attributes)


def timed(b64: str | bytes) -> float:
    start = time.perf_counter()
    try:
        validate(b64, trust(), now=NOW)
    except SamlValidationError:
        pass
    return (time.perf_counter() - start) * 1000


def mutations(genuine: str, count: int, rng: random.Random) -> Iterator[bytes]:
    xml = bytearray(base64.b64decode(genuine))
    for _ in range(count):
        copy = bytearray(xml)
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(len(copy))
            if rng.random() < 0.5:
                copy[position] = rng.randrange(256)
            else:
                copy[position:position] = copy[rng.randrange(len(copy)) :][: rng.randint(1, 400)]
        yield base64.b64encode(bytes(copy)[:RAW_LIMIT])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mutations", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60.0, help="stop after this long, whatever is left")
    args = parser.parse_args()
    deadline = time.monotonic() + args.seconds
    rng = random.Random(20261124)

    cases: dict[str, Callable[[], list[str | bytes]]] = {
        name: (lambda xml=xml: [base64.b64encode(xml)]) for name, xml in shapes().items()
    }
    padded = padded_signed_response()
    cases["signed response near the cap"] = lambda: [padded]
    genuine = response_b64(sign="both")
    samples: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for name, make in cases.items():
            for b64 in make():
                assert len(b64) <= MAX_INPUT_CHARS, (name, len(b64))
                samples.setdefault(name, []).append(timed(b64))
    for b64 in mutations(genuine, args.mutations, rng):
        if time.monotonic() > deadline:
            break
        samples.setdefault("random mutations", []).append(timed(b64))

    worst = 0.0
    print(f"{'shape':32} {'inputs':>7} {'p99 ms':>8} {'max ms':>8}")
    for name, times in samples.items():
        p99 = statistics.quantiles(times, n=100, method="inclusive")[98] if len(times) >= 2 else times[0]
        worst = max(worst, max(times))
        flag = "  OVER" if max(times) > BOUND_MS else ""
        print(f"{name:32} {len(times):7} {p99:8.2f} {max(times):8.2f}{flag}")
    total = sum(len(t) for t in samples.values())
    print(f"{total} inputs, worst {worst:.2f} ms (bound {BOUND_MS:g} ms): {'ok' if worst <= BOUND_MS else 'EXCEEDED'}")
    print(f"measured {datetime.now(UTC):%Y-%m-%d %H:%M}Z")
    return 0 if worst <= BOUND_MS else 1


if __name__ == "__main__":
    sys.exit(main())
