"""Template helpers that turn stored values into labels and links."""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

from flask import Flask, request
from lxml import etree  # type: ignore[import-untyped]

from aggregator.web.i18n import gettext, language_name, type_name
from aggregator.web.params import MAX_PAGE
from aggregator.web.searching import segments
from aggregator.web.security import safe_link

CLASSIFICATION_SCHEMES = {"ddc": "DDC", "udc": "UDC", "lcc": "LCC"}
# The stored XML was sanitised and parsed at harvest; parse it again with nothing fetched,
# no entities expanded, and blank text dropped so it can be indented afresh.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          remove_blank_text=True, huge_tree=False)

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


SHORT_NAME_MAX = 16  # OpenSearch 1.1: ShortName holds at most 16 characters
# Words that name what any such network is, not which one it is
GENERIC_WORDS = frozenset({
    "jaringan", "perpustakaan", "katalog", "induk", "kerjasama", "kerja", "sama", "dan",
    "se", "union", "catalogue", "catalog", "library", "libraries", "network", "of", "the",
    "and"})


def short_name(name: str) -> str:
    """A name of at most 16 characters that still says which network this is: the name
    itself (without parenthesised remarks) when short enough, else its distinctive words
    (``Jaringan Perpustakaan Nusantara`` → ``Nusantara``), else its initials, else cut."""
    plain = " ".join(re.sub(r"\([^)]*\)", " ", name).split()) or " ".join(name.split())
    if len(plain) <= SHORT_NAME_MAX:
        return plain
    distinctive = " ".join(w for w in plain.split() if w.casefold() not in GENERIC_WORDS)
    if distinctive and len(distinctive) <= SHORT_NAME_MAX:
        return distinctive
    initials = "".join(w[0] for w in plain.split() if w[0].isalnum()).upper()
    if 2 <= len(initials) <= SHORT_NAME_MAX:
        return initials
    return plain[:SHORT_NAME_MAX].rstrip()


def classification(scheme: str, number: str) -> str:
    """``("ddc", "372.21")`` → ``DDC 372.21``; unknown schemes as they came."""
    return f"{CLASSIFICATION_SCHEMES.get(scheme, scheme)} {number}".strip()


def journal_line(journal: str | None, volume: str | None, issue: str | None,
                 pages: str | None) -> str:
    """``Jurnal X, Vol. 13 No. 1, hlm. 45-60`` (``pp.`` in English); parts left out when
    missing, empty when all are."""
    numbering = " ".join(part for part in (
        gettext("Vol. {volume}", volume=volume) if volume else "",
        gettext("No. {issue}", issue=issue) if issue else "") if part)
    pieces = [journal or "", numbering, gettext("pp. {pages}", pages=pages) if pages else ""]
    return ", ".join(piece for piece in pieces if piece)


def pretty_xml(raw: bytes | None) -> str:
    """The harvested metadata XML indented for reading (plain text: the template
    escapes it); as it came when it cannot be parsed."""
    if not raw:
        return ""
    try:
        tree = etree.fromstring(raw, _PARSER)
    except etree.XMLSyntaxError:
        return raw.decode("utf-8", "replace")
    return str(etree.tostring(tree, encoding="unicode", pretty_print=True))


def lang_link(code: str) -> str:
    """The current page's query string with ``lang`` set to ``code``."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    return urlencode([*args, ("lang", code)])


def init_app(app: Flask) -> None:
    """Make the helpers available to every template."""
    from aggregator.export import FORMATS

    app.jinja_env.globals.update(
        facet_label=facet_label, identifier_label=identifier_label,
        identifier_link=identifier_link, lang_link=lang_link,
        classification=classification, journal_line=journal_line, segments=segments,
        max_page=MAX_PAGE, formats=list(FORMATS.values()))
