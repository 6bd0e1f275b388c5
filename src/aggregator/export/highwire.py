"""Highwire Press ``citation_*`` meta tags, the ones Google Scholar reads on a record page."""

from __future__ import annotations

from urllib.parse import urlsplit

from aggregator.export.model import one_line, page_range
from aggregator.normalize.fields import Fields

__all__ = ["citation_meta", "pdf_links"]

_THESES = frozenset({"Thesis", "Dissertation"})


def pdf_links(fields: Fields) -> list[str]:
    """The record's http(s) links whose path ends in ``.pdf``, first the main link."""
    found: dict[str, None] = {}
    for link in (fields.link, *fields.identifiers.get("url", ())):
        url = one_line(link)
        try:
            parts = urlsplit(url)
        except ValueError:
            continue
        if parts.scheme.lower() in {"http", "https"} and parts.netloc \
                and parts.path.lower().endswith(".pdf"):
            found[url] = None
    return list(found)


def citation_meta(fields: Fields, url: str) -> list[tuple[str, str]]:
    """(name, content) pairs, in Google Scholar's order; empty values are left out.

    The contents are plain text: the template escapes them.

    Args:
        fields: the record's fields.
        url: the absolute URL of the record's own page (``citation_abstract_html_url``).

    Returns:
        One pair per tag; ``citation_author`` once per creator, ``citation_issn`` and
        ``citation_isbn`` once per number, ``citation_pdf_url`` only for a PDF link.
    """
    ids = fields.identifiers
    first, last = page_range(fields.pages)
    institution = "citation_dissertation_institution" if fields.type in _THESES \
        else "citation_publisher"
    pairs: list[tuple[str, str | None]] = [("citation_title", fields.title)]
    pairs += [("citation_author", name) for name in fields.creators]
    pairs += [
        ("citation_publication_date", str(fields.year) if fields.year is not None else None),
        ("citation_journal_title", fields.journal_title),
        ("citation_volume", fields.volume),
        ("citation_issue", fields.issue),
        ("citation_firstpage", first),
        ("citation_lastpage", last),
    ]
    pairs += [("citation_issn", v) for v in ids.get("issn", ())]
    pairs += [("citation_isbn", v) for v in ids.get("isbn", ())]
    pairs += [("citation_doi", v) for v in ids.get("doi", ())[:1]]
    pairs += [(institution, fields.publisher)]
    pairs += [("citation_language", code) for code in fields.languages]
    pairs += [("citation_abstract_html_url", url)]
    pairs += [("citation_pdf_url", link) for link in pdf_links(fields)[:1]]
    return [(name, text) for name, value in pairs if (text := one_line(value))]
