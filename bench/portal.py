"""Benchmark: the portal under concurrent load, served by `aggregator serve` (waitress).

Builds (or reuses, with --data-dir) the store and tantivy index of bench/search.py —
N generated records from 20 members with a Zipf vocabulary — starts `aggregator serve`
on a free port in a subprocess, then runs phases of --seconds each with --clients
keep-alive HTTP clients (threads):

  * healthz   `/healthz`: the bare cost of the server and of the clients themselves;
  * search    `/search?...`: the HTML results page with its five facets;
  * api       `/api/search?...`: the same queries as JSON;
  * record    `/records/<id>` for random live records.

The queries are bench/search.py's mix (rare words, common words, two-word phrases, each
with and without a type + year filter). Before the server starts, the same mix runs
in-process, single-threaded, through ``backend.search()`` as a baseline. Per phase it
prints requests/s, p50/p95/p99 latency, errors, the CPU used by the server and by the
clients (on a small machine they compete), and the server's peak RSS (VmHWM).

    python bench/portal.py [--records 100000] [--clients 8] [--seconds 30]
                           [--data-dir DIR]   # keep the store between runs
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from sqlalchemy import select
from werkzeug.datastructures import MultiDict

sys.path.insert(0, str(Path(__file__).parent))

from search import build_store, percentile, query_mix, vocabulary

from aggregator.config import Settings, load_settings
from aggregator.errors import SearchTimeout
from aggregator.index.model import SearchQuery
from aggregator.index.sync import open_index, rebuild_index
from aggregator.store.db import init_schema, make_engine
from aggregator.store.models import Record
from aggregator.web.params import parse_search

MARKER = "bench-portal.json"
TARGET_P95_MS = 100.0
TICKS = os.sysconf("SC_CLK_TCK")


# --- the store --------------------------------------------------------------------------

def bench_settings(folder: Path) -> Settings:
    """Settings of the bench store: SQLite and a tantivy index under ``folder``."""
    return load_settings(environ={}, data_dir=str(folder), search_backend="tantivy")


def prepare_store(folder: Path, records: int, members: int) -> None:
    """Build the store and index in ``folder`` unless a finished build of the same size is
    already there (the marker is written last, so an interrupted build is redone)."""
    wanted = {"records": records, "members": members, "seed": 7}
    marker = folder / MARKER
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        print(f"store: reusing {records:,} records in {folder}")
        return
    if folder.exists() and any(folder.iterdir()) and not marker.exists():
        sys.exit(f"{folder} holds files but no {MARKER}; give an empty or new --data-dir")
    for name in ("aggregator.sqlite3", "aggregator.sqlite3-wal", "aggregator.sqlite3-shm"):
        (folder / name).unlink(missing_ok=True)
    marker.unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    settings = bench_settings(folder)
    engine = make_engine(settings)
    try:
        init_schema(engine)
        started = time.perf_counter()
        build_store(engine, records, members, seed=7)
        print(f"store: {records:,} records from {members} members in "
              f"{time.perf_counter() - started:.1f}s", flush=True)
        stats = rebuild_index(engine, settings)
        print(f"index: {stats.changes:,} records -> {stats.documents:,} works in "
              f"{stats.seconds:.1f}s", flush=True)
    finally:
        engine.dispose()
    marker.write_text(json.dumps(wanted))


def live_record_ids(folder: Path, count: int, rng: random.Random) -> list[int]:
    """Up to ``count`` random ids of live records."""
    engine = make_engine(bench_settings(folder))
    try:
        with engine.connect() as conn:
            ids = list(conn.scalars(select(Record.id).where(Record.deleted.is_(False))))
    finally:
        engine.dispose()
    return rng.sample(ids, min(count, len(ids)))


# --- the query mix ------------------------------------------------------------------------

def query_args(query: SearchQuery) -> dict[str, str]:
    """The portal's query string for one query of bench/search.py's mix."""
    args = {"q": query.text}
    for name, values in query.filters.items():
        args[name] = values[0]
    if query.year_from is not None or query.year_to is not None:
        args["year"] = f"{query.year_from or ''}..{query.year_to or ''}"
    return args


def search_mix() -> list[dict[str, str]]:
    """bench/search.py's query mix as query-string arguments."""
    words = vocabulary(20_000, random.Random(7))
    return [query_args(query) for _, query in query_mix(words, random.Random(11))]


