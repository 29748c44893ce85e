"""The feed's events, written as text, are byte for byte what the ``icalendar`` library
writes for the same events built as components (tests/support/ical_reference.py): every
kind and outcome, escapes, long and non-ASCII lines folded at the same places, alarms
before and after the day, the first and last days of the calendar, and the seeds."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import SEEDS_DIR
from tests.support.ical_reference import reference_calendar
from tracker.domain.deadline import Deadline, DeadlineKind, Outcome
from tracker.domain.rules import compute_all
from tracker.feed import build_calendar
from tracker.loader import load_paths

# Text with everything that is escaped or folded differently: ; , \ newlines (CRLF, CR),
# "\N", multi-byte characters at a fold, long runs.
TEXT = st.text(
    alphabet=st.sampled_from(list("ab ;,\\\n\r:N−é漢😀\"'")) | st.characters(codec="utf-8"),
    min_size=1,
    max_size=200,
).filter(lambda t: "\x00" not in t)
OPTIONAL = st.none() | TEXT
#: The calendar's own properties (name, errors) are one line each.
LINE = TEXT.filter(lambda t: "\n" not in t and "\r" not in t)

deadlines = st.builds(
    Deadline,
    agreement=st.from_regex(r"[a-z0-9][a-z0-9-]{0,40}", fullmatch=True),
    title=TEXT,
    kind=st.sampled_from(list(DeadlineKind)),
    date=st.dates(min_value=date(1, 1, 1), max_value=date.max),
    days_left=st.integers(-1000, 1000),
    explanation=TEXT,
    party=st.none() | st.from_regex(r"[A-Z]{2,3}", fullmatch=True),
    label=OPTIONAL,
    source=OPTIONAL,
    weekday_note=OPTIONAL,
    outcome=st.none() | st.sampled_from(list(Outcome)),
)
TRIGGERS = st.lists(
    st.timedeltas(min_value=timedelta(days=-400), max_value=timedelta(days=2)), max_size=3
)


@settings(max_examples=300, deadline=None)
@given(
    found=st.lists(deadlines, max_size=6),
    triggers=TRIGGERS,
    name=LINE,
    errors=st.lists(st.tuples(LINE, LINE), max_size=2),
    method=st.none() | st.just("PUBLISH"),
)
def test_text_events_equal_the_library_s_components(
    found: list[Deadline],
    triggers: list[timedelta],
    name: str,
    errors: list[tuple[str, str]],
    method: str | None,
) -> None:
    options = {"name": name, "errors": errors, "method": method, "alarms": lambda d: triggers}
    assert build_calendar(found, **options) == reference_calendar(found, **options)  # type: ignore[arg-type]


def test_the_seeds_feed_equals_the_library_s() -> None:
    agreements = [item.agreement for item in load_paths([SEEDS_DIR])]
    found = compute_all(
        agreements, as_of=date(2019, 1, 1), start=date(2018, 1, 1), end=date(2027, 12, 31)
    )
    assert len(found) > 50
    alarms = [timedelta(days=-30, hours=9), timedelta(days=-7, hours=9), timedelta(hours=9)]
    assert build_calendar(found, alarms=lambda d: alarms) == reference_calendar(
        found, alarms=lambda d: alarms
    )
    assert build_calendar(found) == reference_calendar(found)


@settings(max_examples=2000, deadline=None)
@given(
    line=st.text(
        alphabet=st.sampled_from(list("a\\^;é−漢😀")) | st.characters(codec="utf-8"),
        max_size=400,
    ).filter(lambda t: "\n" not in t and "\r" not in t)
)
def test_lines_fold_where_the_library_folds_them(line: str) -> None:
    from icalendar.parser import Contentline

    from tracker.feed import _folded

    assert _folded(line) == Contentline(line).to_ical().decode("utf-8") + "\r\n"  # type: ignore[no-untyped-call]
