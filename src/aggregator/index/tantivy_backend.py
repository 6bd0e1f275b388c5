"""The tantivy search backend: schema, document mapping, query translation and facet counts."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import tantivy

from aggregator.errors import SearchError, SearchTimeout
from aggregator.index.backends import (
    SEARCH_TIME_LIMIT,
    WRITER_TIMEOUT,
    clamp_paging,
    facet_values,
    positive_terms,
    read_meta,
    sort_title,
    top_counts,
    write_meta,
)
from aggregator.index.highlight import highlight
from aggregator.index.model import (
    Hit,
    IndexDoc,
    ParsedQuery,
    SearchQuery,
    SearchResult,
)
from aggregator.index.pairs import (
    PAIR_FIELDS,
    learn_common,
    load_common,
    pair_field,
    pairs,
    save_common,
)
from aggregator.index.query import parse_query
from aggregator.index.tantivy_query import FACET_FIELDS, TEXT_FIELDS, QueryTranslator, nfkc

logger = logging.getLogger(__name__)

LONG_WORD = 80  # words of this many bytes or more are not indexed (nor looked for)
FOLD = "fold"  # our analyzer: simple tokenizer, lowercase, ASCII folding, no stemming
YEAR_ORDER_MAX = 1 << 22  # |year| beyond this (garbage) sorts with the undated
MAX_FACET_LIMIT = 1_000
_MATCHES = "_matches"  # the aggregation counting the matches beside the facets
FACET_THREADS = 4  # facet jobs (one or two a search) that run at once beside searches
SPLIT_FROM = 300_000  # from this many documents subjects are counted apart: _facet_groups


def _analyzer(*, keep_long: bool = False) -> tantivy.TextAnalyzer:
    builder = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
    if not keep_long:
        builder = builder.filter(tantivy.Filter.remove_long(LONG_WORD))
    return builder.filter(tantivy.Filter.lowercase()).filter(tantivy.Filter.ascii_fold()).build()


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, fast=True, tokenizer_name="raw")
    for name in TEXT_FIELDS:
        builder.add_text_field(name, tokenizer_name=FOLD, index_option="position")
    for name in PAIR_FIELDS:  # adjacent common words, one term a pair: see index/pairs.py
        builder.add_text_field(pair_field(name), tokenizer_name="raw", index_option="freq")
    for name in ("member", "type", "language", "subject_facet", "sort_title"):
        builder.add_text_field(name, fast=True, tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("year", indexed=True, fast=True)
    builder.add_integer_field("year_order", fast=True)  # year, then id: see _year_order
    builder.add_bytes_field("display", stored=True)
    return builder.build()


# ASCII letters and digits lower-cased, every other ASCII character a space: the words
# of ASCII text are then ``text.translate(_ASCII_WORDS).split()``, which is a third
# quicker than finding runs of ``[A-Za-z0-9]`` with a regular expression.
_ASCII_WORDS = str.maketrans({code: chr(code).lower() if chr(code).isalnum() else " "
                              for code in range(128)})


def _year_order(year: int, doc_id: str) -> int:
    """One integer that sorts by year, then by id, so that equal years keep a fixed order.

    Tantivy sorts by one fast field and leaves ties in segment order, which changes with
    threads and merges. Decimal ids (cluster numbers) below 2**40 keep their numeric order;
    other ids take a stable 40-bit hash.
    """
    if doc_id.isdecimal() and int(doc_id) < 1 << 40:
        tie = int(doc_id)
    else:
        tie = int.from_bytes(hashlib.blake2b(doc_id.encode(), digest_size=5).digest(), "big")
    return (year << 40) + tie


def _sort_key(title: str) -> str:
    """``backends.sort_title``, with a quicker road for plain ASCII titles."""
    if title.isascii():
        return " ".join(title.translate(_ASCII_WORDS).split())
    return sort_title(title)


def _fold(text: str) -> str:
    """:func:`nfkc`, at once for ASCII text (which NFKC never changes)."""
    return text if text.isascii() else nfkc(text)


def _facet(values: tuple[str, ...]) -> list[str]:
    """The values of a facet field as indexed (see ``backends.facet_values``)."""
    if len(values) > 1:
        return facet_values(values)
    text = values[0].strip() if values and values[0] else ""
    return [text] if text else []


_WORDS: list[tantivy.TextAnalyzer] = []  # this process's analyzer, made when first needed


def _words(text: str) -> list[str]:
    """The words of ``text`` in their places, as the text fields are analysed (in any
    process), for finding pairs: words of LONG_WORD bytes or more are kept, since they
    are not indexed but still part the words around them (and are never common).

    ASCII text takes a quicker road that gives the same words (runs of letters and
    digits, lower-cased); a test compares the two.
    """
    if text.isascii():
        return text.translate(_ASCII_WORDS).split()
    if not _WORDS:
        _WORDS.append(_analyzer(keep_long=True))
    return list(_WORDS[0].analyze(text))


def document_json(doc: IndexDoc, common: frozenset[str] = frozenset()) -> str:
    """The tantivy document of ``doc`` as JSON: analysed text, the pairs of ``common``
    words (see index/pairs.py), facet values, sort keys and the display JSON (base64, as
    tantivy reads bytes fields).

    A pure function of the document, so that worker processes can build documents for
    :meth:`TantivyBackend.add_prepared`; tantivy parses the JSON (in Rust) about as fast
    as it takes a document built field by field.
    """
    out: dict[str, Any] = {"id": doc.id}
    title = _fold(doc.title)
    if title:
        out["title"] = [title]
    for name, values in (("other_titles", doc.other_titles), ("creators", doc.creators),
                         ("contributors", doc.contributors), ("subjects", doc.subjects)):
        texts = [_fold(value) for value in values if value]
        if texts:
            out[name] = texts
    for name, value in (("abstract", _fold(doc.abstract)), ("publisher", _fold(doc.publisher)),
                        ("text", _fold(doc.text))):
        if value:
            out[name] = [value]
    if common:
        for name in PAIR_FIELDS:
            found = [pair for text in out.get(name, ()) for pair in pairs(_words(text), common)]
            if found:
                out[pair_field(name)] = found
    for name, values in (("member", doc.members), ("language", doc.languages),
                         ("subject_facet", doc.subjects)):
        kept = _facet(values)
        if kept:
            out[name] = kept
    kind = doc.type.strip() if doc.type else ""
    if kind:
        out["type"] = [kind]
    if doc.year is not None:
        out["year"] = doc.year
        if abs(doc.year) < YEAR_ORDER_MAX:
            out["year_order"] = _year_order(doc.year, doc.id)
    key = _sort_key(doc.title)
    if key:  # untitled works sort last; equal titles in id order
        out["sort_title"] = f"{key}\x00{doc.id}"
    display = (doc.title, doc.creators, doc.year, doc.type, doc.languages, doc.members,
               doc.record_ids, doc.abstract)
    out["display"] = base64.b64encode(orjson.dumps(display)).decode("ascii")
    return orjson.dumps(out).decode("utf-8")


class TantivyBackend:
    """A SearchBackend over a tantivy index in one folder.

    Text fields share one analyzer (words, lower case, ASCII folding, no stemming, since
    Indonesian and English are mixed); query words go through the very same analyzer,
    so ``Café`` and ``cafe`` meet, and so do ``Ørsted`` and ``orsted``. Field boosts,
    field prefixes, paging limits and the meta file follow ``index/backends.py``. Facet
    fields are raw multi-valued fast fields, counted with terms aggregations. The writer
    is opened on the first change and held until :meth:`close`; a backend that only
    searches never takes the index lock.
    """

    name = "tantivy"

    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = True,
        time_limit: float = SEARCH_TIME_LIMIT,
        writer_heap: int = 256_000_000,
    ) -> None:
        """Open the index in ``path``, creating it when ``create`` is true.

        Raises:
            SearchError: the index is missing (and ``create`` is false) or was built
                with another schema (rebuild it).
        """
        self.path = Path(path)
        self.time_limit = time_limit
        self._writer_heap = writer_heap
        self._schema = _schema()
        self._analyzer = _analyzer()
        self._lock = threading.Lock()
        self._writer: Any = None
        self._facet_threads = ThreadPoolExecutor(FACET_THREADS, thread_name_prefix="facets")
        if create:
            self.path.mkdir(parents=True, exist_ok=True)
        elif not self.path.is_dir() or not tantivy.Index.exists(str(self.path)):
            raise SearchError(f"no search index in {self.path}: rebuild the index")
        try:
            self._index = tantivy.Index(self._schema, str(self.path), reuse=True)
        except ValueError as exc:
            if "schema does not match" in str(exc):
                raise SearchError(f"the search index in {self.path} was built by another "
                                  "version: run `aggregator index rebuild`") from exc
            raise SearchError(f"cannot open the search index in {self.path}: {exc}") from exc
        self._index.register_tokenizer(FOLD, self._analyzer)
        self._common = load_common(self.path)
        self._queries = QueryTranslator(self._schema, self._analyzer, self._common)

    # -- writing ------------------------------------------------------------------------

    def add(self, docs: Iterable[IndexDoc], *, fresh: bool = False) -> None:
        """Add documents, replacing any with the same id (visible after commit).

        With ``fresh`` (no id is in the index yet) no delete is queued: each queued
        delete is applied to every segment at commit, about a fifth of a fill's cost.
        """
        with self._lock:
            writer = self._open_writer()
            for doc in docs:
                if not fresh:
                    writer.delete_documents_by_term("id", doc.id)
                writer.add_json(document_json(doc, self._common))

    @property
    def prepare(self) -> Callable[[IndexDoc], str]:
        """What :meth:`add_prepared` takes: :func:`document_json` with this index's common
        words (picklable, for worker processes)."""
        return partial(document_json, common=self._common)

    def learn_common(self, works: Iterable[Iterable[str]]) -> frozenset[str]:
        """Learn the common words from a sample of works (their text values) and keep
        them with the index: documents added from now on carry their pairs, and phrases
        of two common words are looked up as one term. Only an index that holds no
        document and has no list yet learns; otherwise the list it has is returned."""
        with self._lock:
            if self._common or self._index.searcher().num_docs or self._writer is not None:
                return self._common
            self._common = learn_common(works, self._words)
            save_common(self.path, self._common)
            self._queries = QueryTranslator(self._schema, self._analyzer, self._common)
        return self._common

    def _words(self, text: str) -> list[str]:
        return list(self._analyzer.analyze(nfkc(text)))

    def add_prepared(self, prepared: Iterable[str]) -> None:
        """Add documents made by :func:`document_json` (in another process, say) to an
        index that holds none of their ids yet (visible after commit)."""
        with self._lock:
            writer = self._open_writer()
            for text in prepared:
                writer.add_json(text)

    def delete(self, ids: Iterable[str]) -> None:
        """Delete documents by id (visible after commit)."""
        with self._lock:
            writer = self._open_writer()
            for doc_id in ids:
                writer.delete_documents_by_term("id", doc_id)

    def commit(self, meta: dict[str, int | str]) -> None:
        """Commit the index, then save ``meta`` beside it and refresh the searcher.

        The meta file is replaced only after tantivy's commit, so after a crash it can
        lag behind the index (the next sync re-applies a few changes) but never run ahead.
        """
        with self._lock:
            try:
                self._open_writer().commit()
            except ValueError as exc:
                raise SearchError(f"search index commit failed: {exc}") from exc
            write_meta(self.path, meta)
            self._index.reload()
        logger.debug("tantivy index %s committed with meta %s", self.path, meta)

    def meta(self) -> dict[str, int | str]:
        """The meta saved with the last commit (``{}`` for a new index)."""
        return read_meta(self.path)

    def close(self) -> None:
        """Drop uncommitted changes, wait for merges and release the index lock."""
        self._facet_threads.shutdown(wait=True)
        with self._lock:
            if self._writer is not None:
                self._writer.rollback()
                self._writer.wait_merging_threads()
                self._writer = None

    def _open_writer(self) -> Any:
        """The held writer, opened now if needed, waiting up to WRITER_TIMEOUT for the lock."""
        if self._writer is not None:
            return self._writer
        threads = max(1, min(4, os.cpu_count() or 1))
        heap = max(self._writer_heap, threads * 20_000_000)  # tantivy wants ≥15 MB each
        deadline = time.monotonic() + WRITER_TIMEOUT
        while True:
            try:
                self._writer = self._index.writer(heap_size=heap, num_threads=threads)
                return self._writer
            except ValueError as exc:
                if time.monotonic() >= deadline:
                    raise SearchError(
                        f"cannot write the search index in {self.path}: {exc}") from exc
                time.sleep(0.1)

    # -- reading ------------------------------------------------------------------------

    def count(self) -> int:
        """How many live documents the committed index holds."""
        return int(self._index.searcher().num_docs)

    def search(self, query: SearchQuery) -> SearchResult:
        """Run a search; finishes or fails with SearchTimeout within the time limit.

        Raises:
            SearchTimeout: the search ran past ``time_limit`` seconds.
            SearchError: tantivy refused the query or the index is unreadable.
        """
        started = time.perf_counter()
        parsed = parse_query(query.text)
        full = self._queries.combine(self.translate(parsed), self._queries.filters(query))
        page, per_page = clamp_paging(query)
        searcher: Any = self._index.searcher()  # the stubs lack SearchResult.count
        # Facet counts evaluate the query a second time; tantivy lets go of the GIL, so
        # they run beside the search (on a free core a common phrase costs half). The
        # first facet job also counts the matches, so the search itself need not: it
        # then skips whole blocks of documents that cannot reach the top (a common word
        # matching most of a million works: 220 ms counted, 10 ms not).
        groups = _facet_groups(query, self._queries.has_phrase(parsed), searcher.num_docs)
        counting = [self._facet_threads.submit(self._facets, searcher, full, query, group,
                                               number == 0)
                    for number, group in enumerate(groups)]
        try:
            found = searcher.search(full, per_page, count=not groups,
                                    offset=(page - 1) * per_page,
                                    **self._queries.order(query.sort))
            counted: dict[str, tuple[tuple[str, int], ...]] = {}
            total = None
            for job in counting:
                some, matches = job.result()
                counted.update(some)
                total = matches if matches is not None else total
        except ValueError as exc:
            raise SearchError(f"search failed: {exc}") from exc
        facets = {f: counted[f] for f in query.facets if f in counted}
        terms = positive_terms(parsed) if query.highlight else []
        relevance = query.sort == "relevance"
        hits = tuple(
            self._hit(searcher, float(score) if relevance else 0.0, address, terms)
            for score, address in found.hits
        )
        took = self._check_time(started)
        if total is None:
            total = int(found.count or 0)
        return SearchResult(total=total, hits=hits, facets=facets,
                            took_ms=took * 1000.0, fallback=parsed.fallback)

    def suggest(self, prefix: str, limit: int = 10) -> list[str]:
        """Title words starting with ``prefix`` (folded), most frequent first.

        Reads the term dictionary of the ``title`` field: tantivy walks the words under
        the prefix and counts, for each, the live documents holding it (the all-documents
        filter keeps words of deleted records out), then returns the most frequent. That
        costs one posting-list walk per word under the prefix, under a millisecond on
        100,000 generated titles; no extra field is indexed for it. The words come back
        folded (``pendidikan``), as the index holds them.
        """
        words = self._analyzer.analyze(nfkc(prefix))
        if not words or limit < 1:
            return []
        found = self._index.searcher().terms_with_prefix(
            "title", words[-1], filter_query=tantivy.Query.all_query(), limit=limit + 20)
        ranked = sorted(found, key=lambda item: (-item[1], item[0]))
        return [word for word, count in ranked[:limit] if count > 0]

    def translate(self, parsed: ParsedQuery) -> tantivy.Query:
        """The tantivy query for a parsed patron query (filters not included)."""
        return self._queries.translate(parsed)

    def _facets(
        self, searcher: Any, full: tantivy.Query, query: SearchQuery, wanted: list[str],
        count: bool = False,
    ) -> tuple[dict[str, tuple[tuple[str, int], ...]], int | None]:
        """Value counts of the ``wanted`` facets over the filtered matching set, and with
        ``count`` how many documents match (every document has one ``id``)."""
        sizes = {f: min(max(query.limit_for(f), 1), MAX_FACET_LIMIT) for f in wanted}
        # Ask for more than we keep, so that values tied at the cut are ordered by name, and
        # let each segment report plenty, so that counts merged across segments stay exact.
        request: dict[str, Any] = {
            f: {"terms": {"field": FACET_FIELDS[f], "size": sizes[f] * 2 + 10,
                          "segment_size": max(1_000, sizes[f] * 20)}} for f in wanted}
        if count:
            request[_MATCHES] = {"value_count": {"field": "id"}}
        answer = searcher.aggregate(full, request)
        out: dict[str, tuple[tuple[str, int], ...]] = {}
        for facet in wanted:
            counts: Counter[str] = Counter()
            for bucket in answer.get(facet, {}).get("buckets", []):
                counts[_bucket_key(bucket["key"])] += int(bucket["doc_count"])
            out[facet] = top_counts(counts, sizes[facet])
        return out, int(answer[_MATCHES]["value"]) if count else None

    def _hit(self, searcher: Any, score: float, address: Any, terms: list[str]) -> Hit:
        stored = searcher.doc(address)
        title, creators, year, kind, languages, members, record_ids, abstract = orjson.loads(
            bytes(stored.get_first("display")))
        highlights: dict[str, str] = {}
        if terms:
            highlights["title"] = highlight(title, terms)
            if abstract:
                highlights["abstract"] = highlight(abstract, terms)
        return Hit(
            id=str(stored.get_first("id")), score=score, title=title, creators=tuple(creators),
            year=year, type=kind, languages=tuple(languages), members=tuple(members),
            record_ids=tuple(record_ids), highlights=highlights,
        )

    def _check_time(self, started: float) -> float:
        elapsed = time.perf_counter() - started
        if elapsed > self.time_limit:
            raise SearchTimeout(f"search took {elapsed:.1f}s (limit {self.time_limit:.1f}s)")
        return elapsed


def _bucket_key(key: Any) -> str:
    """Facet values as text; year keys may come back as floats."""
    if isinstance(key, float) and key.is_integer():
        return str(int(key))
    return str(key)


def _facet_groups(query: SearchQuery, phrase: bool, docs: int) -> list[list[str]]:
    """The requested facets, as the groups counted by separate jobs beside the search.

    Subjects (several per record, thousands of values) cost more to count than the other
    four facets together: over most of a million records, 45 ms against 20. For a bare
    query of words they are counted on their own, beside the rest, so the three jobs share
    two cores. A phrase (positions) or filters make matching dearer than counting, so
    matching a further time would cost more than it saves: one job then counts them all,
    as it does in an index under SPLIT_FROM documents, where a third job costs more than
    it saves (100,000 records: p95 9.2 ms split, 8.3 ms not).
    """
    wanted = [f for f in query.facets if f in FACET_FIELDS]
    filtered = (bool(query.filters) or query.year_from is not None
                or query.year_to is not None or query.works is not None)
    if "subject" not in wanted or len(wanted) == 1 or phrase or filtered or docs < SPLIT_FROM:
        return [wanted] if wanted else []
    return [[f for f in wanted if f != "subject"], ["subject"]]
