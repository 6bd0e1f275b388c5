"""Benchmark: `aggregator harvest` into SQLite against sickle's bare ListRecords iteration.

Serves N generated oai_dc records (100 per page) from a local OAI-PMH server, then in
the same run measures, each in its own process:

  (a) sickle alone iterating ListRecords over every page (the baseline),
  (b) `aggregator harvest` into a fresh SQLite store (the full pipeline),
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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
    with tempfile.TemporaryDirectory() as data_dir:
        env = dict(os.environ, AGGREGATOR_DATA_DIR=data_dir,
                   AGGREGATOR_ALLOW_NETWORKS="127.0.0.0/8", AGGREGATOR_LOG_LEVEL="WARNING")
        env.pop("AGGREGATOR_DATABASE_URL", None)
        aggregator = [sys.executable, "-m", "aggregator"]

        wall_a, rss_a, out_a = run_child([sys.executable, "-c", SICKLE_CHILD, base_url], env)
        count_a = int(out_a.strip())

        for cmd in (["init"], ["members", "add", "bench", "--name", "Bench", "--url", base_url]):
            run_child(aggregator + cmd, env)
        wall_b, rss_b, out_b = run_child(aggregator + ["harvest", "bench", "--json"], env)
        result_b = json.loads(out_b.strip().splitlines()[-1])
        wall_c, rss_c, out_c = run_child(aggregator + ["harvest", "bench", "--json"], env)
        result_c = json.loads(out_c.strip().splitlines()[-1])
        db_size = sum(p.stat().st_size for p in Path(data_dir).glob("aggregator.sqlite3*"))
    server.stdin.close()
    server.wait(timeout=30)

    stored_b = result_b["new"]
    rate_a = count_a / wall_a
    rate_b = stored_b / wall_b
    rate_b_inner = stored_b / max(result_b["seconds"], 1e-9)
    print()
    print(f"records served: {args.records:,} ({args.page_size} per page)")
    print(f"(a) sickle ListRecords:     {count_a:>9,} records in {wall_a:6.2f}s = "
          f"{rate_a:>9,.0f} records/s   peak RSS {rss_a} MB")
    print(f"(b) aggregator harvest:     {stored_b:>9,} records in {wall_b:6.2f}s = "
          f"{rate_b:>9,.0f} records/s   peak RSS {rss_b} MB   "
          f"(status {result_b['status']}, {result_b['pages']} pages)")
    print(f"    inside sync_source:     {result_b['seconds']:.2f}s = {rate_b_inner:,.0f} "
          "records/s (without interpreter start-up)")
    print(f"(c) incremental re-run:     {result_c['new']} new, {result_c['updated']} updated "
          f"in {wall_c:.2f}s   peak RSS {rss_c} MB")
    print(f"ratio (b)/(a): {rate_b / rate_a:.2f}x   store on disk: {db_size / 2**20:.0f} MB")
    if stored_b != args.records:
        raise SystemExit(f"expected {args.records} records in the store, got {stored_b}")


if __name__ == "__main__":
    main()
