"""Benchmark: the scheduler harvesting a simulated network of 1,000 OAI-PMH endpoints.

One server process (this file with --serve) answers --endpoints endpoints spread over
--hosts ports of 127.0.0.1, a few paths per port (the scheduler's politeness key is
host:port, so each port is a host). Endpoint sizes follow Zipf's law between 20 and
20,000 records, about 150,000 in all (each figure times --scale): generated oai_dc
records, pages of 100 with resumption tokens. Every answer waits 50-200 ms first,
drawn from a seeded generator (the n-th request to an endpoint always waits as long).

Each run then harvests, from empty, a fresh store holding those endpoints as sources
(window_months=0, so a first harvest is one pass; harvest_concurrency=32):

  (1) with one `aggregator scheduler --once` process;
  (2) with two of them at once on the same store.

For each process it prints the wall time, records/s, CPU seconds (user + system, from
wait4: with the normalisation workers it spawned) per 1,000 records and the peak RSS
(of the largest of them); for the run the ideal that latency,
politeness and concurrency allow, max(requests of the busiest host x mean delay,
all requests x mean delay / hosts harvested at once), the ratio wall/ideal, and the
server's own CPU time. Every source's record count in the store is checked against
the size the server holds, the store's runs and the server's log against a second
harvest of any endpoint. Medians of --repeat runs at the end.

The scheduler is `aggregator scheduler --once --json --no-index` (this benchmark
measures harvesting into the store); --index runs it without --no-index. The store is
SQLite in a temporary folder; with --database-url postgresql+psycopg://user@host:port/x
each run gets a PostgreSQL database of its own, bench_network_<pid>, created before the
run and dropped after it.

    python bench/network.py [--quick] [--scale 1.0] [--repeat 1] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from aggregator.demo.provider import Repository

# Only the standard library at the top: the scheduler processes are started from this
# one, and on Linux a child's peak RSS (ru_maxrss) can include its parent's before exec.

DELAY = (0.05, 0.2)  # seconds each answer waits, uniformly drawn
TARGET_RATIO, TARGET_RSS_MB = 1.25, 500
TOTAL, LARGEST, SMALLEST = 150_000, 20_000, 20


# --- the network (the server process) -----------------------------------------------------

def zipf_sizes(count: int, total: int, smallest: int, largest: int, seed: int) -> list[int]:
    """``count`` sizes from ``smallest`` to ``largest``, size ~ rank**-s with s chosen so
    that they add up to about ``total``, dealt to the endpoints in a seeded order."""
    def sizes(s: float) -> list[int]:
        return [max(smallest, min(largest, round(largest / rank**s)))
                for rank in range(1, count + 1)]

    low, high = 0.0, 10.0  # sum(sizes(s)) falls as s grows
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if sum(sizes(middle)) > total else (low, middle)
    chosen = sizes(high)
    random.Random(seed).shuffle(chosen)
    return chosen


@dataclass
class Endpoint:
    """One simulated endpoint and what it was asked since the last report."""

    number: int
    size: int
    repository: Repository
    base_url: str = ""
    requests: int = 0
    lists: int = 0  # ListRecords without a token: a harvest from the start
    delay: float = 0.0
    first: float = -1.0  # seconds after the last report: first request, last answer
    last: float = 0.0

    def figures(self) -> list[float]:
        return [self.requests, self.lists, round(self.delay, 4), round(self.first, 3),
                round(self.last, 3)]


class Network:
    """Every endpoint behind one ``OAIServer`` per port, answering through its quirk."""

    def __init__(self, sizes: list[int], hosts: int, page_size: int, seed: int) -> None:
        from aggregator.demo.generate import generate_records
        from aggregator.demo.provider import Repository

        self.seed = seed
        self.lock = threading.Lock()
        self.epoch = time.monotonic()
        self.endpoints = []
        for number, size in enumerate(sizes):
            records = generate_records(size, seed=number,
                                       prefix=f"oai:ep{number}.bench.example:")
            repository = Repository(records, page_size=page_size,
                                    base_path=f"/ep{number}/oai",
                                    repository_identifier=f"ep{number}.bench.example")
            repository.prerender(["oai_dc"])  # the server must not be the bottleneck
            self.endpoints.append(Endpoint(number, size, repository))
        self.servers = [self._server(self.endpoints[host::hosts]) for host in range(hosts)]

    def _server(self, endpoints: list[Endpoint]) -> Any:
        from aggregator.demo.oaiserver import OAIServer

        server = OAIServer(endpoints[0].repository).start()
        paths = {}
        for endpoint in endpoints:
            endpoint.base_url = (f"http://{server.host}:{server.port}"
                                 f"{endpoint.repository.base_path}")
            paths[endpoint.repository.base_path] = endpoint
        server.quirk = self._quirk(paths)
        return server

    def _quirk(self, paths: dict[str, Endpoint]) -> Callable[[Any], Any]:
        from aggregator.demo.messages import Request, Response

        def answer(request: Request) -> Response:
            arrived = time.monotonic()
            endpoint = paths.get(request.path)
            if endpoint is None:
                return Response(404, b"Not Found\n", content_type="text/plain")
            response = endpoint.repository.respond(request.multi or request.params,
                                                   endpoint.base_url)
            with self.lock:
                delay = random.Random(f"{self.seed}/{endpoint.number}/{endpoint.requests}"
                                      ).uniform(*DELAY)
                endpoint.requests += 1
                endpoint.lists += (request.verb == "ListRecords"
                                   and "resumptionToken" not in request.params)
                endpoint.delay += delay
                if endpoint.first < 0:
                    endpoint.first = arrived - self.epoch
                endpoint.last = max(endpoint.last, arrived + delay - self.epoch)
            response.delay = delay
            return response

        return answer

    def report(self) -> dict[str, Any]:
        """What each endpoint was asked since the last report, and the CPU time so far;
        starts counting afresh."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        with self.lock:
            figures = [endpoint.figures() for endpoint in self.endpoints]
            for endpoint in self.endpoints:
                endpoint.requests = endpoint.lists = 0
                endpoint.delay, endpoint.first, endpoint.last = 0.0, -1.0, 0.0
            self.epoch = time.monotonic()
        return {"cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss // 1024,
                "threads": threading.active_count(), "endpoints": figures}

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def serve(args: argparse.Namespace) -> None:
    """Serve the network; print its endpoints, then a report for each line read."""
    started = time.perf_counter()
    sizes = zipf_sizes(args.endpoints, round(TOTAL * args.scale),
                       max(1, round(SMALLEST * args.scale)), round(LARGEST * args.scale),
                       args.seed)
    network = Network(sizes, args.hosts, args.page_size, args.seed)
    print(json.dumps({"endpoints": [[e.base_url, e.size] for e in network.endpoints],
                      "seconds": time.perf_counter() - started}), flush=True)
    for _ in sys.stdin:
        print(json.dumps(network.report()), flush=True)
    network.stop()


