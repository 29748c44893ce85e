"""Benchmark: ``tracker serve`` from nothing to ready over a folder of N agreement files.

    TRACKER_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test \\
      .venv/bin/python benchmarks/bench_start.py --agreements 10000 [--folder /tmp/bench-files]

Writes N files (the engine benchmark's generator, as ``bench_files.py``; reused when present),
creates an empty PostgreSQL schema and starts ``tracker serve`` on it with ``agreements_dir``
pointing at the files (reminders to the built-in log channel, written to a file). Timed,
from the process start: the first answer 200 of ``/`` after the log says ``service.started``
(the migrations ran, every file was read and validated, the agreements and their deadlines
were stored, the reminders planned). The log's ``service.starting`` lines give the steps.

Targets (issue 13): 10,000 files in under 15 s, 100,000 in under 2 minutes. Results go to
``benchmarks/out/start.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_files import generate

OUT = Path(__file__).resolve().parent / "out" / "start.json"
TARGETS_S = {10_000: 15.0, 100_000: 120.0}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agreements", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args(argv)
    base = os.environ.get("TRACKER_TEST_POSTGRES_URL")
    if not base:
        raise SystemExit("set TRACKER_TEST_POSTGRES_URL (a PostgreSQL database to use)")
    folder = args.folder or Path(tempfile.gettempdir()) / f"bench-start-{args.agreements}"
    generate(folder, args.agreements, args.seed)
    schema = f"bench_start_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = base.replace("postgresql://", "postgresql+psycopg://", 1)
    port = free_port()
    log_path = Path(tempfile.mkdtemp(prefix="bench-start-")) / "serve.log"
    env = {
        **os.environ,
        "TRACKER_DATABASE_URL": f"{url}?options=-csearch_path%3D{schema}",
        "TRACKER_AGREEMENTS_DIR": str(folder / "agreements"),
        "TRACKER_PORT": str(port),
        "TRACKER_TIMEZONE": "UTC",
    }
    tracker = str(Path(sys.executable).with_name("tracker"))
    started = time.perf_counter()
    with log_path.open("wb") as log:
        server = subprocess.Popen([tracker, "serve"], stdout=log, stderr=log, env=env)
    ready_s: float | None = None
    try:
        while time.perf_counter() - started < args.timeout and server.poll() is None:
            if b"service.started" in log_path.read_bytes():
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/", timeout=30).status_code == 200:
                        ready_s = time.perf_counter() - started
                        break
                except httpx.TransportError:
                    pass
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=60)
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    text = log_path.read_text(errors="replace")
    steps = re.findall(r"service\.starting.*?step=(\w+).*?elapsed_s=([\d.]+)", text)
    progress = [line for line in text.splitlines() if "agreements.reading" in line]
    target = TARGETS_S.get(args.agreements)
    result: dict[str, Any] = {
        "agreements": args.agreements,
        "ready_s": round(ready_s, 2) if ready_s is not None else None,
        "steps_s": {name: float(s) for name, s in steps},
        "progress_lines": len(progress),
        "target_s": target,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cores": os.cpu_count(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(OUT.read_text()) if OUT.exists() else {}
    previous[str(args.agreements)] = result
    OUT.write_text(json.dumps(previous, indent=2) + "\n")
    if ready_s is None:
        print(text[-3000:])
        print(f"not ready within {args.timeout} s")
        return 1
    print(
        f"{args.agreements} files: ready in {ready_s:.1f} s (target < {target} s); steps "
        f"{result['steps_s']}; {len(progress)} progress lines; load average "
        f"{result['load_average_1m']} on {result['cores']} cores"
    )
    for line in progress[:3]:
        print("  log:", line[:200])
    return 0 if target is None or ready_s < target else 1


if __name__ == "__main__":
    raise SystemExit(main())
