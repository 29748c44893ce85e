"""API latency under load: ``GET /api/v1/deadlines?within=90d&limit=100`` with 100,000
agreements in the database.

    .venv/bin/python benchmarks/bench_api.py [--agreements 100000] [--duration 20]
        [--connections 16] [--db PATH]

Setup (not timed): a fresh SQLite database, migrated; N generated agreements bulk-inserted
(three shapes in turn: an annual auto-renewal with 90 days' notice, a fixed term with a
decision deadline, a six-monthly recurring review; expiry dates spread over the year so
deadlines fall on every day); their deadlines computed by the rule engine as of today and
materialised for today .. today + 400 days, as the service does at start.

Timed: one server process (uvicorn running ``create_app(settings)``, access log off, no
scheduler, so the API alone is measured) answers the request from a separate load generator
process: ``wrk`` when installed (``--latency``), else an httpx load generator in a
subprocess. Requests per second and p50/p99 latency go to ``benchmarks/out/api.json``.

Target (issue 4): p99 under 50 ms and at least 300 requests per second on a 2-core machine.

Distinct queries (issue 13), on PostgreSQL, without the answer memo, several workers:

    TRACKER_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test \
      .venv/bin/python benchmarks/bench_api.py --postgres --distinct --workers 2 \
      --connections 32 --duration 20

``--distinct`` turns the memo off and, for each endpoint in turn (``/api/v1/deadlines``,
``/calendar.ics``, ``/``, ``/api/v1/agreements``), sends requests spread over thousands of
different URLs (wrk picks one at random per request, from a list the benchmark writes):
``as_of`` from today to 30 days on, windows of 30 days to a year, a tag, a kind, an
agreement, pages deep into the result; agreements paged by ``cursor`` at random depths. Targets:
p99 under 50 ms for ``/api/v1/deadlines`` and ``/api/v1/agreements``, under 200 ms for
``/calendar.ics`` and ``/``. Results go to ``benchmarks/out/api-distinct.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tracker.domain.agreement import Agreement  # noqa: E402
from tracker.domain.durations import parse_duration, shift  # noqa: E402
from tracker.domain.rules import compute_all  # noqa: E402
from tracker.store.bulk import bulk_insert  # noqa: E402
from tracker.store.engine import make_engine  # noqa: E402
from tracker.store.migrate import upgrade  # noqa: E402
from tracker.store.repository import tags_column  # noqa: E402
from tracker.store.tables import AgreementRow, DeadlineHorizonRow, DeadlineRow  # noqa: E402

OUT = REPO / "benchmarks" / "out" / "api.json"
PATH = "/api/v1/deadlines?within=90d&limit=100"
TARGET_P99_MS = 50.0
TARGET_RPS = 300.0
HORIZON = parse_duration("400 days")
BATCH = 5000
TAGS = ["security", "trade", "environment", "arms-control", "investment", "human-rights"]


def document(i: int, rng: random.Random) -> dict[str, Any]:
    day = date(2017, 1, 1) + timedelta(days=rng.randrange(365))
    shape = i % 3
    if shape == 0:
        rule = {
            "kind": "auto_renewal",
            "label": "annual renewal",
            "first_expiry": day.isoformat(),
            "renewal_term": "1 year",
            "notice": "90 days",
            "source": "Art. 1",
        }
    elif shape == 1:
        expires = date(2026, 1, 1) + timedelta(days=rng.randrange(3 * 365))
        rule = {
            "kind": "fixed_term",
            "label": "term",
            "expires": expires.isoformat(),
            "notice": "6 months",
            "source": "Art. 1",
        }
    else:
        rule = {
            "kind": "recurring",
            "label": "review",
            "first": day.isoformat(),
            "every": "6 months",
            "source": "Art. 1",
        }
    return {
        "version": 1,
        "id": f"bench-{i:06d}",
        "title": f"Benchmark agreement {i}",
        "parties": ["AA", "BB"],
        "tags": [TAGS[i % len(TAGS)], TAGS[(i * 7 + 1) % len(TAGS)]],
        "sources": [{"cite": "Art. 1", "url": f"https://example.org/{i}"}],
        "rules": [rule],
    }


def populate(db_url: str, count: int, *, as_of: date) -> dict[str, Any]:
    """Bulk-insert ``count`` agreements and their materialised deadlines."""
    started = time.perf_counter()
    engine = make_engine(db_url)
    upgrade(engine)
    rng = random.Random(20260807)
    now = datetime.now(UTC)
    end = shift(as_of, HORIZON)
    deadlines_written = 0
    with engine.begin() as connection:
        for first in range(0, count, BATCH):
            agreements, deadlines, horizons = [], [], []
            for i in range(first, min(first + BATCH, count)):
                agreement = Agreement.model_validate(document(i, rng))
                text = agreement.model_dump_json()
                tags = tags_column(agreement.tags)
                agreements.append(
                    {
                        "id": agreement.id,
                        "title": agreement.title,
                        "document": text,
                        "source_text": text,
                        "origin": "api",
                        "path": None,
                        "sha256": hashlib.sha256(text.encode()).hexdigest(),
                        "tags": tags,
                        "revision": 1,
                        "updated_at": now,
                    }
                )
                for d in compute_all([agreement], as_of=as_of, start=as_of, end=end):
                    deadlines.append(
                        {
                            "agreement_id": d.agreement,
                            "kind": d.kind.value,
                            "date": d.date,
                            "party": d.party or "",
                            "title": d.title,
                            "label": d.label,
                            "explanation": d.explanation,
                            "source": d.source,
                            "weekday_note": d.weekday_note,
                            "tags": tags,
                        }
                    )
                horizons.append(
                    {"agreement_id": agreement.id, "as_of": as_of, "start": as_of, "end": end}
                )
            bulk_insert(connection, AgreementRow.__table__, agreements)  # type: ignore[attr-defined]
            bulk_insert(connection, DeadlineRow.__table__, deadlines)  # type: ignore[attr-defined]
            bulk_insert(connection, DeadlineHorizonRow.__table__, horizons)  # type: ignore[attr-defined]
            deadlines_written += len(deadlines)
    # VACUUM too on PostgreSQL (as autovacuum soon would): counts are index-only scans
    # only once the visibility map is set; without it the first minutes are 2-4x slower.
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    with autocommit.connect() as connection:
        vacuum = "VACUUM ANALYZE" if connection.dialect.name == "postgresql" else "ANALYZE"
        connection.exec_driver_sql(vacuum)
    engine.dispose()
    return {
        "agreements": count,
        "deadlines": deadlines_written,
        "setup_s": round(time.perf_counter() - started, 1),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def app_from_env() -> Any:
    """The API as ``tracker serve`` builds it, configured from ``BENCH_DB_URL`` and
    ``BENCH_MEMO`` (the factory each uvicorn worker process calls)."""
    from tracker.api.app import create_app
    from tracker.api.memo import Memo
    from tracker.settings import Settings

    settings = Settings(database_url=os.environ["BENCH_DB_URL"], agreements_dir=None)
    app = create_app(settings)
    if os.environ.get("BENCH_MEMO") != "on":
        app.state.memo = Memo(ttl_s=0)
    return app


def serve_main(db_url: str, port: int, *, memo: bool, workers: int = 1) -> None:
    """The server process: the API alone, as ``tracker serve`` builds it, no access log;
    ``workers`` uvicorn worker processes sharing the port."""
    import uvicorn

    os.environ["BENCH_DB_URL"] = db_url
    os.environ["BENCH_MEMO"] = "on" if memo else "off"
    uvicorn.run(
        "bench_api:app_from_env",
        factory=True,
        workers=workers,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("server did not start")


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_s() -> float:
    """CPU seconds of every process named ``postgres`` on this machine (the database's
    backends, when it runs here; exited backends are not counted, so measure with the
    server's connections open)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            text = stat.read_text()
            if "(postgres)" in text:
                total += process_cpu_s(int(stat.parent.name))
    return total


WRK_RANDOM_PATHS = """
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
math.randomseed(os.time())
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
"""


def run_wrk(
    url: str, *, duration: int, connections: int, paths: Path | None = None
) -> dict[str, Any]:
    script: list[str] = []
    env = dict(os.environ)
    if paths is not None:
        lua = paths.with_suffix(".lua")
        lua.write_text(WRK_RANDOM_PATHS)
        script = ["-s", str(lua)]
        env["BENCH_PATHS"] = str(paths)
    threads = 2 if connections >= 32 else 1
    result = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "60s",  # a slow answer is measured, not dropped as a "timeout"
            "--latency",
            *script,
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    out = result.stdout

    def ms(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        assert match, out
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    timeouts = re.search(r"timeout (\d+)", out)
    return {
        "tool": "wrk",
        "requests": requests,
        "rps": rps,
        "p50_ms": ms("50"),
        "p99_ms": ms("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "timeouts": int(timeouts.group(1)) if timeouts else 0,
        "raw": out,
    }


HTTPX_LOAD = r"""
import asyncio, json, sys, time
import httpx
url, duration, connections = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
async def worker(client, stop, latencies, errors):
    while time.perf_counter() < stop:
        t = time.perf_counter()
        r = await client.get(url)
        latencies.append(time.perf_counter() - t)
        if r.status_code != 200:
            errors.append(r.status_code)
async def main():
    latencies, errors = [], []
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client, start + duration, latencies, errors)
                               for _ in range(connections)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    q = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000
    print(json.dumps({"tool": "httpx", "requests": len(latencies), "rps": len(latencies) / elapsed,
                      "p50_ms": q(0.50), "p99_ms": q(0.99), "non_2xx": len(errors)}))
asyncio.run(main())
"""


def run_httpx(url: str, *, duration: int, connections: int) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", HTTPX_LOAD, url, str(duration), str(connections)],
        capture_output=True,
        text=True,
        check=True,
    )
    data: dict[str, Any] = json.loads(result.stdout)
    return data


KINDS = ["notice_deadline", "notice_window_opens", "expiry", "recurring"]
WINDOWS = ["30d", "90d", "180d", "365d"]
TARGETS_MS = {"deadlines": 50.0, "calendar": 200.0, "page": 200.0, "agreements": 50.0}


def distinct_paths(endpoint: str, agreements: int, today: date, rng: random.Random) -> list[str]:
    """Thousands of different URLs for one endpoint (see the module doc)."""
    from tracker.api.routers.agreements import encode_cursor

    def some_id() -> str:
        return f"bench-{rng.randrange(agreements):06d}"

    paths: list[str] = []
    for _ in range(5000):
        query: list[str] = []
        if endpoint == "deadlines":
            as_of = today + timedelta(days=rng.randrange(31))
            query += [f"as_of={as_of}", f"within={rng.choice(WINDOWS)}", "limit=100"]
            query += [f"offset={rng.choice([0, 0, 100, 500, 2000])}"]
            if rng.random() < 0.4:
                query.append(f"tag={rng.choice(TAGS)}")
            if rng.random() < 0.3:
                query.append(f"kind={rng.choice(KINDS)}")
            if rng.random() < 0.2:
                query += [f"agreement={some_id()}", f"agreement={some_id()}"]
            paths.append("/api/v1/deadlines?" + "&".join(query))
        elif endpoint in ("calendar", "page"):
            if rng.random() < 0.5:
                query.append(f"tag={rng.choice(TAGS)}")
            if endpoint == "calendar" and rng.random() < 0.5:
                query.append(f"kind={rng.choice(KINDS)}")
            if rng.random() < 0.3:
                query.append(f"agreement={some_id()}")
            base = "/calendar.ics" if endpoint == "calendar" else "/"
            paths.append(base + ("?" + "&".join(query) if query else ""))
        else:
            query.append(f"limit={rng.choice([20, 100, 500])}")
            if rng.random() < 0.9:
                query.append(f"cursor={encode_cursor(some_id())}")
            if rng.random() < 0.2:
                query.append(f"tag={rng.choice(TAGS)}")
            paths.append("/api/v1/agreements?" + "&".join(query))
    return paths


def postgres_database() -> str:
    """A fresh schema in ``TRACKER_TEST_POSTGRES_URL`` (kept: reuse it with ``--db-url``)."""
    import uuid

    import psycopg

    base = os.environ.get("TRACKER_TEST_POSTGRES_URL")
    if not base:
        raise SystemExit("--postgres needs TRACKER_TEST_POSTGRES_URL")
    schema = f"bench_api_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = base.replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{url}?options=-csearch_path%3D{schema}"


def distinct_main(args: argparse.Namespace) -> None:
    """Each endpoint under distinct queries, memo off; prints and writes the figures."""
    today = datetime.now(UTC).date()
    db_url = args.db_url or (postgres_database() if args.postgres else None)
    workdir = Path(tempfile.mkdtemp(prefix="bench-api-"))
    if db_url is None:
        db_url = f"sqlite:///{workdir / 'api.db'}"
    setup: dict[str, Any] = (
        {"reused": db_url} if args.db_url else populate(db_url, args.agreements, as_of=today)
    )
    print(f"setup: {setup}", flush=True)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", db_url, str(port), "off", str(args.workers)],
        cwd=str(REPO),
        env={
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(REPO / "benchmarks"),
        },
    )
    base = f"http://127.0.0.1:{port}"
    results: dict[str, Any] = {}
    rng = random.Random(13)
    try:
        wait_ready(base, server)
        for endpoint in args.endpoints.split(","):
            paths_file = workdir / f"{endpoint}.paths"
            paths = distinct_paths(endpoint, args.agreements, today, rng)
            paths_file.write_text("\n".join(paths) + "\n")
            run_wrk(base + "/", duration=3, connections=args.connections, paths=paths_file)
            before, database_before = process_tree_cpu_s(server.pid), postgres_cpu_s()
            result = run_wrk(
                base + "/", duration=args.duration, connections=args.connections, paths=paths_file
            )
            spent = process_tree_cpu_s(server.pid) - before
            database_spent = postgres_cpu_s() - database_before
            result.pop("raw", None)
            result["distinct_urls"] = len(set(paths))
            result["server_cpu_ms_per_request"] = round(
                1000 * spent / max(1, result["requests"]), 2
            )
            if "postgresql" in db_url:
                result["database_cpu_ms_per_request"] = round(
                    1000 * database_spent / max(1, result["requests"]), 2
                )
            result["target_p99_ms"] = TARGETS_MS[endpoint]
            result["meets_target"] = (
                result["requests"] > 0
                and not result["timeouts"]
                and result["p99_ms"] < TARGETS_MS[endpoint]
            )
            results[endpoint] = result
            print(
                f"{endpoint:11} {result['rps']:8.1f} req/s  p50 {result['p50_ms']:7.1f} ms  "
                f"p99 {result['p99_ms']:7.1f} ms (target < {TARGETS_MS[endpoint]:.0f} ms: "
                f"{'met' if result['meets_target'] else 'MISSED'})  {result['requests']} requests, "
                f"non-2xx {result['non_2xx']}, timeouts {result['timeouts']}  "
                f"server CPU {result['server_cpu_ms_per_request']} ms/request, database "
                f"{result.get('database_cpu_ms_per_request', '-')} ms/request",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    report = {
        "benchmark": "api-distinct",
        "database": "postgresql" if "postgresql" in db_url else "sqlite",
        "setup": setup,
        "memo": False,
        "workers": args.workers,
        "connections": args.connections,
        "duration_s": args.duration,
        "results": results,
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    out = OUT.with_name("api-distinct.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results in {out}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def process_tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process and its children (the uvicorn workers)."""
    total = process_cpu_s(pid)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for child in children.read_text().split() if children.exists() else []:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            total += process_tree_cpu_s(int(child))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agreements", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=20, help="seconds of load")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--db", type=Path, help="reuse (or create) this SQLite file")
    parser.add_argument("--tool", choices=["wrk", "httpx"], default=None)
    parser.add_argument(
        "--no-memo",
        action="store_true",
        help="turn off the API's one-second answer memo (tracker.api.memo)",
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--distinct", action="store_true", help="distinct queries, no memo")
    parser.add_argument("--postgres", action="store_true", help="a new schema in PostgreSQL")
    parser.add_argument("--db-url", help="reuse this populated database (--distinct)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--endpoints",
        default="deadlines,calendar,page,agreements",
        help="--distinct: which endpoints, comma-separated",
    )
    parser.add_argument(
        "--serve", nargs=4, metavar=("DB_URL", "PORT", "MEMO", "WORKERS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve:
        serve_main(
            args.serve[0],
            int(args.serve[1]),
            memo=args.serve[2] == "on",
            workers=int(args.serve[3]),
        )
        return
    if args.distinct:
        distinct_main(args)
        return

    as_of = datetime.now(UTC).date()
    workdir = Path(tempfile.mkdtemp(prefix="bench-api-"))
    db_path = args.db or workdir / "api.db"
    db_url = f"sqlite:///{db_path}"
    if args.db is not None and db_path.exists():
        setup: dict[str, Any] = {"agreements": args.agreements, "reused_db": str(db_path)}
    else:
        setup = populate(db_url, args.agreements, as_of=as_of)
    print(f"setup: {setup}", flush=True)

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            db_url,
            str(port),
            "off" if args.no_memo else "on",
            str(args.workers),
        ],
        cwd=str(REPO),
        env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO / "benchmarks")},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, server)
        import httpx

        sample = httpx.get(base + PATH, timeout=30).json()
        print(f"sample: count={sample['count']} page={len(sample['data'])}", flush=True)
        tool = args.tool or ("wrk" if shutil.which("wrk") else "httpx")
        load = run_wrk if tool == "wrk" else run_httpx
        load(base + PATH, duration=3, connections=args.connections)  # warm-up
        cpu_before, server_before = os.times(), process_cpu_s(server.pid)
        result = load(base + PATH, duration=args.duration, connections=args.connections)
        cpu_after, server_after = os.times(), process_cpu_s(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    raw = result.pop("raw", None)
    report = {
        "benchmark": "api",
        "path": PATH,
        "as_of": as_of.isoformat(),
        "setup": setup,
        "matching_deadlines": sample["count"],
        "memo": not args.no_memo,
        "connections": args.connections,
        "duration_s": args.duration,
        **result,
        "target": {"p99_ms": TARGET_P99_MS, "rps": TARGET_RPS},
        "meets_target": result["p99_ms"] < TARGET_P99_MS and result["rps"] >= TARGET_RPS,
        # CPU the server spent per request: unlike latency, not inflated by other jobs.
        "server_cpu_ms_per_request": round(
            1000 * (server_after - server_before) / max(1, result["requests"]), 2
        ),
        "load_average": os.getloadavg(),
        "loadgen_cpu_s": round(
            cpu_after.children_user
            + cpu_after.children_system
            - cpu_before.children_user
            - cpu_before.children_system,
            2,
        ),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    if raw:
        print(raw)
    print(json.dumps({k: v for k, v in report.items() if k != "machine"}, indent=2))
    if args.db is None:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
