"""The feed's metadata formats: oai_dc and MARC 21 for every record, and the XML as
harvested under its own prefix where its namespace is one we know."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["BY_PREFIX", "MARC21", "OAI_DC", "ORIGINALS", "MetadataFormat",
           "format_of_namespace", "original_format", "root_namespace"]

DC_NS = "http://purl.org/dc/elements/1.1/"
MARC_NS = "http://www.loc.gov/MARC21/slim"


@dataclass(frozen=True, slots=True)
class MetadataFormat:
    """A metadataPrefix with the schema and namespace it stands for."""

    prefix: str
    schema: str
    namespace: str


OAI_DC = MetadataFormat("oai_dc", "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
                        "http://www.openarchives.org/OAI/2.0/oai_dc/")
MARC21 = MetadataFormat("marc21", "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd",
                        MARC_NS)
# Formats passed through as harvested, by their root element's namespace (the formats
# Indonesian repositories serve besides oai_dc and MARC: DSpace, EPrints, OJS, DataCite).
ORIGINALS = (
    MetadataFormat("mods", "http://www.loc.gov/standards/mods/v3/mods-3-8.xsd",
                   "http://www.loc.gov/mods/v3"),
    MetadataFormat("oai_datacite", "http://schema.datacite.org/meta/kernel-4/metadata.xsd",
                   "http://datacite.org/schema/kernel-4"),
    MetadataFormat("dim", "http://www.dspace.org/schema/dim.xsd",
                   "http://www.dspace.org/xmlns/dspace/dim"),
    MetadataFormat("oai_openaire", "https://www.openaire.eu/schema/repo-lit/4.0/openaire.xsd",
                   "http://namespace.openaire.eu/schema/oaire/"),
    MetadataFormat("mets", "http://www.loc.gov/standards/mets/mets.xsd",
                   "http://www.loc.gov/METS/"),
    MetadataFormat("didl", "http://standards.iso.org/ittf/PubliclyAvailableStandards/"
                           "MPEG-21_schema_files/did/didl.xsd",
                   "urn:mpeg:mpeg21:2002:02-DIDL-NS"),
)
_BY_NAMESPACE = {f.namespace: f for f in ORIGINALS}
BY_PREFIX = {f.prefix: f for f in (OAI_DC, MARC21, *ORIGINALS)}

_START = re.compile(rb"<([A-Za-z_][\w.\-]*:)?[A-Za-z_][\w.\-]*((?:\s+[^\s=>/]+\s*=\s*"
                    rb"(?:\"[^\"]*\"|'[^']*'))*)\s*/?>")
_DECLARATION = re.compile(rb"xmlns(?::([\w.\-]+))?\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")


def root_namespace(head: bytes | None) -> str | None:
    """The namespace of the root element whose start tag ``head`` begins with (the
    stored metadata's first bytes); ``None`` when it cannot be read from them."""
    if not head:
        return None
    at = 0
    while True:  # skip a declaration, comments and processing instructions
        at = head.find(b"<", at)
        if at < 0:
            return None
        if head[at + 1:at + 2] not in (b"?", b"!"):
            break
        at = head.find(b">", at)
        if at < 0:
            return None
    end = head.find(b">", at)
    return _tag_namespace(head[at:end + 1] if end >= 0 else head[at:])


@lru_cache(maxsize=1024)
def _tag_namespace(tag: bytes) -> str | None:
    """The namespace of the element a start tag opens (a page repeats a few tags)."""
    start = _START.match(tag)
    if start is None:
        return None
    prefix = (start.group(1) or b":")[:-1]
    for declared in _DECLARATION.finditer(start.group(2)):
        if (declared.group(1) or b"") == prefix:
            return (declared.group(2) or declared.group(3) or b"").decode("utf-8", "replace")
    return "" if not prefix else None


def original_format(head: bytes | None) -> MetadataFormat | None:
    """The format the harvested XML is offered in, when its namespace is a known one."""
    return format_of_namespace(root_namespace(head))


def format_of_namespace(namespace: str | None) -> MetadataFormat | None:
    """The format offered as harvested for metadata in ``namespace``, if any."""
    return None if namespace is None else _BY_NAMESPACE.get(namespace)