# --- the store (each step in a process of its own) ------------------------------------------

def setup_store(urls: list[str]) -> None:
    """Create the schema and add every endpoint as a source of the member of its host."""
    from sqlalchemy.orm import Session

    from aggregator.config import load_settings
    from aggregator.schedule import host_key
    from aggregator.store import catalog
    from aggregator.store.db import init_schema, make_engine

    engine = make_engine(load_settings())
    init_schema(engine)
    members: dict[str, str] = {}
    with Session(engine) as session, session.begin():
        for url in urls:
            host = host_key(url)
            if host not in members:
                members[host] = f"host-{len(members) + 1}"
                catalog.add_member(session, members[host], f"Perpustakaan {host}")
            catalog.add_source(session, members[host], url)
    engine.dispose()


def count_store() -> None:
    """Print ``{base_url: [live records, harvest runs]}`` for every source."""
    from sqlalchemy import func, select

    from aggregator.config import load_settings
    from aggregator.store.db import make_engine
    from aggregator.store.models import HarvestRun, Record, Source

    engine = make_engine(load_settings())
    with engine.connect() as conn:
        records = dict(conn.execute(select(Record.source_id, func.count())
                                    .where(~Record.deleted).group_by(Record.source_id)).all())
        runs = dict(conn.execute(select(HarvestRun.source_id, func.count())
                                 .group_by(HarvestRun.source_id)).all())
        sources = conn.execute(select(Source.id, Source.base_url)).all()
    engine.dispose()
    print(json.dumps({url: [records.get(id_, 0), runs.get(id_, 0)] for id_, url in sources}))


