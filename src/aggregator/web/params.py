"""Search parameters from a request: whatever arrives becomes a valid SearchQuery.

Nonsense (``page=-1``, ``page=abc``, ``year=zzz``, a 10,000-character query) never
raises: it is clamped or dropped, and the dropped parts are listed so the page can say
so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict

from aggregator.index.model import SearchQuery, Sort
from aggregator.index.query import read_years

MAX_QUERY_CHARS = 200
MAX_PAGE = 50  # deep paging costs the engine more than it helps a patron
PER_PAGE_CHOICES = (10, 20, 50, 100)
DEFAULT_PER_PAGE = 20
MAX_VALUES_PER_FACET = 10
MAX_VALUE_CHARS = 200
FILTERS = ("member", "type", "language", "subject")
SORTS: tuple[Sort, ...] = ("relevance", "newest", "oldest", "title")
YEAR_MIN, YEAR_MAX = 1000, 2100
_DASH = re.compile(r"[-–]")  # the portal also takes 2019-2021

Args = MultiDict[str, str]


@dataclass(frozen=True, slots=True)
class SearchParams:
    """A search as asked, cleaned: the query for the backend plus what was dropped."""

    query: SearchQuery
    year: str = ""  # the year filter as text ("2019", "2019..2021"), for links and the form
    ignored: tuple[str, ...] = field(default_factory=tuple)


def _int(value: str | None, default: int) -> int | None:
    if value is None or value == "":
        return default
    try:
        return int(value.strip())
    except ValueError:
        return None


def parse_year(text: str) -> tuple[int | None, int | None] | None:
    """``2019`` → (2019, 2019); ``2019..2021`` or ``2019-2021`` → a range; either end may be
    open (``..2021``). None when the text is not a year range."""
    years = read_years(_DASH.sub("..", text, count=1))
    if years is None:
        return None
    start, end = years
    for year in (start, end):
        if year is not None and not YEAR_MIN <= year <= YEAR_MAX:
            return None
    if start is not None and end is not None and start > end:
        start, end = end, start
    return start, end


def year_span(start: int | None, end: int | None) -> str:
    """The ``year`` text of a range: ``2019``, ``2019..2021``, ``2019..`` or ``..2021``."""
    if start is not None and start == end:
        return str(start)
    return f"{'' if start is None else start}..{'' if end is None else end}"


def _year_box(args: Args) -> str:
    """The range box's ``year_from`` and ``year_to`` as ``year`` text (``2019..2021``,
    ``2019`` when both are the same, ``2019..`` when one is empty)."""
    start = args.get("year_from", "").strip()
    end = args.get("year_to", "").strip()
    if not start and not end:
        return ""
    return start if start == end else f"{start}..{end}"


def parse_search(args: Args, *, facets: bool = True) -> SearchParams:
    """The SearchQuery for ``args`` (the page's or the API's query string)."""
    ignored: list[str] = []
    text = " ".join(args.get("q", "").split())
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS]
        ignored.append("q")
    filters: dict[str, tuple[str, ...]] = {}
    for name in FILTERS:
        values = [v.strip() for v in args.getlist(name) if v.strip()]
        values = [v for v in values if len(v) <= MAX_VALUE_CHARS]
        if values:
            filters[name] = tuple(dict.fromkeys(values))[:MAX_VALUES_PER_FACET]
    year_text = args.get("year", "").strip()
    boxed = not year_text
    year_text = year_text or _year_box(args)
    years = parse_year(year_text) if year_text else (None, None)
    if years is None:
        ignored.append("year")
        years, year_text = (None, None), ""
    elif boxed and year_text:  # written the way the facet's own links write it
        year_text = year_span(*years)
    asked = args.get("sort", "relevance")
    sort: Sort = next((s for s in SORTS if s == asked), "relevance")
    if sort != asked:
        ignored.append("sort")
    page = _int(args.get("page"), 1)
    if page is None or page < 1:
        ignored.append("page")
        page = 1
    elif page > MAX_PAGE:
        ignored.append("page")
        page = MAX_PAGE
    per_page = _int(args.get("per_page"), DEFAULT_PER_PAGE)
    if per_page not in PER_PAGE_CHOICES:
        ignored.append("per_page")
        per_page = DEFAULT_PER_PAGE
    query = SearchQuery(text=text, filters=filters, year_from=years[0], year_to=years[1],
                        sort=sort, page=page, per_page=per_page,
                        facets=SearchQuery().facets if facets else ())
    return SearchParams(query=query, year=year_text, ignored=tuple(ignored))


def query_string(params: SearchParams, *, drop: Iterable[tuple[str, str]] = (),
                 add: Iterable[tuple[str, str]] = (), **replace: str) -> str:
    """The query string of ``params`` with filters dropped or added and other keys
    replaced (an empty value removes the key); the page goes back to 1 unless given."""
    pairs = query_pairs(params, drop=drop, add=add, **replace)
    return "&".join(_pair(k, v) for k, v in pairs)


def query_pairs(params: SearchParams, *, drop: Iterable[tuple[str, str]] = (),
                add: Iterable[tuple[str, str]] = (), **replace: str) -> list[tuple[str, str]]:
    """The (key, value) pairs of :func:`query_string` (a form's hidden inputs)."""
    query = params.query
    pairs: list[tuple[str, str]] = []
    dropped = set(drop)
    if query.text:
        pairs.append(("q", query.text))
    for name, values in query.filters.items():
        pairs.extend((name, v) for v in values if (name, v) not in dropped)
    if params.year and ("year", params.year) not in dropped:
        pairs.append(("year", params.year))
    pairs.extend(add)
    if query.sort != "relevance":
        pairs.append(("sort", query.sort))
    if query.per_page != DEFAULT_PER_PAGE:
        pairs.append(("per_page", str(query.per_page)))
    keys = set(replace)
    pairs = [(k, v) for k, v in pairs if k not in keys]
    pairs.extend((k, v) for k, v in replace.items() if v)
    return pairs


@lru_cache(maxsize=8192)  # a results page builds ~70 links from the same few pairs
def _pair(key: str, value: str) -> str:
    return urlencode([(key, value)])


def page_number(args: MultiDict[str, str]) -> int:
    """The ``page`` argument of a list as a page number from 1 (nonsense is page 1)."""
    raw = args.get("page", "1")
    return max(int(raw), 1) if raw.isdigit() and len(raw) < 6 else 1
