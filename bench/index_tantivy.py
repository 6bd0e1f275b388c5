"""Benchmark: tantivy backend indexing rate (docs/s) and faceted query latency (p50/p95 ms).

Generates N documents (title, two creators, subjects, a ~60-word abstract, identifiers,
year, type, languages, one to three members), indexes them in batches of 1,000 into a
fresh index with one commit at the end, then runs word queries that count all five
facets (and some with a member filter, some sorted by year).

    python bench/index_tantivy.py [--docs 100000] [--queries 300] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace

from aggregator.index.model import IndexDoc, SearchQuery
from aggregator.index.tantivy_backend import TantivyBackend

WORDS = [
    "perpustakaan", "pendidikan", "sejarah", "ekonomi", "kebijakan", "pembangunan",
    "masyarakat", "desa", "kota", "hukum", "kesehatan", "anak", "sekolah", "tinggi", "dasar",
    "informasi", "literasi", "layanan", "digital", "data", "library", "education", "history",
    "economy", "policy", "development", "community", "village", "health", "law", "children",
    "school", "digital", "information", "literacy", "service", "research", "analysis", "study",
    "java", "sumatra", "bali", "kopi", "teh", "pertanian", "perikanan", "laut", "hutan",
    "energi", "air", "tanah", "budaya", "bahasa",
]
SUBJECTS = [f"Subject {n}" for n in range(400)]
MEMBERS = [f"member-{n}" for n in range(40)]
TYPES = ("Book", "Article", "Thesis", "Report", "Dataset")
LANGUAGES = ("id", "en", "jv", "ms")


def generate(total: int, rng: random.Random) -> Iterator[IndexDoc]:
    """Documents with Zipf-ish word and facet frequencies."""
    weights = [1 / (rank + 1) for rank in range(len(WORDS))]
    for n in range(total):
        words = rng.choices(WORDS, weights, k=70)
        yield IndexDoc(
            id=str(n),
            title=" ".join(words[:7]).capitalize(),
            creators=(f"Penulis{rng.randrange(5000)}, A.", f"Author{rng.randrange(5000)}, B."),
            subjects=tuple(rng.sample(SUBJECTS[: 20 + n % 380], 3)),
            abstract=" ".join(words[7:]),
            publisher=f"Penerbit {rng.randrange(200)}",
            text=f"https://repo.example/{n} isbn978{n:07d}",
            year=rng.randrange(1950, 2025) if n % 10 else None,
            type=rng.choice(TYPES),
            languages=(rng.choice(LANGUAGES),),
            members=tuple(sorted(rng.sample(MEMBERS, rng.randint(1, 3)))),
            record_ids=(n,),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    docs = list(generate(args.docs, rng))  # built first, so only indexing is timed

    with tempfile.TemporaryDirectory() as folder:
        backend = TantivyBackend(folder)
        started = time.perf_counter()
        for start in range(0, len(docs), 1000):
            backend.add(docs[start : start + 1000])
        backend.commit({"change_seq": len(docs)})
        seconds = time.perf_counter() - started
        print(f"indexed {backend.count()} docs in {seconds:.2f}s: "
              f"{len(docs) / seconds:,.0f} docs/s")

        queries = [
            SearchQuery(
                text=" ".join(rng.sample(WORDS, rng.choice((1, 1, 2)))),
                filters={"member": (rng.choice(MEMBERS),)} if number % 3 == 0 else {},
                sort="newest" if number % 5 == 0 else "relevance",
            )
            for number in range(args.queries)
        ]
        for label, highlight in (("with highlights", True), ("no highlights", False)):
            timings: list[float] = []
            totals: list[int] = []
            for query in queries:
                began = time.perf_counter()
                result = backend.search(replace(query, highlight=highlight))
                timings.append((time.perf_counter() - began) * 1000)
                totals.append(result.total)
            timings.sort()
            p95 = timings[int(len(timings) * 0.95) - 1]
            print(f"faceted queries, {label} ({len(timings)}, 5 facets, 20 hits, median "
                  f"{statistics.median(totals):,.0f} matches): "
                  f"p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms")
        started = time.perf_counter()
        for prefix in ("pe", "pen", "li", "ko", "s"):
            backend.suggest(prefix)
        print(f"suggest: {(time.perf_counter() - started) * 200:.2f} ms per prefix")
        backend.close()


if __name__ == "__main__":
    main()
