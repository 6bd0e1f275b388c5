"""XML of the feed's records: headers, oai_dc from the normalised fields, MARC 21, the
metadata as harvested, and the provenance container every record carries."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aggregator.export.marc_build import build_record
from aggregator.export.marcxml import original_records
from aggregator.export.model import ExportRecord
from aggregator.normalize.fields import Fields
from aggregator.oai.formats import (
    MARC21,
    OAI_DC,
    MetadataFormat,
    format_of_namespace,
    root_namespace,
)
from aggregator.oai.naming import header_specs, record_identifier, uri_form
from aggregator.oai.protocol import format_datestamp
from aggregator.store.feed import FeedRow, FeedSource

__all__ = ["RecordWriter", "dublin_core"]

PROVENANCE_NS = "http://www.openarchives.org/OAI/2.0/provenance"
_PROVENANCE_OPEN = (
    f'<about><provenance xmlns="{PROVENANCE_NS}" xsi:schemaLocation="{PROVENANCE_NS} '
    'http://www.openarchives.org/OAI/2.0/provenance.xsd">')
_DC_OPEN = (
    f'<oai_dc:dc xmlns:oai_dc="{OAI_DC.namespace}" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    f'xsi:schemaLocation="{OAI_DC.namespace} {OAI_DC.schema}">')
# The normaliser's Fields.format → the namespace it read.
_FORMAT_NAMESPACES = {"oai_dc": OAI_DC.namespace, "marcxml": MARC21.namespace,
                      "mods": "http://www.loc.gov/mods/v3"}
_MARC_ROOT = f'xmlns="{MARC21.namespace}" xsi:schemaLocation="{MARC21.namespace} {MARC21.schema}"'
# xs:date or xs:dateTime, as provenance.xsd's UTCdatetimeType takes them.
_XS_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?")
_IDENTIFIER_FORMS = (("doi", "https://doi.org/{}"), ("handle", "https://hdl.handle.net/{}"),
                     ("isbn", "urn:isbn:{}"), ("issn", "urn:issn:{}"), ("urn", "{}"),
                     ("url", "{}"), ("other", "{}"))


def text(value: str) -> str:
    """Harvested text as XML character content. Everything harvested was parsed as XML,
    so it holds only characters XML allows; only markup needs escaping (and most text
    has none, so it is looked for first: four times quicker than replacing blindly)."""
    if "&" in value or "<" in value or ">" in value:
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value


# The fields written first, in the order of the fifteen elements in oai_dc's schema.
_DC_LISTS = (("title", "title"), ("other_titles", "title"), ("creators", "creator"),
             ("subjects", "subject"), ("abstract", "description"),
             ("publisher", "publisher"), ("contributors", "contributor"))


def _add(out: list[str], tag: str, values: Any) -> None:
    if not values:
        return
    if isinstance(values, str):
        out.append(f"<dc:{tag}>{text(values)}</dc:{tag}>")
        return
    for value in values:
        if value:
            out.append(f"<dc:{tag}>{text(value)}</dc:{tag}>")


def dublin_core(fields: Mapping[str, Any], portal_url: str) -> str:
    """Simple Dublin Core (``oai_dc``) written from a record's normalised fields.

    The member's own page comes first among the identifiers, then DOIs, handles,
    ISBNs and ISSNs as resolvable forms; the record's page on the portal is a relation.
    """
    out = [_DC_OPEN]
    get = fields.get
    for name, tag in _DC_LISTS:
        _add(out, tag, get(name))
    year = get("year")
    if year is not None:
        out.append(f"<dc:date>{year}</dc:date>")
    _add(out, "type", get("type"))
    link = get("link")
    found: list[str] = [link] if link else []
    identifiers = get("identifiers")
    if identifiers:
        for kind, form in _IDENTIFIER_FORMS:
            for value in identifiers.get(kind) or ():
                value = value if "://" in value else form.format(value)
                if value not in found:
                    found.append(value)
    _add(out, "identifier", found)
    _add(out, "language", get("languages"))
    out.append(f"<dc:relation>{text(portal_url)}</dc:relation>")
    _add(out, "rights", get("rights"))
    out.append("</oai_dc:dc>")
    return "".join(out)


def _origin_datestamp(value: str | None, fallback: str) -> str:
    """The member's datestamp as an xs:date or xs:dateTime (a space before the time is
    read as ``T``); ``fallback`` (our change time) when it is neither."""
    stamp = (value or "").strip().replace(" ", "T", 1)
    if _XS_DATE.fullmatch(stamp):
        try:
            datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            return stamp
        except ValueError:
            pass
    return fallback


class RecordWriter:
    """Writes the feed's records for one response.

    Args:
        repository_id: the feed's repository identifier.
        public_root: the portal's public root URL.
        sources: every source by id.
        namespaces: for each source, the namespace of its records' metadata (read from
            its latest record: what a tombstone was disseminated in).
    """

    def __init__(self, repository_id: str, public_root: str, sources: Mapping[int, FeedSource],
                 namespaces: Mapping[int, str]) -> None:
        self._repository_id = repository_id
        self._public_root = public_root
        self._sources = sources
        self._namespaces = namespaces

    def header(self, row: FeedRow, changed: str | None = None) -> str:
        """``<header>``: our identifier, our change time (``changed``, formatted, when
        the caller has it already), the record's sets."""
        source = self._sources[row.source_id]
        specs = "".join([f"<setSpec>{spec}</setSpec>" for spec in header_specs(
            source.member_slug, row.set_specs, row.work_type)])
        status = ' status="deleted"' if row.deleted else ""
        local = record_identifier(self._repository_id, source.label, row.identifier)
        return (f"<header{status}><identifier>{text(local)}</identifier><datestamp>"
                f"{changed or format_datestamp(row.changed)}</datestamp>{specs}</header>")

    def namespace(self, row: FeedRow) -> str | None:
        """The namespace of the record's metadata as harvested: read from it when it was
        fetched, else known from the normaliser's format, else its source's."""
        if row.metadata_xml is not None:
            return root_namespace(row.metadata_xml)
        known = _FORMAT_NAMESPACES.get((row.fields or {}).get("format", ""))
        return known or self._namespaces.get(row.source_id)

    def formats_of(self, row: FeedRow) -> list[MetadataFormat]:
        """The formats this record can be had in."""
        own = format_of_namespace(self.namespace(row))
        return [OAI_DC, MARC21] + ([own] if own is not None else [])

    def record(self, row: FeedRow, fmt: MetadataFormat) -> str | None:
        """``<record>`` in format ``fmt``; ``None`` when the record has no such form."""
        changed = format_datestamp(row.changed)
        if row.deleted:
            if fmt not in self.formats_of(row):
                return None
            was = self._namespaces.get(row.source_id, "")
            return (f"<record>{self.header(row, changed)}"
                    f"{self._provenance(row, changed, was, False)}</record>")
        namespace = self.namespace(row)
        metadata = self._metadata(row, fmt, namespace)
        if metadata is None:
            return None
        altered = fmt is not format_of_namespace(namespace)
        return (f"<record>{self.header(row, changed)}<metadata>{metadata}</metadata>"
                f"{self._provenance(row, changed, namespace or '', altered)}</record>")

    def _metadata(self, row: FeedRow, fmt: MetadataFormat, namespace: str | None) -> str | None:
        if fmt is OAI_DC:
            return dublin_core(row.fields or {}, f"{self._public_root}/records/{row.id}")
        if fmt is MARC21:
            return self._marc(row)
        if row.metadata_xml is not None and format_of_namespace(namespace) is fmt:
            return row.metadata_xml.decode("utf-8")
        return None

    def _marc(self, row: FeedRow) -> str:
        source = self._sources[row.source_id]
        export = ExportRecord(
            id=row.id, fields=Fields.from_json(row.fields or {}), member_slug=source.member_slug,
            member_name=source.member_slug, identifier=row.identifier,
            metadata_prefix=row.metadata_prefix, metadata_xml=row.metadata_xml,
            url=f"{self._public_root}/records/{row.id}")
        records = original_records(export) or [build_record(export)]
        if len(records) == 1:
            return records[0].strip().replace("<record", f"<record {_MARC_ROOT}", 1)
        body = "\n".join(records)
        return f"<collection {_MARC_ROOT}>\n{body}\n</collection>"

    def _provenance(self, row: FeedRow, changed: str, namespace: str, altered: bool) -> str:
        """The ``about`` container: where the record came from, when we harvested it,
        whether we changed it, and the provenance an upstream aggregator gave it."""
        source = self._sources[row.source_id]
        nested = row.provenance_xml.decode("utf-8") if row.provenance_xml else ""
        return (f'{_PROVENANCE_OPEN}<originDescription harvestDate="{changed}" '
                f'altered="{"true" if altered else "false"}">'
                f"<baseURL>{text(source.base_url)}</baseURL>"
                f"<identifier>{text(uri_form(row.identifier))}</identifier>"
                f"<datestamp>{_origin_datestamp(row.datestamp, changed)}</datestamp>"
                f"<metadataNamespace>{text(namespace)}</metadataNamespace>{nested}"
                "</originDescription></provenance></about>")

