"""/calendar.ics: a feed that calendar libraries and a real client (khal) read."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from datetime import date, time, timedelta
from pathlib import Path

import icalendar
import pytest
import recurring_ical_events
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.api.conftest import AUTH, GSOMIA_JSON
from tests.support.agreements import BROKEN_ID, store_like_an_older_version
from tracker.app.calendar import feed_tag
from tracker.app.deadlines import resolve_window
from tracker.settings import Settings

URL = "/calendar.ics"
GSOMIA_UID = "kr-jp-gsomia.notice_deadline.2026-08-24.all@treaty-tracker"


def test_the_feed_is_text_calendar_with_an_etag(client: TestClient) -> None:
    response = client.get(URL)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["etag"].startswith('"') and len(response.headers["etag"]) == 34
    assert response.content.startswith(b"BEGIN:VCALENDAR\r\n")


def test_two_requests_give_identical_bytes_and_a_matching_etag_gets_304(client: TestClient) -> None:
    first, second = client.get(URL), client.get(URL)
    assert first.content == second.content
    assert first.headers["etag"] == second.headers["etag"]
    cached = client.get(URL, headers={"If-None-Match": first.headers["etag"]})
    assert cached.status_code == 304
    assert cached.content == b""


def test_a_matching_etag_is_answered_without_building_the_feed(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    etag = client.get(URL, params={"tag": "korea"}).headers["etag"]

    def no_building(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("the feed was built")

    monkeypatch.setattr("tracker.api.routers.calendar.build_calendar", no_building)
    cached = client.get(URL, params={"tag": "korea"}, headers={"If-None-Match": f'"x", {etag}'})
    assert (cached.status_code, cached.headers["etag"], cached.content) == (304, etag, b"")


def test_a_write_by_another_process_is_sent_under_the_new_etag_at_once(
    client: TestClient, engine: Engine
) -> None:
    # This process's answer memo is not cleared by another process's write; the feed sent
    # under the new data's tag must still hold the new data, or a client would keep the old
    # feed, answered 304, until the next change.
    first = client.get(URL)
    store_like_an_older_version(engine)  # a write this process does not see happen

    second = client.get(URL, headers={"If-None-Match": first.headers["etag"]})

    assert second.status_code == 200
    assert second.headers["etag"] != first.headers["etag"]
    assert second.headers["x-agreements-failed"] == BROKEN_ID
    assert f"X-TRACKER-ERROR:{BROKEN_ID}: ".encode() in second.content
    assert client.get(URL, headers={"If-None-Match": second.headers["etag"]}).status_code == 304


def test_the_etag_names_the_filters_the_day_and_the_alarm_settings(
    app: FastAPI, settings: Settings
) -> None:
    context = app.state.context
    window = resolve_window(as_of=date(2026, 8, 7), start=None, end=None, within=None)
    later = resolve_window(as_of=date(2026, 8, 8), start=None, end=None, within=None)
    other = replace(context, settings=settings.model_copy(update={"send_time": time(8, 0)}))
    tags = [
        feed_tag(context, window, (), (), ()),
        feed_tag(context, window, (), (), ("korea",)),
        feed_tag(context, window, (), ("expiry",), ()),
        feed_tag(context, window, ("kr-jp-gsomia",), (), ()),
        feed_tag(context, later, (), (), ()),
        feed_tag(other, window, (), (), ()),
    ]
    assert None not in tags and len(set(tags)) == len(tags)
    assert feed_tag(context, window, (), (), ()) == tags[0]  # reading changes nothing


def test_the_feed_changes_when_an_agreement_is_added(client: TestClient) -> None:
    before = client.get(URL)
    assert client.post("/api/v1/agreements", json=GSOMIA_JSON, headers=AUTH).status_code == 201
    after = client.get(URL, headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    assert b"api-pact.notice_deadline.2026-08-24.all@treaty-tracker" in after.content


def test_the_feed_parses_with_icalendar_and_carries_the_explanation(client: TestClient) -> None:
    calendar = icalendar.Calendar.from_ical(client.get(URL).content)
    events = {str(e["uid"]): e for e in calendar.walk("VEVENT")}
    gsomia = events[GSOMIA_UID]
    assert gsomia.decoded("dtstart") == date(2026, 8, 24)
    assert gsomia.decoded("dtend") == date(2026, 8, 25)
    assert "2026-11-22" in str(gsomia["description"])
    assert "Source: Art. 21(3)" in str(gsomia["description"])
    assert str(calendar["refresh-interval"].to_ical(), "ascii") == "PT6H"


def test_recurring_ical_events_finds_the_deadlines_between_two_dates(client: TestClient) -> None:
    calendar = icalendar.Calendar.from_ical(client.get(URL, params={"tag": "korea"}).content)
    found = recurring_ical_events.of(calendar).between(date(2026, 8, 1), date(2026, 12, 1))
    assert sorted((e.decoded("dtstart"), str(e["categories"].cats[0])) for e in found) == [
        (date(2026, 8, 24), "notice_deadline"),
        (date(2026, 11, 22), "expiry"),
    ]


def test_the_feed_filters_by_agreement_and_kind(client: TestClient) -> None:
    calendar = icalendar.Calendar.from_ical(
        client.get(URL, params={"agreement": "kr-jp-gsomia", "kind": "notice_deadline"}).content
    )
    assert [str(e["uid"]) for e in calendar.walk("VEVENT")] == [GSOMIA_UID]
    assert str(calendar["x-wr-calname"]) == "Treaty deadlines (kr-jp-gsomia)"


def test_khal_lists_the_gsomia_deadline_from_the_feed(client: TestClient, tmp_path: Path) -> None:
    """khal reads a vdir (one .ics file per event), as it would after syncing a subscription."""
    calendar = icalendar.Calendar.from_ical(client.get(URL, params={"tag": "korea"}).content)
    vdir = tmp_path / "vdir" / "deadlines"
    vdir.mkdir(parents=True)
    for event in calendar.walk("VEVENT"):
        single = icalendar.Calendar()
        single.add("prodid", str(calendar["prodid"]))
        single.add("version", "2.0")
        single.add_component(event)
        name = str(event["uid"]).replace("@", "_")
        (vdir / f"{name}.ics").write_bytes(single.to_ical())
    config = tmp_path / "khal.conf"
    config.write_text(
        f"""[calendars]
