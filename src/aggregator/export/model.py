"""The export's input and format descriptions, and the text clean-up every writer shares."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aggregator.normalize.fields import Fields

__all__ = ["ExportFormat", "ExportRecord", "one_line", "page_range", "work_type", "xml_safe"]


@dataclass(frozen=True, slots=True)
class ExportRecord:
    """One stored record as the exports see it.

    Attributes:
        id: the store's record id.
        fields: the normalised fields.
        member_slug: the holding member's slug.
        member_name: the holding member's display name.
        identifier: the OAI identifier as harvested.
        metadata_prefix: the prefix it was harvested with (``oai_dc``, ``marcxml`` ...).
        metadata_xml: the metadata element as harvested, or ``None``.
        url: the absolute portal URL of the record, when known.
    """

    id: int
    fields: Fields
    member_slug: str
    member_name: str
    identifier: str
    metadata_prefix: str
    metadata_xml: bytes | None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class ExportFormat:
    """An export format the portal offers.

    Attributes:
        name: the format's key (``marcxml``, ``bibtex``, ``ris``, ``json``).
        media_type: the Content-Type to serve it with.
        extension: the file name extension, without the dot.
        label: the name shown to people.
    """

    name: str
    media_type: str
    extension: str
    label: str


# Characters XML 1.0 forbids outright (C0 controls but tab/LF/CR, surrogates, U+FFFE/F).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Every control character (C0, DEL, C1) and the XML-forbidden code points.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def xml_safe(value: str) -> str:
    """Remove the characters XML 1.0 cannot carry, even as character references."""
    return _NOT_XML.sub("", value)


def one_line(value: str | None) -> str:
    """Harvested text as one clean line: controls dropped, all whitespace runs one space.

    ``str.split()`` splits on every Unicode line break too (U+2028, U+0085, U+001C-1E),
    so the result can never start a new line in a line-based format.
    """
    if not value:
        return ""
    text = _CONTROL.sub(lambda m: " " if m.group().isspace() else "", value)
    return " ".join(text.split())


# "45-60", "45–60", "pp. 45 - 60" or "45": the first page, then the last if any.
_PAGES = re.compile(r"^(?:pp?\.?\s*)?([^\s\-\u2013\u2014]+)"
                    r"\s*(?:[-\u2013\u2014]+\s*([^\s\-\u2013\u2014]+))?$")


def page_range(pages: str | None) -> tuple[str, str]:
    """The first and last page of ``45-60`` (``("45", "60")``) or ``45`` (``("45", "")``).

    Anything else comes back whole as the first page, so nothing is lost.
    """
    text = one_line(pages)
    match = _PAGES.match(text)
    if not match:
        return text, ""
    return match.group(1), match.group(2) or ""


def work_type(fields: Fields) -> str | None:
    """``fields.type``; when it is unknown, "Article" for a record naming its journal and
    "Book" for one with an ISBN, so such records do not export as ``@misc`` / ``GEN``."""
    if fields.type is not None:
        return fields.type
    if one_line(fields.journal_title):
        return "Article"
    if any(one_line(v) for v in fields.identifiers.get("isbn", ())):
        return "Book"
    return None
