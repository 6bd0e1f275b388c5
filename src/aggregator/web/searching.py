"""One search as the page and the API run it: results, a spelling suggestion and the
searches that would find something when a filtered search finds nothing."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace

from rapidfuzz import fuzz, process

from aggregator.index.model import Hit, SearchBackend, SearchQuery
from aggregator.web.params import SearchParams, query_string

_MARK = re.compile(r"(<mark>|</mark>)")
_PLAIN_WORD = re.compile(r"^[^\W\d_]{4,}$")
SUGGEST_POOL = 200
SUGGEST_SCORE = 80.0


@dataclass(frozen=True, slots=True)
class Relaxation:
    """A filter the patron could remove, and how many works the search would then find."""

    facet: str
    value: str
    link: str  # query string without that filter
    total: int


def segments(snippet: str) -> list[tuple[str, bool]]:
    """Split a highlight snippet (escaped text with ``<mark>`` tags, see
    index/highlight.py) into (plain text, marked) pieces, so the template escapes the
    text itself and nothing is ever marked safe."""
    pieces: list[tuple[str, bool]] = []
    marked = False
    for part in _MARK.split(snippet):
        if part == "<mark>":
            marked = True
        elif part == "</mark>":
            marked = False
        elif part:
            pieces.append((html.unescape(part), marked))
    return pieces


def title_pieces(hit: Hit) -> list[tuple[str, bool]]:
    """The hit's title, with the matched words marked when highlights were built."""
    snippet = hit.highlights.get("title")
    return segments(snippet) if snippet else [(hit.title, False)]


def spelling(backend: SearchBackend, text: str) -> str | None:
    """A better-spelt query for a plain-word ``text`` that found nothing, or None.

    Each word of four letters or more is compared with the index's title words that
    share its first two letters; the suggestion is kept only when it finds something.
    """
    words = text.split()
    if not words or len(words) > 6 or not all(_PLAIN_WORD.match(w) for w in words):
        return None
    changed = False
    better: list[str] = []
    for word in words:
        pool = [w for w in backend.suggest(word[:2].lower(), limit=SUGGEST_POOL)
                if w.lower() != word.lower()]
        best = process.extractOne(word.lower(), pool, scorer=fuzz.ratio,
                                  score_cutoff=SUGGEST_SCORE) if pool else None
        if best is not None:
            better.append(str(best[0]))
            changed = True
        else:
            better.append(word)
    if not changed:
        return None
    suggestion = " ".join(better)
    found = backend.search(SearchQuery(text=suggestion, per_page=1, facets=(), highlight=False))
    return suggestion if found.total else None


def relaxations(backend: SearchBackend, params: SearchParams) -> list[Relaxation]:
    """For a search that found nothing: each active filter removed alone, with the
    number of works the search would find without it."""
    query = params.query
    options: list[tuple[str, str, SearchQuery]] = []
    for name, values in query.filters.items():
        for value in values:
            rest = tuple(v for v in values if v != value)
            filters = {k: v for k, v in query.filters.items() if k != name}
            if rest:
                filters[name] = rest
            options.append((name, value, replace(query, filters=filters)))
    if params.year:
        options.append(("year", params.year, replace(query, year_from=None, year_to=None)))
    found: list[Relaxation] = []
    for name, value, relaxed in options:
        result = backend.search(replace(relaxed, page=1, per_page=1, facets=(),
                                        highlight=False))
        found.append(Relaxation(name, value, query_string(params, drop=[(name, value)]),
                                result.total))
    return found
