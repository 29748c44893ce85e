import asyncio
import logging
from datetime import UTC, datetime

import pytest

from tests.unit.notify.samples import gsomia_notification
from tracker.notify.log import LogNotifier

SENT_AT = datetime(2020, 8, 7, 0, 0, 5, tzinfo=UTC)


def test_log_channel_writes_one_line_with_agreement_kind_date_days_and_offset(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="tracker.reminders"):
        delivery = asyncio.run(LogNotifier("log").send(gsomia_notification(), now=SENT_AT))
    [record] = [r for r in caplog.records if r.name == "tracker.reminders"]
    assert record.getMessage() == (
        "reminder: kr-jp-gsomia: Last day to give notice: GSOMIA (expiry 2020-11-22) on "
        "2020-08-24 (in 17 days), offset 17 days"
    )
    assert delivery.detail == "logged"
