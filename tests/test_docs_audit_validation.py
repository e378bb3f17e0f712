"""docs/validation.md's table of checks says what the pipeline runs, in its order, and the STS error of each."""

from __future__ import annotations

import re
from pathlib import Path

from samlfed.saml import CHECK_ORDER
from samlfed.saml.checks import CHECKS

TEXT = (Path(__file__).resolve().parents[1] / "docs" / "validation.md").read_text()
ROW = re.compile(r"^\| `([a-z0-9_.]+)` \| (.+?) \| (.+?) \|$", re.M)
ERROR = re.compile(r"`(\w+)` \((\d{3})\) (.+)")


def test_the_table_lists_every_check_in_order_with_its_requirement() -> None:
    rows = ROW.findall(TEXT)
    assert [check_id for check_id, _, _ in rows] == list(CHECK_ORDER)
    for check_id, requirement, _ in rows:
        assert requirement.startswith(CHECKS[check_id].title) or check_id == "signature.certificate", check_id


def test_the_table_gives_each_failing_checks_sts_error() -> None:
    for check_id, _, error in ROW.findall(TEXT):
        aws = CHECKS[check_id].aws
        documented = ERROR.fullmatch(error)
        if check_id == "signature.certificate":  # only ever a warning (tests/saml/test_checks.py)
            assert documented is None and "never fails" in error
            continue
        assert documented is not None and documented.groups() == (aws.code, str(aws.status), aws.message), check_id

