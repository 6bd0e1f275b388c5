"""The pure-Python search backend: a Whoosh index in one folder behind the SearchBackend API."""

from __future__ import annotations

import gc
import json
import logging
import re
import threading
import time
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from whoosh import fields, index, sorting
from whoosh import query as wq
from whoosh.analysis import CharsetFilter, Filter, LowercaseFilter, RegexTokenizer
from whoosh.collectors import TimeLimit, TimeLimitCollector
from whoosh.columns import NumericColumn
from whoosh.support.charset import accent_map

from aggregator.errors import SearchError, SearchTimeout
from aggregator.index.backends import (
    BOOSTS,
    FIELD_TARGETS,
    FILTER_FACETS,
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
    AnyOf,
    Clause,
    Hit,
    IndexDoc,
    ParsedQuery,
    SearchQuery,
    SearchResult,
    Term,
    YearRange,
)
from aggregator.index.query import parse_query

logger = logging.getLogger(__name__)

SEP = "\x1f"  # joins the values of a multi-valued facet field
FACET_FIELDS = {"member": "f_member", "type": "f_type", "language": "f_language",
                "subject": "f_subject", "year": "f_year"}
NO_YEAR_NEW, NO_YEAR_OLD = -1, 1_000_000  # undated works sort last either way


VALUES = "\x1e"  # parts the values of a multi-valued text field (never in XML text)


class _ValueGap(Filter):  # type: ignore[misc]
    """Drops the VALUES marks between the values of a multi-valued field and leaves a
    gap in the positions instead, so that a phrase never runs from one value into the
    next (as tantivy indexes values)."""

    def __call__(self, tokens: Any) -> Any:
        gap = 0
        for token in tokens:
            if token.text == VALUES:
                gap += 1
                continue
            if gap and getattr(token, "positions", False):
                token.pos += gap
            yield token


def _analyzer() -> Any:
    """Words of letters and digits, lower-cased, diacritics folded; no stemming."""
    return (RegexTokenizer(f"[^\\W_]+|{VALUES}") | _ValueGap() | LowercaseFilter()
            | CharsetFilter(accent_map))


def _schema() -> fields.Schema:
    analyzer = _analyzer()
    text = {name: fields.TEXT(analyzer=analyzer, phrase=True) for name in BOOSTS}
    facets = {name: fields.IDLIST(expression=re.compile(f"[^{SEP}]+"))
              for name in FACET_FIELDS.values()}
    return fields.Schema(
        id=fields.ID(unique=True, stored=True),
        year=fields.NUMERIC(int, bits=32, stored=True, signed=True),
        year_new=fields.COLUMN(NumericColumn("i", default=NO_YEAR_NEW)),
        year_old=fields.COLUMN(NumericColumn("i", default=NO_YEAR_OLD)),
        sort_title=fields.ID(sortable=True),
        display=fields.STORED(),
        **text,
        **facets,
    )