def manage_database(url: str, *, create: bool) -> None:
    """Drop the PostgreSQL database named in ``url`` if it exists; then create it anew."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        if create:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


# --- measuring (the parent) ----------------------------------------------------------------

@dataclass
class Process:
    """One scheduler process: its times, memory and what it reported."""

    wall: float
    cpu: float
    rss_mb: float
    code: int
    runs: int = 0
    failed: int = 0
    new: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.new / self.wall

    @property
    def cpu_per_k(self) -> float:
        return self.cpu / max(1, self.new) * 1000


@dataclass
class Run:
    """One harvest of the whole network by one or more processes."""

    processes: list[Process]
    wall: float  # the first start to the last exit
    stored: int
    ideal: float  # from the mean delay, as the issue states it
    exact: float  # from the delays actually drawn
    server_cpu: float
    machine: float  # share of all cores busy during the run (every process on it)
    busiest: str
    problems: list[str]

    @property
    def ratio(self) -> float:
        return self.wall / self.ideal

    @property
    def cpu(self) -> float:
        return sum(p.cpu for p in self.processes)


def machine_jiffies() -> tuple[int, int]:
    """(busy, all) CPU time of the whole machine so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


def child(argv: list[str], env: dict[str, str], stdin: str = "") -> str:
    """Run one helper process to its end; return its standard output."""
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env)
    if done.returncode:
        raise SystemExit(f"{' '.join(argv[1:3])} failed: {done.stderr[-2000:]}")
    return done.stdout


def run_schedulers(count: int, argv: list[str], env: dict[str, str], timeout: float
                   ) -> tuple[list[Process], float]:
    """Start ``count`` scheduler processes at once; wait for all; return their figures
    and the wall time from the start to the last exit."""
    with ExitStack() as stack:
        files = [(stack.enter_context(tempfile.TemporaryFile()),
                  stack.enter_context(tempfile.TemporaryFile())) for _ in range(count)]
        started = time.perf_counter()
        procs = [subprocess.Popen(argv, stdout=out, stderr=err, env=env) for out, err in files]
        ended: dict[int, tuple[float, int, Any]] = {}

        def reap(proc: subprocess.Popen[bytes]) -> None:
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            ended[proc.pid] = (time.perf_counter() - started, proc.returncode, usage)

        waiters = [threading.Thread(target=reap, args=(proc,)) for proc in procs]
        for waiter in waiters:
            waiter.start()
        for proc, waiter in zip(procs, waiters, strict=True):
            waiter.join(max(1.0, timeout - (time.perf_counter() - started)))
            if waiter.is_alive():
                proc.kill()
                waiter.join()
        wall = max(end for end, _, _ in ended.values())
        return [_process(ended[proc.pid], out, err)
                for proc, (out, err) in zip(procs, files, strict=True)], wall


def _process(ended: tuple[float, int, Any], out: IO[bytes], err: IO[bytes]) -> Process:
    wall, code, usage = ended
    process = Process(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, code)
    out.seek(0)
    for line in out.read().decode().splitlines():
        if line.startswith("{"):
            result = json.loads(line)
            process.runs += 1
            process.new += result["new"]
            process.failed += result["status"] == "failed"
            process.errors += [f"{result['source']}: {e['message']}" for e in result["errors"]]
    err.seek(0)
    process.errors += [line for line in err.read().decode().splitlines()
                       if "ERROR" in line or "Traceback" in line or "error:" in line]
    return process


