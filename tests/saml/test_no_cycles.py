"""A validation leaves no reference cycles behind.

Everything a validation builds (two lxml trees, the report, the verified response) must be freed by reference
counting the moment the caller lets go of it. A cycle (say, a report message closing over the object that holds
the report) keeps the trees alive until the garbage collector runs, and its collections then cost every request
of the server: one such closure made the benchmark 10 % slower.
"""

from __future__ import annotations

import gc

from saml_factory import NOW, response_b64, trust

from samlfed.saml import validate


def test_a_valid_response_is_freed_without_the_garbage_collector() -> None:
    b64, keys = response_b64(), trust()
    validate(b64, keys, now=NOW)  # warm up: caches fill once
    gc.collect()
    gc.disable()
    try:
        for _ in range(20):
            verified = validate(b64, keys, now=NOW)
            assert verified.checks  # the report's messages are rendered too
            del verified
        assert gc.collect() == 0
    finally:
        gc.enable()
