"""Upstream provenance: the ``originDescription`` an aggregator puts in a record's ``<about>``."""

from __future__ import annotations

import re
from collections.abc import Iterable

from aggregator.harvest.safe_xml import XMLElement, is_element, serialise_minimal

__all__ = ["PROVENANCE_NS", "origin_description"]

PROVENANCE_NS = "http://www.openarchives.org/OAI/2.0/provenance"
_NS = "{" + PROVENANCE_NS + "}"
_PROVENANCE = _NS + "provenance"
_ORIGIN = _NS + "originDescription"
_PARTS = tuple(_NS + name for name in ("baseURL", "identifier", "datestamp",
                                       "metadataNamespace"))
_DATESTAMP = 2  # index in _PARTS of the one part typed as a date
# Deeper chains than this are not a harvest history but a hostile document.
MAX_DEPTH = 32
# The schema's UTCdatetimeType: an xs:date or an xs:dateTime (whitespace collapsed).
_DATE_RE = re.compile(r"-?\d{4,}-\d\d-\d\d(?:T\d\d:\d\d:\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:\d\d)?")
_BOOLEANS = frozenset({"true", "false", "1", "0"})


def _is_date(value: str | None) -> bool:
    return value is not None and _DATE_RE.fullmatch(value.strip()) is not None


def _valid(origin: XMLElement, depth: int = 1) -> bool:
    """Whether an ``originDescription`` (and every one nested in it) fits the schema."""
    if not _is_date(origin.get("harvestDate")):
        return False
    if (origin.get("altered") or "").strip() not in _BOOLEANS:
        return False
    children = [el for el in origin if is_element(el)]
    if [el.tag for el in children[:len(_PARTS)]] != list(_PARTS):
        return False
    if not all((el.text or "").strip() for el in children[:len(_PARTS)]):
        return False
    if not _is_date(children[_DATESTAMP].text):
        return False
    rest = children[len(_PARTS):]
    if not rest:
        return True
    if len(rest) > 1 or rest[0].tag != _ORIGIN or depth >= MAX_DEPTH:
        return False
    return _valid(rest[0], depth + 1)


def origin_description(abouts: Iterable[XMLElement]) -> tuple[bytes | None, bool]:
    """Find the upstream provenance among a record's ``<about>`` elements.

    The first ``provenance`` container (in the OAI provenance namespace) counts; its
    ``originDescription`` already nests those of earlier harvests. Other ``about``
    content (rights, foreign namespaces, text) is not provenance and is passed over.

    Args:
        abouts: the record's ``<about>`` elements in document order.

    Returns:
        The originDescription serialised on its own (with only the namespace
        declarations it uses), or ``None``; and whether a provenance container was
        found but did not hold a schema-valid originDescription (it is then ignored).
    """
    for about in abouts:
        for container in about:
            if container.tag != _PROVENANCE:
                continue
            origins = [el for el in container if is_element(el)]
            if len(origins) != 1 or origins[0].tag != _ORIGIN or not _valid(origins[0]):
                return None, True
            return serialise_minimal(origins[0]), False
    return None, False
