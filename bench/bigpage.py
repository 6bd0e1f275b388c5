"""Benchmark: peak memory of one very large ListRecords page, parsed and harvested.

Builds one ListRecords page of N generated oai_dc records (all on one page, no
resumption token) and measures, each in a process of its own:

  (a) ``parse_list_page`` alone on the page's bytes: the growth of the process's peak
      RSS (ru_maxrss) from just before the parse (bytes already read) to just after;
  (b) ``aggregator harvest --no-index`` of that page, served by a local OAI-PMH server
      on a thread of this process, into a fresh SQLite store: the peak RSS of the
      harvest process (ru_maxrss from os.wait4, which also covers the normalising
      worker it reaps), and the peak of the harvest process and its children summed
      (sampled from /proc every few milliseconds). Both are also given as growth over
      the same harvest of a small page (``--small`` records, enough to start the
      worker), i.e. what the big page itself costs.

The response cap (max_response_bytes) is raised above the page's size for (b).

The page is made and served by a server process of its own; by default its abstracts are
cut so that it is 48 MB, the size of the page in the issue.

    python bench/bigpage.py [--records 60000] [--page-mb 48] [--small 1000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

from aggregator.demo.generate import generate_records
from aggregator.demo.oaiserver import OAIServer
from aggregator.demo.provider import Repository
from aggregator.demo.samples import SampleRecord

PARSE_CHILD = """
import gc, json, resource, sys, time
from aggregator.harvest.parse import parse_list_page
data = open(sys.argv[1], "rb").read()
gc.collect()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
page = parse_list_page(data)
seconds = time.perf_counter() - started
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"records": len(page.records), "before": before // 1024,
                  "after": after // 1024, "seconds": seconds}))
"""


def tree_rss(pid: int) -> int:
    """Resident set size in kB of a process and all its descendants (0 once gone)."""
    total = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
            for task in Path(f"/proc/{current}/task").iterdir():
                stack.extend(int(p) for p in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return total


def run_child(argv: list[str], env: dict[str, str]) -> tuple[float, int, int, str]:
    """Run a process; return (wall seconds, ru_maxrss MB, sampled tree peak MB, stdout)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss(proc.pid))
                time.sleep(0.005)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"{argv[2:]} failed ({proc.returncode}): {stderr[-2000:]}")
    return wall, usage.ru_maxrss // 1024, peak // 1024, stdout


def parse_alone(path: Path, env: dict[str, str]) -> dict[str, float]:
    """(a): parse_list_page in a fresh process; its peak RSS before and after."""
    _, _, _, out = run_child([sys.executable, "-c", PARSE_CHILD, str(path)], env)
    result: dict[str, float] = json.loads(out)
    return result


def harvest(base_url: str, env: dict[str, str]) -> tuple[float, int, int, dict[str, object]]:
    """(b): `aggregator harvest` of one source into a fresh SQLite store."""
    aggregator = [sys.executable, "-m", "aggregator"]
    with tempfile.TemporaryDirectory() as data_dir:
        env = dict(env, AGGREGATOR_DATA_DIR=data_dir)
        for cmd in (["init"], ["members", "add", "big", "--name", "Big", "--url", base_url]):
            run_child(aggregator + cmd, env)
        wall, maxrss, tree, out = run_child(
            aggregator + ["harvest", "big", "--json", "--no-index"], env)
    return wall, maxrss, tree, json.loads(out.strip().splitlines()[-1])


def _page_size(records: list[SampleRecord]) -> int:
    repository = Repository(records, page_size=len(records))
    return len(repository.render({"verb": "ListRecords", "metadataPrefix": "oai_dc"},
                                 "http://127.0.0.1:1/oai"))


def _trimmed(record: SampleRecord, description: int, lean: bool) -> SampleRecord:
    metadata = {**record.metadata, "description": [record.metadata["description"][0]
                                                   [:description]]}
    if lean:  # one creator and one subject, no publisher or format
        metadata = {key: values[:1] for key, values in metadata.items()
                    if key not in ("publisher", "format")}
    return replace(record, metadata=metadata)


