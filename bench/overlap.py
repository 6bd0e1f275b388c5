"""Benchmark: collection_overlap on a generated network (1,000,000 records, 20 members).

Generates works held by one member (most of them) or by several (a skewed number, the big
members more often), each record with stored fields as the normaliser writes them (title,
creators, a description, subjects, year, type, a DDC number), written straight into a
fresh SQLite store (or PostgreSQL with --postgres, from AGGREGATOR_TEST_POSTGRES_URL) in
member order as harvests would, each record in its work's cluster. Then times, as the
median of --repeat runs: a plain scan of the same live rows in cluster order (the
baseline), the same scan with the JSON values the overlap reads, collection_overlap
unfiltered and filtered (type and years), and the cached call; and prints the peak of
Python memory of one uncached call (tracemalloc) and the process's peak RSS.

    python bench/overlap.py [--records 1000000] [--members 20] [--repeat 3] [--postgres]
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine

from aggregator.config import load_settings
from aggregator.store import catalog
from aggregator.store import overlap as store_overlap
from aggregator.store.db import init_schema, make_engine, session_scope
from aggregator.store.overlap import OverlapFilters, clear_cache, collection_overlap

sys.path.insert(0, str(Path(__file__).parent))
from store_ingest import postgres

WORDS = ["pendidikan", "karakter", "sekolah", "dasar", "analisis", "pengaruh", "kinerja",
         "guru", "siswa", "pembelajaran", "matematika", "bahasa", "indonesia", "sejarah",
         "ekonomi", "desa", "hukum", "adat", "kesehatan", "masyarakat", "pertanian", "padi",
         "perikanan", "laut", "manajemen", "perpustakaan", "literasi", "digital"]
SUBJECTS = [f"{a} {b}".capitalize() for a in WORDS[:40] for b in WORDS[:25]]
TYPES = ("Book", "Book", "Book", "Article", "Thesis", "Report", None)
DESCRIPTION = "Penelitian ini membahas layanan perpustakaan dan literasi informasi. " * 6
SCAN = {"sqlite": "SELECT id, cluster_id, source_id FROM record WHERE deleted = 0"
                  " ORDER BY cluster_id",
        "postgresql": "SELECT id, cluster_id, source_id FROM record WHERE NOT deleted"
                      " ORDER BY cluster_id"}
# The record table's own indexes (not those of its constraints), as name and DDL.
INDEXES = {"sqlite": "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
                     " AND tbl_name = 'record' AND sql IS NOT NULL",
           "postgresql": "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'record'"
                         " AND indexname NOT IN (SELECT conname FROM pg_constraint)"}
JSON_SCAN = store_overlap._SCAN  # the very statement collection_overlap reads with


def holders(rng: random.Random, members: int, cumulative: list[float]) -> list[int]:
    """Which members hold a work: one for about 60% of works, a long tail up to all."""
    count = 1 if rng.random() < 0.6 else min(members, 2 + int(rng.expovariate(0.6)))
    chosen: set[int] = set()
    while len(chosen) < count:
        chosen.update(rng.choices(range(members), cum_weights=cumulative,
                                  k=count - len(chosen)))
    return sorted(chosen)


def fields_json(rng: random.Random, work: int) -> tuple[str, str | None]:
    """A record's stored fields (JSON text) and its type."""
    kind = TYPES[work % len(TYPES)]
    title = " ".join(WORDS[(work * 7 + i * 3) % len(WORDS)] for i in range(6)).capitalize()
    ddc = f"{(work * 37) % 1000:03d}.{work % 97}"
    return orjson.dumps({
        "title": f"{title} {work}", "creators": [f"Penulis, Nomor {work % 5000}"],
        "subjects": [SUBJECTS[(work + i) % len(SUBJECTS)] for i in range(rng.randint(0, 3))],
        "description": DESCRIPTION, "year": 1990 + work % 35, "type": kind,
        "classification": [["ddc", ddc]] if work % 4 else [], "language": "ind",
    }).decode(), kind