[[deadlines]]
path = {vdir}
type = calendar
[locale]
local_timezone = UTC
default_timezone = UTC
timeformat = %H:%M
dateformat = %Y-%m-%d
longdateformat = %Y-%m-%d
datetimeformat = %Y-%m-%d %H:%M
longdatetimeformat = %Y-%m-%d %H:%M
[default]
default_calendar = deadlines
[sqlite]
path = {tmp_path / "khal.db"}
""",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        "TZ": "UTC",
    }
    khal = Path(sys.executable).with_name("khal")
    result = subprocess.run(
        [
            str(khal),
            "-c",
            str(config),
            "list",
            "--format",
            "{start-date} {title}",
            "2026-08-20",
            "2026-08-30",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "GSOMIA" in line]
    assert lines == ["2026-08-24 Last day to give notice: GSOMIA (expiry 2026-11-22)"]


def test_a_feed_cut_at_its_event_limit_says_so(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "x-feed-truncated" not in client.get(URL).headers
    monkeypatch.setattr("tracker.api.routers.calendar.MAX_FEED_EVENTS", 1)
    response = client.get(URL, params={"tag": "korea"})
    assert response.headers["x-feed-truncated"] == "true"
    assert [
        str(e["uid"]) for e in icalendar.Calendar.from_ical(response.content).walk("VEVENT")
    ] == [GSOMIA_UID]


def test_act_by_and_act_from_events_carry_valarms_at_the_reminder_offsets(
    client: TestClient,
) -> None:
    feed = icalendar.Calendar.from_ical(
        client.get(URL, params={"agreement": "kr-jp-gsomia"}).content
    )
    events = {str(e["uid"]): e for e in feed.walk("VEVENT")}
    notice = events[GSOMIA_UID]
    # GSOMIA's own reminders: [90 days, 30 days, 7 days, 1 day], at the 09:00 send time.
    triggers = [alarm.decoded("trigger") for alarm in notice.walk("VALARM")]
    assert triggers == [
        -timedelta(days=89, hours=15),
        -timedelta(days=29, hours=15),
        -timedelta(days=6, hours=15),
        -timedelta(hours=15),
    ]
    assert {str(a["action"]) for a in notice.walk("VALARM")} == {"DISPLAY"}
    assert str(notice["summary"]) == "Last day to give notice: GSOMIA (expiry 2026-11-22)"
    assert str(notice["x-tracker-action"]) == "act_by"
    # An expiry that renews asks nothing: no alarm, and it says it renews.
    expiry = events["kr-jp-gsomia.expiry.2026-11-22.all@treaty-tracker"]
    assert expiry.walk("VALARM") == []
    assert str(expiry["summary"]) == "GSOMIA renews for 1 year"
    assert (str(expiry["x-tracker-action"]), str(expiry["x-tracker-outcome"])) == (
        "info",
        "renews",
    )


def test_an_agreement_without_its_own_reminders_alarms_at_the_configured_ones(
    client: TestClient,
) -> None:
    document = {**GSOMIA_JSON}
    assert client.post("/api/v1/agreements", json=document, headers=AUTH).status_code == 201
    feed = icalendar.Calendar.from_ical(client.get(URL, params={"agreement": "api-pact"}).content)
    [notice] = [e for e in feed.walk("VEVENT") if "notice_deadline" in str(e["uid"])]
    # The configured default: 90, 30, 7, 1 and 0 days; "0 days" alarms at 09:00 on the day.
    assert [a.decoded("trigger") for a in notice.walk("VALARM")] == [
        -timedelta(days=89, hours=15),
        -timedelta(days=29, hours=15),
        -timedelta(days=6, hours=15),
        -timedelta(hours=15),
        timedelta(hours=9),
    ]


def test_alarms_follow_an_agreement_whose_own_reminders_change(client: TestClient) -> None:
    # Which agreements name their own reminders is remembered until the next write: a PUT
    # that adds them must change the next feed.
    def notice_triggers() -> list[timedelta]:
        feed = icalendar.Calendar.from_ical(
            client.get(URL, params={"agreement": "api-pact"}).content
        )
        [notice] = [e for e in feed.walk("VEVENT") if "notice_deadline" in str(e["uid"])]
        return [a.decoded("trigger") for a in notice.walk("VALARM")]

    assert client.post("/api/v1/agreements", json=GSOMIA_JSON, headers=AUTH).status_code == 201
    assert len(notice_triggers()) == 5  # the configured ones
    own = {**GSOMIA_JSON, "reminders": ["10 days"]}
    assert client.put("/api/v1/agreements/api-pact", json=own, headers=AUTH).status_code == 200
    assert notice_triggers() == [-timedelta(days=9, hours=15)]
    assert (
        client.put("/api/v1/agreements/api-pact", json=GSOMIA_JSON, headers=AUTH).status_code == 200
    )
    assert len(notice_triggers()) == 5


def test_a_feed_for_an_unknown_agreement_says_it_does_not_exist(client: TestClient) -> None:
    response = client.get(URL, params={"agreement": "UNKNOWN"})
    assert (response.status_code, response.json()) == (
        404,
        {"detail": "no agreement 'UNKNOWN' exists"},
    )
