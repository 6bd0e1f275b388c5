"""Benchmark: index a generated union catalogue with each backend and time faceted queries.

Builds a SQLite store of N generated oai_dc records (100,000 by default) from 20
members with a Zipf-distributed vocabulary (a few very common words, a long tail of rare
ones) and about 5% duplicates across members, through write_page as a harvest does (so
the normalised fields are stored at ingest), then for each backend:

  * rebuilds the index from the stored fields (clustering + indexing), records/s;
  * with --from-xml, clears the stored fields and rebuilds again, so normalisation from
    the XML is part of the figure (the rebuild stores the fields it computed);
  * for tantivy, the baseline: tantivy alone adding the very documents the rebuild made
    (written to a file first, then fed to an empty index with the rebuild's writer), so
    the rebuild's rate can be read against the engine's own limit on this machine;
  * runs a query mix — rare words, very common words, two-word phrases, each with and
    without filters, always counting the five facets — and prints p50/p95/p99 in ms.

Peak memory is the process's maximum RSS so far (it includes building the store).

    python bench/search.py [--records 100000] [--million] [--backends tantivy,whoosh]
                           [--from-xml] [--keep DIR]

With --keep DIR the store and index live in DIR and are kept; a later run with the
same DIR (and backend) skips building and only times the queries.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, cast
from xml.sax.saxutils import escape

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from aggregator.cluster.assign import RECORD
from aggregator.config import load_settings
from aggregator.errors import SearchTimeout
from aggregator.index.documents import docs_from_rows
from aggregator.index.model import SearchQuery
from aggregator.index.rows import live_rows
from aggregator.index.sync import open_index, rebuild_index
from aggregator.index.tantivy_backend import TantivyBackend
from aggregator.records import HarvestedRecord
from aggregator.store import catalog, runs
from aggregator.store.db import connect, init_schema, make_engine
from aggregator.store.ingest import PageWrite, write_page

SYLLABLES = ("ba", "ka", "ra", "ma", "sa", "ta", "na", "pa", "la", "da", "ri", "ti", "ni",
             "gu", "ju", "su", "to", "no", "wi", "ya", "an", "ang", "ar", "in", "un")
TYPES = ("Book", "Article", "Thesis", "Report", "Skripsi", "Dataset")
LANGS = ("ind", "eng", "jav")
DC = ('<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
      'xmlns:dc="http://purl.org/dc/elements/1.1/">{}</oai_dc:dc>')


def vocabulary(size: int, rng: random.Random) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


class Zipf:
    """Draws words with probability ~ 1/rank."""

    def __init__(self, words: list[str], rng: random.Random) -> None:
        self.words = words
        self.rng = rng
        weights = [1 / (rank + 1) for rank in range(len(words))]
        total = sum(weights)
        acc = 0.0
        self.cumulative = []
        for w in weights:
            acc += w / total
            self.cumulative.append(acc)

    def draw(self, n: int) -> list[str]:
        import bisect

        return [self.words[min(bisect.bisect(self.cumulative, self.rng.random()),
                               len(self.words) - 1)] for _ in range(n)]


def record_xml(zipf: Zipf, rng: random.Random, i: int) -> tuple[bytes, str]:
    title = " ".join(zipf.draw(rng.randint(4, 10))).capitalize()
    parts = [f"<dc:title>{escape(title)}</dc:title>"]
    for _ in range(rng.randint(1, 3)):
        parts.append(f"<dc:creator>{escape(zipf.draw(1)[0].title())}, "
                     f"{escape(zipf.draw(1)[0].title())}</dc:creator>")
    for subject in zipf.draw(rng.randint(2, 4)):
        parts.append(f"<dc:subject>{escape(subject)}</dc:subject>")
    parts.append(f"<dc:description>{escape(' '.join(zipf.draw(rng.randint(40, 90))))}"
                 "</dc:description>")
    parts.append(f"<dc:date>{rng.randint(1980, 2025)}</dc:date>")
    parts.append(f"<dc:type>{rng.choice(TYPES)}</dc:type>")
    parts.append(f"<dc:language>{rng.choice(LANGS)}</dc:language>")
    parts.append(f"<dc:identifier>https://repo.example.ac.id/record/{i}</dc:identifier>")
    return DC.format("".join(parts)).encode(), title


def build_store(engine: Engine, n: int, members: int, seed: int) -> None:
    rng = random.Random(seed)
    zipf = Zipf(vocabulary(20_000, rng), rng)
    sources = []
    with Session(engine) as session, session.begin():
        for m in range(members):
            catalog.add_member(session, f"m{m:02d}", f"Member {m}")
            sources.append(catalog.add_source(session, f"m{m:02d}",
                                              f"https://m{m:02d}.example.org/oai").id)
    pages: dict[int, list[HarvestedRecord]] = {s: [] for s in sources}
    previous: list[bytes] = []
    for i in range(n):
        source = sources[i % members]
        if previous and rng.random() < 0.05:  # the same work at another member
            xml = rng.choice(previous)
        else:
            xml, _ = record_xml(zipf, rng, i)
            if len(previous) < 5000:
                previous.append(xml)
        pages[source].append(HarvestedRecord(f"oai:bench:{i}", "2024-01-01", False, (), xml))
        if len(pages[source]) == 100:
            _flush(engine, source, pages[source])
            pages[source] = []
    for source, page in pages.items():
        if page:
            _flush(engine, source, page)


def _flush(engine: object, source: int, records: list[HarvestedRecord]) -> None:
    run_id = runs.start_run(engine, source, "full", "bench")  # type: ignore[arg-type]
    write_page(engine, PageWrite(source_id=source, run_id=run_id,  # type: ignore[arg-type]
                                 metadata_prefix="oai_dc", records=records, checkpoint=None))


def query_mix(zipf_words: list[str], rng: random.Random) -> list[tuple[str, SearchQuery]]:
    """(kind, query) pairs: a rare word, a common word and a phrase of two common words,
    each with and without filters."""
    common, rare = zipf_words[:30], zipf_words[5000:]
    mix = []
    for _ in range(60):
        for kind, text in (("rare word", rng.choice(rare)), ("common word", rng.choice(common)),
                           ("common phrase", f'"{rng.choice(common)} {rng.choice(common)}"')):
            mix.append((kind, SearchQuery(text=text, highlight=True)))
            mix.append((f"{kind} + filters", SearchQuery(
                text=text, filters={"type": ("Book",)}, year_from=2000, year_to=2020,
                highlight=True)))
    return mix


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def peak_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def cpu_seconds() -> float:
    """CPU time of this process (all its threads) and of its finished worker processes."""
    return sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


def rebuild(engine: Engine, settings: object, label: str) -> None:
    cpu = cpu_seconds()
    stats = rebuild_index(engine, settings)  # type: ignore[arg-type]
    rate = stats.changes / stats.seconds
    print(f"{label}: {stats.changes:,} records -> {stats.documents:,} works in "
          f"{stats.seconds:.1f}s = {rate:,.0f} records/s ({stats.normalised:,} normalised "
          f"from XML); CPU {cpu_seconds() - cpu:.1f}s with its worker processes; "
          f"peak RSS {peak_mb():,} MB", flush=True)


def engine_alone(engine: Engine, settings: object) -> None:
    """Time tantivy alone on the works of the index just built: their documents are
    prepared and written to a file untimed, then added to an empty index, committed and
    merged, as the rebuild's writer does."""
    built = cast(TantivyBackend, open_index(settings, create=False))  # type: ignore[arg-type]
    prepare = built.prepare  # with its common words: the same pairs
    built.close()
    with tempfile.TemporaryDirectory() as tmp, connect(engine) as conn:
        path = Path(tmp) / "documents.jsonl"
        rows = conn.execute(live_rows().execution_options(yield_per=2000))
        works, records = 0, 0

        def counted(rows: Iterable[Any]) -> Iterator[Any]:
            nonlocal records
            for row in rows:
                records += 1
                yield row

        with path.open("w", encoding="utf-8") as out:
            for doc in docs_from_rows(counted(rows)):
                out.write(prepare(doc) + "\n")
                works += 1
        backend = TantivyBackend(Path(tmp) / "index")
        started, cpu = time.perf_counter(), cpu_seconds()
        with path.open(encoding="utf-8") as lines:
            while chunk := [line.rstrip("\n") for line in itertools.islice(lines, 1000)]:
                backend.add_prepared(chunk)
        backend.commit({})
        backend.close()  # waits for the merges, as the rebuild does
        took, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    print(f"tantivy  baseline, tantivy alone adding the same {works:,} documents: {took:.1f}s "
          f"= {records / took:,.0f} records/s; CPU {cpu:.1f}s (all threads)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--million", action="store_true", help="1,000,000 records")
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--backends", default="tantivy,whoosh")
    parser.add_argument("--from-xml", action="store_true",
                        help="also rebuild after clearing the stored fields")
    parser.add_argument("--keep", metavar="DIR",
                        help="keep the store and index in DIR, reusing them if built")
    args = parser.parse_args()
    n = 1_000_000 if args.million else args.records
    with contextlib.ExitStack() as stack:
        if args.keep:
            folder = args.keep
            Path(folder).mkdir(parents=True, exist_ok=True)
        else:
            folder = stack.enter_context(tempfile.TemporaryDirectory())
        built = (Path(folder) / "store-built").exists()
        settings = load_settings(environ={}, data_dir=folder)
        engine = make_engine(settings)
        init_schema(engine)
        if built:
            print(f"store: reusing {folder}", flush=True)
        else:
            started = time.perf_counter()
            build_store(engine, n, args.members, seed=7)
            took = time.perf_counter() - started
            print(f"store: {n:,} records from {args.members} members through write_page "
                  f"(normalised at ingest) in {took:.1f}s = {n / took:,.0f} records/s",
                  flush=True)
            if args.keep:
                (Path(folder) / "store-built").touch()
        rng = random.Random(7)
        words = vocabulary(20_000, rng)
        for name in args.backends.split(","):
            index_dir = Path(folder) / ("index" if not args.keep else f"index-{name}")
            chosen = replace(settings, search_backend=name, index_dir=str(index_dir))
            marker = Path(folder) / f"{name}-built"
            if marker.exists():
                print(f"{name:8} reusing the index in {index_dir}", flush=True)
            else:
                rebuild(engine, chosen, f"{name:8} rebuild from stored fields")
                if args.keep:
                    marker.touch()
                if name == "tantivy":
                    engine_alone(engine, chosen)
            if args.from_xml:
                with connect(engine) as conn:
                    conn.execute(update(RECORD).values(fields=None, match_keys=None))
                rebuild(engine, chosen, f"{name:8} rebuild from XML (fields cleared)")
            backend = open_index(chosen, create=False)
            timeouts = 0
            try:
                timings, totals = [], []
                by_kind: dict[str, list[float]] = {}
                for kind, request in query_mix(words, random.Random(11)):
                    t0 = time.perf_counter()
                    try:
                        totals.append(backend.search(request).total)
                    except SearchTimeout:  # counted at the limit, and reported
                        timeouts += 1
                    timings.append((time.perf_counter() - t0) * 1000)
                    by_kind.setdefault(kind, []).append(timings[-1])
            finally:
                backend.close()
            print(f"{name:8} faceted queries ({len(timings)}): p50 "
                  f"{statistics.median(timings):.1f} ms, p95 {percentile(timings, .95):.1f} ms,"
                  f" p99 {percentile(timings, .99):.1f} ms; median hits "
                  f"{statistics.median(totals or [0]):,.0f}; {timeouts} stopped at the "
                  "2 s limit", flush=True)
            for kind, spent in by_kind.items():
                print(f"{'':8}   {kind:24} p50 {statistics.median(spent):6.1f} ms, "
                      f"p95 {percentile(spent, .95):6.1f} ms", flush=True)


if __name__ == "__main__":
    main()
