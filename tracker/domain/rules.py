"""The deadline rule engine: an agreement's rules and events → dated deadlines (SPEC 2.2–2.4).

Everything here is a pure function of the agreement and the ``as_of`` day. Events dated after
``as_of`` are ignored (time travel); ``days_left`` counts from ``as_of``. Each deadline carries
the sentence with the arithmetic that produced it, the rule's (or event's) source citation and
a working-day note; ``explain`` reads the same :class:`Evaluation` and never recomputes.

Rule kinds (all date arithmetic through :func:`~tracker.domain.durations.shift`, so months and
years clamp to the month's last day and every series is computed from its anchor):

``auto_renewal``
    Anchor ``E_0`` = ``first_expiry``, or ``start + term`` (the anniversary). Term ``k`` expires
    ``E_k = E_0 + k × renewal_term`` (never chained: 2024-01-31 + 1, 2, 3 months = 02-29, 03-31,
    04-30; a 29 February anchor gives 28 February in common years and 29 February again in leap
    years). Per term: ``expiry`` E_k, ``notice_deadline`` E_k − notice and, with a
    ``notice_window``, ``notice_window_opens`` E_k − notice_window. With ``max_renewals`` m only
    terms 0..m exist: E_m is the final expiry, it yields ``expiry`` and no notice dates (there is
    no renewal left to prevent), and the agreement ends there. The term index for a date is
    computed directly from the anchor (agreements anchored in 1950 cost the same as new ones).
``fixed_term``
    ``expiry`` on ``expires`` (or ``start + term``) and, with ``notice``, a decision deadline
    ``notice_deadline`` = expiry − notice. The agreement ends at the expiry.
``withdrawal``
    ``earliest_notice`` (a date, or ``in_force`` + duration) yields one deadline. Each notice by a
    party P yields ``withdrawal_effective`` for P: ``same_day`` N + notice; ``day_after``
    N + notice + 1 day; ``first_of_next_month`` the 1st of the month after N + notice (also when
    N + notice is itself a 1st: the text says "the month following"); ``end_of_following_year``
    31 December of the year after N (after N + notice when a notice period is also given).
    Multilateral: the others stay bound. When fewer than two parties would remain (a bilateral
    agreement, or all but one party withdrew) the agreement ends on that withdrawal date.
``recurring``
    ``first + k × every`` for k ≥ 0 up to ``until`` (inclusive), none after the agreement ended.
``milestone``
    ``date``, or ``in_force + after``.
``survival``
    ``survival_ends`` = the agreement's end + period, and per party that withdrew, that party's
    ``withdrawal_effective`` + period (Energy Charter Treaty Art. 47(3)).

Events (only those dated on or before ``as_of`` count):

``notice_given`` by P on N
    Under ``auto_renewal``: the term current at N is the first with E_k ≥ N. A notice on or
    before its deadline is *timely* (the deadline day itself counts) and ends the agreement at
    E_k: a ``termination`` deadline replaces that expiry and nothing follows except
    ``survival_ends``. A notice after the deadline is *late*: it applies to the next term whose
    deadline it meets, and the termination carries a note saying so. A notice before the notice
    window of the term it would apply to opens is *premature* and has no effect (the treaty says
    it may not be given yet); a notice for the final term under ``max_renewals`` changes nothing.
    Under ``withdrawal``: as described above; a notice before ``earliest_notice`` is premature and
    has no effect. When an agreement has both rules, a notice is read as a withdrawal (that rule
    says when notice takes effect, which is the more specific statement); the renewal series
    continues for the parties that stay bound and stops when the agreement ends as above.
    A second notice by a party whose withdrawal is still pending is redundant and ignored; one
    given after the earlier withdrawal took effect is new (the party had rejoined: Paris
    Agreement, US notices 2019-11-04 and 2025-01-27). Under ``auto_renewal`` several pending
    notices end the agreement at the earliest expiry any of them reaches.
``notice_suspended`` / ``notice_withdrawn`` by P on S
    Act on P's most recent notice, and stop it if S is on or before the day it would take
    effect (GSOMIA: suspended on the expiry day 2019-11-22, so the agreement renewed). Later,
    the notice had already taken effect and the event changes nothing. A withdrawn (retracted)
    notice is gone for good, also when it was suspended first; a suspended one may be resumed.
    Without a party, the event applies to every party's most recent notice.
``notice_resumed`` by P on R
    Reactivates P's suspended notice *as if given on R*: its timeliness and effect are judged
    from R, because the other side could rely on the suspension until then.
``extended`` with ``until`` U, on X
    The expiry of the term current at X moves to U. ``fixed_term``: expiry U and deadline
    U − notice. ``auto_renewal``: the series is re-anchored at U (later terms are U + k × term);
    renewals already used still count against ``max_renewals``.
``terminated`` on T
    ``termination`` on T; nothing after T except ``survival_ends`` (T + period).

The calendar ends on 9999-12-31 (Python's last date). Validation refuses every agreement whose
fixed dates would leave 0001-01-01..9999-12-31 (:mod:`tracker.domain.agreement`); what is
left open-ended stops there: a renewal term or recurring date after 9999-12-31 does not
exist, a notice that only a later term could take effect in has no effect, and no query
window, however wide, makes the engine raise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from tracker.domain.agreement import (
    Agreement,
    AutoRenewal,
    Event,
    EventType,
    FixedTerm,
    Milestone,
    Recurring,
    Survival,
    Withdrawal,
)
from tracker.domain.deadline import Deadline, DeadlineKind
from tracker.domain.durations import Duration, first_index_at_or_after
from tracker.domain.workdays import note_for_countries, party_countries
from tracker.errors import RuleError

__all__ = ["Evaluation", "compute_all", "compute_deadlines", "evaluate"]

#: What date arithmetic past 9999-12-31 raises (``date()`` with year 10000, or an ordinal).
_PAST_END = (OverflowError, ValueError)
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _shift(day: date, duration: Duration, times: int = 1) -> date:
    """``shift(day, duration, times=times)`` of :mod:`~tracker.domain.durations`, inlined.

    Same arithmetic (months first, clamped to the month's last day, then exact days); written
    out here because the engine calls it several times per agreement and the call chain through
    ``shift`` and ``add_months`` was the largest cost in the profile. A property test checks
    that both agree.
    """
    months = duration.months
    if months:
        total = day.year * 12 + day.month - 1 + months * times
        year = total // 12
        month = total - year * 12 + 1
        dom = day.day
        if dom > 28:
            last = _MONTH_DAYS[month - 1]
            if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
                last = 29
            if dom > last:
                dom = last
        day = date(year, month, dom)
    days = duration.days
    if days:
        day = date.fromordinal(day.toordinal() + days * times)
    return day


@dataclass
class Evaluation:
    """Everything the engine concluded about one agreement as of one day.

    ``findings`` maps an event's index in ``agreement.events`` to what it did ("timely notice
    for the term expiring ..."); events after ``as_of`` have no entry. ``end`` is the day the
    agreement ends (None while it runs on), ``end_reason`` says why.
    """

    deadlines: list[Deadline]
    findings: dict[int, str] = field(default_factory=dict)
    end: date | None = None
    end_reason: str = ""
    withdrawn: dict[str, date] = field(default_factory=dict)


def _lead_days(duration: Duration | None) -> int:
    """An upper bound on the days in ``duration`` (months counted as 31 days)."""
    return 0 if duration is None else duration.months * 31 + duration.days


# --------------------------------------------------------------------------- notices


@dataclass(slots=True)
class _Episode:
    """One spell of a party's notice: given (or resumed) on ``since``, perhaps stopped."""

    party: str | None
    index: int  # the notice_given event
    given: date
    since: date  # date the notice counts from (the resume date for a resumed notice)
    resumed_by: int | None = None
    stop: date | None = None
    stop_index: int | None = None
    stop_kind: str = ""  # "suspended" or "withdrawn"
    retracted: date | None = None  # a suspended notice withdrawn later: no resuming it


def _latest(latest: dict[str | None, _Episode], party: str | None) -> list[_Episode]:
    """The most recent episode of ``party``; of every party when ``party`` is None."""
    if party is None:
        return list(latest.values())
    found = latest.get(party)
    return [] if found is None else [found]


def _episodes(counted: list[tuple[int, Event]], findings: dict[int, str]) -> list[_Episode]:
    """Walk the counted notice events in date order into notice episodes per party.

    Suspensions, resumptions and retractions act on the party's most recent notice. Whether a
    notice is redundant or had already taken effect depends on the rule, which judges that.
    """
    episodes: list[_Episode] = []
    # Each party's most recent episode, kept as they are added: one lookup per event instead
    # of a scan of all earlier ones (1,000 events would otherwise cost a million steps).
    latest: dict[str | None, _Episode] = {}
    for i, ev in counted:
        kind = ev.type
        if kind == "notice_given":
            episode = _Episode(ev.party, i, ev.date, ev.date)
            episodes.append(episode)
            latest[episode.party] = episode
        elif kind == "notice_suspended":
            hit = [e for e in _latest(latest, ev.party) if e.stop is None]
            if not hit:
                findings[i] = f"no pending notice by {ev.party or 'any party'} to suspend"
                continue
            for e in hit:
                e.stop, e.stop_index, e.stop_kind = ev.date, i, "suspended"
            findings[i] = "notice suspended"
        elif kind == "notice_withdrawn":
            hit = [
                e
                for e in _latest(latest, ev.party)
                if e.stop is None or (e.stop_kind == "suspended" and e.retracted is None)
            ]
            if not hit:
                findings[i] = f"no pending notice by {ev.party or 'any party'} to withdraw"
                continue
            for e in hit:
                if e.stop is None:
                    e.stop, e.stop_index, e.stop_kind = ev.date, i, "withdrawn"
                else:  # a suspended notice retracted for good
                    e.retracted = ev.date
            findings[i] = "notice withdrawn"
        elif kind == "notice_resumed":
            hit = [
                e
                for e in _latest(latest, ev.party)
                if e.stop_kind == "suspended" and e.retracted is None
            ]
            if not hit:
                findings[i] = f"no suspended notice by {ev.party or 'any party'} to resume"
                continue
            for e in hit:
                episode = _Episode(e.party, e.index, e.given, ev.date, resumed_by=i)
                episodes.append(episode)
                latest[episode.party] = episode
            findings[i] = f"notice resumed; it counts as given on {ev.date.isoformat()}"
    return episodes


def _who(party: str | None) -> str:
    return f" by {party}" if party else ""


# --------------------------------------------------------------------------- renewal series


@dataclass(slots=True)
class _Segment:
    anchor: date
    base: int  # global term index of local term 0
    last: int | None  # last local index (inclusive); None when unbounded
    origin: str  # how the anchor came about, for explanations


class _Series:
    """The expiries of an ``auto_renewal`` rule, possibly re-anchored by extensions."""

    __slots__ = ("max", "segments", "step", "step_days", "step_text")

    def __init__(self, rule: AutoRenewal) -> None:
        step = self.step = rule.step
        self.step_text = str(step)
        # Mean term length, only to estimate a term index (then corrected exactly).
        self.step_days = max(step.months * 30.436875 + step.days, 1.0)
        if rule.first_expiry is not None:
            anchor = rule.first_expiry
            origin = "first expiry"
        else:
            assert rule.start is not None and rule.term is not None  # model validator
            anchor = _shift(rule.start, rule.term)
            origin = f"start {rule.start.isoformat()} + {rule.term} = first expiry"
        self.max = rule.max_renewals
        self.segments = [_Segment(anchor, 0, self.max, origin)]

    def expiry(self, seg: int, k: int) -> date:
        """Term k's expiry; only for terms known to end by 9999-12-31 (see :meth:`expiry_of`)."""
        return _shift(self.segments[seg].anchor, self.step, k)

    def expiry_of(self, term: tuple[int, int] | None) -> date | None:
        """The expiry of ``term``, or None when there is no term or it ends after 9999-12-31."""
        if term is None:
            return None
        try:
            return _shift(self.segments[term[0]].anchor, self.step, term[1])
        except _PAST_END:
            return None

    def is_final(self, seg: int, k: int) -> bool:
        s = self.segments[seg]
        return seg == len(self.segments) - 1 and s.last is not None and k == s.last

    def first_k(self, anchor: date, day: date) -> int:
        """Smallest k ≥ 0 with anchor + k × step ≥ day.

        Whole-month steps (years, months): exact from the month count, one comparison of
        the day of the month. Otherwise from an estimate, adjusted by ±1.
        The term k may expire after 9999-12-31; callers compute it with :meth:`expiry_of`.
        """
        if day <= anchor:
            return 0
        step = self.step
        if not step.days:
            months = (day.year - anchor.year) * 12 + day.month - anchor.month
            k, rest = divmod(months, step.months)
            # Term k lies in day's month only when rest == 0; otherwise it is earlier.
            if rest or _shift(anchor, step, k) < day:
                k += 1
            return k
        k = int((day.toordinal() - anchor.toordinal()) / self.step_days)
        try:
            while k > 0 and _shift(anchor, step, k - 1) >= day:
                k -= 1
            while _shift(anchor, step, k) < day:
                k += 1
        except _PAST_END:  # the estimate reached past 9999-12-31: ask the careful way
            return first_index_at_or_after(anchor, step, day)
        return k

    def first_at_or_after(self, day: date) -> tuple[int, int] | None:
        """The first term (segment, local index) expiring on or after ``day``, or None when
        the series ended before it (``max_renewals``) or that term ends after 9999-12-31."""
        for i, s in enumerate(self.segments):
            k = self.first_k(s.anchor, day)
            if s.last is None or k <= s.last:
                return (i, k) if self.expiry_of((i, k)) is not None else None
        return None

    def after(self, seg: int, k: int) -> tuple[int, int] | None:
        """The next term, or None after the final one or past 9999-12-31."""
        s = self.segments[seg]
        if s.last is None or k < s.last:
            following = (seg, k + 1)
        elif seg + 1 < len(self.segments):
            following = (seg + 1, 0)
        else:
            return None
        return following if self.expiry_of(following) is not None else None

    def final(self) -> tuple[int, int] | None:
        """The last term under ``max_renewals``; None when there is no limit, or when the
        last term would end after 9999-12-31 (after an extension): within the calendar the
        series then never ends."""
        s = self.segments[-1]
        if s.last is None:
            return None
        term = (len(self.segments) - 1, s.last)
        return term if self.expiry_of(term) is not None else None

    def extend(self, on: date, until: date) -> str:
        """Move the expiry of the term current ``on`` to ``until``; returns a finding."""
        cur = self.first_at_or_after(on)
        if cur is None:
            if self.final() is None:
                return "the current term expires after 9999-12-31; ignored"
            return "after the final expiry; ignored"
        seg, k = cur
        old = self.expiry(seg, k)
        used = self.segments[seg].base + k
        del self.segments[seg + 1 :]
        if k == 0:
            del self.segments[seg]
        else:
            self.segments[seg].last = k - 1
        last = None if self.max is None else max(self.max - used, 0)
        origin = f"expiry extended on {on.isoformat()} to"
        self.segments.append(_Segment(until, used, last, origin))
        return f"the expiry {old.isoformat()} moves to {until.isoformat()}"

    def explain_expiry(self, seg: int, k: int, day: date) -> str:
        s = self.segments[seg]
        if k == 0:
            return f"{s.origin} {day.isoformat()}"
        name = "first expiry" if s.origin.endswith("first expiry") else "extended expiry"
        return f"{name} {s.anchor.isoformat()} + {k} × {self.step_text} = {day.isoformat()}"


# --------------------------------------------------------------------------- evaluation

# Enum members bound once: attribute access on an Enum class is a descriptor call, and the
# engine touches these hundreds of thousands of times per query.
_NOTICE_DEADLINE = DeadlineKind.NOTICE_DEADLINE
_WINDOW_OPENS = DeadlineKind.NOTICE_WINDOW_OPENS
_EXPIRY = DeadlineKind.EXPIRY
_TERMINATION = DeadlineKind.TERMINATION
_EARLIEST = DeadlineKind.EARLIEST_NOTICE
_WITHDRAWAL = DeadlineKind.WITHDRAWAL_EFFECTIVE
_SURVIVAL = DeadlineKind.SURVIVAL_ENDS
_RECURRING = DeadlineKind.RECURRING
_MILESTONE = DeadlineKind.MILESTONE
_EXTENDED = EventType.EXTENDED
_TERMINATED = EventType.TERMINATED


class _Context:
    """One agreement under evaluation: shared facts, findings, and the deadlines collected.

    Deadlines are kept only inside [lo, hi]. Hot paths test ``lo <= day <= hi`` themselves
    before formatting an explanation, so dates outside the window cost no string work. One
    object per agreement (not several) because the engine's fixed cost per agreement is what
    dominates a query over 100,000 of them.
    """

    __slots__ = (
        "agreement",
        "agreement_id",
        "as_of_ord",
        "counted",
        "countries",
        "deadlines",
        "ends",
        "episodes",
        "findings",
        "has_withdrawal",
        "hi",
        "lo",
        "title",
        "withdrawals",
        "withdrawn",
    )

    def __init__(
        self,
        agreement: Agreement,
        as_of: date,
        start: date,
        end: date,
        counted: list[tuple[int, Event]],
    ) -> None:
        self.agreement = agreement
        self.agreement_id = agreement.id
        self.title = agreement.title
        self.countries = party_countries(agreement.parties)
        self.as_of_ord = as_of.toordinal()
        self.lo = start
        self.hi = end
        self.deadlines: list[Deadline] = []
        self.counted = counted
        self.findings: dict[int, str] = {}
        self.episodes = _episodes(counted, self.findings) if counted else []
        #: Candidate ends of the whole agreement: (date, reason, reason_takes_the_date); the
        #: date is formatted into the reason only for the end that wins.
        self.ends: list[tuple[date, str, bool]] = []
        #: Earliest effective withdrawal per party ("" for a notice without a party).
        self.withdrawn: dict[str, date] = {}
        self.withdrawals: list[tuple[date, str | None]] = []
        # Only matters when there are notices to read (see the module docstring).
        self.has_withdrawal = bool(self.episodes) and Withdrawal in [
            type(r) for r in agreement.rules
        ]

    def add(
        self,
        kind: DeadlineKind,
        day: date,
        explanation: str,
        rule: int | None,
        label: str | None,
        source: str | None,
        party: str | None = None,
        notes: tuple[str, ...] = (),
    ) -> None:
        if self.lo <= day <= self.hi:
            note = note_for_countries(day, self.countries)
            self.deadlines.append(
                Deadline(
                    self.agreement_id,
                    self.title,
                    kind,
                    day,
                    day.toordinal() - self.as_of_ord,
                    explanation,
                    party,
                    label,
                    source,
                    note,
                    rule,
                    notes,
                )
            )

    def cite(self, ref: int | str | None) -> str | None:
        if ref is None:
            return None
        if type(ref) is int:  # the common case, without the model's method call
            sources = self.agreement.sources
            return sources[ref].cite if 0 <= ref < len(sources) else None
        return self.agreement.source_cite(ref)

    def event_cite(self, index: int, fallback: str | None) -> str | None:
        return self.cite(self.agreement.events[index].source) or fallback


def _withdrawal_date(rule: Withdrawal, given: date) -> tuple[date, str]:
    """When a notice given on ``given`` takes effect, and the arithmetic as a phrase."""
    notice = rule.notice
    base, day = rule.takes_effect(given)  # within the calendar: validation checked it
    plus = f" + {notice}" if notice is not None else ""
    eff = rule.effective
    if eff == "same_day":
        return day, f"{plus} = {day.isoformat()}"
    if eff == "day_after":
        return day, f"{plus}, effective the day after = {day.isoformat()}"
    if eff == "first_of_next_month":
        return day, (
            f"{plus} = {base.isoformat()}, effective the first day of the next month"
            f" = {day.isoformat()}"
        )
    where = f" = {base.isoformat()}" if notice is not None else ""
    return day, f"{plus}{where}, effective 31 December of the following year = {day.isoformat()}"


def _terminated_events(ctx: _Context) -> None:
    for i, ev in ctx.counted:
        if ev.type is _TERMINATED:
            iso = ev.date.isoformat()
            ctx.findings[i] = f"the agreement ends on {iso}"
            ctx.ends.append((ev.date, "terminated on", True))
            ctx.add(
                _TERMINATION,
                ev.date,
                f"terminated on {iso}{_who(ev.party)}",
                None,
                None,
                ctx.cite(ev.source),
                None,
                (ev.note,) if ev.note else (),
            )


def _fixed_term(ctx: _Context, rule: FixedTerm, r_index: int) -> None:
    source = ctx.cite(rule.source)
    start = rule.start
    if rule.expires is not None:
        expiry = rule.expires
    else:
        assert start is not None and rule.term is not None  # model validator
        expiry = _shift(start, rule.term)
    extension: tuple[date, date] | None = None  # (original expiry, extended on)
    for i, ev in ctx.counted:
        if ev.type is _EXTENDED and ev.until is not None:
            ctx.findings[i] = f"the expiry {expiry.isoformat()} moves to {ev.until.isoformat()}"
            extension = (expiry, ev.date)
            expiry = ev.until
            source = ctx.event_cite(i, source)

    def how() -> str:  # formatted only for an expiry inside the window
        if extension is not None:
            return (
                f"expiry {extension[0].isoformat()} extended on "
                f"{extension[1].isoformat()} to {expiry.isoformat()}"
            )
        if start is not None:
            return f"start {start.isoformat()} + {rule.term} = {expiry.isoformat()}"
        return f"expires {expiry.isoformat()}"

    lo, hi = ctx.lo, ctx.hi
    if lo <= expiry <= hi:
        ctx.add(_EXPIRY, expiry, how(), r_index, rule.label, source)
    if rule.notice is not None:
        day = _shift(expiry, rule.notice, -1)
        if lo <= day <= hi:
            ctx.add(
                _NOTICE_DEADLINE,
                day,
                f"expiry {expiry.isoformat()} − {rule.notice} = {day.isoformat()}",
                r_index,
                rule.label,
                source,
            )
    ctx.ends.append((expiry, "expires", True))


def _withdrawal(ctx: _Context, rule: Withdrawal, r_index: int) -> None:
    source = ctx.cite(rule.source)
    label = rule.label
    out = ctx
    agreement = ctx.agreement
    earliest: date | None = None
    if isinstance(rule.earliest_notice, date):
        earliest = rule.earliest_notice
        if out.lo <= earliest <= out.hi:
            out.add(
                _EARLIEST,
                earliest,
                f"notice possible from {earliest.isoformat()}",
                r_index,
                label,
                source,
            )
    elif rule.earliest_notice is not None:
        if agreement.in_force is None:  # the model validator requires it
            raise RuleError("earliest_notice as a duration needs in_force")
        earliest = _shift(agreement.in_force, rule.earliest_notice)
        if out.lo <= earliest <= out.hi:
            out.add(
                _EARLIEST,
                earliest,
                f"in force {agreement.in_force.isoformat()} + {rule.earliest_notice}"
                f" = {earliest.isoformat()}",
                r_index,
                label,
                source,
            )
    findings = ctx.findings
    pending: dict[str | None, tuple[date, date]] = {}  # party -> (notice, effective date)
    for ep in ctx.episodes:
        before = pending.get(ep.party)
        if before is not None and ep.since < before[1]:
            findings[ep.resumed_by if ep.resumed_by is not None else ep.index] = (
                f"redundant: {ep.party or 'a party'} already gave notice on "
                f"{before[0].isoformat()}, effective {before[1].isoformat()}; ignored"
            )
            continue
        if earliest is not None and ep.since < earliest:
            findings[ep.index] = (
                f"premature: notice {ep.since.isoformat()}{_who(ep.party)} came before "
                f"the earliest notice date {earliest.isoformat()}; no effect"
            )
            continue
        day, arithmetic = _withdrawal_date(rule, ep.since)
        what = "notice resumed" if ep.resumed_by is not None else "notice given"
        if ep.stop is not None and ep.stop <= day:
            findings[ep.index] = (
                f"withdrawal{_who(ep.party)} would take effect {day.isoformat()}; "
                f"{ep.stop_kind} on {ep.stop.isoformat()} before it took effect"
            )
            continue
        if ep.stop_index is not None:
            findings[ep.stop_index] = (
                f"came after the withdrawal took effect on {day.isoformat()}; no effect"
            )
        pending[ep.party] = (ep.since, day)
        # A later notice after an earlier one took effect: the party had rejoined (Paris
        # Agreement: US 2019 and 2025). The latest withdrawal is the one that stands.
        ctx.withdrawn[ep.party or ""] = day
        findings[ep.resumed_by if ep.resumed_by is not None else ep.index] = (
            f"withdrawal{_who(ep.party)} effective {day.isoformat()}"
        )
        out.add(
            _WITHDRAWAL,
            day,
            f"{what} {ep.since.isoformat()}{_who(ep.party)}{arithmetic}",
            r_index,
            label,
            ctx.event_cite(ep.index, source),
            ep.party,
        )
        ctx.withdrawals.append((day, ep.party))


def _milestone(ctx: _Context, rule: Milestone, r_index: int) -> None:
    source = ctx.cite(rule.source)
    if rule.date is not None:
        if ctx.lo <= rule.date <= ctx.hi:
            ctx.add(
                _MILESTONE,
                rule.date,
                f"{rule.label} on {rule.date.isoformat()}",
                r_index,
                rule.label,
                source,
            )
        return
    in_force = ctx.agreement.in_force
    if rule.after is None or in_force is None:  # the model validator requires both
        raise RuleError(f"rules[{r_index}]: `after` needs `in_force`")
    day = _shift(in_force, rule.after)
    if ctx.lo <= day <= ctx.hi:
        ctx.add(
            _MILESTONE,
            day,
            f"in force {in_force.isoformat()} + {rule.after} = {day.isoformat()}",
            r_index,
            rule.label,
            source,
        )


def _recurring(ctx: _Context, rule: Recurring, r_index: int, end_day: date | None) -> None:
    out = ctx
    last = out.hi
    if rule.until is not None and rule.until < last:
        last = rule.until
    if end_day is not None and end_day < last:
        last = end_day
    first, every = rule.first, rule.every
    k = 0
    lo = out.lo
    if lo > first:  # estimate the first index in the window, then correct it by ±1
        k = int((lo - first).days / max(every.approx_days(), 1.0))
        try:
            while k > 0 and _shift(first, every, k - 1) >= lo:
                k -= 1
            while _shift(first, every, k) < lo:
                k += 1
        except _PAST_END:  # the estimate reached past 9999-12-31: ask the careful way
            k = first_index_at_or_after(first, every, lo)
    source = ctx.cite(rule.source)
    first_iso = first.isoformat()
    every_text = str(every)
    while True:
        try:
            day = _shift(first, every, k)
        except _PAST_END:  # the series stops at the end of the calendar
            break
        if day > last:
            break
        iso = day.isoformat()
        text = f"first {iso}" if k == 0 else f"first {first_iso} + {k} × {every_text} = {iso}"
        out.add(_RECURRING, day, text, r_index, rule.label, source)
        k += 1


def _survival(
    ctx: _Context, rule: Survival, r_index: int, end_day: date | None, end_reason: str
) -> None:
    source = ctx.cite(rule.source)
    out = ctx
    if end_day is not None and not end_reason.startswith("withdrawal"):
        try:
            day = _shift(end_day, rule.period)
        except _PAST_END:  # an end late in 9999 that only a renewal series could reach
            day = None
        if day is not None and out.lo <= day <= out.hi:
            out.add(
                _SURVIVAL,
                day,
                f"agreement ends {end_day.isoformat()} + {rule.period} = {day.isoformat()}",
                r_index,
                rule.label,
                source,
            )
    for party_key, left in ctx.withdrawn.items():
        if end_day is not None and left > end_day:
            continue
        party = party_key or None
        try:
            day = _shift(left, rule.period)
        except _PAST_END:  # validation refuses these; never raise for a reader all the same
            continue
        out.add(
            _SURVIVAL,
            day,
            f"withdrawal{_who(party)} effective {left.isoformat()} + {rule.period}"
            f" = {day.isoformat()}",
            r_index,
            rule.label,
            source,
            party,
        )


def _auto_renewal(ctx: _Context, rule: AutoRenewal, r_index: int) -> None:
    series = _Series(rule)
    notice = rule.notice
    window = rule.notice_window
    label = rule.label
    source = ctx.cite(rule.source)
    findings = ctx.findings
    for i, ev in ctx.counted:
        if ev.type is _EXTENDED and ev.until is not None:
            findings[i] = series.extend(ev.date, ev.until)

    # Which term does each pending notice end?  Under a withdrawal rule notices are read there.
    stop_term: tuple[int, int] | None = None
    stop_text = stop_reason = ""
    stop_notes: tuple[str, ...] = ()
    stop_source: str | None = None
    for ep in () if ctx.has_withdrawal else ctx.episodes:
        n = ep.since
        what = "notice resumed" if ep.resumed_by is not None else "notice given"
        term = series.first_at_or_after(n)
        if term is None:
            final_expiry = series.expiry_of(series.final())
            if final_expiry is not None and final_expiry < n:
                findings[ep.index] = f"after the final expiry {final_expiry.isoformat()}; no effect"
            else:
                findings[ep.index] = (
                    "the term it would end expires after 9999-12-31, beyond the dates the "
                    "tracker can compute; no effect"
                )
            continue
        expiry = series.expiry(*term)
        deadline = _shift(expiry, notice, -1)
        late_note = ""
        while deadline < n:  # late: it applies to the next term whose deadline it meets
            if not late_note:
                late_note = (
                    f"late: {what} {n.isoformat()}{_who(ep.party)} came after the deadline "
                    f"{deadline.isoformat()} for the term expiring {expiry.isoformat()}"
                )
            nxt = series.after(*term)
            if nxt is None:
                break
            term = nxt
            expiry = series.expiry(*term)
            deadline = _shift(expiry, notice, -1)
        prefix = late_note + "; " if late_note else ""
        if deadline < n and not series.is_final(*term):
            findings[ep.index] = prefix + (
                "the next term expires after 9999-12-31, beyond the dates the tracker can "
                "compute; no effect"
            )
            continue
        if deadline < n or series.is_final(*term):
            findings[ep.index] = prefix + (
                f"the agreement ends at its final expiry {expiry.isoformat()} anyway; no effect"
            )
            continue
        if window is not None:
            opens = _shift(expiry, window, -1)
            if n < opens:
                findings[ep.index] = prefix + (
                    f"premature: {what} {n.isoformat()}{_who(ep.party)} came before the notice "
                    f"window for the term expiring {expiry.isoformat()} opened on "
                    f"{opens.isoformat()}; no effect"
                )
                continue
        if late_note:
            finding = f"{late_note}; it applies to the term expiring {expiry.isoformat()}"
        else:
            finding = (
                f"timely notice for the term expiring {expiry.isoformat()} "
                f"(deadline {deadline.isoformat()})"
            )
        if ep.stop is not None and ep.stop <= expiry:
            findings[ep.index] = (
                f"{finding}; {ep.stop_kind} on {ep.stop.isoformat()} before it took effect"
            )
            continue
        if ep.stop_index is not None:
            findings[ep.stop_index] = (
                f"came after the notice took effect on {expiry.isoformat()}; no effect"
            )
        findings[ep.resumed_by if ep.resumed_by is not None else ep.index] = finding
        if stop_term is None or expiry < series.expiry(*stop_term):
            stop_term = term
            stop_text = (
                f"{what} {n.isoformat()}{_who(ep.party)} (deadline {deadline.isoformat()}) "
                f"ends the term expiring {expiry.isoformat()}"
            )
            stop_reason = f"{what} {n.isoformat()}{_who(ep.party)}"
            stop_notes = (late_note,) if late_note else ()
            stop_source = ctx.event_cite(ep.index, source)

    if stop_term is not None:
        ctx.ends.append((series.expiry(*stop_term), stop_reason, False))
    final_expiry = series.expiry_of(series.final())
    if final_expiry is not None:
        ctx.ends.append((final_expiry, "final expiry", True))

    # The terms whose dates can fall inside [lo, hi]: a term's dates are never after its
    # expiry and never more than the longest lead before it. Segments are walked directly
    # (there is one unless the agreement was extended) with the term index computed from
    # each anchor, never by stepping from term 0.
    lo, hi = ctx.lo, ctx.hi
    try:
        horizon = hi + timedelta(days=max(_lead_days(notice), _lead_days(window)))
    except OverflowError:
        horizon = date.max
    step = series.step
    notice_text = str(notice)
    window_text = str(window)
    add = ctx.add
    segments = series.segments
    last_seg = len(segments) - 1
    for si, seg in enumerate(segments):
        k = series.first_k(seg.anchor, lo)
        last = seg.last
        while last is None or k <= last:
            try:
                expiry = _shift(seg.anchor, step, k)
            except _PAST_END:  # the series stops at the end of the calendar
                return
            if expiry > horizon:
                return
            final_term = si == last_seg and k == last
            stopping = stop_term is not None and stop_term == (si, k)
            if lo <= expiry <= hi:
                if stopping:
                    add(
                        _TERMINATION,
                        expiry,
                        stop_text,
                        r_index,
                        label,
                        stop_source,
                        None,
                        stop_notes,
                    )
                elif final_term:
                    add(
                        _EXPIRY,
                        expiry,
                        f"{series.explain_expiry(si, k, expiry)} (final term: at most "
                        f"{rule.max_renewals} renewals)",
                        r_index,
                        label,
                        source,
                    )
                else:
                    add(
                        _EXPIRY,
                        expiry,
                        series.explain_expiry(si, k, expiry),
                        r_index,
                        label,
                        source,
                    )
            if final_term:
                return
            day = _shift(expiry, notice, -1)
            if lo <= day <= hi:
                add(
                    _NOTICE_DEADLINE,
                    day,
                    f"expiry {expiry.isoformat()} − {notice_text} = {day.isoformat()}",
                    r_index,
                    label,
                    source,
                )
            if window is not None:
                day = _shift(expiry, window, -1)
                if lo <= day <= hi:
                    add(
                        _WINDOW_OPENS,
                        day,
                        f"expiry {expiry.isoformat()} − {window_text} = {day.isoformat()}",
                        r_index,
                        label,
                        source,
                    )
            if stopping:
                return
            k += 1


def _evaluate(agreement: Agreement, as_of: date, start: date, end: date) -> Evaluation:
    counted: list[tuple[int, Event]] = []
    if agreement.events:
        counted = sorted(
            ((i, e) for i, e in enumerate(agreement.events) if e.date <= as_of),
            key=_event_date,
        )
    ctx = _Context(agreement, as_of, start, end, counted)
    if counted:
        _terminated_events(ctx)
    later: list[tuple[int, Recurring | Survival]] = []
    rules = agreement.rules
    for r_index, rule in enumerate(rules):
        kind = type(rule)
        if kind is AutoRenewal:
            _auto_renewal(ctx, rule, r_index)  # type: ignore[arg-type]
        elif kind is FixedTerm:
            _fixed_term(ctx, rule, r_index)  # type: ignore[arg-type]
        elif kind is Withdrawal:
            _withdrawal(ctx, rule, r_index)  # type: ignore[arg-type]
        elif kind is Milestone:
            _milestone(ctx, rule, r_index)  # type: ignore[arg-type]
        else:  # recurring and survival depend on when the agreement ends
            later.append((r_index, rule))  # type: ignore[arg-type]

    ends = ctx.ends
    if ctx.withdrawals:
        # The agreement ends when fewer than two parties would remain bound.
        need = max(1, len(agreement.parties) - 1)
        gone: set[str | None] = set()
        for day, party in sorted(ctx.withdrawals, key=_first):
            gone.add(party)
            if len(gone) >= need:
                ends.append((day, f"withdrawal{_who(party)} effective", True))
                break
    end_day: date | None = None
    end_reason = ""
    if ends:
        end_day, reason, dated = min(ends, key=_first)
        end_reason = f"{reason} {end_day.isoformat()}" if dated else reason
        # Nothing after the end except survival_ends (added below).
        ctx.deadlines = [d for d in ctx.deadlines if d.date <= end_day]
    for r_index, rule in later:
        if type(rule) is Recurring:
            _recurring(ctx, rule, r_index, end_day)
        else:
            _survival(ctx, rule, r_index, end_day, end_reason)  # type: ignore[arg-type]
    return Evaluation(ctx.deadlines, ctx.findings, end_day, end_reason, ctx.withdrawn)


def _event_date(pair: tuple[int, Event]) -> date:
    return pair[1].date


def _first(row: tuple[date, Any] | tuple[date, Any, Any]) -> date:
    return row[0]


def _sort_key(d: Deadline) -> tuple[date, str, str]:
    # DeadlineKind is a StrEnum: members compare as their string values.
    return (d.date, d.kind, d.party or "")


def _all_key(d: Deadline) -> str:
    # One string instead of a tuple: sorting 180,000 deadlines compares strings in C, about
    # 2.5 times faster than tuples of (date, str, str, str). The order is the same: ISO dates
    # are fixed-width, and NUL sorts below every character an id, kind or party can contain.
    return f"{d.date.isoformat()}{d.agreement}\x00{d.kind}\x00{d.party or ''}"


def evaluate(agreement: Agreement, *, as_of: date, start: date, end: date) -> Evaluation:
    """Evaluate every rule and counted event of ``agreement``; deadlines in [start, end].

    The deadlines are sorted by (date, kind, party). See the module docstring for the
    semantics; this is the one computation behind :func:`compute_deadlines` and ``explain``.
    """
    result = _evaluate(agreement, as_of, start, end)
    result.deadlines.sort(key=_sort_key)
    return result


def compute_deadlines(
    agreement: Agreement, *, as_of: date, start: date, end: date
) -> list[Deadline]:
    """Every deadline of ``agreement`` with ``start <= date <= end`` (inclusive), as of ``as_of``.

    Sorted by (date, kind, party); ``days_left = (date − as_of).days``; events dated after
    ``as_of`` are ignored. The semantics are specified in this module's docstring.
    """
    return evaluate(agreement, as_of=as_of, start=start, end=end).deadlines


def compute_all(
    agreements: Iterable[Agreement], *, as_of: date, start: date, end: date
) -> list[Deadline]:
    """The deadlines of all ``agreements`` in [start, end], sorted by (date, agreement, kind,
    party). One sort at the end, not one per agreement."""
    result: list[Deadline] = []
    extend = result.extend
    for agreement in agreements:
        extend(_evaluate(agreement, as_of, start, end).deadlines)
    result.sort(key=_all_key)
    return result
