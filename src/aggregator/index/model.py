"""The search interface: documents, parsed queries, hits, results and the backend protocol."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol

FACETS = ("member", "type", "year", "language", "subject")
Sort = Literal["relevance", "newest", "oldest", "title"]


@dataclass(frozen=True, slots=True)
class IndexDoc:
    """One searchable work: a duplicate cluster (one hit per cluster).

    Attributes:
        id: the cluster's id, as text (the backend's unique key).
        title: the representative title.
        other_titles: further titles (subtitles, translated titles, other copies' titles).
        creators: authors, "Surname, Given" as harvested.
        contributors: editors, advisors, other contributors.
        subjects: subject terms, as harvested (also the ``subject`` facet).
        abstract: the description.
        publisher: the publisher.
        text: everything else worth finding (identifiers, other fields), space-joined.
        year: publication year, or ``None``.
        type: controlled type (Book, Article, Thesis …), or ``None``.
        languages: ISO 639-1 codes where known, else the values as harvested.
        members: slugs of the members holding a copy (the ``member`` facet).
        record_ids: the store ids of the cluster's live records.
    """

    id: str
    title: str = ""
    other_titles: tuple[str, ...] = ()
    creators: tuple[str, ...] = ()
    contributors: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    abstract: str = ""
    publisher: str = ""
    text: str = ""
    year: int | None = None
    type: str | None = None
    languages: tuple[str, ...] = ()
    members: tuple[str, ...] = ()
    record_ids: tuple[int, ...] = ()


# -- the parsed patron query (the backends translate it; see index/query.py) -------------


@dataclass(frozen=True, slots=True)
class Term:
    """A word (``phrase`` False) or a quoted phrase, optionally limited to one field.

    ``field`` is one of ``title``, ``author``, ``subject`` or ``None`` (all text fields).
    """

    text: str
    field: str | None = None
    phrase: bool = False


@dataclass(frozen=True, slots=True)
class YearRange:
    """``year:2019..2021`` (either end may be open)."""

    start: int | None
    end: int | None


@dataclass(frozen=True, slots=True)
class AnyOf:
    """``a OR b OR c``: at least one must match (bounded in size by the parser)."""

    options: tuple[Term | YearRange, ...]


Clause = Term | YearRange | AnyOf


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """All ``must`` clauses match and no ``must_not`` clause does.

    An empty ``must`` with no ``must_not`` matches every document.
    ``fallback`` is True when the text had a syntax error and was read as plain words.
    """

    must: tuple[Clause, ...] = ()
    must_not: tuple[Clause, ...] = ()
    fallback: bool = False


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A search as the portal and the CLI ask it.

    Attributes:
        text: what the patron typed (parsed by index/query.py).
        filters: facet name → selected values (AND across facets, OR within one facet),
            for ``member``, ``type``, ``language``, ``subject``.
        year_from: lower year bound (inclusive), from a facet or ``--year``.
        year_to: upper year bound (inclusive).
        sort: relevance, newest, oldest or title.
        page: 1-based page number.
        per_page: hits per page (the backend caps it at 100).
        facets: which facets to count.
        facet_limit: how many values per facet, most frequent first.
        facet_limits: facet name → its own limit, in place of ``facet_limit`` (the portal
            counts every year for its histogram but only the top few members).
        highlight: whether to build highlighted snippets.
        works: when given, only these documents (cluster ids as text) can match, e.g.
            the new acquisitions of a period (empty: nothing matches).
    """

    text: str = ""
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    year_from: int | None = None
    year_to: int | None = None
    sort: Sort = "relevance"
    page: int = 1
    per_page: int = 20
    facets: tuple[str, ...] = FACETS
    facet_limit: int = 20
    facet_limits: dict[str, int] = field(default_factory=dict)
    highlight: bool = True
    works: tuple[str, ...] | None = None

    def limit_for(self, facet: str) -> int:
        """How many values of ``facet`` to count."""
        return self.facet_limits.get(facet, self.facet_limit)


@dataclass(frozen=True, slots=True)
class Hit:
    """One search hit (a cluster).

    ``highlights`` maps a field (``title``, ``abstract``) to an HTML snippet in which
    the harvested text is escaped first and only then wrapped in ``<mark>`` tags.
    """

    id: str
    score: float
    title: str
    creators: tuple[str, ...]
    year: int | None
    type: str | None
    languages: tuple[str, ...]
    members: tuple[str, ...]
    record_ids: tuple[int, ...]
    highlights: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Hits of one page, the total, and facet counts (value, count) most frequent first."""

    total: int
    hits: tuple[Hit, ...]
    facets: dict[str, tuple[tuple[str, int], ...]]
    took_ms: float
    fallback: bool = False


class SearchBackend(Protocol):
    """What every search engine behind the portal offers (tantivy and whoosh)."""

    name: str

    def add(self, docs: Iterable[IndexDoc], *, fresh: bool = False) -> None:
        """Add documents, replacing any with the same id (visible after commit);
        ``fresh`` says no id is in the index yet (a fill), so nothing need be replaced."""

    def delete(self, ids: Iterable[str]) -> None:
        """Delete documents by id (visible after commit)."""

    def commit(self, meta: dict[str, int | str]) -> None:
        """Make the changes visible and durable, together with ``meta``."""

    def meta(self) -> dict[str, int | str]:
        """The meta saved with the last commit (``{}`` for a new index)."""

    def search(self, query: SearchQuery) -> SearchResult:
        """Run a search; finishes or fails with SearchTimeout within the time limit."""

    def suggest(self, prefix: str, limit: int = 10) -> list[str]:
        """Title words (or creators) starting with ``prefix``, most frequent first."""

    def count(self) -> int:
        """How many documents the committed index holds."""

    def close(self) -> None:
        """Release files and locks."""