class WhooshBackend:
    """A SearchBackend over a Whoosh index in ``path``.

    Queries are built from the ParsedQuery directly (no Whoosh query parser, hence no
    wildcard, prefix or fuzzy queries) and run under a thread-safe time limit. One
    writer, opened on the first change, waits at most 10 s for the index lock. Facets
    are counted over the whole matching set from per-generation value lists.
    """

    name = "whoosh"

    def __init__(self, path: str | Path, *, create: bool = True,
                 time_limit: float = SEARCH_TIME_LIMIT) -> None:
        """Open (or, when ``create``, create) the index in ``path``.

        Raises:
            SearchError: no index there and ``create`` is false; unreadable; other schema.
        """
        self.path = Path(path)
        self.time_limit = time_limit
        self._writer: Any = None
        self._written: set[str] = set()
        self._lock = threading.Lock()
        self._facet_cache: tuple[Any, dict[str, dict[str, frozenset[int]]]] | None = None
        try:
            if not self.path.is_dir() or not index.exists_in(str(self.path)):
                if not create:
                    raise SearchError(f"no whoosh index in {self.path}")
                self.path.mkdir(parents=True, exist_ok=True)
                self._ix = index.create_in(str(self.path), _schema())
            else:
                self._ix = index.open_dir(str(self.path))
        except SearchError:
            raise
        except Exception as exc:  # whoosh reports damage with many exception types
            _drop_leaked_files(exc)
            raise SearchError(f"cannot open the whoosh index in {self.path}: {exc}") from exc
        if set(self._ix.schema.names()) != set(_schema().names()):
            self._ix.close()
            raise SearchError(f"the whoosh index in {self.path} has another schema")

    # -- writing ------------------------------------------------------------------------

    def add(self, docs: Iterable[IndexDoc], *, fresh: bool = False) -> None:
        """Add documents, replacing any with the same id (visible after commit);
        with ``fresh`` (no id is in the index yet) nothing is looked up to replace."""
        for doc in docs:
            writer = self._writer_for(doc.id)
            if fresh:
                writer.add_document(**_fields(doc))
            else:
                writer.update_document(**_fields(doc))

    def delete(self, ids: Iterable[str]) -> None:
        """Delete documents by id (visible after commit)."""
        for doc_id in ids:
            self._writer_for(doc_id).delete_by_term("id", doc_id)

    def commit(self, meta: dict[str, int | str]) -> None:
        """Commit the pending changes, then save ``meta`` beside the index."""
        with self._lock:
            if self._writer is not None:
                writer, self._writer = self._writer, None
                self._written.clear()
                writer.commit()
            write_meta(self.path, meta)

    def _writer_for(self, doc_id: str) -> Any:
        """The open writer, fit to take a change to ``doc_id``.

        Whoosh cannot delete a document added by the same, uncommitted writer, so a
        second change to one id in one batch first commits what came before it.
        """
        with self._lock:
            if doc_id in self._written and self._writer is not None:
                self._writer.commit()
                self._writer = None
                self._written.clear()
            if self._writer is None:
                try:
                    self._writer = self._ix.writer(timeout=WRITER_TIMEOUT, limitmb=128)
                except index.LockError as exc:
                    raise SearchError(f"the whoosh index in {self.path} stayed locked for "
                                      f"{WRITER_TIMEOUT:.0f} s by another writer") from exc
            self._written.add(doc_id)
            return self._writer

    def meta(self) -> dict[str, int | str]:
        """The meta saved with the last commit (``{}`` for a new index)."""
        return read_meta(self.path)

    def count(self) -> int:
        """How many documents the committed index holds."""
        return int(self._ix.doc_count())

    def close(self) -> None:
        """Drop uncommitted changes and release the lock and files."""
        with self._lock:
            if self._writer is not None:
                self._writer.cancel()
                self._writer = None
            self._ix.close()

    # -- reading ------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        """Run a search within the time limit.

        Raises:
            SearchTimeout: the query ran longer than the time limit.
        """
        started = time.monotonic()
        parsed = parse_query(query.text)
        page, per_page = clamp_paging(query)
        with self._ix.searcher() as searcher:
            # The filters join the query itself: Whoosh's FilterCollector filters in its
            # own collect loop, which a TimeLimitCollector around it would bypass.
            whole = _translate(parsed)
            restriction = _filter(query)
            if restriction is not None:
                whole = wq.And([whole, wq.ConstantScoreQuery(restriction, score=0.0)])
            collector = searcher.collector(limit=None, sortedby=_sort_facet(query.sort),
                                           optimize=False)
            limited = TimeLimitCollector(collector, timelimit=self.time_limit, use_alarm=False)
            try:
                searcher.search_with_collector(whole, limited)
            except TimeLimit as exc:
                raise SearchTimeout(f"query ran past {self.time_limit:.1f} s") from exc
            results = limited.results()
            ranked = results.top_n
            first = (page - 1) * per_page
            terms = positive_terms(parsed) if query.highlight else []
            hits = tuple(self._hit(searcher, key, docnum, terms, query.sort)
                         for key, docnum in ranked[first:first + per_page])
            facets = self._facets(searcher, [d for _, d in ranked], query)
        took = (time.monotonic() - started) * 1000
        return SearchResult(total=len(ranked), hits=hits, facets=facets, took_ms=took,
                            fallback=parsed.fallback)

    def _hit(self, searcher: Any, key: Any, docnum: int, terms: list[str], sort: str) -> Hit:
        shown = json.loads(searcher.stored_fields(docnum)["display"])
        highlights: dict[str, str] = {}
        if terms:
            for name in ("title", "abstract"):
                if shown.get(name):
                    highlights[name] = highlight(shown[name], terms)
        score = float(key) if sort == "relevance" and isinstance(key, int | float) else 0.0
        return Hit(id=shown["id"], score=score, title=shown["title"],
                   creators=tuple(shown["creators"]), year=shown["year"], type=shown["type"],
                   languages=tuple(shown["languages"]), members=tuple(shown["members"]),
                   record_ids=tuple(shown["record_ids"]), highlights=highlights)

    def _facets(self, searcher: Any, docnums: list[int],
                query: SearchQuery) -> dict[str, tuple[tuple[str, int], ...]]:
        wanted = [f for f in query.facets if f in FACET_FIELDS]
        if not wanted:
            return {}
        postings = self._facet_postings(searcher)
        matched = set(docnums)
        counts: dict[str, tuple[tuple[str, int], ...]] = {}
        for facet in wanted:
            counter = Counter({value: len(docs & matched)
                               for value, docs in postings[facet].items()})
            counts[facet] = top_counts(+counter, query.limit_for(facet))
        return counts

    def _facet_postings(self, searcher: Any) -> dict[str, dict[str, frozenset[int]]]:
        """Per facet and value, the documents that have it; built once per generation."""
        reader = searcher.reader()
        key = (reader.generation(), reader.doc_count_all())
        with self._lock:
            cached = self._facet_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        postings = {facet: {value: frozenset(reader.postings(field, value).all_ids())
                            for value in reader.field_terms(field)}
                    for facet, field in FACET_FIELDS.items()}
        with self._lock:
            self._facet_cache = (key, postings)
        return postings

    def suggest(self, prefix: str, limit: int = 10) -> list[str]:
        """Title words starting with ``prefix`` (folded), most frequent first."""
        words = [t.text for t in _analyzer()(unicodedata.normalize("NFC", prefix))]
        if not words or limit < 1:
            return []
        with self._ix.searcher() as searcher:
            reader = searcher.reader()
            found = [(reader.doc_frequency("title", w), w.decode("utf-8"))
                     for w in reader.expand_prefix("title", words[-1])]
        found.sort(key=lambda item: (-item[0], item[1]))
        return [word for _, word in found[:limit]]


def _drop_leaked_files(exc: BaseException) -> None:
    """Close the files Whoosh left open in the frames of a failed open.

    Whoosh does not close a table of contents it failed to read; the open file lives
    on in the traceback. Dropping the traceback (the message stays) closes it now,
    quietly, instead of warning at some later collection.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        seen: BaseException | None = exc
        while seen is not None:
            seen.__traceback__ = None
            seen = seen.__context__
        gc.collect()


