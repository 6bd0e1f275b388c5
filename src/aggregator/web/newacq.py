"""New acquisitions: what arrived this week or month, for the network and each member,
as a faceted page, an Atom feed, a printable monthly list and a CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from aggregator.store import arrivals as store
from aggregator.store.arrivals import PERIODS, Arrival, Filters
from aggregator.web import directory
from aggregator.web.atom import FeedInfo, atom_feed, short
from aggregator.web.facets import SHOWN, sidebar_query
from aggregator.web.i18n import current_language, type_name
from aggregator.web.i18n import gettext as _
from aggregator.web.limits import search_limit
from aggregator.web.params import (
    DEFAULT_PER_PAGE,
    PER_PAGE_CHOICES,
    SORTS,
    SearchParams,
    parse_search,
    query_pairs,
)
from aggregator.web.searching import title_pieces
from aggregator.web.spreadsheet import csv_cell
from aggregator.web.state import portal
from aggregator.web.urls import absolute_url

bp = Blueprint("newacq", __name__)
MAX_FEED = 500
"""Entries of one Atom feed (newest first)."""
MAX_PRINT = 2_000
"""Rows of the printable list (the CSV holds them all)."""
MAX_CSV = 100_000
FEED_CACHE = "public, max-age=900"
LIST_CACHE = "public, max-age=3600"
CSV_COLUMNS = ("record_url", "title", "authors", "year", "type", "classification",
               "holding_members", "first_harvested")


@dataclass(frozen=True, slots=True)
class Scope:
    """The whole network (``slug`` None) or one member."""

    slug: str | None
    name: str
    sources: list[int] | None

    def endpoint(self, kind: str) -> tuple[str, dict[str, Any]]:
        """The endpoint and URL values of this scope's ``kind`` (page, atom, print, csv)."""
        if self.slug is None:
            return f"newacq.{kind}", {}
        return f"newacq.member_{kind}", {"slug": self.slug}


class BadRequest(Exception):
    """A query-string value the list cannot take; its message says which."""


def _scope(slug: str | None) -> Scope:
    state = portal()
    network = state.settings.network_name
    if slug is None:
        return Scope(None, network, None)
    sources = store.member_sources(state.engine, slug)
    if sources is None:
        abort(404)
    names = directory.member_names(state.engine)
    return Scope(slug, names.get(slug, slug), sources)


def _period() -> str:
    period = request.args.get("period", "week")
    if period not in PERIODS:
        raise BadRequest(f"bad period {period[:20]!r}: week or month")
    return period


def _filters() -> Filters:
    found = store.read_filters(request.args.get("type"), request.args.get("class"))
    if isinstance(found, str):
        raise BadRequest(found)
    return found


def _month() -> tuple[str, datetime, datetime]:
    month = request.args.get("month") or store.previous_month()
    window = store.month_window(month)
    if window is None:
        raise BadRequest(f"bad month {month[:20]!r}: a calendar month written YYYY-MM")
    return month, *window


@bp.errorhandler(BadRequest)
def _bad_request(exc: BadRequest) -> tuple[Response | str, int]:
    if request.path.endswith((".atom", ".csv")):
        return Response(f"{exc}\n", mimetype="text/plain"), 400
    return render_template("error.html", code=400, message=str(exc)), 400


# -- the page ----------------------------------------------------------------------------

@bp.get("/new")
@search_limit
def page() -> str:
    return _page(_scope(None))


@bp.get("/members/<slug>/new")
@search_limit
def member_page(slug: str) -> str:
    return _page(_scope(slug))


