"""The sitemap index at /sitemap.xml and its files of members and records (absolute URLs
from ``base_url``, at most 50,000 a file; see :mod:`aggregator.store.sitemap`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from xml.sax.saxutils import escape

from flask import Blueprint, Response, abort

from aggregator.store import sitemap
from aggregator.web.state import portal
from aggregator.web.urls import absolute_url

bp = Blueprint("sitemaps", __name__)
NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
MAX_AGE = 3600


def _w3c(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _entry(tag: str, url: str, when: datetime | None) -> str:
    lastmod = f"<lastmod>{_w3c(when)}</lastmod>" if when else ""
    return f"<{tag}><loc>{escape(url)}</loc>{lastmod}</{tag}>\n"


def _xml(root: str, entries: Iterable[str]) -> Response:
    def body() -> Iterator[str]:
        yield f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{NS}">\n'
        yield from entries
        yield f"</{root}>\n"

    response = Response(body(), mimetype="application/xml")
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    return response


@bp.get("/sitemap.xml")
def index() -> Response:
    """Every sitemap file that lists something: members first, then records."""
    engine = portal().engine
    files = [absolute_url("sitemaps.members", number=f.number)
             for f in sitemap.member_files(engine)] or [absolute_url("sitemaps.members",
                                                                     number=0)]
    entries = [_entry("sitemap", url, None) for url in files]
    entries += [_entry("sitemap", absolute_url("sitemaps.records", number=f.number), f.lastmod)
                for f in sitemap.record_files(engine)]
    return _xml("sitemapindex", entries)


@bp.get("/sitemaps/members-<int:number>.xml")
def members(number: int) -> Response:
    """The portal's own pages (in file 0) and the pages of active members."""
    pages = ([absolute_url(e) for e in ("pages.home", "pages.members", "pages.about")]
             if number == 0 else [])
    slugs = sitemap.member_entries(portal().engine, number)
    if not pages and not slugs:
        abort(404)
    urls = pages + [absolute_url("pages.member", slug=slug) for slug in slugs]
    return _xml("urlset", [_entry("url", url, None) for url in urls])


@bp.get("/sitemaps/records-<int:number>.xml")
def records(number: int) -> Response:
    """The pages of live records of one id range."""
    entries = sitemap.record_entries(portal().engine, number)
    if not entries:
        abort(404)
    # one url_for for the file, not 50,000: every record page is this prefix and its id
    prefix = absolute_url("pages.record", record_id=1).removesuffix("1")
    return _xml("urlset", (_entry("url", f"{prefix}{rid}", when) for rid, when in entries))
