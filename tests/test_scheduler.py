"""The scheduler: claims through the store, intervals, backoff, and real worker processes
sharing one store (killed with SIGKILL, stopped with SIGTERM)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from aggregator.cluster import stage
from aggregator.config import Settings
from aggregator.demo.oaiserver import OAIServer, Repository, Request, Response, SampleRecord
from aggregator.scheduler import Scheduler
from aggregator.scheduler.policy import MAX_BACKOFF, backoff, next_run
from aggregator.store import catalog, schedule
from aggregator.store.models import HarvestRun, HostLease, Member, Record, Source
from harvesting import (
    expected_live,
    list_requests,
    live_ids,
    make_records,
    record_count,
    runs_of,
    source_row,
)
from harvesting import (
    run as harvest_once,
)

EVERY = timedelta(hours=1)
WEEK = timedelta(days=7)


def now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime:
    assert value is not None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def add_source(engine: Engine, slug: str, base_url: str, set_spec: str = "") -> int:
    """A source of member ``slug`` (added when new) with a one-hour interval."""
    with Session(engine) as session, session.begin():
        if session.scalar(select(Member.id).where(Member.slug == slug)) is None:
            catalog.add_member(session, slug, f"Perpustakaan {slug}")
    with Session(engine) as session, session.begin():
        return catalog.add_source(session, slug, base_url, set_spec=set_spec, every="1h").id


def set_source(engine: Engine, source_id: int, **values: object) -> None:
    with engine.begin() as conn:
        conn.execute(update(Source).where(Source.id == source_id).values(**values))


def sets_repository(records: int, sets: tuple[str, ...], page_size: int = 50) -> Repository:
    """A repository whose records are spread over ``sets``."""
    items = make_records(records)
    for i, item in enumerate(items):
        item.sets = [sets[i % len(sets)]]
    return Repository(items, page_size=page_size, sets={s: f"Set {s}" for s in sets})


# -- the policy ----------------------------------------------------------------------


def test_backoff_doubles_and_stops_at_a_day() -> None:
    base = timedelta(minutes=10)
    waits = [backoff(base, n) for n in range(1, 12)]
    assert waits[:4] == [base, 2 * base, 4 * base, 8 * base]
    assert waits[-1] == MAX_BACKOFF and max(waits) == MAX_BACKOFF
    assert backoff(base, 0) == timedelta(0)


def test_next_run_follows_the_interval_and_coalesces_missed_runs() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    base = timedelta(minutes=10)
    quick = next_run(status="ok", started=start, finished=start + timedelta(minutes=5),
                     every=EVERY, failures=3, failure_backoff=base, resumable=False)
    assert quick.at == start + EVERY and quick.failures == 0
    # a run that took three intervals: the missed ones become one run, due at once
    long = next_run(status="ok", started=start, finished=start + 3 * EVERY, every=EVERY,
                    failures=0, failure_backoff=base, resumable=False)
    assert long.at == start + 3 * EVERY
    failed = next_run(status="failed", started=start, finished=start, every=EVERY,
                      failures=2, failure_backoff=base, resumable=True)
    assert failed.at == start + 4 * base and failed.failures == 3
    stopped = next_run(status="partial", started=start, finished=start + EVERY / 2,
                       every=EVERY, failures=0, failure_backoff=base, resumable=True)
    assert stopped.at == start + EVERY / 2
    later = start + 2 * EVERY
    assert next_run(status="ok", started=start, finished=start, every=EVERY, failures=0,
                    failure_backoff=base, resumable=False, not_before=later).at == later


# -- claims in the store ----------------------------------------------------------------


def test_one_claim_per_host_and_never_a_source_twice(engine: Engine) -> None:
    same_host = [add_source(engine, "univ", "https://jurnal.univ.example/index.php/j1/oai"),
                 add_source(engine, "univ", "https://jurnal.univ.example:443/index.php/j2/oai"),
                 add_source(engine, "univ", "https://JURNAL.univ.example/index.php/j3/oai")]
    other = add_source(engine, "kota", "http://opac.kota.example/oai")
    other_port = add_source(engine, "kota", "http://opac.kota.example:8080/oai")
    first = schedule.claim_due(engine, limit=10, lease_seconds=60, reconcile_every=WEEK)
    assert sorted(c.source_id for c in first) == sorted([same_host[0], other, other_port])
    assert {c.host for c in first} == {"jurnal.univ.example:443", "opac.kota.example:80",
                                       "opac.kota.example:8080"}
    assert schedule.claim_due(engine, limit=10, lease_seconds=60, reconcile_every=WEEK) == []
    univ = next(c for c in first if c.source_id == same_host[0])
    schedule.finish(engine, univ, status="ok", error=None, next_run_at=now() + EVERY,
                    failures=0, full_done=False)
    second = schedule.claim_due(engine, limit=10, lease_seconds=60, reconcile_every=WEEK)
    assert [c.source_id for c in second] == [same_host[1]]
    assert source_row(engine, same_host[0]).lease_owner is None


def test_an_expired_lease_is_claimed_again(engine: Engine) -> None:
    source = add_source(engine, "kota", "http://opac.kota.example/oai")
    (claim,) = schedule.claim_due(engine, limit=1, lease_seconds=60, reconcile_every=WEEK)
    assert schedule.claim_due(engine, limit=1, lease_seconds=60, reconcile_every=WEEK) == []
    later = now() + timedelta(seconds=61)  # the holder died without renewing
    (again,) = schedule.claim_due(engine, limit=1, lease_seconds=60, reconcile_every=WEEK,
                                  now=later)
    assert again.source_id == source and again.owner != claim.owner
    assert schedule.renew(engine, [claim.owner, again.owner], 60) == {again.owner}


def test_concurrent_claims_divide_the_sources(engine: Engine) -> None:
    sources = {add_source(engine, f"lib{i}", f"http://host{i % 12}.example/oai/{i}")
               for i in range(30)}
    claimed: list[schedule.Claim] = []
    lock = threading.Lock()

    def claim() -> None:
        for _ in range(10):
            got = schedule.claim_due(engine, limit=3, lease_seconds=60, reconcile_every=WEEK)
            with lock:
                claimed.extend(got)

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [c.source_id for c in claimed]
    hosts = [c.host for c in claimed]
    assert len(ids) == len(set(ids)) == 12  # one per host, none twice
    assert len(hosts) == len(set(hosts))
    assert set(ids) <= sources


def test_reconciliation_is_due_after_its_interval(engine: Engine) -> None:
    source = add_source(engine, "kota", "http://opac.kota.example/oai")
    set_source(engine, source, last_full_at=now() - timedelta(days=8))
    (claim,) = schedule.claim_due(engine, limit=1, lease_seconds=60, reconcile_every=WEEK)
    assert claim.full
    schedule.finish(engine, claim, status="ok", error=None, next_run_at=now(), failures=0,
                    full_done=True)
    (claim,) = schedule.claim_due(engine, limit=1, lease_seconds=60, reconcile_every=WEEK)
    assert not claim.full


def test_paused_sources_and_members_are_not_claimed(engine: Engine) -> None:
    paused = add_source(engine, "kota", "http://opac.kota.example/oai")
    set_source(engine, paused, status="paused")
    waiting = add_source(engine, "desa", "http://desa.example/oai")
    set_source(engine, waiting, not_before=now() + EVERY)
    later = add_source(engine, "kab", "http://kab.example/oai")
    set_source(engine, later, next_run_at=now() + EVERY)
    assert schedule.claim_due(engine, limit=5, lease_seconds=60, reconcile_every=WEEK) == []


# -- the scheduler in this process -----------------------------------------------------------


@pytest.fixture
def quick(settings: Settings) -> Settings:
    return replace(settings, scheduler_poll_seconds=0.1, lease_seconds=5,
                   failure_backoff="1m", harvest_concurrency=4)


def test_run_once_harvests_what_is_due_then_nothing(engine: Engine, quick: Settings) -> None:
    with OAIServer(Repository(make_records(120), page_size=50)) as one, \
            OAIServer(Repository(make_records(30, prefix="oai:other:"))) as two:
        first = add_source(engine, "kota", one.base_url)
        second = add_source(engine, "desa", two.base_url)
        started = now()
        results = Scheduler(engine, quick).run_once()
        assert sorted((r.source_id, r.status, r.new) for r in results) == [
            (first, "ok", 120), (second, "ok", 30)]
        for source in (first, second):
            row = source_row(engine, source)
            assert row.last_status == "ok" and row.failures == 0 and row.lease_owner is None
            assert started + EVERY <= as_utc(row.next_run_at) <= now() + EVERY
        assert Scheduler(engine, quick).run_once() == []
        with Session(engine) as session:
            assert session.scalars(select(HostLease)).all() == []


def test_a_reconciliation_due_sweeps_the_identifiers(engine: Engine, quick: Settings) -> None:
    repository = Repository(make_records(30), deleted_record="no", page_size=10)
    with OAIServer(repository) as server:
        source = add_source(engine, "kota", server.base_url)
        Scheduler(engine, quick).run_once()
        repository.remove("oai:test.example.org:7")  # no tombstone: deletedRecord=no
        set_source(engine, source, next_run_at=now(), last_full_at=now() - timedelta(days=8))
        server.requests.clear()
        (result,) = Scheduler(engine, quick).run_once()
        assert (result.status, result.mode, result.deleted) == ("ok", "reconcile", 1)
        assert [r["verb"] for r in server.requests].count("ListIdentifiers") == 3
        assert as_utc(source_row(engine, source).last_full_at) > now() - timedelta(minutes=1)


def test_run_once_waits_for_a_host_another_process_is_harvesting(
        engine: Engine, quick: Settings) -> None:
    with OAIServer(Repository(make_records(10))) as server:
        source = add_source(engine, "kota", server.base_url)
        with Session(engine) as session, session.begin():  # another worker, elsewhere
            session.add(HostLease(host=schedule.host_key(server.base_url),
                                  owner="elsewhere:1:x", until=now() + timedelta(seconds=1)))
        started = time.monotonic()
        results = Scheduler(engine, quick).run_once()
        assert [(r.source_id, r.status, r.new) for r in results] == [(source, "ok", 10)]
        assert time.monotonic() - started >= 0.9  # it waited for the host, then harvested


def test_the_scheduler_clusters_what_its_runs_stored(engine: Engine, quick: Settings) -> None:
    """Clustering runs beside the harvest threads (in a worker process), and the last
    runs' records are clustered before run_once returns."""
    def shared(ident: str) -> SampleRecord:
        return SampleRecord(identifier=ident, datestamp=now() - timedelta(days=1), metadata={
            "title": ["Pendidikan Karakter di Sekolah Dasar"], "creator": ["Santoso, Budi"],
            "date": ["2019"], "type": ["Book"]})

    with OAIServer(Repository([shared("oai:a:1"), *make_records(5)])) as one, \
            OAIServer(Repository([shared("oai:b:1")])) as two:
        add_source(engine, "kota", one.base_url)
        add_source(engine, "desa", two.base_url)
        assert len(Scheduler(engine, quick).run_once()) == 2
    with Session(engine) as session:
        clusters = dict(session.execute(select(Record.identifier, Record.cluster_id)).all())
        ids = dict(session.execute(select(Record.identifier, Record.id)).all())
    assert clusters["oai:b:1"] == clusters["oai:a:1"] == min(ids["oai:a:1"], ids["oai:b:1"])
    assert stage.progress(engine)["records_waiting"] == 0


