"""Simple Dublin Core (oai_dc, and DC elements under any root) mapped to common fields."""

from __future__ import annotations

from aggregator.normalize.builder import Draft, Node, local_name, text_of
from aggregator.normalize.fields import Fields
from aggregator.normalize.vocab import language_code

__all__ = ["DC_NS", "DCTERMS_NS", "OAI_DC_NS", "has_dc_children", "map_oai_dc"]

OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"
DCTERMS_NS = "http://purl.org/dc/terms/"
_DC_PREFIX = "{" + DC_NS + "}"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


# Buckets the element values are sorted into (an index each: cheaper than a call).
(_TITLE, _ALTERNATIVE, _CREATOR, _CONTRIBUTOR, _SUBJECT, _DESCRIPTION, _ABSTRACT,
 _PUBLISHER, _DATE, _LATER_DATE, _TYPE, _LANGUAGE, _IDENTIFIER, _RELATED, _RIGHTS,
 _SOURCE) = range(16)
_BUCKETS = 16

# Local name → bucket. DC Terms names appear in the DC 1.1 namespace too (SLiMS writes
# dc:abstract, dc:hasVersion, dc:medium; Dataverse and SEANOE mix dcterms into oai_dc).
_BY_LOCAL_NAME: dict[str, int] = {
    "title": _TITLE,
    "alternative": _ALTERNATIVE,
    "creator": _CREATOR,
    "contributor": _CONTRIBUTOR,
    "subject": _SUBJECT,
    "description": _DESCRIPTION,
    "abstract": _ABSTRACT,
    "publisher": _PUBLISHER,
    "date": _DATE,
    "issued": _DATE,
    "created": _LATER_DATE,
    "dateAccepted": _LATER_DATE,
    "available": _LATER_DATE,
    "type": _TYPE,
    "medium": _TYPE,  # SLiMS puts the GMD (Text, Skripsi, ...) here
    "language": _LANGUAGE,
    "identifier": _IDENTIFIER,
    "relation": _RELATED,
    "source": _SOURCE,  # OJS: "Jurnal X; Vol 13 No 1 (2024); 45-60", or its ISSN
    "isPartOf": _RELATED,
    "isVersionOf": _RELATED,
    "rights": _RIGHTS,
    "accessRights": _RIGHTS,
    "license": _RIGHTS,
}
# The same table keyed by Clark name, so the usual case is a single dict lookup.
_BY_TAG: dict[object, int] = {
    "{" + ns + "}" + name: bucket
    for ns in (DC_NS, DCTERMS_NS)
    for name, bucket in _BY_LOCAL_NAME.items()
}


def has_dc_children(root: Node) -> bool:
    """Whether any direct child of ``root`` is a DC 1.1 element."""
    for child in root:
        tag = child.tag
        if isinstance(tag, str) and tag.startswith(_DC_PREFIX):
            return True
    return False


def map_oai_dc(root: Node) -> Fields:
    """Map a ``oai_dc:dc`` element (or any element holding DC children) to fields.

    Children are matched by Clark name in the DC 1.1 and DC Terms namespaces, and by
    local name in any other namespace or none (records that lost or mangled their
    namespace declarations).
    """
    buckets: list[list[str]] = [[] for _ in range(_BUCKETS)]
    langs: dict[str, str] = {}
    by_tag = _BY_TAG
    for child in root:
        tag = child.tag  # comments and PIs have a function here: no bucket, local name ""
        bucket = by_tag.get(tag)
        if bucket is None:
            bucket = _BY_LOCAL_NAME.get(local_name(tag))
            if bucket is None:
                continue
        value = text_of(child)
        if value:
            buckets[bucket].append(value)
            if bucket == _SUBJECT:
                lang = child.get(_XML_LANG)
                if lang:
                    langs[value] = lang
    draft = _draft(buckets)
    draft.subject_langs = _codes(langs)
    return draft.finish()


def _codes(langs: dict[str, str]) -> dict[str, str]:
    """Language values mapped to codes (kept as given when not recognised)."""
    return {value: language_code(lang) or lang.strip() for value, lang in langs.items()}


def _draft(buckets: list[list[str]]) -> Draft:
    """Hand the sorted values to a draft."""
    draft = Draft("oai_dc")
    draft.titles = buckets[_TITLE]
    draft.other_titles = buckets[_ALTERNATIVE]
    draft.creators = buckets[_CREATOR]
    draft.contributors = buckets[_CONTRIBUTOR]
    draft.subjects = buckets[_SUBJECT]  # split on ";" when finishing
    # An element named "abstract" beats a generic description of the same length.
    draft.abstracts = buckets[_ABSTRACT] + buckets[_DESCRIPTION]
    draft.publishers = buckets[_PUBLISHER]
    draft.dates = buckets[_DATE]
    draft.fallback_dates = buckets[_LATER_DATE]
    draft.types = buckets[_TYPE]
    draft.languages = buckets[_LANGUAGE]
    draft.identifiers = buckets[_IDENTIFIER]
    draft.related = buckets[_RELATED] + buckets[_SOURCE]
    draft.hosts = buckets[_SOURCE]
    draft.rights = buckets[_RIGHTS]
    return draft
