"""Benchmark: the request figures and the retention purge on a large store.

Fills a fresh SQLite store (and a fresh PostgreSQL database when
AGGREGATOR_TEST_POSTGRES_URL is set) with N requests to M members (kinds and statuses
mixed, three quarters answered, made over two years), then times, --repeat times each:

  * baseline   ``SELECT count(*) FROM service_request`` (the cheapest full look), and
               the counts by member, kind and status in one GROUP BY (what the figures
               must at least read);
  * figures    :func:`aggregator.store.request_figures.figures` for the whole network;
  * range      the same for one quarter;
  * purge      :func:`aggregator.store.requests.purge_expired` with 180 days (the first
               run erases about three quarters of the requests; the later ones find none
               left and show the cost of the hourly job).

Prints the median of each in milliseconds and its ratio to the baseline.

    python bench/service_requests.py [--requests 50000] [--members 50] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, insert, select

sys.path.insert(0, str(Path(__file__).parent))

from store_ingest import postgres  # a throwaway database

from aggregator.config import load_settings
from aggregator.store import catalog
from aggregator.store.db import init_schema, make_engine, session_scope
from aggregator.store.models import ServiceRequest
from aggregator.store.request_figures import figures
from aggregator.store.requests import purge_expired

NOW = datetime(2026, 12, 1, tzinfo=UTC)
STATUSES = ("new", "accepted", "declined", "fulfilled")


def fill(engine: Engine, total: int, members: int) -> None:
    """``total`` requests to ``members`` members, in batches of 5,000 rows."""
    rng = random.Random(7)
    with session_scope(engine) as session:
        ids = [catalog.add_member(session, f"m{n}", f"Perpustakaan {n}").id
               for n in range(members)]
    rows = []
    for n in range(total):
        created = NOW - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
        status = rng.choice(STATUSES)
        answered = (created + timedelta(minutes=rng.randrange(10, 7 * 24 * 60))
                    if status != "new" else None)
        rows.append({
            "token": secrets.token_urlsafe(32), "kind": rng.choice(("loan", "copy", "copy")),
            "status": status, "holder_member_id": rng.choice(ids),
            "home_member_id": rng.choice((None, rng.choice(ids))),
            "home_library": "Perpustakaan Sekolah", "title": f"Judul {n}",
            "patron_name": f"Pemustaka {n}", "patron_email": f"p{n}@example.org",
            "note": "halaman 3-9", "created_at": created, "answered_at": answered,
            "closed_at": answered if status in ("declined", "fulfilled") else None})
    with engine.begin() as conn:
        for start in range(0, total, 5000):
            conn.execute(insert(ServiceRequest), rows[start:start + 5000])


def timed(action: Callable[[], object], repeat: int) -> float:
    """The median milliseconds of ``repeat`` runs of ``action``."""
    spent = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        spent.append((time.perf_counter() - started) * 1000)
    return statistics.median(spent)


def run(label: str, engine: Engine, total: int, members: int, repeat: int) -> None:
    started = time.perf_counter()
    fill(engine, total, members)
    print(f"{label}: {total:,} requests to {members} members stored in "
          f"{time.perf_counter() - started:.1f} s")

    def baseline() -> None:
        with engine.connect() as conn:
            conn.scalar(select(func.count()).select_from(ServiceRequest))

    def grouped() -> None:
        with engine.connect() as conn:
            conn.execute(select(ServiceRequest.holder_member_id, ServiceRequest.kind,
                                ServiceRequest.status, func.count()).group_by(
                ServiceRequest.holder_member_id, ServiceRequest.kind,
                ServiceRequest.status)).all()

    def network() -> None:
        with session_scope(engine) as session:
            figures(session)

    def quarter() -> None:
        with session_scope(engine) as session:
            figures(session, since=NOW - timedelta(days=91), until=NOW)

    purged: list[int] = []
    results = {"baseline count(*)": timed(baseline, repeat),
               "baseline GROUP BY": timed(grouped, repeat),
               "figures, network": timed(network, repeat),
               "figures, one quarter": timed(quarter, repeat),
               "purge, first run": timed(
                   lambda: purged.append(purge_expired(engine, 180, now=NOW)), 1),
               "purge, nothing left": timed(
                   lambda: purge_expired(engine, 180, now=NOW), repeat)}
    base, group = results["baseline count(*)"], results["baseline GROUP BY"]
    for name, ms in results.items():
        print(f"  {name:22} median {ms:9.1f} ms  ({ms / base:8.1f} x count(*), "
              f"{ms / group:6.1f} x GROUP BY)")
    print(f"  purged {purged[0]:,} requests on the first run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(load_settings(environ={}, data_dir=folder))
        init_schema(engine)
        try:
            run("SQLite", engine, args.requests, args.members, args.repeat)
        finally:
            engine.dispose()
    raw = os.environ.get("AGGREGATOR_TEST_POSTGRES_URL")
    if raw:
        with postgres(raw) as pg:
            init_schema(pg)
            run("PostgreSQL", pg, args.requests, args.members, args.repeat)


if __name__ == "__main__":
    main()
