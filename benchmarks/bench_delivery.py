"""Delivery throughput: the tracker's dispatcher against a bare httpx loop, in one run.

    .venv/bin/python benchmarks/bench_delivery.py [--reminders 10000] [--db sqlite|postgres]
        [--concurrency 16] [--postgres-url URL]

Both send the same signed bodies to the same receiver (``tests.support.receiver`` in its own
process, answering 200 at once) with the same concurrency bound. The tracker's side is the
whole outbox path: claim due rows in batches (BEGIN IMMEDIATE / FOR UPDATE SKIP LOCKED),
and for each delivery record its start, build the notification, sign, POST, record its outcome
and the row's new state, and log one line (to a file, at INFO, as ``tracker serve`` does).
The rows are inserted before timing starts. Results go to ``benchmarks/out/delivery.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.receiver import ReceiverProcess  # noqa: E402
from tracker import dispatch  # noqa: E402
from tracker.domain.deadline import Deadline, DeadlineKind  # noqa: E402
from tracker.domain.planner import PlannedReminder, PlanReason, ReminderKey  # noqa: E402
from tracker.domain.reminder import ReminderStatus  # noqa: E402
from tracker.notify.base import Notification  # noqa: E402
from tracker.notify.http import make_http_client  # noqa: E402
from tracker.notify.webhook import WebhookNotifier  # noqa: E402
from tracker.settings import Settings, WebhookChannel  # noqa: E402
from tracker.store import reminders as outbox  # noqa: E402
from tracker.store.engine import make_engine  # noqa: E402
from tracker.store.migrate import upgrade  # noqa: E402

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OUT = REPO / "benchmarks" / "out" / "delivery.json"
TARGET_RATIO = 0.60


def planned_reminders(count: int, *, now: datetime) -> list[PlannedReminder]:
    """``count`` distinct reminders, all due: 100 agreements × daily deadlines."""
    out = []
    for i in range(count):
        agreement, day = f"bench-{i % 100:03d}", date(2030, 1, 1) + timedelta(days=i // 100)
        deadline = Deadline(
            agreement=agreement,
            title=f"Benchmark agreement {agreement}",
            kind=DeadlineKind.NOTICE_DEADLINE,
            date=day,
            days_left=0,
            explanation=f"expiry {day} − 90 days = {day}",
        )
        key = ReminderKey(agreement, "notice_deadline", day, "", "7 days", "hook")
        out.append(
            PlannedReminder(
                key,
                now - timedelta(minutes=1),
                deadline,
                ReminderStatus.PENDING,
                PlanReason.SCHEDULED,
            )
        )
    return out


def database_url(kind: str, tmp: Path, postgres_url: str | None) -> tuple[str, Any]:
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'bench.db'}", None
    import psycopg

    base = postgres_url or os.environ.get("TRACKER_TEST_POSTGRES_URL")
    if not base:
        raise SystemExit("--db postgres needs --postgres-url or TRACKER_TEST_POSTGRES_URL")
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    return f"{plain}?options=-csearch_path%3D{schema}", drop


async def bare_loop(
    url: str, bodies: list[tuple[bytes, dict[str, str]]], concurrency: int
) -> float:
    """The baseline: the same requests with nothing but httpx and a semaphore."""
    client = make_http_client(max_connections=concurrency)
    slots = asyncio.Semaphore(concurrency)

    async def post(body: bytes, headers: dict[str, str]) -> None:
        async with slots:
            response = await client.post(url, content=body, headers=headers)
            response.raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(post(b, h) for b, h in bodies))
    elapsed = time.perf_counter() - started
    await client.aclose()
    return elapsed


async def signed_bodies(
    planned: list[PlannedReminder], url: str, *, now: datetime
) -> list[tuple[bytes, dict[str, str]]]:
    from tracker.notify.webhook import webhook_body

    client = make_http_client()
    notifier = WebhookNotifier(
        "hook", WebhookChannel(type="webhook", url=url, secret=SECRET), client=client
    )
    out = []
    for i, p in enumerate(planned):
        notification = Notification(
            reminder_id=i + 1,
            message_id=p.webhook_id,
            channel="hook",
            offset=p.key.offset,
            due_at=p.due_at,
            deadline=p.deadline.to_dict(),
            agreement={"id": p.key.agreement, "title": p.deadline.title, "sources": []},
        )
        body = webhook_body(notification, now=now)
        out.append((body, notifier.request_headers(notification, body, now=now)))
    await client.aclose()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--postgres-url")
    parser.add_argument("--log-level", default="INFO", help="tracker log level (to a file)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating measurement rounds")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        log_file = tmp / "tracker.log"
        handler = logging.FileHandler(log_file)
        from tracker.logs import KeyValueFormatter

        handler.setFormatter(KeyValueFormatter())
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(args.log_level)
        logging.getLogger("httpx").setLevel(logging.WARNING)

        url, drop = database_url(args.db, tmp, args.postgres_url)
        engine = make_engine(url)
        try:
            upgrade(engine)
            now = datetime.now(UTC)
            planned = planned_reminders(args.reminders, now=now)
            outbox.insert_planned(engine, planned, now=now)
            with ReceiverProcess(tmp / "requests.jsonl") as receiver:
                settings = Settings.model_validate(
                    {
                        "database_url": url,
                        "agreements_dir": None,
                        "max_concurrent_deliveries": args.concurrency,
                        "channels": {
                            "hook": {"type": "webhook", "url": receiver.url, "secret": SECRET}
                        },
                    }
                )
                bodies = asyncio.run(signed_bodies(planned, receiver.url, now=now))
                # Warm up the receiver's threads and both paths' imports, then measure in
                # alternating rounds, so that a neighbour's load drifting during the run
                # weighs on both sides alike.
                asyncio.run(bare_loop(receiver.url, bodies[:200], args.concurrency))
                bare_s = bare_cpu = tracker_s = tracker_cpu = 0.0
                outcomes: dict[str, int] = {}
                size = -(-args.reminders // args.rounds)
                for start in range(0, args.reminders, size):
                    chunk = bodies[start : start + size]
                    cpu0, wall0 = time.process_time(), time.perf_counter()
                    asyncio.run(bare_loop(receiver.url, chunk, args.concurrency))
                    bare_s += time.perf_counter() - wall0
                    bare_cpu += time.process_time() - cpu0
                    cpu0, wall0 = time.process_time(), time.perf_counter()
                    report = dispatch.tick(
                        engine, None, settings, now=now, worker="bench", limit=len(chunk)
                    )
                    tracker_s += time.perf_counter() - wall0
                    tracker_cpu += time.process_time() - cpu0
                    for outcome, n in report.outcomes.items():
                        outcomes[outcome] = outcomes.get(outcome, 0) + n
            counts = outbox.count_by_status(engine)
        finally:
            engine.dispose()
            if drop:
                drop()
            logging.getLogger().removeHandler(handler)

    sent = counts.get("sent", 0)
    if sent != args.reminders:
        print(f"only {sent} of {args.reminders} reminders were sent: {counts}", file=sys.stderr)
        return 1
    bare_rate, tracker_rate = args.reminders / bare_s, args.reminders / tracker_s
    result = {
        "benchmark": "delivery",
        "command": " ".join(["benchmarks/bench_delivery.py", *sys.argv[1:]]),
        "db": args.db,
        "reminders": args.reminders,
        "concurrency": args.concurrency,
        "batch_size": dispatch.batch_size_for(settings),
        "bare_httpx_s": round(bare_s, 3),
        "bare_httpx_per_s": round(bare_rate, 1),
        "bare_httpx_cpu_s": round(bare_cpu, 3),
        "tracker_s": round(tracker_s, 3),
        "tracker_cpu_s": round(tracker_cpu, 3),
        "tracker_per_s": round(tracker_rate, 1),
        "ratio": round(tracker_rate / bare_rate, 3),
        "cpu_ratio": round(bare_cpu / tracker_cpu, 3),
        "rounds": args.rounds,
        "target_ratio": TARGET_RATIO,
        "outcomes": outcomes,
        "load_average": list(os.getloadavg()),
        "python": platform.python_version(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    existing: dict[str, Any] = {}
    if OUT.exists():
        try:
            existing = json.loads(OUT.read_text())
        except ValueError:
            existing = {}
    existing[args.db] = result
    OUT.write_text(json.dumps(existing, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