# -- documents ----------------------------------------------------------------------------


def _fields(doc: IndexDoc) -> dict[str, Any]:
    """The Whoosh fields of one document."""
    def text(value: str) -> str:
        return unicodedata.normalize("NFC", value)

    display = {"id": doc.id, "title": doc.title, "creators": list(doc.creators),
               "year": doc.year, "type": doc.type, "languages": list(doc.languages),
               "members": list(doc.members), "record_ids": list(doc.record_ids),
               "abstract": doc.abstract}
    facet_lists = {"member": doc.members, "type": (doc.type or "",),
                   "language": doc.languages, "subject": doc.subjects,
                   "year": (str(doc.year) if doc.year is not None else "",)}
    out: dict[str, Any] = {
        "id": doc.id,
        "title": text(doc.title),
        "other_titles": text(VALUES.join(doc.other_titles)),
        "creators": text(VALUES.join(doc.creators)),
        "contributors": text(VALUES.join(doc.contributors)),
        "subjects": text(VALUES.join(doc.subjects)),
        "abstract": text(doc.abstract),
        "publisher": text(doc.publisher),
        "text": text(doc.text),
        "year_new": doc.year if doc.year is not None else NO_YEAR_NEW,
        "year_old": doc.year if doc.year is not None else NO_YEAR_OLD,
        "sort_title": sort_title(doc.title),
        "display": json.dumps(display, ensure_ascii=False),
    }
    if doc.year is not None:
        out["year"] = doc.year
    for facet, field in FACET_FIELDS.items():
        values = facet_values(v.replace(SEP, " ") for v in facet_lists[facet])
        if values:
            out[field] = SEP.join(values)
    return out