def test_status_shows_the_last_run_whoever_ran_it(engine: Engine, settings: Settings) -> None:
    with OAIServer(Repository(make_records(5))) as server:
        source = add_source(engine, "kota", server.base_url)
        assert [r.last_status for r in schedule.status(engine)] == [None]
        harvest_once(engine, settings, source)  # `aggregator harvest`, not a scheduler
        server.stop()
        harvest_once(engine, settings, source)
    (row,) = schedule.status(engine)
    assert (row.id, row.last_status) == (source, "failed")


def test_missed_runs_coalesce_into_one(engine: Engine, quick: Settings) -> None:
    with OAIServer(Repository(make_records(20))) as server:
        source = add_source(engine, "kota", server.base_url)
        Scheduler(engine, quick).run_once()
        # the scheduler was away for ten intervals
        set_source(engine, source, next_run_at=now() - 10 * EVERY)
        before = len(list_requests(server))
        results = Scheduler(engine, quick).run_once()
        assert [r.source_id for r in results] == [source]
        assert len(list_requests(server)) == before + 1
        assert as_utc(source_row(engine, source).next_run_at) > now() + EVERY / 2


def test_a_failing_source_backs_off_and_recovers(engine: Engine, quick: Settings) -> None:
    quick = replace(quick, max_retries=0)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    repository = Repository(make_records(10))
    source = add_source(engine, "kota", f"http://127.0.0.1:{port}/oai")
    waits = []
    for failures in (1, 2, 3):
        began = now()
        (result,) = Scheduler(engine, quick).run_once()
        assert result.status == "failed"
        row = source_row(engine, source)
        assert row.failures == failures and row.last_status == "failed"
        assert row.last_error and "connection refused" in row.last_error
        waits.append(as_utc(row.next_run_at) - began)
        assert Scheduler(engine, quick).run_once() == []  # backing off: not due
        (shown,) = schedule.status(engine)
        assert shown.failures == failures and shown.last_error == row.last_error
        set_source(engine, source, next_run_at=now())
    minute = timedelta(minutes=1)
    for wait, expected in zip(waits, (minute, 2 * minute, 4 * minute), strict=True):
        assert expected <= wait <= expected + timedelta(seconds=20)
    with OAIServer(repository, port=port):
        (result,) = Scheduler(engine, quick).run_once()
    assert result.status == "ok" and result.new == 10
    row = source_row(engine, source)
    assert row.failures == 0 and row.last_error is None
    assert as_utc(row.next_run_at) > now() + EVERY / 2


