"""Benchmark: `aggregator harvest` into SQLite against sickle's bare ListRecords iteration.

Serves N generated oai_dc records (100 per page) from a local OAI-PMH server, then in
the same run measures, each in its own process:

  (a) sickle alone iterating ListRecords over every page (the baseline),
  (b) `aggregator harvest --no-index` into a fresh SQLite store (network to store;
      the search index is measured by bench/search.py),
  (c) the incremental re-run that follows (nothing changed).

Prints records/s, the ratio (b)/(a) and the peak memory (max RSS) of each process.
The server runs in a process of its own, so the measured processes are forked from a
small parent (Linux keeps a forked child's pre-exec RSS in its peak).

    python bench/harvest.py [--records 100000] [--page-size 100]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aggregator.demo.generate import generate_records
from aggregator.demo.oaiserver import OAIServer, Repository

SICKLE_CHILD = """
import sys
from sickle import Sickle
count = 0
for _ in Sickle(sys.argv[1], max_retries=3, timeout=60).ListRecords(metadataPrefix="oai_dc"):
    count += 1
print(count)
"""


def run_child(argv: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Run a process; return (wall seconds, peak RSS in MB, stdout)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        stdout = out.read().decode()
    if proc.returncode not in (0,):
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {err[-2000:]}")
    return wall, usage.ru_maxrss // 1024, stdout


def serve(records: int, page_size: int) -> None:
    """Serve generated records until standard input closes (the server process)."""
    repository = Repository(generate_records(records), page_size=page_size)
    repository.prerender(["oai_dc"])
    with OAIServer(repository) as server:
        print(server.base_url, flush=True)
        sys.stdin.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="runs of (a) and (b) each")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.records, args.page_size)
        return

    print(f"generating and serving {args.records:,} records …", flush=True)
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--records", str(args.records),
         "--page-size", str(args.page_size)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True)
    assert server.stdout is not None and server.stdin is not None
    base_url = server.stdout.readline().strip()
    env = dict(os.environ, AGGREGATOR_ALLOW_NETWORKS="127.0.0.0/8",
               AGGREGATOR_LOG_LEVEL="WARNING")
    env.pop("AGGREGATOR_DATABASE_URL", None)
    aggregator = [sys.executable, "-m", "aggregator"]
    sickle_runs: list[tuple[float, int]] = []
    harvest_runs: list[tuple[float, int, float, dict[str, Any]]] = []
    rerun: tuple[float, int, dict[str, Any]] | None = None
    db_size = 0
    # alternate the two so that a noisy neighbour hurts both alike
    for _ in range(args.repeat):
        wall_a, rss_a, out_a = run_child([sys.executable, "-c", SICKLE_CHILD, base_url], env)
        if int(out_a.strip()) != args.records:
            raise SystemExit(f"sickle saw {out_a.strip()} records, expected {args.records}")
        sickle_runs.append((wall_a, rss_a))
        with tempfile.TemporaryDirectory() as data_dir:
            env_b = dict(env, AGGREGATOR_DATA_DIR=data_dir)
            for cmd in (["init"], ["members", "add", "bench", "--name", "Bench",
                                   "--url", base_url]):
                run_child(aggregator + cmd, env_b)
            wall_b, rss_b, out_b = run_child(
                aggregator + ["harvest", "bench", "--json", "--no-index"], env_b)
            result_b = json.loads(out_b.strip().splitlines()[-1])
            if result_b["new"] != args.records:
                raise SystemExit(f"expected {args.records} new records, got {result_b}")
            harvest_runs.append((wall_b, rss_b, result_b["seconds"], result_b))
            if rerun is None:
                wall_c, rss_c, out_c = run_child(
                    aggregator + ["harvest", "bench", "--json", "--no-index"], env_b)
                rerun = (wall_c, rss_c, json.loads(out_c.strip().splitlines()[-1]))
                db_size = sum(p.stat().st_size
                              for p in Path(data_dir).glob("aggregator.sqlite3*"))
    server.stdin.close()
    server.wait(timeout=30)
    report(args, sickle_runs, harvest_runs, rerun, db_size)


def report(args: argparse.Namespace, sickle_runs: list[tuple[float, int]],
           harvest_runs: list[tuple[float, int, float, dict[str, Any]]],
           rerun: tuple[float, int, dict[str, Any]] | None, db_size: int) -> None:
    """Print the figures: median and best of the repeats."""
    n = args.records
    rates_a = sorted(n / wall for wall, _ in sickle_runs)
    rates_b = sorted(n / wall for wall, _, _, _ in harvest_runs)
    inner_b = sorted(n / inner for _, _, inner, _ in harvest_runs)
    last = harvest_runs[-1][3]
    print()
    print(f"records served: {n:,} ({args.page_size} per page); {args.repeat} runs each, "
          "alternating")
    print(f"(a) sickle ListRecords:   median {statistics.median(rates_a):>8,.0f} records/s  "
          f"best {rates_a[-1]:>8,.0f}   peak RSS {max(r for _, r in sickle_runs)} MB")
    print(f"(b) aggregator harvest:   median {statistics.median(rates_b):>8,.0f} records/s  "
          f"best {rates_b[-1]:>8,.0f}   peak RSS {max(r for _, r, _, _ in harvest_runs)} MB"
          f"   ({last['status']}, {last['pages']} pages)")
    print(f"    inside sync_source:   median {statistics.median(inner_b):>8,.0f} records/s  "
          "(without interpreter start-up)")
    if rerun is not None:
        wall_c, rss_c, result_c = rerun
        print(f"(c) incremental re-run:   {result_c['new']} new, {result_c['updated']} updated "
              f"in {wall_c:.2f}s   peak RSS {rss_c} MB")
    ratio = statistics.median(rates_b) / statistics.median(rates_a)
    print(f"ratio (b)/(a) of the medians: {ratio:.2f}x   store on disk: "
          f"{db_size / 2**20:.0f} MB")


if __name__ == "__main__":
    main()