def _page(scope: Scope) -> str:
    period = _period()
    since, until = store.period_window(period)
    state = portal()
    works = store.new_clusters(state.engine, since, until, scope.sources)
    args = MultiDict([(k, v) for k, v in request.args.items(multi=True) if k != "period"])
    params = parse_search(args)
    params = replace(params, query=replace(sidebar_query(params.query),
                                           works=tuple(str(w) for w in works)))
    result = state.search_index().search(params.query)
    last = max(1, -(-result.total // params.query.per_page))
    extra = [("period", period)] if period != "week" else []

    def qs(p: SearchParams, **kw: Any) -> str:
        return urlencode([*query_pairs(p, **kw), *extra])

    def pairs(p: SearchParams, **kw: Any) -> list[tuple[str, str]]:
        return [*query_pairs(p, **kw), *extra]

    endpoint, values = scope.endpoint("page")
    heading = (_("New this week") if period == "week" else _("New this month"))
    return render_template(
        "new.html", params=params, result=result, q=params.query.text, suggestion=None,
        relaxations=[], pages=last, sorts=SORTS, qs=qs, per_page_choices=PER_PAGE_CHOICES,
        default_per_page=DEFAULT_PER_PAGE, title_pieces=title_pieces,
        selected={(n, v) for n, vs in params.query.filters.items() for v in vs},
        shown=SHOWN, query_pairs=pairs, histogram=None, heading=heading,
        arrivals_page=True, search_action=request.path, hidden=extra, scope=scope,
        period=period, periods=tuple(PERIODS), page_endpoint=endpoint, scope_values=values,
        feeds=feed_links(scope.slug), month=store.previous_month())


def feed_links(slug: str | None) -> list[tuple[str, str]]:
    """(title, URL) of the Atom feeds of the network or of member ``slug``, for the
    ``<link rel="alternate">`` of a page's head."""
    scope = Scope(slug, "", None)
    endpoint, values = scope.endpoint("atom")
    return [(_("New acquisitions this week"), url_for(endpoint, **values)),
            (_("New acquisitions this month"),
             url_for(endpoint, **values, period="month"))]


# -- the feeds ---------------------------------------------------------------------------

@bp.get("/new.atom")
def atom() -> Response:
    return _atom(_scope(None))


@bp.get("/members/<slug>/new.atom")
def member_atom(slug: str) -> Response:
    return _atom(_scope(slug))


def _atom(scope: Scope) -> Response:
    period = _period()
    filters = _filters()
    since, until = store.period_window(period)
    items = store.arrivals(portal().engine, since, until, sources=scope.sources,
                           filters=filters, limit=MAX_FEED)
    endpoint, values = scope.endpoint("atom")
    asked = {k: v for k, v in (("period", period if period != "week" else ""),
                               ("type", filters.type or ""),
                               ("class", request.args.get("class", "").strip())) if v}
    names = portal().cached("member_names",
                            lambda: directory.member_names(portal().engine))
    title = _("New acquisitions: {name}, last {days} days", name=scope.name,
                    days=PERIODS[period])
    info = FeedInfo(
        self_url=absolute_url(endpoint, **values, **asked),
        page_url=absolute_url(scope.endpoint("page")[0], **values,
                              **({"period": period} if period != "week" else {})),
        title=title, subtitle=_filter_text(filters) or title,
        author=portal().settings.network_name, language=current_language(),
        untitled=_("(untitled)"))

    def summary(item: Arrival) -> str:
        held = ", ".join(names.get(s, s) for s in item.members)
        parts = [short(item.abstract)] if item.abstract else []
        details = [str(item.year) if item.year else "", type_name(item.type),
                   "; ".join(item.classification)]
        parts.append(" · ".join(d for d in details if d))
        parts.append(_("Held by: {members}", members=held))
        return "\n".join(p for p in parts if p)

    body = atom_feed(info, items, lambda rid: absolute_url("pages.record", record_id=rid),
                     summary)
    response = Response(body, mimetype="application/atom+xml")
    response.headers["Cache-Control"] = FEED_CACHE
    return response


def _filter_text(filters: Filters) -> str:
    parts = []
    if filters.type:
        parts.append(_("Type: {value}", value=type_name(filters.type)))
    if filters.class_prefix:
        scheme = f"{filters.scheme.upper()} " if filters.scheme else ""
        parts.append(_("Classification: {value}",
                             value=f"{scheme}{filters.class_prefix}…"))
    return " · ".join(parts)


# -- the monthly list --------------------------------------------------------------------

@bp.get("/new/print", endpoint="print")
def print_list() -> str:
    return _print(_scope(None))


@bp.get("/members/<slug>/new/print")
def member_print(slug: str) -> str:
    return _print(_scope(slug))


def _monthly(scope: Scope, limit: int) -> tuple[str, list[Arrival], Filters]:
    month, since, until = _month()
    filters = _filters()
    items = store.arrivals(portal().engine, since, until, sources=scope.sources,
                           filters=filters, limit=limit)
    return month, items, filters


def _print(scope: Scope) -> str:
    month, items, filters = _monthly(scope, MAX_PRINT + 1)
    endpoint, values = scope.endpoint("csv")
    kept = {k: v for k, v in (("month", month), ("type", request.args.get("type", "")),
                              ("class", request.args.get("class", ""))) if v}
    return render_template(
        "new_print.html", scope=scope, month=month, items=items[:MAX_PRINT],
        more=len(items) > MAX_PRINT, filters=_filter_text(filters),
        csv_url=absolute_url(endpoint, **values, **kept),
        page_url=absolute_url(scope.endpoint("page")[0], **values),
        generated=datetime.now(UTC))


@bp.get("/new.csv", endpoint="csv")
def csv_list() -> Response:
    return _csv(_scope(None))


@bp.get("/members/<slug>/new.csv")
def member_csv(slug: str) -> Response:
    return _csv(_scope(slug))


def _csv(scope: Scope) -> Response:
    month, items, _ = _monthly(scope, MAX_CSV)
    names = directory.member_names(portal().engine)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for item in items:
        writer.writerow([csv_cell(value) for value in (
            absolute_url("pages.record", record_id=item.record_id), item.title,
            "; ".join(item.creators), "" if item.year is None else str(item.year),
            item.type or "", "; ".join(item.classification),
            "; ".join(names.get(s, s) for s in item.members),
            item.arrived.strftime("%Y-%m-%dT%H:%M:%SZ"))])
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    stem = f"new-acquisitions-{scope.slug or 'network'}-{month}"
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
    response.headers["Cache-Control"] = LIST_CACHE
    return response