def test_one_request_at_a_time_per_host_many_hosts_at_once(
        engine: Engine, quick: Settings) -> None:
    """Three sources (sets) on one host, one on another: the host's sources run one
    after another, while the other host is harvested meanwhile."""
    watch = InFlight()
    with OAIServer(sets_repository(300, ("a", "b", "c"), page_size=20)) as shared, \
            OAIServer(Repository(make_records(200, prefix="oai:lain:"), page_size=20)) as alone:
        shared.quirk = watch.quirk(shared, 0.01)
        alone.quirk = watch.quirk(alone, 0.01)
        sources = [add_source(engine, "univ", shared.base_url, s) for s in ("a", "b", "c")]
        other = add_source(engine, "kota", alone.base_url)
        results = Scheduler(engine, quick).run_once()
    assert sorted(r.source_id for r in results if r.status == "ok") == sorted([*sources, other])
    assert watch.most[shared.port] == 1 and watch.most[alone.port] == 1
    assert watch.overlapped(shared.port, alone.port)  # the two hosts went at once
    spans = sorted(run_span(engine, s) for s in sources)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


class InFlight:
    """Counts requests in progress per server port, with the most ever seen at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: dict[int, int] = defaultdict(int)
        self.most: dict[int, int] = defaultdict(int)
        self.spans: dict[int, list[tuple[float, float]]] = defaultdict(list)

    def quirk(self, server: OAIServer, delay: float) -> Callable[[Request], Response]:
        """A quirk for ``server`` that answers normally after ``delay`` seconds."""
        def handle(request: Request) -> Response:
            began = time.monotonic()
            with self.lock:
                self.now[server.port] += 1
                self.most[server.port] = max(self.most[server.port], self.now[server.port])
            try:
                time.sleep(delay)
                return server.respond(request)
            finally:
                with self.lock:
                    self.now[server.port] -= 1
                    self.spans[server.port].append((began, time.monotonic()))
        return handle

    def overlapped(self, a: int, b: int) -> bool:
        return any(x0 < y1 and y0 < x1 for x0, x1 in self.spans[a] for y0, y1 in self.spans[b])


def run_span(engine: Engine, source: int) -> tuple[datetime, datetime]:
    (run,) = runs_of(engine, source)
    return as_utc(run.started_at), as_utc(run.finished_at)


# -- worker processes --------------------------------------------------------------------


def worker_env(engine: Engine, settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGGREGATOR_")}
    env.update(AGGREGATOR_DATA_DIR=settings.data_dir, AGGREGATOR_ALLOW_NETWORKS="127.0.0.0/8",
               AGGREGATOR_LOG_LEVEL="WARNING", AGGREGATOR_SCHEDULER_POLL_SECONDS="0.2",
               AGGREGATOR_LEASE_SECONDS="3", AGGREGATOR_HARVEST_CONCURRENCY="4",
               AGGREGATOR_DATABASE_URL=(
                   "" if engine.dialect.name == "sqlite"
                   else engine.url.render_as_string(hide_password=False)), **extra)
    return env


def start_worker(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "aggregator", "scheduler", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=env["AGGREGATOR_DATA_DIR"])


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"waited {seconds}s for {what}")


def end(proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return proc.returncode, err.decode(errors="replace")


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.slow
def test_two_worker_processes_share_the_network(
        engine: Engine, settings: Settings, workers: list[subprocess.Popen[bytes]]) -> None:
    """Six sources on three hosts, due every 2 s, for two workers on one store: every
    source is harvested on schedule, none twice at once, one request at a time per host."""
    watch = InFlight()
    servers = [OAIServer(sets_repository(60, ("a", "b"), page_size=10)).start()
               for _ in range(3)]
    try:
        sources = []
        for i, server in enumerate(servers):
            server.quirk = watch.quirk(server, 0.02)
            for spec in ("a", "b"):
                source = add_source(engine, f"lib{i}", server.base_url, spec)
                set_source(engine, source, every_seconds=2)
                sources.append(source)
        env = worker_env(engine, settings)
        workers.extend([start_worker(env), start_worker(env)])
        time.sleep(9)
        for proc in workers:
            code, err = end(proc)
            assert code == 0, err
    finally:
        for server in servers:
            server.stop()
    with Session(engine) as session:
        runs = session.scalars(select(HarvestRun)).all()
    by_source: dict[int, list[HarvestRun]] = defaultdict(list)
    for run in runs:
        by_source[run.source_id].append(run)
    for source in sources:
        done = [r for r in by_source[source] if r.status == "ok"]
        assert len(done) >= 2, (source, [(r.status, r.errors) for r in by_source[source]])
    hosts: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for source, items in by_source.items():
        spans = sorted((as_utc(r.started_at), as_utc(r.finished_at or now())) for r in items)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False)), source
        hosts[schedule.host_key(source_row(engine, source).base_url)].extend(spans)
    for spans in hosts.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert all(watch.most[s.port] == 1 for s in servers)
    owners = {run.owner.split(":")[1] for run in runs if run.owner}
    assert owners == {str(proc.pid) for proc in workers}  # both did their share


@pytest.mark.slow
def test_a_killed_worker_is_taken_over_and_the_run_resumes_exactly(
        engine: Engine, settings: Settings, workers: list[subprocess.Popen[bytes]]) -> None:
    repository = Repository(make_records(1000), page_size=25)
    with OAIServer(repository) as server:
        server.quirk = lambda request: time.sleep(0.05) if request.verb == "ListRecords" else None
        source = add_source(engine, "kota", server.base_url)
        env = worker_env(engine, settings)
        first = start_worker(env)
        workers.append(first)
        wait_for(lambda: any(r.pages >= 4 for r in runs_of(engine, source)), 30,
                 "the first worker to store pages")
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_at = now()
        held_until = as_utc(source_row(engine, source).lease_until)
        second = start_worker(env)
        workers.append(second)
        wait_for(lambda: source_row(engine, source).last_status == "ok", 60,
                 "the second worker to finish the run")
        code, err = end(second)
        assert code == 0, err
    assert live_ids(engine, source) == expected_live(repository)
    assert record_count(engine, source) == 1000
    killed, resumed = runs_of(engine, source)
    assert resumed.resumed_from == killed.id and resumed.status == "ok"
    assert as_utc(resumed.started_at) >= min(held_until, killed_at + timedelta(seconds=3)) \
        - timedelta(seconds=1)
    fresh = [r for r in list_requests(server) if "resumptionToken" not in r]
    assert len(fresh) == 1  # the second worker went on from the first one's last page


@pytest.mark.slow
def test_sigterm_ends_the_page_gives_the_leases_back_and_exits(
        engine: Engine, settings: Settings, quick: Settings,
        workers: list[subprocess.Popen[bytes]]) -> None:
    repository = Repository(make_records(1000), page_size=25)
    with OAIServer(repository) as server:
        server.quirk = lambda request: time.sleep(0.05) if request.verb == "ListRecords" else None
        source = add_source(engine, "kota", server.base_url)
        proc = start_worker(worker_env(engine, settings))
        workers.append(proc)
        wait_for(lambda: any(r.pages >= 3 for r in runs_of(engine, source)), 30,
                 "the worker to store pages")
        asked = time.monotonic()
        code, err = end(proc)
        took = time.monotonic() - asked
        assert code == 0, err
        assert took < 5
        (run,) = runs_of(engine, source)
        assert run.status == "partial" and run.finished_at is not None
        assert "stopped" in {w["code"] for w in run.warnings}
        row = source_row(engine, source)
        assert row.lease_owner is None and row.checkpoint is not None
        with Session(engine) as session:
            assert session.scalars(select(HostLease)).all() == []
        (result,) = Scheduler(engine, quick).run_once()  # due at once: it resumes
    assert result.status == "ok"
    assert live_ids(engine, source) == expected_live(repository)
    assert record_count(engine, source) == 1000


def test_scheduler_once_and_status_on_the_command_line(
        engine: Engine, settings: Settings) -> None:
    with OAIServer(Repository(make_records(15))) as server:
        source = add_source(engine, "kota", server.base_url)
        env = worker_env(engine, settings)
        once = subprocess.run([sys.executable, "-m", "aggregator", "scheduler", "--once",
                               "--json"], env=env, capture_output=True, timeout=60,
                              cwd=settings.data_dir)
    assert once.returncode == 0, once.stderr
    (line,) = once.stdout.decode().splitlines()
    assert json.loads(line)["new"] == 15
    shown = subprocess.run([sys.executable, "-m", "aggregator", "status", "--json"], env=env,
                           capture_output=True, timeout=60, cwd=settings.data_dir)
    assert shown.returncode == 0, shown.stderr
    (status,) = json.loads(shown.stdout)
    assert status["id"] == source and status["last_status"] == "ok"
    assert status["records"] == 15 and status["failures"] == 0
    assert status["next_run_at"] > now().strftime("%Y-%m-%dT%H:%M:%SZ")
    table = subprocess.run([sys.executable, "-m", "aggregator", "status"], env=env,
                           capture_output=True, timeout=60, cwd=settings.data_dir)
    assert b"in 59m" in table.stdout or b"in 1h" in table.stdout, table.stdout


def found(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return int(json.load(answer)["total"])


@pytest.mark.slow
@pytest.mark.parametrize(("workers", "scheduling"), [("1", True), ("2", True), ("1", False)])
def test_serve_harvests_on_schedule_unless_told_not_to(
        engine: Engine, settings: Settings, workers: str, scheduling: bool) -> None:
    """The parent process harvests while its web workers (started beside the
    scheduler's threads) answer."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the embedded default: one process on SQLite")
    with OAIServer(Repository(make_records(12))) as server:
        source = add_source(engine, "kota", server.base_url)
        env = worker_env(engine, settings)
        args = [] if scheduling else ["--no-scheduler"]
        proc = subprocess.Popen([sys.executable, "-m", "aggregator", "serve", "--port", "0",
                                 "--workers", workers, *args], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, cwd=settings.data_dir)
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().decode().split()[1]
            if scheduling:
                wait_for(lambda: source_row(engine, source).last_status == "ok", 30,
                         "serve to harvest the source")
                wait_for(lambda: found(url + "api/search?q=Judul") == 12, 10,
                         "the records to be found")
            else:
                time.sleep(3)
                assert runs_of(engine, source) == []
        finally:
            code, err = end(proc)
        assert code == 0, err