def ideal_times(report: dict[str, Any], hosts: list[str], slots: int
                ) -> tuple[float, float, str]:
    """(the issue's ideal from the mean delay, the same from the delays drawn, the
    busiest host's line): the busiest host's chain, or all requests over ``slots``."""
    requests: dict[str, int] = defaultdict(int)
    delays: dict[str, float] = defaultdict(float)
    spans: dict[str, list[float]] = defaultdict(list)
    for host, (asked, _, delay, first, last) in zip(hosts, report["endpoints"], strict=True):
        requests[host] += asked
        delays[host] += delay
        if asked:
            spans[host] += [first, last]
    total, waited = sum(requests.values()), sum(delays.values())
    mean = waited / max(1, total)
    busiest = max(requests, key=lambda host: requests[host])
    ideal = max(requests[busiest] * mean, total * mean / slots)
    exact = max(max(delays.values()), waited / slots)
    first, last = min(spans[busiest]), max(spans[busiest])
    line = (f"busiest host {busiest}: {requests[busiest]} of {total:,} requests (mean delay "
            f"{mean * 1000:.0f} ms), first asked at {first:.1f}s, last answer at {last:.1f}s;"
            f" its delays {delays[busiest]:.1f}s, so {last - first - delays[busiest]:.1f}s "
            "of its chain went elsewhere")
    return ideal, exact, line


def check_store(counts: dict[str, list[int]], sizes: dict[str, int],
                report: dict[str, Any], urls: list[str]) -> list[str]:
    """Every source's records stored once and harvested once; the problems found."""
    problems = []
    for url, size in sizes.items():
        records, runs = counts.get(url, [0, 0])
        if records != size:
            problems.append(f"{url}: {records:,} records stored, the server holds {size:,}")
        if runs != 1:
            problems.append(f"{url}: {runs} harvest runs")
    for url, (_, lists, *_) in zip(urls, report["endpoints"], strict=True):
        if lists != 1:
            problems.append(f"{url}: ListRecords asked from the start {lists} times")
    return problems


@contextmanager
def store(args: argparse.Namespace, env: dict[str, str], number: int
          ) -> Iterator[dict[str, str]]:
    """A fresh store for one run: SQLite in a temporary folder, or a new PostgreSQL
    database (dropped at the end); yields the environment that points at it."""
    with tempfile.TemporaryDirectory(prefix="bench-network-") as data_dir:
        env = dict(env, AGGREGATOR_DATA_DIR=data_dir)
        if not args.database_url:
            yield env
            return
        parts = urlsplit(args.database_url)
        url = parts._replace(path=f"/bench_network_{os.getpid()}_{number}").geturl()
        env["AGGREGATOR_DATABASE_URL"] = url
        child([sys.executable, __file__, "--create-db", url], env)
        try:
            yield env
        finally:
            child([sys.executable, __file__, "--drop-db", url], env)


class Server:
    """The network's server process; ``report()`` asks what it was asked since."""

    def __init__(self, args: argparse.Namespace) -> None:
        argv = [sys.executable, __file__, "--serve", "--endpoints", str(args.endpoints),
                "--hosts", str(args.hosts), "--scale", str(args.scale),
                "--page-size", str(args.page_size), "--seed", str(args.seed)]
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        assert self.process.stdout is not None and self.process.stdin is not None
        self.stdin, self.stdout = self.process.stdin, self.process.stdout
        started = json.loads(self.stdout.readline())
        self.endpoints: list[tuple[str, int]] = [tuple(e) for e in started["endpoints"]]
        self.seconds: float = started["seconds"]

    def report(self) -> dict[str, Any]:
        self.stdin.write("report\n")
        self.stdin.flush()
        return dict(json.loads(self.stdout.readline()))

    def close(self) -> None:
        self.stdin.close()
        self.process.wait(timeout=60)


