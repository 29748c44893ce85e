"""The service keeps the stored deadlines in step with the day queries use: only changed
agreements are recomputed, the configured zone decides what "today" is, and a new day makes
every agreement stale."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tests.support.agreements import agreement_yaml
from tracker.domain.durations import shift
from tracker.loader import load_text
from tracker.service import Service
from tracker.settings import Settings
from tracker.store.deadlines import materialised_for, stale_agreement_ids
from tracker.store.engine import make_engine, session_scope
from tracker.store.migrate import upgrade
from tracker.store.repository import import_agreements, save_api_agreement

# 11:30 UTC on 27 November is already 28 November in Auckland (UTC+13 in summer).
NOW = datetime(2026, 11, 27, 11, 30, tzinfo=UTC)
AUCKLAND_TODAY = date(2026, 11, 28)


def _service(db_url: str) -> Service:
    settings = Settings(database_url=db_url, agreements_dir=None, timezone="Pacific/Auckland")
    engine = make_engine(db_url)
    upgrade(engine)
    loaded = [load_text(agreement_yaml(i), name=f"{i}.yaml") for i in "abc"]
    import_agreements(engine, loaded, origin="api", now=NOW)
    return Service(settings, engine=engine)


def _covered(service: Service, as_of: date) -> bool:
    end = shift(as_of, service.settings.planning_horizon)
    with session_scope(service.engine) as session:
        return materialised_for(session, as_of=as_of, start=as_of, end=end, agreement=(), tag=())


def test_materialising_uses_today_in_the_configured_zone(db_url: str) -> None:
    service = _service(db_url)
    service._materialize(now=NOW)
    assert _covered(service, AUCKLAND_TODAY)
    assert not _covered(service, NOW.date())


def test_only_a_changed_agreement_is_stale_after_a_write(db_url: str) -> None:
    service = _service(db_url)
    service._materialize(now=NOW)
    end = shift(AUCKLAND_TODAY, service.settings.planning_horizon)
    assert stale_agreement_ids(service.engine, as_of=AUCKLAND_TODAY, end=end) == []
    changed = load_text(agreement_yaml("b", notice="60 days"), name="b.yaml")
    save_api_agreement(service.engine, changed, now=NOW, replace=True)
    assert stale_agreement_ids(service.engine, as_of=AUCKLAND_TODAY, end=end) == ["b"]
    service._materialize(now=NOW)
    assert stale_agreement_ids(service.engine, as_of=AUCKLAND_TODAY, end=end) == []
    assert _covered(service, AUCKLAND_TODAY)


def test_a_new_day_makes_every_agreement_stale_until_materialised_again(db_url: str) -> None:
    service = _service(db_url)
    service._materialize(now=NOW)
    tomorrow = AUCKLAND_TODAY + timedelta(days=1)
    end = shift(tomorrow, service.settings.planning_horizon)
    assert sorted(stale_agreement_ids(service.engine, as_of=tomorrow, end=end)) == ["a", "b", "c"]
    service._materialize(now=NOW + timedelta(days=1))
    assert _covered(service, tomorrow)
    assert not _covered(service, AUCKLAND_TODAY)