def build(records: int, page_mb: float) -> list[SampleRecord]:
    """Generated records, cut so that one page of them is about ``page_mb`` (their
    abstracts shortened and, when that is not enough, fewer fields)."""
    out = generate_records(records)
    if page_mb <= 0:
        return out
    for lean in (False, True):
        bare = _page_size([_trimmed(r, 0, lean) for r in out])
        room = int((page_mb * 2**20 - bare) / records)
        if room >= 0:
            break
    return [_trimmed(r, max(room, 0), lean) for r in out]


def serve(records: int, small: int, page_mb: float, path: str) -> None:
    """Serve the big and the small page until standard input closes (the server process).

    The page is made and served here, so that the measured processes are forked from a
    small parent (Linux keeps a forked child's pre-exec RSS in its peak).
    """
    big = Repository(build(records, page_mb), page_size=records)
    little = Repository(build(small, 0), page_size=small)
    with OAIServer(big) as big_server, OAIServer(little) as small_server:
        body = big.render({"verb": "ListRecords", "metadataPrefix": "oai_dc"},
                          big_server.base_url)
        Path(path).write_bytes(body)
        print(big_server.base_url, small_server.base_url, len(body), flush=True)
        del body
        sys.stdin.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=60_000)
    parser.add_argument("--page-mb", type=float, default=48.0,
                        help="size of the big page (abstracts are cut to fit); 0: as generated")
    parser.add_argument("--small", type=int, default=1_000,
                        help="records of the small page the big one is compared with")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each measurement")
    parser.add_argument("--skip-harvest", action="store_true", help="measure (a) only")
    parser.add_argument("--serve", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.records, args.small, args.page_mb, args.serve)
        return

    env = dict(os.environ, AGGREGATOR_ALLOW_NETWORKS="127.0.0.0/8",
               AGGREGATOR_LOG_LEVEL="WARNING")
    env.pop("AGGREGATOR_DATABASE_URL", None)
    print(f"generating {args.records:,} records …", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "page.xml"
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(path), "--records", str(args.records),
             "--small", str(args.small), "--page-mb", str(args.page_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None and server.stdin is not None
        big_url, small_url, size = server.stdout.readline().split()
        try:
            measure(args, env, path, int(size), big_url, small_url)
        finally:
            server.stdin.close()
            server.wait(timeout=30)


def measure(args: argparse.Namespace, env: dict[str, str], path: Path, size: int,
            big_url: str, small_url: str) -> None:
    """Run (a) and (b) and print the figures."""
    print(f"page: {size / 2**20:.1f} MB, {args.records:,} records "
          f"({size / args.records:.0f} bytes a record)", flush=True)
    env = dict(env, AGGREGATOR_MAX_RESPONSE_BYTES=str(size + 2**20))
    parses = [parse_alone(path, env) for _ in range(args.repeat)]
    growth = [p["after"] - p["before"] for p in parses]
    print(f"(a) parse_list_page alone: peak RSS +{statistics.median(growth):.0f} MB "
          f"over {parses[0]['before']:.0f} MB (bytes read), "
          f"{statistics.median(p['seconds'] for p in parses):.2f}s, "
          f"{parses[0]['records']:.0f} records", flush=True)
    if args.skip_harvest:
        return
    small_runs = [harvest(small_url, env) for _ in range(args.repeat)]
    big_runs = [harvest(big_url, env) for _ in range(args.repeat)]
    for name, runs, count in (("small", small_runs, args.small),
                              ("big", big_runs, args.records)):
        result = runs[-1][3]
        if result["new"] != count:
            raise SystemExit(f"{name} page: expected {count} new records, got {result}")
    s_max = statistics.median(r[1] for r in small_runs)
    s_tree = statistics.median(r[2] for r in small_runs)
    b_max = statistics.median(r[1] for r in big_runs)
    b_tree = statistics.median(r[2] for r in big_runs)
    wall = statistics.median(r[0] for r in big_runs)
    print(f"(b) aggregator harvest, {args.small:,}-record page: ru_maxrss {s_max:.0f} MB, "
          f"process tree peak {s_tree:.0f} MB")
    print(f"    aggregator harvest, big page: ru_maxrss {b_max:.0f} MB "
          f"(+{b_max - s_max:.0f} MB), process tree peak {b_tree:.0f} MB "
          f"(+{b_tree - s_tree:.0f} MB), {wall:.1f}s")


if __name__ == "__main__":
    main()
