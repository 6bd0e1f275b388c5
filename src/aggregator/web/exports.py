"""Downloads for copy cataloguing and reference managers: one record, or a result list."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, Response, abort, request

from aggregator.export import FORMATS, ExportRecord, filename, render
from aggregator.web import queries
from aggregator.web.limits import search_limit
from aggregator.web.params import parse_search
from aggregator.web.state import portal
from aggregator.web.urls import absolute_url

bp = Blueprint("exports", __name__)
MAX_EXPORT = 100  # hits of a result list in one file


def _download(records: list[ExportRecord], fmt: str, stem: str) -> Response:
    body = render(records, fmt)
    response = Response(body, mimetype=None, content_type=FORMATS[fmt].media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename(fmt, stem)}"'
    return response


def _export_records(pages: list[queries.RecordPage]) -> list[ExportRecord]:
    return [ExportRecord(id=p.record_id, fields=p.fields, member_slug=p.member_slug,
                         member_name=p.member_name, identifier=p.identifier,
                         metadata_prefix=p.metadata_prefix, metadata_xml=p.metadata_xml,
                         url=absolute_url("pages.record", record_id=p.record_id))
            for p in pages]


@bp.get("/records/<int:record_id>/export/<fmt>")
def record(record_id: int, fmt: str) -> Response:
    if fmt not in FORMATS:
        abort(404)
    page = queries.record_page(portal().engine, record_id)
    if page is None or page.deleted:
        abort(404)
    return _download(_export_records([page]), fmt, f"record-{record_id}")


@bp.get("/search/export/<fmt>")
@search_limit
def results(fmt: str) -> Response:
    """The first hits (up to 100, ``n`` to ask fewer) of a search, one record per work."""
    if fmt not in FORMATS:
        abort(404)
    params = parse_search(request.args, facets=False)
    try:
        wanted = min(max(int(request.args.get("n", MAX_EXPORT)), 1), MAX_EXPORT)
    except ValueError:
        wanted = MAX_EXPORT
    query = replace(params.query, page=1, per_page=wanted, highlight=False)
    result = portal().search_index().search(query)
    ids = [hit.record_ids[0] for hit in result.hits if hit.record_ids]
    pages = [p for p in queries.record_pages(portal().engine, ids) if not p.deleted]
    return _download(_export_records(pages), fmt, "search-results")