def one_run(args: argparse.Namespace, server: Server, count: int, env: dict[str, str],
            number: int) -> Run:
    """Harvest the whole network from empty with ``count`` scheduler processes."""
    urls = [url for url, _ in server.endpoints]
    sizes = dict(server.endpoints)
    hosts = [urlsplit(url).netloc for url in urls]
    argv = [sys.executable, "-m", "aggregator", "scheduler", "--once", "--json",
            *([] if args.index else ["--no-index"])]
    with store(args, env, number) as run_env:
        child([sys.executable, __file__, "--setup"], run_env, json.dumps(urls))
        before, jiffies = server.report(), machine_jiffies()
        processes, wall = run_schedulers(count, argv, run_env, args.timeout)
        report, (busy, total) = server.report(), machine_jiffies()
        counts = json.loads(child([sys.executable, __file__, "--count"], run_env))
    ideal, exact, busiest = ideal_times(report, hosts, args.concurrency * count)
    problems = check_store(counts, sizes, report, urls)
    problems += [f"process {i + 1} exited with {p.code}" for i, p in enumerate(processes)
                 if p.code]
    stored = sum(records for records, _ in counts.values())
    machine = (busy - jiffies[0]) / max(1, total - jiffies[1])
    return Run(processes, wall, stored, ideal, exact, report["cpu"] - before["cpu"],
               machine, busiest, problems)


# --- the report ----------------------------------------------------------------------------

def print_run(number: int, run: Run) -> None:
    count = len(run.processes)
    label = f"run {number}, {count} process{'es' if count > 1 else ''}"
    print(f"{label}: wall {run.wall:.1f}s, ideal {run.ideal:.1f}s (from the delays drawn "
          f"{run.exact:.1f}s), ratio {run.ratio:.2f}; {run.stored:,} records stored, "
          f"{run.stored / run.wall:,.0f} records/s; CPU {run.cpu:.1f}s "
          f"({run.cpu / run.wall:.2f} of the wall), server CPU {run.server_cpu:.1f}s "
          f"({run.server_cpu / run.wall:.2f} of the wall); the machine's cores "
          f"{run.machine:.0%} busy (load average {os.getloadavg()[0]:.1f})", flush=True)
    for i, p in enumerate(run.processes, start=1):
        print(f"    process {i}: wall {p.wall:.1f}s, {p.runs} runs ({p.failed} failed), "
              f"{p.new:,} records, {p.rate:,.0f} records/s, CPU {p.cpu:.1f}s = "
              f"{f'{p.cpu_per_k:.3f}' if p.new else '-'} s/1000 records, peak RSS "
              f"{p.rss_mb:.0f} MB", flush=True)
    print(f"    {run.busiest}", flush=True)
    if count > 1 and any(p.runs == 0 for p in run.processes):
        print("    note: a process harvested nothing: when it looked, every due source's host "
              "was held by the other, and `--once` then exits", flush=True)
    for problem in run.problems[:10] + [e for p in run.processes for e in p.errors][:10]:
        print(f"    PROBLEM {problem}", flush=True)
    if not run.problems:
        print("    every source's records stored exactly once, each source harvested once",
              flush=True)


