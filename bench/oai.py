"""Benchmark: the OAI-PMH feed harvested by sickle, against the same pages served static.

Builds (or reuses, with --data-dir) bench/portal.py's store of N generated records from
20 members, starts `aggregator serve` on a free port and harvests ListRecords (oai_dc,
--page-size records per page) with clients in processes of their own:

  (a) sickle over the feed of `aggregator serve`;
  (b) sickle over the same pages pre-rendered as static files (each page's
      resumptionToken rewritten to the next file's name), sent plain or pre-gzipped by
      a threaded http.server: the least any server could do per page;
  (c) a light client (http.client, keep-alive, counting `<record>` in the bytes and
      following the token with a regular expression) over both, which shows what the
      servers deliver when the client is not the bottleneck.

Every client sends what sickle sends (requests: `Accept-Encoding: gzip, deflate`), so
both servers answer gzip. Prints records/s, the ratio (a)/(b), the CPU time of sickle
(user + system of its process, from wait4) and of the servers per record, and the
server's memory: resident set (VmRSS of `aggregator serve` and its workers) when idle
after start and one Identify, and its peak during a harvest of a 10 % list (`until=`)
and of the whole list (VmRSS sampled every 50 ms, and VmHWM reset before each harvest).
The figures of each run, then the medians of --repeat runs; the server is restarted for
each run.

    python bench/oai.py [--records 100000] [--repeat 3] [--page-size 100] [--workers 1]
                        [--data-dir DIR]   # keep the store between runs
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.sax.saxutils import unescape

# Only the standard library at the top: the clients run this file in processes of their
# own, and their CPU time should be theirs, not that of importing the aggregator.
sys.path.insert(0, str(Path(__file__).parent))

TOKEN_RE = re.compile(rb"(<resumptionToken[^>]*>)([^<]+)(</resumptionToken>)")
DATESTAMP_RE = re.compile(  # the header's, not the provenance's
    rb"<header[^>]*><identifier>[^<]*</identifier><datestamp>([^<]+)</datestamp>")
SIZE_RE = re.compile(rb'completeListSize="(\d+)"')
PAGE_NAME = re.compile(r"p\d+")
GZIP_LEVEL = 3  # the feed's (aggregator.oai.readahead.GZIP_LEVEL)
SAMPLE_EVERY = 0.05
TARGET_RATIO, TARGET_RATE, TARGET_MEMORY_MB = 0.8, 10_000, 50.0


# --- the clients (each run as `python bench/oai.py --client …`) --------------------------

def sickle_client(url: str, query: dict[str, str]) -> dict[str, Any]:
    """Iterate ListRecords with sickle 0.7 as anyone would (a new connection per page)."""
    from sickle import Sickle

    started = time.perf_counter()
    records = Sickle(url, max_retries=3, timeout=60).ListRecords(
        metadataPrefix="oai_dc", **query)
    count = sum(1 for _ in records)
    response = records.oai_response.http_response
    return {"records": count, "seconds": time.perf_counter() - started,
            "sent": response.request.headers.get("Accept-Encoding", ""),
            "encoding": response.headers.get("Content-Encoding", "identity")}


def light_client(url: str, query: dict[str, str]) -> dict[str, Any]:
    """Follow the list on one keep-alive connection, counting records in the bytes."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    args = {"verb": "ListRecords", "metadataPrefix": "oai_dc", **query}
    count = wire = 0
    encoding = "identity"
    started = time.perf_counter()
    while True:
        conn.request("GET", f"{parts.path}?{urlencode(args)}",
                     headers={"Accept-Encoding": "gzip, deflate"})
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"HTTP {response.status} from {url}")
        wire += len(body)
        encoding = response.getheader("Content-Encoding") or "identity"
        if encoding == "gzip":
            body = gzip.decompress(body)  # the feed sends two gzip members: head, page
        count += body.count(b"<record>")
        found = TOKEN_RE.search(body)
        if found is None:
            break
        args = {"verb": "ListRecords", "resumptionToken": unescape(found[2].decode())}
    conn.close()
    return {"records": count, "seconds": time.perf_counter() - started, "bytes": wire,
            "sent": "gzip, deflate", "encoding": encoding}


# --- the static pages --------------------------------------------------------------------

