"""Template helpers that turn stored values into labels and links."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from flask import Flask, request

from aggregator.web.i18n import gettext, language_name, type_name
from aggregator.web.params import MAX_PAGE
from aggregator.web.searching import segments
from aggregator.web.security import safe_link

IDENTIFIER_LABELS = {"url": "Link", "doi": "DOI", "handle": "Handle", "isbn": "ISBN",
                     "issn": "ISSN", "urn": "URN", "other": "Other identifier"}


def facet_label(name: str, value: str) -> str:
    """How a facet value is shown: member names, translated types and languages."""
    if name == "member":
        from aggregator.web.pages import member_names

        return member_names().get(value, value)
    if name == "type":
        return type_name(value)
    if name == "language":
        return language_name(value)
    return value


def identifier_label(kind: str) -> str:
    """``doi`` → ``DOI``; ``url`` → ``Link`` (translated)."""
    return gettext(IDENTIFIER_LABELS.get(kind, kind))


def identifier_link(kind: str, value: str) -> str | None:
    """A resolver link for DOIs and handles, the URL itself for http(s) URLs, else None."""
    if kind == "doi" and value.startswith("10."):
        return "https://doi.org/" + quote(value, safe="/:;()._-")
    if kind == "handle" and "/" in value and not value.lower().startswith(("http:", "https:")):
        return "https://hdl.handle.net/" + quote(value, safe="/._-")
    return safe_link(value)


def lang_link(code: str) -> str:
    """The current page's query string with ``lang`` set to ``code``."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    return urlencode([*args, ("lang", code)])


def init_app(app: Flask) -> None:
    """Make the helpers available to every template."""
    from aggregator.export import FORMATS

    app.jinja_env.globals.update(
        facet_label=facet_label, identifier_label=identifier_label,
        identifier_link=identifier_link, lang_link=lang_link, segments=segments,
        max_page=MAX_PAGE, formats=list(FORMATS.values()))
