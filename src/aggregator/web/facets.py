"""How many facet values the results page shows, and a facet's every value on its own page."""

from __future__ import annotations

from dataclasses import dataclass, replace

from aggregator.index.model import FACETS, SearchBackend, SearchQuery

SHOWN = 10
"""Values per facet beside the results (one more is counted to know whether to link to
the full list)."""
LISTED = 100
"""Values per page of a facet's full list."""
MOST = 1_000
"""The most values of one facet counted for one search (the tantivy backend's cap);
rarer values are reached by narrowing the search first."""


@dataclass(frozen=True, slots=True)
class FacetList:
    """One page of a facet's values for a search."""

    name: str
    values: tuple[tuple[str, int], ...]
    page: int
    first: int  # the rank of the first value shown (1 on the first page)
    more: bool  # a next page exists
    total: int  # works the search finds


def sidebar_query(query: SearchQuery) -> SearchQuery:
    """The results page's query: every year (for the histogram), ``SHOWN + 1`` values of
    the other facets."""
    limits = {name: SHOWN + 1 for name in FACETS} | {"year": MOST}
    return replace(query, facet_limits=limits)


def facet_list(backend: SearchBackend, query: SearchQuery, name: str, page: int) -> FacetList:
    """Page ``page`` (from 1) of facet ``name``'s values for ``query``: most frequent first,
    years newest first; a page past the end is the last page."""
    page = max(1, min(page, -(-MOST // LISTED)))
    wanted = MOST if name == "year" else min(page * LISTED + 1, MOST)
    result = backend.search(replace(query, page=1, per_page=1, facets=(name,),
                                    facet_limits={name: wanted}, highlight=False))
    values = result.facets.get(name, ())
    if name == "year":
        values = tuple(sorted(values, key=lambda item: item[0], reverse=True))
    last = max(1, -(-len(values) // LISTED))
    page = min(page, last)
    shown = values[(page - 1) * LISTED:page * LISTED]
    return FacetList(name=name, values=shown, page=page, first=(page - 1) * LISTED + 1,
                     more=len(values) > page * LISTED, total=result.total)