def in_process_baseline(folder: Path, mix: list[dict[str, str]]) -> list[float]:
    """Milliseconds of ``backend.search()`` for each query, single-threaded, exactly as
    the search page asks it (same parser, facets and page size)."""
    backend = open_index(bench_settings(folder), create=False)
    timings = []
    try:
        for args in mix[:20]:  # warm the caches, as the server's first requests do
            backend.search(parse_search(MultiDict(args)).query)
        for args in mix:
            query = parse_search(MultiDict(args)).query
            t0 = time.perf_counter()
            with suppress(SearchTimeout):  # counted at the limit, as bench/search.py does
                backend.search(query)
            timings.append((time.perf_counter() - t0) * 1000)
    finally:
        backend.close()
    return timings


# --- the server ---------------------------------------------------------------------------

@contextmanager
def serve(folder: Path, threads: int, workers: int, log: Path
          ) -> Iterator[tuple[str, int, int]]:
    """Run `aggregator serve --port 0` on the bench store, its log in ``log``; yields
    (host, port, pid)."""
    env = {**os.environ, "AGGREGATOR_DATA_DIR": str(folder), "AGGREGATOR_DATABASE_URL": "",
           "AGGREGATOR_SEARCH_BACKEND": "tantivy", "AGGREGATOR_INDEX_DIR": "",
           "PYTHONUNBUFFERED": "1", "AGGREGATOR_SEARCH_RATE_LIMIT": "0"}
    env.pop("AGGREGATOR_CONFIG", None)
    command = [sys.executable, "-m", "aggregator", "serve", "--port", "0", "--no-scheduler",
               "--threads", str(threads), *(["--workers", str(workers)] if workers else [])]
    with log.open("w") as errors:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=errors,
                                   text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"https?://\S+", line)
        if not match:
            sys.exit(f"`aggregator serve` did not start: {line!r}; see {log}")
        url = urlsplit(match.group(0))
        host, port = url.hostname or "127.0.0.1", url.port or 80
        wait_healthy(host, port)
        yield host, port, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_healthy(host: str, port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn = http.client.HTTPConnection(host, port, timeout=5)
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"the portal on {host}:{port} did not become healthy in {timeout:.0f}s")
        time.sleep(0.2)


