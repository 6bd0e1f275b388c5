"""Benchmark: the new-acquisition lists (page, Atom feed, CSV) on a generated store.

Builds a SQLite store of N generated oai_dc records (100,000 by default) from 20 members
through write_page, as bench/search.py does (about 5% copies of a work at another
member), spreads the records' first_seen evenly over the last 365 days (about 2% of
them arrived in the last week, 8% in the last 30 days), rebuilds the tantivy index
(clustering + indexing), then times, as medians of --repeat runs:

  * baseline   a plain ``count(*)`` of the records first harvested in the period (the
               ix_record_first_seen range alone), and the search page's faceted query
               without the period's filter;
  * store      count_new, new_clusters (the page's filter), arrivals (the feed's 500,
               the CSV's whole period, one member's feed);
  * http       ``/new``, ``/new.atom``, ``/members/<slug>/new.atom`` and ``/new.csv``
               through the Flask app (in-process test client, no network).

    python bench/arrivals.py [--records 100000] [--members 20] [--repeat 15]
                             [--database-url URL]   # PostgreSQL instead of SQLite
                             [--keep DIR]   # keep the store and index, reuse them
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, func, select, text, update

sys.path.insert(0, str(Path(__file__).parent))

from search import build_store

from aggregator.config import load_settings
from aggregator.index.model import SearchQuery
from aggregator.index.sync import open_index, rebuild_index
from aggregator.store import arrivals
from aggregator.store.db import connect, init_schema, make_engine
from aggregator.store.models import Record
from aggregator.web import create_app
from aggregator.web.facets import sidebar_query

SPREAD_DAYS = 365


def spread_first_seen(engine: Engine, now: datetime, seed: int = 3) -> None:
    """Give every record a first_seen drawn evenly from the last SPREAD_DAYS days."""
    rng = random.Random(seed)
    with connect(engine) as conn:
        ids = list(conn.scalars(select(Record.id)))
        stmt = (update(Record).where(Record.id == bindparam("rid"))
                .values(first_seen=bindparam("seen")))
        rows = [{"rid": rid, "seen": now - timedelta(seconds=rng.uniform(0, SPREAD_DAYS
                                                                         * 86400))}
                for rid in ids]
        for start in range(0, len(rows), 5000):
            conn.execute(stmt, rows[start:start + 5000])


def analyze(engine: Engine) -> None:
    """Refresh the planner's statistics after the bulk update of first_seen, as
    PostgreSQL's autovacuum (or a scheduled ANALYZE) would: with stale ones, PostgreSQL
    scans the whole table for the check against each work's other copies."""
    postgres = engine.url.get_backend_name() == "postgresql"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE record" if postgres else "ANALYZE"))


def median_ms(work: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The median wall time of ``work`` in ms over ``repeat`` runs (after one warm-up),
    and what its last run returned."""
    result = work()
    spent = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        spent.append((time.perf_counter() - started) * 1000)
    return statistics.median(spent), result


def show(label: str, ms: float, note: str = "") -> None:
    print(f"  {label:46} {ms:8.1f} ms  {note}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--database-url", help="a PostgreSQL store instead of SQLite")
    parser.add_argument("--keep", metavar="DIR",
                        help="keep the store and index in DIR, reusing them if built there")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        folder = args.keep or stack.enter_context(tempfile.TemporaryDirectory())
        Path(folder).mkdir(parents=True, exist_ok=True)
        marker = Path(folder) / "arrivals-built"
        overrides = {"database_url": args.database_url} if args.database_url else {}
        settings = load_settings(environ={}, data_dir=folder, search_backend="tantivy",
                                 search_rate_limit=0, **overrides)
        engine = make_engine(settings)
        init_schema(engine)
        if marker.exists():
            print(f"store: reusing {folder} (first_seen spread when it was built)")
        else:
            started = time.perf_counter()
            build_store(engine, args.records, args.members, seed=7)
            spread_first_seen(engine, datetime.now(UTC))
            analyze(engine)
            stats = rebuild_index(engine, settings)
            print(f"store: {args.records:,} records from {args.members} members, "
                  f"{stats.documents:,} works, built and indexed in "
                  f"{time.perf_counter() - started:.0f}s ({engine.url.get_backend_name()})",
                  flush=True)
            if args.keep:
                marker.touch()
        run(engine, settings, args.repeat)


def run(engine: Engine, settings: Any, repeat: int) -> None:
    index = open_index(settings, create=False)
    app = create_app(replace(settings, base_url="https://katalog.example.org"),
                     engine=engine, index=index)
    client = app.test_client()
    try:
        for period in ("week", "month"):
            print(f"{period} (last {arrivals.PERIODS[period]} days):", flush=True)
            period_figures(engine, index, client, period, repeat)
        month = datetime.now(UTC).strftime("%Y-%m")
        ms, response = median_ms(lambda: client.get(f"/new.csv?month={month}"), repeat)
        assert response.status_code == 200
        rows = response.data.count(b"\n") - 1
        show(f"http: GET /new.csv?month={month}", ms, f"{rows:,} rows")
    finally:
        index.close()


def period_figures(engine: Engine, index: Any, client: Any, period: str, repeat: int) -> None:
    """The figures of one period: baselines, store reads, index search, HTTP."""
    since, until = arrivals.period_window(period)
    sources = arrivals.member_sources(engine, "m03")
    count = select(func.count()).select_from(Record).where(
        Record.first_seen >= since, Record.first_seen < until)

    def plain() -> int:
        with connect(engine) as conn:
            return int(conn.scalar(count) or 0)

    ms, n = median_ms(plain, repeat)
    show("baseline: count(*) of the first_seen range", ms, f"{n:,} records")
    ms, n = median_ms(lambda: arrivals.count_new(engine, since, until), repeat)
    show("store: count_new (network)", ms, f"{n:,} new works")
    ms, works = median_ms(lambda: arrivals.new_clusters(engine, since, until), repeat)
    show("store: new_clusters (the page's filter)", ms, f"{len(works):,} ids")
    ms, found = median_ms(lambda: arrivals.arrivals(engine, since, until, limit=500), repeat)
    show("store: arrivals, 500 newest (feed)", ms, f"{len(found):,} works")
    ms, found = median_ms(lambda: arrivals.arrivals(engine, since, until), repeat)
    show("store: arrivals, all (CSV)", ms, f"{len(found):,} works")
    ms, found = median_ms(lambda: arrivals.arrivals(engine, since, until, sources=sources,
                                                    limit=500), repeat)
    show("store: arrivals of member m03 (feed)", ms, f"{len(found):,} works")
    plain_query = sidebar_query(SearchQuery(highlight=False))
    ms, result = median_ms(lambda: index.search(plain_query), repeat)
    show("baseline: faceted search, no filter", ms, f"{result.total:,} works")
    filtered = replace(plain_query, works=tuple(str(w) for w in works))
    ms, result = median_ms(lambda: index.search(filtered), repeat)
    show("index: faceted search, the period's works", ms, f"{result.total:,} works")
    suffix = "" if period == "week" else "?period=month"
    for path in (f"/new{suffix}", f"/new.atom{suffix}", f"/members/m03/new.atom{suffix}"):
        ms, response = median_ms(lambda p=path: client.get(p), repeat)  # type: ignore[misc]
        assert response.status_code == 200, path
        show(f"http: GET {path}", ms, f"{len(response.data):,} bytes")


if __name__ == "__main__":
    main()