def generate(engine: Engine, records: int, members: int, seed: int) -> int:
    """Write the network; return the number of works."""
    rng = random.Random(seed)
    init_schema(engine)
    with session_scope(engine) as session:
        for m in range(members):
            catalog.add_member(session, f"m{m:02d}", f"Perpustakaan {m:02d}")
            catalog.add_source(session, f"m{m:02d}", f"https://m{m:02d}.example/oai")
    # a few big members, many small
    cumulative = list(itertools.accumulate(1.0 / (1 + m) for m in range(members)))
    held: list[list[int]] = [[] for _ in range(members)]
    total = works = 0
    while total < records:
        who = holders(rng, members, cumulative)
        for m in who:
            held[m].append(works)
        total += len(who)
        works += 1
    # ids in member order (as harvests give them); a cluster is named by its lowest id
    cluster: dict[int, int] = {}
    next_id = 1
    for m in range(members):
        for work in held[m]:
            cluster.setdefault(work, next_id)
            next_id += 1
    now = datetime.now(UTC).isoformat(sep=" ")
    rows: Iterator[tuple[Any, ...]] = (
        (rid, m + 1, f"oai:m{m:02d}:{work}", False, "[]", "oai_dc", "0" * 40, rid, now, now,
         cluster[work], *fields_json(rng, work))
        for rid, (m, work) in enumerate(
            ((m, work) for m in range(members) for work in held[m]), start=1))
    insert = ("INSERT INTO record (id, source_id, identifier, deleted, set_specs,"
              " metadata_prefix, content_hash, change_seq, first_seen, last_changed,"
              " cluster_id, fields, work_type) VALUES ({})")
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        # The record table's indexes are built once after the rows, not row by row.
        cursor.execute(INDEXES[engine.dialect.name])
        indexes = [(str(name), str(ddl)) for name, ddl in cursor.fetchall()]
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
        marks = ", ".join(["?" if engine.dialect.name == "sqlite" else "%s"] * 13)
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == 20_000:
                cursor.executemany(insert.format(marks), batch)
                batch.clear()
        if batch:
            cursor.executemany(insert.format(marks), batch)
        for _, ddl in indexes:
            cursor.execute(ddl)
        if engine.dialect.name == "sqlite":
            cursor.execute("ANALYZE")
        else:
            raw.commit()
            cursor.execute("ANALYZE record")
        raw.commit()
    finally:
        raw.close()
    return works


def scan(engine: Engine, sql: str) -> int:
    """The baseline: read every row of ``sql`` through a raw cursor, doing nothing."""
    raw = engine.raw_connection()
    try:
        # server-side on PostgreSQL, as collection_overlap reads (a client-side cursor
        # would hold every row in memory at once)
        cursor = (raw.driver_connection.cursor(name="baseline")  # type: ignore[union-attr]
                  if engine.dialect.name == "postgresql" else raw.cursor())
        cursor.execute(sql)
        count = 0
        while batch := cursor.fetchmany(20_000):
            count += len(batch)
        cursor.close()
        raw.rollback()
        return count
    finally:
        raw.close()


def median(repeat: int, call: Callable[[], object], cold: bool = True) -> float:
    """The median wall time of ``repeat`` calls (the cache emptied first when ``cold``)."""
    times = []
    for _ in range(repeat):
        if cold:
            clear_cache()
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run(label: str, engine: Engine, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    works = generate(engine, args.records, args.members, args.seed)
    print(f"{label}: {args.records:,} records, {works:,} works, {args.members} members "
          f"(generated in {time.perf_counter() - started:.0f}s)")
    dialect = "postgresql" if engine.dialect.name == "postgresql" else "sqlite"
    base = median(args.repeat, lambda: scan(engine, SCAN[dialect]), cold=False)
    with_json = median(args.repeat, lambda: scan(engine, JSON_SCAN[dialect]), cold=False)
    filtered = OverlapFilters(type="Book", year_from=2015, year_to=2024)
    plain = median(args.repeat, lambda: collection_overlap(engine))
    narrow = median(args.repeat, lambda: collection_overlap(engine, filtered))
    collection_overlap(engine)
    cached = median(args.repeat, lambda: collection_overlap(engine), cold=False)
    clear_cache()
    tracemalloc.start()
    found = collection_overlap(engine)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  baseline: ordered scan (id, cluster, source)  {base:8.2f}s")
    print(f"  baseline: ordered scan with the JSON values    {with_json:8.2f}s")
    print(f"  collection_overlap, unfiltered                {plain:8.2f}s "
          f"({plain / base:.1f}x the plain scan, {plain / with_json:.1f}x the JSON scan)")
    print(f"  collection_overlap, Book 2015-2024            {narrow:8.2f}s")
    print(f"  collection_overlap, cached                    {cached * 1000:8.2f}ms")
    print(f"  works counted {found.works:,}; unique to the first member "
          f"{found.members[0].unique:,} of {found.members[0].works:,}")
    print(f"  peak Python memory of one call {peak / 2**20:.1f} MB (tracemalloc); "
          f"process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", action="store_true",
                        help="PostgreSQL from AGGREGATOR_TEST_POSTGRES_URL instead of SQLite")
    args = parser.parse_args()
    if args.postgres:
        raw = os.environ.get("AGGREGATOR_TEST_POSTGRES_URL")
        if not raw:
            parser.error("--postgres needs AGGREGATOR_TEST_POSTGRES_URL")
        with postgres(raw) as pg:
            run("postgresql", pg, args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(load_settings(environ={}, data_dir=tmp))
        run("sqlite", engine, args)
        engine.dispose()


if __name__ == "__main__":
    main()
