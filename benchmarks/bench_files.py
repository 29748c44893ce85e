"""Benchmark: ``tracker deadlines --agreements DIR`` against Remind on the same question.

    .venv/bin/python benchmarks/bench_files.py [--agreements 100000] [--folder /tmp/bench-files]

Writes N agreement files (the engine benchmark's generator: every rule kind and event type,
100 files per sub-folder) and the equivalent Remind file once (kept in ``--folder`` for the
next run), then times, as whole processes, one after the other:

* Remind: ``remind -s12 FILE 2025-01-01`` (every trigger in the next 12 months);
* cold: ``tracker deadlines --agreements DIR`` for the same year, with an empty parse cache
  (``TRACKER_CACHE_DIR`` pointing at a fresh folder): read, parse, validate every file, fill
  the cache, compute, print CSV to a file;
* warm: the same command again over the unchanged files (the parse cache answers);
* no cache: ``--no-cache`` (every file parsed, nothing written to the cache).

The ratios tracker / Remind are printed and written to ``benchmarks/out/files.json``.
Targets (issue 13): cold at most 0.5 x Remind, warm at most 0.1 x Remind. The outputs of the
cold, warm and no-cache runs are compared byte for byte.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import AS_OF, WINDOW_END, make_agreement

OUT = Path(__file__).resolve().parent / "out" / "files.json"
TARGET_COLD = 0.5
TARGET_WARM = 0.1


def generate(folder: Path, count: int, seed: int) -> Path:
    """N agreement files under ``folder/agreements`` and ``folder/agreements.rem``; reused
    when a previous run left exactly ``count`` files (``folder/.count``)."""
    marker = folder / ".count"
    rem_path = folder / "agreements.rem"
    # The marker names the layout too: a folder from before the files were named by their id
    # (which the loader requires) is written again.
    stamp = f"{count} id-named"
    if marker.exists() and marker.read_text() == stamp and rem_path.exists():
        return rem_path
    if folder.exists():
        shutil.rmtree(folder)
    files = folder / "agreements"
    files.mkdir(parents=True)
    rng = random.Random(seed)
    with rem_path.open("w", encoding="utf-8") as rem_file:
        for i in range(count):
            doc, rem = make_agreement(i, rng)
            if not doc["events"]:
                del doc["events"]
            # The file is named by the agreement's id, as the loader requires.
            target = files / f"group-{i // 100:04d}" / f"{doc['id']}.yaml"
            if i % 100 == 0:
                target.parent.mkdir()
            text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
            target.write_text(text, encoding="utf-8")
            rem_file.write("".join(line + "\n" for line in rem))
    marker.write_text(stamp)
    return rem_path


def timed(command: list[str], out: Path, env: dict[str, str]) -> dict[str, Any]:
    """Wall and CPU seconds (children's rusage) of one whole process; stdout to ``out``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with out.open("wb") as sink:
        proc = subprocess.run(command, stdout=sink, stderr=subprocess.PIPE, env=env, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.decode(errors="replace")[-2000:])
        raise SystemExit(f"{command[0]} exited {proc.returncode}")
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "bytes": out.stat().st_size}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agreements", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "bench-files")
    args = parser.parse_args(argv)

    remind = shutil.which("remind")
    if remind is None:
        raise SystemExit("remind is not installed (apt-get install remind)")
    tracker = str(Path(sys.executable).with_name("tracker"))
    t0 = time.perf_counter()
    rem_path = generate(args.folder, args.agreements, args.seed)
    print(f"{args.agreements} files ready in {time.perf_counter() - t0:.1f} s ({args.folder})")

    work = Path(tempfile.mkdtemp(prefix="bench-files-"))
    env = {**os.environ, "TRACKER_CACHE_DIR": str(work / "cache"), "TZ": "UTC"}
    question = [
        "deadlines",
        "--agreements",
        str(args.folder / "agreements"),
        "--as-of",
        AS_OF.isoformat(),
        "--from",
        AS_OF.isoformat(),
        "--to",
        WINDOW_END.isoformat(),
        "--format",
        "csv",
    ]
    runs: dict[str, Any] = {}
    runs["remind"] = timed([remind, "-s12", str(rem_path), AS_OF.isoformat()], work / "rem", env)
    runs["cold"] = timed([tracker, *question], work / "cold.csv", env)
    runs["warm"] = timed([tracker, *question], work / "warm.csv", env)
    runs["no_cache"] = timed([tracker, *question, "--no-cache"], work / "nocache.csv", env)
    same = (
        (work / "cold.csv").read_bytes()
        == (work / "warm.csv").read_bytes()
        == (work / "nocache.csv").read_bytes()
    )
    base = runs["remind"]["wall_s"]
    ratios = {k: round(runs[k]["wall_s"] / base, 3) for k in ("cold", "warm", "no_cache")}
    result = {
        "agreements": args.agreements,
        "window": [AS_OF.isoformat(), WINDOW_END.isoformat()],
        "runs": runs,
        "ratios_to_remind": ratios,
        "identical_outputs": same,
        "deadlines": (work / "cold.csv").read_text(encoding="utf-8").count("\n") - 1,
        "triggers": (work / "rem").read_text(encoding="utf-8").count("\n"),
        "targets": {"cold": TARGET_COLD, "warm": TARGET_WARM},
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for name in ("remind", "cold", "warm", "no_cache"):
        run = runs[name]
        ratio = f"  {ratios[name]:.3f} x remind" if name in ratios else ""
        print(f"  {name:8} {run['wall_s']:8.2f} s wall {run['cpu_s']:8.2f} s CPU{ratio}")
    print(
        f"  {result['deadlines']} deadlines (remind: {result['triggers']} triggers); "
        f"outputs identical: {same}; load average {result['load_average_1m']}"
    )
    ok = same and ratios["cold"] <= TARGET_COLD and ratios["warm"] <= TARGET_WARM
    print(f"  {'OK' if ok else 'MISSED TARGET'}; results in {OUT}")
    shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
