"""Planning through the service on a real database: idempotence, cancellation, missed reminders."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.integration.test_dispatch import add_agreement, agreement_yaml, make_settings
from tests.support.polling import wait_for_ticks
from tests.support.receiver import Receiver
from tracker.logs import render
from tracker.service import Service
from tracker.store import reminders as outbox
from tracker.store.engine import make_engine
from tracker.store.repository import list_agreements

GSOMIA = """\
version: 1
id: kr-jp-gsomia
title: Korea–Japan GSOMIA
parties: [KR, JP]
timezone: Asia/Seoul
rules:
  - {kind: auto_renewal, first_expiry: 2017-11-22, renewal_term: 1 year, notice: 90 days}
reminders: [30 days, 7 days]
"""
GSOMIA_NOTICE = GSOMIA + "events:\n  - {date: 2019-08-23, type: notice_given, party: KR}\n"


def gsomia_settings(db_url: str) -> Any:
    return make_settings(
        db_url,
        "http://127.0.0.1:9/hook",
        default_channels=["log"],
        planning_horizon="600 days",
        timezone="Asia/Seoul",
    )


def test_planning_twice_creates_nothing_new(db_url: str, engine: Engine) -> None:
    now = datetime(2019, 6, 1, tzinfo=UTC)
    add_agreement(engine, GSOMIA, now=now)
    service = Service(gsomia_settings(db_url), engine=engine)
    first = service.replan(now=now)
    second = service.replan(now=now)
    assert first.inserted > 0
    assert (second.inserted, second.changed) == (0, 0)
    assert second.unchanged == first.inserted
    assert len(outbox.list_reminders(engine)) == first.inserted


def test_a_timely_notice_cancels_the_future_renewal_reminders(db_url: str, engine: Engine) -> None:
    planned_at = datetime(2019, 6, 1, tzinfo=UTC)
    add_agreement(engine, GSOMIA, now=planned_at)
    service = Service(gsomia_settings(db_url), engine=engine)
    service.replan(now=planned_at)
    before = {(r.deadline_kind, r.deadline_date.isoformat()) for r in outbox.list_reminders(engine)}
    assert ("notice_deadline", "2020-08-24") in before

    # Korea gives notice on 23 August 2019, one day before the deadline (Art. 21(3)).
    noticed_at = datetime(2019, 8, 23, 3, 0, tzinfo=UTC)
    add_agreement(engine, GSOMIA_NOTICE, now=noticed_at)
    report = service.replan(now=noticed_at)

    rows = outbox.list_reminders(engine)
    cancelled = {
        (r.deadline_kind, r.deadline_date.isoformat()) for r in rows if r.status == "cancelled"
    }
    assert ("notice_deadline", "2020-08-24") in cancelled
    assert ("expiry", "2020-11-22") not in {
        (r.deadline_kind, r.deadline_date.isoformat()) for r in rows if r.status == "pending"
    }
    assert all(
        r.reason and r.reason.startswith("deadline_gone") for r in rows if r.status == "cancelled"
    )
    assert report.by_reason["deadline_gone"] == len([r for r in rows if r.status == "cancelled"])
    # The agreement now ends on 22 November 2019: that termination gets reminders.
    assert any(
        r.deadline_kind == "termination"
        and r.deadline_date.isoformat() == "2019-11-22"
        and r.status == "pending"
        for r in rows
    )


def test_a_reminder_missed_during_downtime_is_sent_once_on_start_and_older_ones_skipped(
    db_url: str, engine: Engine
) -> None:
    now = datetime.now(UTC)
    with Receiver() as receiver:
        settings = make_settings(
            db_url,
            receiver.url,
            tick_seconds=0.2,
            reminders=["30 days", "10 days", "2 days", "1 day"],
        )
        add_agreement(
            engine,
            agreement_yaml("pact", now.date() + timedelta(days=3)),
            now=now - timedelta(days=40),
        )
        # The service last ran (and planned) 40 days ago, before any reminder was due.
        Service(settings, engine=engine).replan(now=now - timedelta(days=40))
        service = Service(settings, engine=engine)
        service.start()
        try:
            (request,) = receiver.wait_for(1)
            wait_for_ticks(service, 3)  # its chance to send again: nothing else may arrive
            assert receiver.count == 1
            health = service.health()
        finally:
            service.stop()

    by_offset = {r.offset: r for r in outbox.list_reminders(engine)}
    assert by_offset["10 days"].status == "sent"
    assert by_offset["10 days"].webhook_id == request.headers["webhook-id"]
    assert by_offset["30 days"].status == "skipped"
    assert (by_offset["30 days"].reason or "").startswith("missed_superseded")
    assert (by_offset["2 days"].status, by_offset["1 day"].status) == ("pending", "pending")
    assert (health.status, health.scheduler, health.database) == ("ok", True, True)
    assert health.last_tick_at is not None and health.last_plan_at is not None


def test_an_invalid_agreements_folder_keeps_the_previous_agreements_and_the_service_starts(
    db_url: str, engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "agreements"
    folder.mkdir()
    (folder / "pact.yaml").write_text(
        agreement_yaml("pact", datetime.now(UTC).date() + timedelta(days=50))
    )
    settings = make_settings(
        db_url, "http://127.0.0.1:9/hook", agreements_dir=str(folder), default_channels=["log"]
    )
    first = Service(settings, engine=engine)
    first.start()
    first.stop()
    (folder / "broken.yaml").write_text("version: 1\nid: broken\nrules: nope\n")
    second = Service(settings, engine=engine)
    with caplog.at_level(logging.ERROR):
        second.start()
    try:
        assert second.health().scheduler is True
        assert [a.id for a in list_agreements(engine)] == ["pact"]
        assert any(
            "agreements.invalid" in render(r) and "broken.yaml" in render(r) for r in caplog.records
        )
    finally:
        second.stop()


def test_an_agreement_imported_by_another_process_is_planned_within_seconds(
    db_url: str, engine: Engine
) -> None:
    now = datetime.now(UTC)
    with Receiver() as receiver:
        settings = make_settings(db_url, receiver.url, tick_seconds=0.2)
        service = Service(settings, engine=engine)
        service.start()
        try:
            # As `tracker import` would, through its own engine, while the service runs.
            other = make_engine(db_url)
            add_agreement(other, agreement_yaml("late", now.date() + timedelta(days=5)), now=now)
            other.dispose()
            (request,) = receiver.wait_for(1, timeout=15)
        finally:
            service.stop()
    (row,) = outbox.list_reminders(engine)
    assert (row.agreement_id, row.status) == ("late", "sent")
    assert row.webhook_id == request.headers["webhook-id"]


def test_simulate_prints_what_would_be_sent_and_writes_nothing(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    seeds = Path(__file__).resolve().parents[2] / "seeds" / "kr-jp-gsomia.yaml"
    env = {**os.environ, "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}"}
    env.pop("TRACKER_CONFIG", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tracker",
            "simulate",
            "--from",
            "2020-08-01",
            "--to",
            "2020-08-31",
            "--agreements",
            str(seeds),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    planned = [
        (r["day"], r["deadline_kind"], r["deadline_date"], r["offset"])
        for r in json.loads(result.stdout)
    ]
    # GSOMIA Art. 21(3): the 24 August 2020 notice deadline, reminded 7 days and 1 day before
    # (the 90- and 30-day reminders fell before August); the 90-day reminder of the 22
    # November expiry falls on 24 August.
    assert planned == [
        ("2020-08-17", "notice_deadline", "2020-08-24", "7 days"),
        ("2020-08-23", "notice_deadline", "2020-08-24", "1 day"),
        ("2020-08-24", "expiry", "2020-11-22", "90 days"),
    ]
    assert not (tmp_path / "never.db").exists()