class StaticPages(BaseHTTPRequestHandler):
    """Answers `?verb=ListRecords…` with file p0, `&resumptionToken=pN` with file pN:
    one file read and one write, pre-gzipped when the client accepts gzip."""

    protocol_version = "HTTP/1.1"  # keep-alive, as waitress
    disable_nagle_algorithm = True  # else the body waits for the headers' delayed ACK
    folder = Path()

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        name = query.get("resumptionToken", ["p0"])[0]
        zipped = "gzip" in self.headers.get("Accept-Encoding", "")
        path = self.folder / (name + (".xml.gz" if zipped else ".xml"))
        if not PAGE_NAME.fullmatch(name) or not path.exists():
            self.send_error(404)
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Vary", "Accept-Encoding")
        if zipped:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # no line per request


def serve_static(folder: Path) -> None:
    """Serve the pages in ``folder`` until standard input closes (the server process)."""
    StaticPages.folder = folder
    server = ThreadingHTTPServer(("127.0.0.1", 0), StaticPages)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"http://127.0.0.1:{server.server_address[1]}/oai", flush=True)
    sys.stdin.read()
    server.shutdown()


def prerender(feed: str, folder: Path) -> tuple[int, int, str]:
    """Fetch every page of the feed's list once and write it as file pN (plain and
    gzipped), its token replaced by the next file's name; returns (records, pages, the
    datestamp that ends the first 10 % of the list)."""
    parts = urlsplit(feed)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    args = {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
    records, pages, total, until = 0, 0, 0, ""
    while True:
        conn.request("GET", f"{parts.path}?{urlencode(args)}")
        body = conn.getresponse().read()
        if pages == 0:
            total = int(SIZE_RE.search(body)[1])  # type: ignore[index]
        stamps = DATESTAMP_RE.findall(body)
        if records <= total // 10 < records + len(stamps):
            until = stamps[total // 10 - records].decode()
        records += len(stamps)
        found = TOKEN_RE.search(body)
        if found is not None:
            body = (body[:found.start(2)] + f"p{pages + 1}".encode()
                    + body[found.end(2):])
        (folder / f"p{pages}.xml").write_bytes(body)
        (folder / f"p{pages}.xml.gz").write_bytes(gzip.compress(body, GZIP_LEVEL))
        pages += 1
        if found is None:
            break
        args = {"verb": "ListRecords", "resumptionToken": unescape(found[2].decode())}
    conn.close()
    return records, pages, until


# --- measuring ---------------------------------------------------------------------------

def memory_mb(pid: int, field: str = "VmRSS") -> float:
    """``field`` of /proc/<pid>/status in MB, summed over the server and its workers."""
    from portal import tree

    total = 0.0
    for each in tree(pid):
        try:
            lines = Path(f"/proc/{each}/status").read_text().splitlines()
        except OSError:
            continue
        total += sum(int(line.split()[1]) / 1024 for line in lines
                     if line.startswith(field + ":"))
    return total


@dataclass
class Harvest:
    """One client's harvest of one list."""

    records: int
    seconds: float
    client_cpu: float
    server_cpu: float
    peak_mb: float  # the sum of VmHWM since the harvest began (each process's own peak)
    sampled_mb: float  # the largest VmRSS sum seen in the 50 ms samples
    sent: str
    encoding: str
    wire: int

    @property
    def rate(self) -> float:
        return self.records / self.seconds


def harvest(client: str, url: str, query: dict[str, str], server: int) -> Harvest:
    """Run one client in a process of its own against ``url``, sampling the memory and
    CPU of the server process ``server`` meanwhile."""
    from portal import cpu_seconds, tree

    for each in tree(server):  # "5" resets VmHWM to the current RSS
        with suppress(OSError):
            Path(f"/proc/{each}/clear_refs").write_text("5")
    peak = [memory_mb(server)]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(SAMPLE_EVERY):
            peak.append(memory_mb(server))

    sampler = threading.Thread(target=sample, daemon=True)
    cpu0 = cpu_seconds(server)
    sampler.start()
    argv = [sys.executable, __file__, "--client", client, "--url", url,
            "--query", json.dumps(query)]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
        if process.returncode:
            err.seek(0)
            raise SystemExit(f"{client} client failed: {err.read().decode()[-2000:]}")
        out.seek(0)
        result = json.loads(out.read())
    return Harvest(result["records"], result["seconds"], usage.ru_utime + usage.ru_stime,
                   cpu_seconds(server) - cpu0, max(memory_mb(server, "VmHWM"), *peak),
                   max(peak), result["sent"], result["encoding"], result.get("bytes", 0))


@contextmanager
def static_server(folder: Path) -> Iterator[tuple[str, int]]:
    """The static pages served from ``folder``; yields (its /oai URL, its pid)."""
    process = subprocess.Popen([sys.executable, __file__, "--static-dir", str(folder)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdin is not None and process.stdout is not None
    try:
        yield process.stdout.readline().strip(), process.pid
    finally:
        process.stdin.close()
        process.wait(timeout=30)


@dataclass
class Run:
    """One run's harvests: each client over the feed and over the static pages."""

    idle_mb: float
    tenth: Harvest  # sickle over the feed, the 10 % list
    feed: Harvest  # (a)
    static: Harvest  # (b)
    light_feed: Harvest  # (c)
    light_static: Harvest

    @property
    def ratio(self) -> float:
        return self.feed.rate / self.static.rate


def one_run(args: argparse.Namespace, folder: Path, static: tuple[str, int], until: str,
            expected: int, log: Path) -> Run:
    """Start the server, note its idle memory, run every harvest, stop it."""
    from portal import serve

    with serve(folder, args.threads, args.workers, log) as (host, port, pid):
        feed = f"http://{host}:{port}/oai"
        conn = http.client.HTTPConnection(host, port, timeout=30)
        conn.request("GET", "/oai?verb=Identify")
        conn.getresponse().read()
        conn.close()
        time.sleep(1.0)
        idle = memory_mb(pid)
        tenth = harvest("sickle", feed, {"until": until}, pid)
        full = harvest("sickle", feed, {}, pid)
        light_feed = harvest("light", feed, {}, pid)
    url, static_pid = static
    run = Run(idle, tenth, full, harvest("sickle", url, {}, static_pid), light_feed,
              harvest("light", url, {}, static_pid))
    for name, done in (("sickle/feed", run.feed), ("sickle/static", run.static),
                       ("light/feed", run.light_feed), ("light/static", run.light_static)):
        if done.records != expected:
            raise SystemExit(f"{name} harvested {done.records:,} records, not {expected:,}")
    return run


# --- the report ----------------------------------------------------------------------------

def us(seconds: float, records: int) -> float:
    return seconds / records * 1e6


def print_run(number: int, run: Run, took: float) -> None:
    a, b, lf, ls = run.feed, run.static, run.light_feed, run.light_static
    print(f"run {number} ({took:.0f}s): (a) feed {a.rate:,.0f}/s, (b) static {b.rate:,.0f}/s, "
          f"ratio {run.ratio:.2f}; sickle CPU {us(a.client_cpu, a.records):.0f} / "
          f"{us(b.client_cpu, b.records):.0f} us/record; (c) feed {lf.rate:,.0f}/s, static "
          f"{ls.rate:,.0f}/s", flush=True)
    print(f"      server CPU per record: feed {us(a.server_cpu, a.records):.0f} us (sickle), "
          f"{us(lf.server_cpu, lf.records):.0f} us (light); static "
          f"{us(b.server_cpu, b.records):.0f} / {us(ls.server_cpu, ls.records):.0f} us",
          flush=True)
    print(f"      server memory: idle {run.idle_mb:.0f} MB; peak 10 % list "
          f"({run.tenth.records:,} records) {run.tenth.peak_mb:.0f} MB (sampled "
          f"{run.tenth.sampled_mb:.0f}), whole list {a.peak_mb:.0f} MB (sampled "
          f"{a.sampled_mb:.0f}), light client {lf.peak_mb:.0f} MB", flush=True)


def report(runs: list[Run], records: int, pages: int, page_size: int) -> None:
    def median(values: list[float]) -> float:
        return statistics.median(values)

    first = runs[0]
    feed = median([r.feed.rate for r in runs])
    static = median([r.static.rate for r in runs])
    light_feed = median([r.light_feed.rate for r in runs])
    light_static = median([r.light_static.rate for r in runs])
    sickle_cpu = median([us(r.feed.client_cpu, r.feed.records) for r in runs])
    idle = median([r.idle_mb for r in runs])
    deltas = {label: median([getattr(r, attr).peak_mb - r.idle_mb for r in runs])
              for label, attr in (("10 %", "tenth"), ("whole", "feed"), ("light", "light_feed"))}
    ratio = median([r.ratio for r in runs])
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{records:,} records, {pages:,} pages of {page_size}; medians of {len(runs)} runs "
          f"({os.cpu_count()} CPUs, load average now {load})")
    print(f"clients send Accept-Encoding {first.feed.sent!r}; the feed answered "
          f"{first.feed.encoding}, the static pages {first.static.encoding} "
          f"({first.light_feed.wire / records:,.0f} bytes/record on the wire)")
    print(f"(a) sickle <- feed (aggregator serve)  {feed:>9,.0f} records/s   sickle CPU "
          f"{sickle_cpu:.0f} us/record (at most {1e6 / sickle_cpu:,.0f} records/s)")
    print(f"(b) sickle <- static pages             {static:>9,.0f} records/s   sickle CPU "
          f"{median([us(r.static.client_cpu, r.static.records) for r in runs]):.0f} us/record")
    print(f"    ratio (a)/(b)                      {ratio:>9.2f}   (median of the runs' "
          f"ratios; of the medians {feed / static:.2f}) target >= {TARGET_RATIO}: "
          f"{'met' if ratio >= TARGET_RATIO else 'MISSED'}")
    print(f"(c) light client <- feed               {light_feed:>9,.0f} records/s   server "
          f"CPU {median([us(r.light_feed.server_cpu, records) for r in runs]):.0f} us/record")
    print(f"(c) light client <- static pages       {light_static:>9,.0f} records/s   server "
          f"CPU {median([us(r.light_static.server_cpu, records) for r in runs]):.0f} us/record")
    print(f"    {TARGET_RATE:,} records/s: sickle <- feed "
          f"{'met' if feed >= TARGET_RATE else 'MISSED'}, light client <- feed "
          f"{'met' if light_feed >= TARGET_RATE else 'MISSED'}; light ratio feed/static "
          f"{light_feed / light_static:.2f}")
    worst = max(deltas.values())
    print(f"server memory: idle {idle:.0f} MB; peak - idle: 10 % list "
          f"({first.tenth.records:,} records) {deltas['10 %']:+.0f} MB, whole list "
          f"{deltas['whole']:+.0f} MB, light client {deltas['light']:+.0f} MB; within "
          f"{TARGET_MEMORY_MB:.0f} MB: {'met' if worst <= TARGET_MEMORY_MB else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="runs; medians are printed")
    parser.add_argument("--page-size", type=int, default=100, help="oai_page_size")
    parser.add_argument("--workers", type=int, default=1, help="`aggregator serve` workers")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads per worker")
    parser.add_argument("--data-dir", type=Path,
                        help="keep the store here and reuse it next time")
    parser.add_argument("--client", choices=("sickle", "light"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--query", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--static-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client = sickle_client if args.client == "sickle" else light_client
        print(json.dumps(client(args.url, json.loads(args.query))))
        return
    if args.static_dir:
        serve_static(args.static_dir)
        return

    from portal import prepare_store, serve

    os.environ["AGGREGATOR_OAI_PAGE_SIZE"] = str(args.page_size)  # serve() passes it on
    with tempfile.TemporaryDirectory(prefix="bench-oai-") as scratch:
        folder = args.data_dir or Path(scratch) / "store"
        started = time.perf_counter()
        prepare_store(folder, args.records, args.members)
        print(f"store ready in {time.perf_counter() - started:.1f}s", flush=True)
        pages_dir = Path(scratch) / "pages"
        pages_dir.mkdir()
        log = Path(scratch) / "serve.log"
        with serve(folder, args.threads, args.workers, log) as (host, port, _):
            started = time.perf_counter()
            records, pages, until = prerender(f"http://{host}:{port}/oai", pages_dir)
        print(f"static pages: {pages:,} pages, {records:,} records written in "
              f"{time.perf_counter() - started:.1f}s; the 10 % list ends at {until}",
              flush=True)
        runs = []
        with static_server(pages_dir) as static:
            for number in range(1, args.repeat + 1):
                started = time.perf_counter()
                runs.append(one_run(args, folder, static, until, records, log))
                print_run(number, runs[-1], time.perf_counter() - started)
        report(runs, records, pages, args.page_size)
        lines = [line for line in log.read_text(errors="replace").splitlines() if line]
        if lines:
            print(f"server log ({len(lines)} lines), the last: {lines[-1]}")


if __name__ == "__main__":
    main()
