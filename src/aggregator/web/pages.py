"""The portal's HTML pages: home, search (and a facet's full list), record, members,
member, about."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from werkzeug.wrappers.response import Response as WerkzeugResponse

from aggregator.errors import SearchError
from aggregator.index.model import FACETS, SearchQuery
from aggregator.web import directory, queries
from aggregator.web.charts import bar_chart, year_histogram
from aggregator.web.display import pretty_xml, short_name
from aggregator.web.facets import SHOWN, facet_list, sidebar_query
from aggregator.web.i18n import network_description, type_name
from aggregator.web.limits import search_limit
from aggregator.web.params import (
    DEFAULT_PER_PAGE,
    PER_PAGE_CHOICES,
    SORTS,
    parse_search,
    query_pairs,
    query_string,
)
from aggregator.web.searching import relaxations, spelling, title_pieces
from aggregator.web.state import portal
from aggregator.web.urls import absolute_url

bp = Blueprint("pages", __name__)
RECENT = 8
RECENT_PER_MEMBER = 2  # the home page shows the network, not one member's latest upload
YEARS_CHARTED = 30


def member_names() -> dict[str, str]:
    """Slug → name of every member, read once per request."""
    state = portal()
    return state.cached("member_names", lambda: directory.member_names(state.engine))


@bp.app_context_processor
def _globals() -> dict[str, object]:
    settings = portal().settings
    return {"network_name": settings.network_name,
            "network_description": network_description(settings),
            "contact_email": settings.contact_email, "member_name": _member_name}


def _member_name(slug: str) -> str:
    return member_names().get(slug, slug)


@bp.get("/")
def home() -> str:
    state = portal()
    return render_template(
        "home.html", totals=state.cached("totals", lambda: queries.totals(state.engine)),
        recent=state.cached("recent", lambda: queries.recent_records(
            state.engine, RECENT, per_member=RECENT_PER_MEMBER)),
        members=state.cached("member_cards", lambda: directory.member_cards(state.engine)))


@bp.get("/search")
@search_limit
def search() -> str:
    params = parse_search(request.args)
    params = replace(params, query=sidebar_query(params.query))
    backend = portal().search_index()
    result = backend.search(params.query)
    last = max(1, -(-result.total // params.query.per_page))
    if result.total and params.query.page > last:  # past the end: show the last page
        ignored = params.ignored if "page" in params.ignored else (*params.ignored, "page")
        params = replace(params, query=replace(params.query, page=last), ignored=ignored)
        result = backend.search(params.query)
    suggestion = None
    relaxed = []
    if result.total == 0 and params.query.text:
        suggestion = spelling(backend, params.query.text)
    if result.total == 0:
        relaxed = relaxations(backend, params)
    return render_template(
        "search.html", params=params, result=result, q=params.query.text,
        suggestion=suggestion, relaxations=relaxed, pages=last, sorts=SORTS,
        qs=query_string, per_page_choices=PER_PAGE_CHOICES,
        default_per_page=DEFAULT_PER_PAGE, title_pieces=title_pieces,
        selected=_selected(params.query), shown=SHOWN, query_pairs=query_pairs,
        histogram=year_histogram(result.facets.get("year", ())))


@bp.get("/search/facets/<name>")
@search_limit
def facet(name: str) -> str:
    """Every value of one facet for the search in the query string, 100 a page."""
    if name not in FACETS:
        abort(404)
    params = parse_search(request.args)
    page = request.args.get("fpage", "1")
    listing = facet_list(portal().search_index(), params.query, name,
                         int(page) if page.isdigit() else 1)
    return render_template("facet.html", params=params, listing=listing, qs=query_string,
                           selected=_selected(params.query))


def _selected(query: SearchQuery) -> set[tuple[str, str]]:
    return {(name, value) for name, values in query.filters.items() for value in values}


@bp.get("/records/<int:record_id>")
def record(record_id: int) -> tuple[str, int] | str:
    page = queries.record_page(portal().engine, record_id)
    if page is None:
        abort(404)
    from aggregator.export import citation
    from aggregator.export.highwire import citation_meta

    return render_template(
        "record.html", page=page, fields=page.fields,
        citation=citation(page.fields),
        # A withdrawn record is not offered to Google Scholar.
        citation_meta=[] if page.deleted else citation_meta(
            page.fields, absolute_url("pages.record", record_id=record_id)),
        raw=pretty_xml(page.metadata_xml),
    ), (410 if page.deleted else 200)


@bp.get("/members")
def members() -> str:
    return render_template("members.html", members=directory.member_cards(portal().engine))


@bp.get("/members/<slug>")
def member(slug: str) -> str:
    state = portal()
    page = directory.member_page(state.engine, slug)
    if page is None:
        abort(404)
    charts = {}
    try:
        facets = state.search_index().search(SearchQuery(
            filters={"member": (slug,)}, per_page=1, facets=("type", "year"),
            facet_limit=200, highlight=False)).facets
        by_year = sorted(facets.get("year", ()), key=lambda item: item[0])[-YEARS_CHARTED:]
        types = [(type_name(value), count) for value, count in facets.get("type", ())][:12]
        charts = {"type": bar_chart(types),
                  "year": bar_chart(by_year)}
    except SearchError:
        charts = {}
    return render_template("member.html", page=page, card=page.card, charts=charts)


@bp.get("/about")
def about() -> str:
    state = portal()
    return render_template("about.html",
                           totals=state.cached("totals", lambda: queries.totals(state.engine)),
                           retention_days=state.settings.request_retention_days)


@bp.get("/favicon.ico")
def favicon() -> WerkzeugResponse:
    """Browsers ask for /favicon.ico whatever the page says; send them to the SVG icon."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/opensearch.xml")
def opensearch() -> Response:
    settings = portal().settings
    body = render_template("opensearch.xml", root=settings.public_root,
                           short_name=short_name(settings.network_name))
    return Response(body, mimetype="application/opensearchdescription+xml")


# Costly or private paths crawlers are asked to leave alone: the faceted result pages
# (an endless space of filter combinations, rate-limited) and their exports, the API's
# searches, the sign-in, registration and admin pages; the new acquisitions (their facets
# multiply like the search's; the feeds and lists are for readers, not crawlers).
ROBOTS_DISALLOW = ("/admin", "/login", "/logout", "/register", "/search", "/api/search",
                   "/api/suggest", "/new", "/members/*/new", "/requests/", "/records/*/request/")


@bp.get("/robots.txt")
def robots() -> Response:
    """The portal's pages (home, members, records, about) are open to crawlers."""
    root = request.script_root  # a proxy serving the site under a path prefix
    lines = ["User-agent: *", *(f"Disallow: {root}{path}" for path in ROBOTS_DISALLOW),
             f"Allow: {root}/", "", f"Sitemap: {absolute_url('sitemaps.index')}"]
    return Response("\n".join(lines) + "\n", mimetype="text/plain")