def tree(pid: int) -> list[int]:
    """``pid`` and its worker processes (`aggregator serve` forks one per core)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return [pid, *(int(c) for c in children)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its workers (all threads)."""
    total = 0
    for each in tree(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def peak_rss_mb(pid: int) -> float:
    """The peak resident set (VmHWM) in MB, summed over the server and its workers."""
    total = 0.0
    for each in tree(pid):
        try:
            lines = Path(f"/proc/{each}/status").read_text().splitlines()
        except OSError:
            continue
        total += sum(int(line.split()[1]) / 1024 for line in lines
                     if line.startswith("VmHWM:"))
    return total


# --- the clients --------------------------------------------------------------------------

@dataclass
class Phase:
    """One phase's measurements."""

    name: str
    timings: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    peak_rss: float = 0.0

    def add_error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


def client(host: str, port: int, paths: list[str], start: int, until: float,
           phase: Phase, lock: threading.Lock) -> None:
    """Request ``paths`` in turn (from ``start``) on one keep-alive connection until
    ``until``; timings and errors go to ``phase``."""
    timings: list[float] = []
    errors: list[str] = []
    conn = http.client.HTTPConnection(host, port, timeout=30)
    i = start
    while time.monotonic() < until:
        path = paths[i % len(paths)]
        i += 1
        t0 = time.perf_counter()
        try:
            conn.request("GET", path, headers={"Accept-Encoding": "identity"})
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            errors.append(type(exc).__name__)
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
            continue
        timings.append((time.perf_counter() - t0) * 1000)
        if status != 200:
            errors.append(f"HTTP {status}")
    conn.close()
    with lock:
        phase.timings.extend(timings)
        for what in errors:
            phase.add_error(what)


def run_phase(name: str, host: str, port: int, pid: int, paths: list[str], clients: int,
              seconds: float) -> Phase:
    """``clients`` threads hitting ``paths`` for ``seconds``."""
    phase = Phase(name)
    lock = threading.Lock()
    client(host, port, paths, len(paths) // 2, time.monotonic() + 1, Phase("warm-up"), lock)
    server0, client0 = cpu_seconds(pid), _own_cpu()
    t0 = time.monotonic()
    until = t0 + seconds
    step = max(1, len(paths) // clients)
    threads = [threading.Thread(target=client, args=(host, port, paths, n * step, until,
                                                     phase, lock)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.seconds = time.monotonic() - t0
    phase.server_cpu = (cpu_seconds(pid) - server0) / phase.seconds
    phase.client_cpu = (_own_cpu() - client0) / phase.seconds
    phase.peak_rss = peak_rss_mb(pid)
    return phase


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the report ---------------------------------------------------------------------------

def report(phases: list[Phase], baseline: list[float], records: int, clients: int) -> None:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{records:,} records, {clients} clients unless said, {os.cpu_count()} CPUs "
          f"(load average now {load}); CPU columns in cores (1.0 = one core busy)")
    header = (f"{'phase':<28}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
              f"{'errors':>8}{'server':>8}{'client':>8}{'peak RSS':>10}")
    print(header)
    print("-" * len(header))
    print(f"{'backend.search(), 1 thread':<28}{1000 / statistics.mean(baseline):>9.0f}"
          f"{statistics.median(baseline):>9.1f}{percentile(baseline, .95):>9.1f}"
          f"{percentile(baseline, .99):>9.1f}{'':>8}{'':>8}{'':>8}{'':>10}")
    for p in phases:
        t = p.timings or [0.0]
        print(f"{p.name:<28}{len(p.timings) / p.seconds:>9.0f}{statistics.median(t):>9.1f}"
              f"{percentile(t, .95):>9.1f}{percentile(t, .99):>9.1f}"
              f"{sum(p.errors.values()):>8}{p.server_cpu:>8.2f}{p.client_cpu:>8.2f}"
              f"{p.peak_rss:>8.0f}MB")
    for p in phases:
        if p.errors:
            print(f"  {p.name} errors: {p.errors}")
    search = next((p for p in phases if p.name == "search page"), None)
    if search and search.timings:
        p95 = percentile(search.timings, .95)
        verdict = "meets" if p95 < TARGET_P95_MS else "MISSES"
        print(f"\nsearch page p95 {p95:.1f} ms {verdict} the {TARGET_P95_MS:.0f} ms target "
              f"({records:,} records, {clients} concurrent clients)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each phase")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads per worker")
    parser.add_argument("--workers", type=int, default=0,
                        help="server processes (default: `aggregator serve`'s, one per core)")
    parser.add_argument("--data-dir", type=Path,
                        help="keep the store and index here and reuse them next time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.data_dir or Path(scratch) / "store"
        prepare_store(folder, args.records, args.members)
        mix = search_mix()
        baseline = in_process_baseline(folder, mix)
        rng = random.Random(3)
        record_paths = [f"/records/{i}" for i in live_record_ids(folder, 5000, rng)]
        search_paths = [f"/search?{urlencode(a)}" for a in mix]
        api_paths = [f"/api/search?{urlencode(a)}" for a in mix]
        plan = [("healthz (baseline)", ["/healthz"], args.clients),
                ("search page, 1 client", search_paths, 1),
                ("search page", search_paths, args.clients),
                ("api search", api_paths, args.clients),
                ("record page", record_paths, args.clients)]
        phases = []
        log = Path(scratch) / "serve.log"
        with serve(folder, args.threads, args.workers, log) as (host, port, pid):
            print(f"portal: http://{host}:{port}/ (pid {pid}); {args.seconds:.0f}s per phase",
                  flush=True)
            for name, paths, clients in plan:
                phases.append(run_phase(name, host, port, pid, paths, clients, args.seconds))
                print(f"  {name}: {len(phases[-1].timings):,} requests", flush=True)
        report(phases, baseline, args.records, args.clients)
        server_log_summary(log)


def server_log_summary(log: Path) -> None:
    """Say what the server logged: waitress warns whenever requests wait for a thread."""
    lines = log.read_text(errors="replace").splitlines()
    queued = sum("Task queue depth" in line for line in lines)
    other = [line for line in lines if "Task queue depth" not in line and line.strip()]
    print(f"server log: {queued:,} waitress 'Task queue depth' warnings (requests waiting "
          f"for a worker thread), {len(other)} other lines")
    for line in other[:10]:
        print(f"  {line}")


if __name__ == "__main__":
    main()