# -- queries ------------------------------------------------------------------------------


def _translate(parsed: ParsedQuery) -> Any:
    """The Whoosh query for a parsed patron query."""
    must = [q for q in (_clause(c) for c in parsed.must) if q is not None]
    if len(must) < len(parsed.must):
        return wq.NullQuery  # a required clause that cannot match anything
    positive = wq.And(must) if must else wq.Every()
    negative = [q for q in (_clause(c) for c in parsed.must_not) if q is not None]
    return wq.AndNot(positive, wq.Or(negative)) if negative else positive


def _clause(clause: Clause) -> Any:
    if isinstance(clause, YearRange):
        return wq.NumericRange("year", clause.start, clause.end)
    options = clause.options if isinstance(clause, AnyOf) else (clause,)
    leaves = [leaf for option in options for leaf in _leaves(option)]
    return _union(leaves) if leaves else None


def _leaves(option: Term | YearRange) -> list[Any]:
    """A word or phrase in each of its target fields, with the field's boost."""
    if isinstance(option, YearRange):
        return [wq.NumericRange("year", option.start, option.end)]
    words = [t.text for t in _analyzer()(option.text)]
    if not words:
        return []
    targets = FIELD_TARGETS.get(option.field or "", tuple(BOOSTS))
    if len(words) == 1:
        return [wq.Term(f, words[0], boost=BOOSTS[f]) for f in targets]
    return [wq.Phrase(f, words, boost=BOOSTS[f]) for f in targets]


def _union(leaves: list[Any]) -> Any:
    """One flat Or over the leaves, scored block-wise (about twice as fast as a tree)."""
    if len(leaves) == 1:
        return leaves[0]
    union = wq.Or(leaves)
    union.matcher_type = wq.Or.ARRAY_MATCHER
    return union


def _filter(query: SearchQuery) -> Any:
    """The facet filters and year bounds as one unscored query, or None."""
    parts: list[Any] = []
    for facet in FILTER_FACETS:
        values = facet_values(query.filters.get(facet, ()))
        if values:
            parts.append(wq.Or([wq.Term(FACET_FIELDS[facet], v) for v in values]))
    years = [int(v) for v in query.filters.get("year", ()) if v.strip().isdigit()]
    if years:
        parts.append(wq.Or([wq.NumericRange("year", y, y) for y in years]))
    if query.year_from is not None or query.year_to is not None:
        parts.append(wq.NumericRange("year", query.year_from, query.year_to))
    if query.works is not None:
        parts.append(wq.Or([wq.Term("id", v) for v in query.works]) if query.works
                     else wq.NullQuery)
    return wq.And(parts) if parts else None


def _sort_facet(sort: str) -> Any:
    """The sort order for a SearchQuery's ``sort`` (None: by score)."""
    if sort == "newest":
        return sorting.MultiFacet([sorting.FieldFacet("year_new", reverse=True),
                                   sorting.ScoreFacet()])
    if sort == "oldest":
        return sorting.MultiFacet([sorting.FieldFacet("year_old"), sorting.ScoreFacet()])
    if sort == "title":
        return sorting.FieldFacet("sort_title")
    return None
