"""Benchmark: browsing and searching the exchange lists over 20,000 offers.

Fills a fresh store (SQLite in a temporary folder; with --postgres a throwaway database
next to $AGGREGATOR_TEST_POSTGRES_URL's, dropped at the end) with --offers
generated offers of 20 members (titles, creators and publishers drawn from a Zipf
vocabulary, so some words are common and most are rare), then times, --repeat times
each, in the store and through the portal (Flask's test client, page rendered):

  * baseline   one offer by id (``get_offer``): the fixed cost of a session and a query;
  * browse     the first and the 50th page of all available offers;
  * filter     one member's offers in one condition;
  * search     two words (a common and a rarer one), and one rare word;
  * page       ``/exchange`` and ``/exchange?q=<two words>`` as HTML.

It prints the median and p95 of each, and the median as a multiple of the baseline.

    python bench/offers.py [--offers 20000] [--repeat 30] [--postgres]
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

sys.path.insert(0, str(Path(__file__).parent))

from store_ingest import postgres

from aggregator.config import Settings, load_settings
from aggregator.offer_files import OfferItem
from aggregator.store import catalog, offers
from aggregator.store.db import init_schema, make_engine, reader, session_scope
from aggregator.store.models import OFFER_CONDITIONS
from aggregator.web import create_app

MEMBERS = 20
WORDS = 3000
TARGET_MS = 100.0  # what a browse or search page may take at the median


def vocabulary(rng: random.Random) -> list[str]:
    """Made-up Indonesian-looking words, the most common first."""
    syllables = ["ka", "ma", "ta", "ra", "sa", "pa", "la", "na", "ba", "da", "ti", "ku",
                 "ng", "wi", "ja", "si", "po", "ge", "lu", "de"]
    found: dict[str, None] = {}
    while len(found) < WORDS:
        found["".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))] = None
    return list(found)


_CUMULATIVE = list(itertools.accumulate(1 / (rank + 1) for rank in range(WORDS)))


def zipf_words(rng: random.Random, words: list[str], n: int) -> list[str]:
    return rng.choices(words, cum_weights=_CUMULATIVE, k=n)


def fill(engine: Engine, count: int) -> list[str]:
    init_schema(engine)
    rng = random.Random(7)
    words = vocabulary(rng)
    started = time.perf_counter()
    with session_scope(engine) as session:
        ids = [catalog.add_member(session, f"m{n:02d}", f"Perpustakaan {n:02d}").id
               for n in range(MEMBERS)]
        for start in range(0, count, 2000):
            batch = []
            for _ in range(min(2000, count - start)):
                title = " ".join(zipf_words(rng, words, rng.randint(3, 8))).capitalize()
                creator = " ".join(zipf_words(rng, words, 2)).title()
                batch.append(OfferItem(
                    title=title, creators=creator, year=rng.randint(1970, 2025),
                    publisher=" ".join(zipf_words(rng, words, 2)).title(),
                    isbn=f"978{rng.randrange(10**10):010d}",
                    condition=rng.choice(OFFER_CONDITIONS), quantity=rng.randint(1, 5)))
            offers.add_items(session, rng.choice(ids), batch)
    print(f"store: {count:,} offers of {MEMBERS} members in "
          f"{time.perf_counter() - started:.1f}s ({engine.url.get_backend_name()})")
    return words


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    fn()  # warm caches and the connection pool
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--offers", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--postgres", action="store_true",
                        help="in a throwaway database next to $AGGREGATOR_TEST_POSTGRES_URL")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-offers-") as tmp:
        settings = load_settings(environ={}, data_dir=tmp)
        if args.postgres:
            raw = os.environ.get("AGGREGATOR_TEST_POSTGRES_URL")
            if not raw:
                sys.exit("--postgres needs AGGREGATOR_TEST_POSTGRES_URL")
            with postgres(raw) as engine:
                return run(args, settings, engine)
        engine = make_engine(settings)
        try:
            return run(args, settings, engine)
        finally:
            engine.dispose()


def run(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    """Fill the store, then time every case."""
    words = fill(engine, args.offers)
    app = create_app(settings, engine=engine)
    client = app.test_client()
    ro = reader(engine)
    common, rarer, rare = words[1], words[40], words[900]

    def store(**kwargs: object) -> Callable[[], object]:
        def run() -> object:
            with session_scope(ro) as session:
                return offers.browse(session, **kwargs)  # type: ignore[arg-type]
        return run

    def one() -> object:
        with session_scope(ro) as session:
            return offers.get_offer(session, args.offers // 2)

    def page(path: str) -> Callable[[], object]:
        def run() -> object:
            response = client.get(path)
            assert response.status_code == 200, path
            return response.data
        return run

    with session_scope(ro) as session:
        hits = offers.browse(session, text=f"{common} {rarer}").total
        rare_hits = offers.browse(session, text=rare).total
    print(f"queries: '{common} {rarer}' finds {hits:,}, '{rare}' finds {rare_hits:,}")
    cases: list[tuple[str, Callable[[], object]]] = [
        ("baseline: one offer by id", one),
        ("browse: page 1", store()),
        ("browse: page 50", store(page=50)),
        ("filter: member + condition", store(member="m03", condition="good")),
        ("search: two words", store(text=f"{common} {rarer}")),
        ("search: one rare word", store(text=rare)),
        ("page: /exchange", page("/exchange")),
        ("page: /exchange?q=two words", page(f"/exchange?q={common}+{rarer}")),
    ]
    base = None
    worst = 0.0
    print(f"{'case':34} {'median ms':>10} {'p95 ms':>8} {'× baseline':>11}")
    for name, fn in cases:
        times = sorted(timed(fn, args.repeat))
        median = statistics.median(times)
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        base = base or median
        if not name.startswith("baseline"):
            worst = max(worst, median)
        print(f"{name:34} {median:10.2f} {p95:8.2f} {median / base:11.1f}")
    verdict = "ok" if worst <= TARGET_MS else "SLOW"
    print(f"slowest median {worst:.1f} ms (target {TARGET_MS:.0f} ms): {verdict}")
    return 0 if worst <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
