"""The JSON API (/api/search, /api/records/<id>, /api/members, /api/suggest) and /healthz."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from aggregator.errors import SearchError
from aggregator.index.model import Hit
from aggregator.web import directory, queries
from aggregator.web.limits import search_limit
from aggregator.web.pages import member_names
from aggregator.web.params import parse_search
from aggregator.web.searching import spelling
from aggregator.web.state import portal
from aggregator.web.urls import absolute_url

bp = Blueprint("api", __name__, url_prefix="/api")
health = Blueprint("health", __name__)
SUGGESTIONS = 10
CORS_METHODS = ("GET", "HEAD")


@bp.after_app_request
def _cors(response: Response) -> Response:
    """Any web page may read the API with a plain GET (``Access-Control-Allow-Origin: *``,
    never with credentials); no preflight is answered, so nothing else is allowed."""
    if request.path.startswith("/api/") and request.method in CORS_METHODS:
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = "Retry-After"
        response.headers.pop("Access-Control-Allow-Credentials", None)
    return response


def _hit(hit: Hit, names: dict[str, str]) -> dict[str, Any]:
    record_id = hit.record_ids[0] if hit.record_ids else int(hit.id)
    return {
        "id": hit.id, "record_id": record_id,
        "url": absolute_url("pages.record", record_id=record_id),
        "title": hit.title, "creators": list(hit.creators), "year": hit.year,
        "type": hit.type, "languages": list(hit.languages),
        "members": [{"slug": s, "name": names.get(s, s)} for s in hit.members],
        "record_ids": list(hit.record_ids), "highlights": hit.highlights, "score": hit.score,
    }


@bp.get("/search")
@search_limit
def search() -> Response:
    params = parse_search(request.args)
    result = portal().search_index().search(params.query)
    names = member_names()
    query = params.query
    suggestion = None  # "did you mean", as the search page offers it
    if result.total == 0 and query.text:
        suggestion = spelling(portal().search_index(), query.text)
    return jsonify({
        "query": {"q": query.text, "filters": {k: list(v) for k, v in query.filters.items()},
                  "year": params.year or None, "sort": query.sort, "page": query.page,
                  "per_page": query.per_page},
        "ignored": list(params.ignored), "total": result.total,
        "pages": max(1, -(-result.total // query.per_page)),
        "took_ms": round(result.took_ms, 2), "fallback": result.fallback,
        "suggestion": suggestion,
        "hits": [_hit(hit, names) for hit in result.hits],
        "facets": {name: [{"value": value, "count": count,
                           **({"label": names.get(value, value)} if name == "member" else {})}
                          for value, count in values]
                   for name, values in result.facets.items()},
    })


@bp.get("/records/<int:record_id>")
def record(record_id: int) -> Response:
    page = queries.record_page(portal().engine, record_id)
    if page is None:
        abort(404)
    return jsonify({
        "id": page.record_id, "identifier": page.identifier, "datestamp": page.datestamp,
        "deleted": page.deleted, "metadata_prefix": page.metadata_prefix,
        "url": absolute_url("pages.record", record_id=page.record_id),
        "member": {"slug": page.member_slug, "name": page.member_name,
                   "homepage": page.member_homepage},
        "source": page.source_base_url, "cluster_id": page.cluster_id,
        "first_seen": page.first_seen.isoformat(), "last_changed": page.last_changed.isoformat(),
        "fields": page.fields.as_json(),
        "copies": [{"record_id": c.record_id, "member": {"slug": c.member_slug,
                                                          "name": c.member_name},
                    "title": c.title, "link": c.link} for c in page.copies],
    })


@bp.get("/members")
def members() -> Response:
    cards = directory.member_cards(portal().engine)
    return jsonify({"members": [{
        "slug": c.slug, "name": c.name, "homepage": c.homepage, "logo": c.logo,
        "city": c.city, "province": c.province, "kind": c.kind, "records": c.records,
        "last_harvest": c.last_harvest.isoformat() if c.last_harvest else None,
        "url": absolute_url("pages.member", slug=c.slug)} for c in cards]})


@bp.get("/suggest")
@search_limit
def suggest() -> Response:
    """OpenSearch suggestions: ``[prefix, [completions]]`` for the last word typed."""
    typed = request.args.get("q", "")[:100]
    words = typed.split()
    completions: list[str] = []
    if words and not typed.endswith(" "):
        head = typed[: len(typed) - len(words[-1])]
        found = portal().search_index().suggest(words[-1].lower(), limit=SUGGESTIONS)
        completions = [head + word for word in found]
    response = jsonify([typed, completions])
    response.mimetype = "application/x-suggestions+json"
    return response


@health.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 when the store answers and the index opens; 503 (with the reason) otherwise."""
    state = portal()
    report: dict[str, Any] = {"status": "ok"}
    try:
        with state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        report["store"] = "ok"
    except SQLAlchemyError as exc:
        report.update(status="unavailable", store=str(exc).splitlines()[0])
    try:
        backend = state.search_index()
        report["index"] = {"backend": backend.name, "documents": backend.count(),
                           "change_seq": backend.meta().get("change_seq", 0)}
    except SearchError as exc:
        report.update(status="unavailable", index=str(exc))
    return jsonify(report), (200 if report["status"] == "ok" else 503)
