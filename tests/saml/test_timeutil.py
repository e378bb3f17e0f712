from datetime import UTC, datetime

import pytest

from samlfed.saml.timeutil import parse_xs_datetime

UTC = UTC


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-24T12:00:00Z", datetime(2026, 11, 24, 12, tzinfo=UTC)),
        ("2026-11-24T12:00:00+00:00", datetime(2026, 11, 24, 12, tzinfo=UTC)),
        ("2026-11-24T14:30:00+02:30", datetime(2026, 11, 24, 12, tzinfo=UTC)),
        ("2026-11-24T12:00:00.5Z", datetime(2026, 11, 24, 12, 0, 0, 500000, tzinfo=UTC)),
        ("2017-09-21T23:27:06.828Z", datetime(2017, 9, 21, 23, 27, 6, 828000, tzinfo=UTC)),
        ("2026-11-24T12:00:00.123456789Z", datetime(2026, 11, 24, 12, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_accepted(value: str, expected: datetime) -> None:
    parsed = parse_xs_datetime(value)
    assert parsed == expected and parsed.tzinfo == UTC


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-24T12:00:00",  # naive: refused
        "2026-11-24",
        "2026-11-24T12:00Z",
        "2026-11-24 12:00:00Z",
        "2017-02-30T00:00:00Z",
        "2026-11-24T24:00:00Z",
        "2026-11-24T12:00:00+25:00",
        "2026-11-24T12:00:00Z ",
        "٢٠٢٦-11-24T12:00:00Z",  # non-ASCII digits
        "2020-09-25T16=7:00:00+00:00",  # the malformed node-saml timestamp
        "",
    ],
)
def test_refused(value: str) -> None:
    with pytest.raises(ValueError):
        parse_xs_datetime(value)
