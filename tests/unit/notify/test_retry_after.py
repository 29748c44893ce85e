from datetime import UTC, datetime

import pytest

from tracker.notify.http import parse_retry_after

NOW = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        ("0", 0.0),
        (" 120 ", 120.0),
        ("Wed, 21 Oct 2015 07:29:30 GMT", 90.0),  # RFC 9110's example date, 90 s after NOW
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
    ],
)
def test_retry_after_is_read_as_seconds_or_as_an_http_date(value: str, seconds: float) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


def test_an_http_date_in_the_past_means_retry_now_not_a_negative_delay() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now=NOW) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5", "١٢", "Wed, 99 Foo 2015"])
def test_a_missing_or_invalid_retry_after_gives_none(value: str | None) -> None:
    assert parse_retry_after(value, now=NOW) is None