def summary(label: str, runs: list[Run]) -> None:
    """The medians of the runs with ``label``'s process count, against the targets."""
    def median(values: list[float]) -> float:
        return statistics.median(values)

    ratio = median([r.ratio for r in runs])
    load = median([r.cpu / r.wall for r in runs])
    rss = max(p.rss_mb for r in runs for p in r.processes)
    cores = os.cpu_count() or 1
    print(f"{label}: wall {median([r.wall for r in runs]):.1f}s, ideal "
          f"{median([r.ideal for r in runs]):.1f}s, ratio {ratio:.2f} (target <= "
          f"{TARGET_RATIO}: {'met' if ratio <= TARGET_RATIO else 'MISSED'}); "
          f"{median([r.stored / r.wall for r in runs]):,.0f} records/s")
    print(f"    CPU {median([r.cpu for r in runs]):.1f}s = "
          f"{median([r.cpu / max(1, r.stored) * 1000 for r in runs]):.3f} s/1000 records, "
          f"{load:.2f} of the wall (target < {cores / 2:.1f}, half of {cores} cores: "
          f"{'met' if load < cores / 2 else 'MISSED'}); peak RSS {rss:.0f} MB a process "
          f"(target < {TARGET_RSS_MB}: {'met' if rss < TARGET_RSS_MB else 'MISSED'}); "
          f"server CPU {median([r.server_cpu / r.wall for r in runs]):.2f} of the wall")
    if any(r.problems for r in runs):
        print("    PROBLEMS in some runs: see above")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 100 endpoints on 20 hosts, --scale 0.1")
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=200, help="ports serving the endpoints")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="times 150,000 records in all, 20 to 20,000 an endpoint")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=32, help="harvest_concurrency")
    parser.add_argument("--poll", type=float, default=0.5, help="scheduler_poll_seconds")
    parser.add_argument("--repeat", type=int, default=1, help="runs; medians are printed")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds a run may take")
    parser.add_argument("--database-url", default="",
                        help="a PostgreSQL server: each run gets a fresh database on it")
    parser.add_argument("--index", action="store_true",
                        help="run `aggregator scheduler --once` with the search index on")
    for hidden in ("--serve", "--setup", "--count"):
        parser.add_argument(hidden, action="store_true", help=argparse.SUPPRESS)
    for hidden in ("--create-db", "--drop-db"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.endpoints, args.hosts, args.scale = 100, 20, 0.1
    if args.serve:
        serve(args)
    elif args.setup:
        setup_store(json.loads(sys.stdin.read()))
    elif args.count:
        count_store()
    elif args.create_db or args.drop_db:
        manage_database(args.create_db or args.drop_db, create=bool(args.create_db))
    else:
        measure(args)


def measure(args: argparse.Namespace) -> None:
    """Start the server, run the harvests, print the figures."""
    server = Server(args)
    sizes = [size for _, size in server.endpoints]
    print(f"serving {len(sizes):,} endpoints on {args.hosts} ports, {sum(sizes):,} records "
          f"(largest {max(sizes):,}, smallest {min(sizes):,}; ready in "
          f"{server.seconds:.0f}s); {os.cpu_count()} CPUs, "
          f"{'PostgreSQL' if args.database_url else 'SQLite'}", flush=True)
    idle = server.report()
    time.sleep(2.0)
    idle_cpu = (server.report()["cpu"] - idle["cpu"]) / 2.0
    print(f"server idle: {idle_cpu:.3f} CPU s/s, {idle['threads']} threads, "
          f"{idle['rss_mb']} MB", flush=True)
    env = dict(os.environ, AGGREGATOR_ALLOW_NETWORKS="127.0.0.0/8",
               AGGREGATOR_WINDOW_MONTHS="0",
               AGGREGATOR_HARVEST_CONCURRENCY=str(args.concurrency),
               AGGREGATOR_SCHEDULER_POLL_SECONDS=str(args.poll),
               AGGREGATOR_LOG_LEVEL="WARNING")
    for name in ("AGGREGATOR_DATABASE_URL", "AGGREGATOR_CONFIG", "AGGREGATOR_INDEX_DIR",
                 "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    # As installed: every process (and each spawned normalisation worker) imports from
    # bytecode, not compiling the package from source every time.
    child([sys.executable, "-c", "import aggregator, compileall; "
           "compileall.compile_dir(aggregator.__path__[0], quiet=1)"], env)
    runs: dict[int, list[Run]] = {1: [], 2: []}
    try:
        for number in range(1, args.repeat + 1):
            for count in (1, 2):
                runs[count].append(one_run(args, server, count, env, number))
                print_run(number, runs[count][-1])
    finally:
        server.close()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nmedians of {args.repeat} run(s) (load average now {load}):")
    summary("1 process  ", runs[1])
    summary("2 processes", runs[2])


if __name__ == "__main__":
    main()
