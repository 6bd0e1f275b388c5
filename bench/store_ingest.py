"""Benchmark: write_page throughput (records/s) for generated oai_dc pages.

Writes N generated records (about 1.5 KB of oai_dc XML each) in pages of 100 into a
fresh SQLite store, then writes the same pages again (all unchanged), then once more
with a pass number set (the full-harvest case). Does the same into a fresh PostgreSQL
database when AGGREGATOR_TEST_POSTGRES_URL is set.

    python bench/store_ingest.py [--records 100000] [--page-size 100]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from aggregator.config import load_settings
from aggregator.records import HarvestedRecord
from aggregator.store import catalog, runs
from aggregator.store.db import init_schema, make_engine, session_scope
from aggregator.store.ingest import PageWrite, write_page

DC = ('<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
      'xmlns:dc="http://purl.org/dc/elements/1.1/">'
      "<dc:title>Kajian {n}: pengelolaan perpustakaan sekolah di daerah</dc:title>"
      "<dc:creator>Penulis, Nomor {n}</dc:creator><dc:subject>Library science</dc:subject>"
      "<dc:description>{text}</dc:description><dc:date>2021-03-04</dc:date>"
      "<dc:type>Text</dc:type><dc:identifier>https://lib.example/record/{n}</dc:identifier>"
      "<dc:language>ind</dc:language></oai_dc:dc>")
FILLER = "Abstrak penelitian tentang layanan perpustakaan dan literasi informasi. " * 14


def make_pages(total: int, size: int, version: int = 0) -> list[list[HarvestedRecord]]:
    """Build the pages in memory first, so only the store is timed."""
    records = [HarvestedRecord(f"oai:lib.example:{n}", "2024-01-01T00:00:00Z", False,
                               ("col:1",), DC.format(n=n, text=FILLER + str(version)).encode())
               for n in range(total)]
    return [records[i:i + size] for i in range(0, total, size)]


def run_pass(engine: Engine, source_id: int, pages: list[list[HarvestedRecord]],
             seen_pass: int | None = None) -> float:
    """Write every page once; return records per second."""
    run_id = runs.start_run(engine, source_id, "full", runs.lease_owner_id())
    count = sum(len(p) for p in pages)
    started = time.perf_counter()
    for number, records in enumerate(pages):
        write_page(engine, PageWrite(
            source_id=source_id, run_id=run_id, metadata_prefix="oai_dc", records=records,
            checkpoint={"token": f"page-{number}"}, page_bytes=160_000, seen_pass=seen_pass))
    return count / (time.perf_counter() - started)


def bench(label: str, engine: Engine, total: int, size: int) -> None:
    """Print the three passes for one engine."""
    init_schema(engine)
    with session_scope(engine) as session:
        catalog.add_member(session, "bench", "Bench library")
        source_id = catalog.add_source(session, "bench", "https://lib.example/oai").id
    pages = make_pages(total, size)
    kb = sum(len(r.metadata_xml or b"") for p in pages for r in p) / total / 1024
    print(f"{label}: {total} records of {kb:.2f} KB in pages of {size}")
    print(f"  new        {run_pass(engine, source_id, pages):>10,.0f} records/s")
    print(f"  unchanged  {run_pass(engine, source_id, pages):>10,.0f} records/s")
    print(f"  seen pass  {run_pass(engine, source_id, pages, seen_pass=7):>10,.0f} records/s")
    changed = make_pages(total, size, version=1)
    print(f"  updated    {run_pass(engine, source_id, changed):>10,.0f} records/s")


@contextmanager
def postgres(raw: str) -> Iterator[Engine]:
    """A throwaway PostgreSQL database next to the one the URL names."""
    admin = make_url(raw).set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"aggregator_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(raw).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(load_settings(environ={}, database_url=url))
    try:
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))


def main() -> None:
    """Parse the options and run the benchmark on each available backend."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(load_settings(environ={}, data_dir=tmp))
        bench("sqlite", engine, args.records, args.page_size)
        engine.dispose()
    raw = os.environ.get("AGGREGATOR_TEST_POSTGRES_URL")
    if raw:
        with postgres(raw) as pg:
            bench("postgresql", pg, args.records, args.page_size)


if __name__ == "__main__":
    main()
