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
    original_format,
    root_namespace,
)
from aggregator.oai.naming import header_specs, record_identifier, uri_form
from aggregator.oai.protocol import escape, format_datestamp
from aggregator.store.feed import FeedRow, FeedSource

__all__ = ["RecordWriter", "dublin_core"]

PROVENANCE_NS = "http://www.openarchives.org/OAI/2.0/provenance"
_PROVENANCE_OPEN = (
    f'<about><provenance xmlns="{PROVENANCE_NS}" xsi:schemaLocation="{PROVENANCE_NS} '
    'http://www.openarchives.org/OAI/2.0/provenance.xsd">')
_DC_OPEN = (
    f'<oai_dc:dc xmlns:oai_dc="{OAI_DC.namespace}" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    f'xsi:schemaLocation="{OAI_DC.namespace} {OAI_DC.schema}">')
_MARC_ROOT = f'xmlns="{MARC21.namespace}" xsi:schemaLocation="{MARC21.namespace} {MARC21.schema}"'
# xs:date or xs:dateTime, as provenance.xsd's UTCdatetimeType takes them.
_XS_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?")
_IDENTIFIER_FORMS = (("doi", "https://doi.org/{}"), ("handle", "https://hdl.handle.net/{}"),
                     ("isbn", "urn:isbn:{}"), ("issn", "urn:issn:{}"), ("urn", "{}"),
                     ("url", "{}"), ("other", "{}"))


def _elements(name: str, values: Any) -> str:
    if not values:
        return ""
    if isinstance(values, str | int):
        values = (values,)
    return "".join(f"<dc:{name}>{escape(str(v))}</dc:{name}>" for v in values if v)


def dublin_core(fields: Mapping[str, Any], portal_url: str) -> str:
    """Simple Dublin Core (``oai_dc``) written from a record's normalised fields.

    The member's own page comes first among the identifiers, then DOIs, handles,
    ISBNs and ISSNs as resolvable forms; the record's page on the portal is a relation.
    """
    identifiers = fields.get("identifiers") or {}
    link = fields.get("link")
    found: list[str] = [link] if link else []
    for kind, form in _IDENTIFIER_FORMS:
        for value in identifiers.get(kind) or ():
            text = value if "://" in value else form.format(value)
            if text not in found:
                found.append(text)
    titles = [fields.get("title"), *(fields.get("other_titles") or ())]
    return "".join((
        _DC_OPEN, _elements("title", titles), _elements("creator", fields.get("creators")),
        _elements("subject", fields.get("subjects")),
        _elements("description", fields.get("abstract")),
        _elements("publisher", fields.get("publisher")),
        _elements("contributor", fields.get("contributors")),
        _elements("date", fields.get("year")), _elements("type", fields.get("type")),
        _elements("identifier", found), _elements("language", fields.get("languages")),
        _elements("relation", portal_url), _elements("rights", fields.get("rights")),
        "</oai_dc:dc>"))


def _origin_datestamp(value: str | None, fallback: datetime) -> str:
    """The member's datestamp as an xs:date or xs:dateTime (a space before the time is
    read as ``T``); our change time when it is neither."""
    text = (value or "").strip().replace(" ", "T", 1)
    if _XS_DATE.fullmatch(text):
        try:
            datetime.fromisoformat(text.replace("Z", "+00:00"))
            return text
        except ValueError:
            pass
    return format_datestamp(fallback)


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

    def identifier(self, row: FeedRow) -> str:
        """The record's identifier in the feed."""
        return record_identifier(self._repository_id, self._sources[row.source_id].member_slug,
                                 row.identifier)

    def header(self, row: FeedRow) -> str:
        """``<header>``: our identifier, our change time, the record's sets."""
        source = self._sources[row.source_id]
        specs = "".join(f"<setSpec>{spec}</setSpec>" for spec in header_specs(
            source.member_slug, row.set_specs, row.work_type))
        status = ' status="deleted"' if row.deleted else ""
        return (f"<header{status}><identifier>{escape(self.identifier(row))}</identifier>"
                f"<datestamp>{format_datestamp(row.changed)}</datestamp>{specs}</header>")

    def formats_of(self, row: FeedRow) -> list[MetadataFormat]:
        """The formats this record can be had in."""
        own = (format_of_namespace(self._namespaces.get(row.source_id)) if row.deleted
               else original_format(row.head))
        return [OAI_DC, MARC21] + ([own] if own is not None else [])

    def record(self, row: FeedRow, fmt: MetadataFormat) -> str | None:
        """``<record>`` in format ``fmt``; ``None`` when the record has no such form."""
        if row.deleted:
            if fmt not in self.formats_of(row):
                return None
            return f"<record>{self.header(row)}{self._provenance(row, False)}</record>"
        metadata = self._metadata(row, fmt)
        if metadata is None:
            return None
        altered = fmt is not original_format(row.head)
        return (f"<record>{self.header(row)}<metadata>{metadata}</metadata>"
                f"{self._provenance(row, altered)}</record>")

    def _metadata(self, row: FeedRow, fmt: MetadataFormat) -> str | None:
        if fmt is OAI_DC:
            return dublin_core(row.fields or {}, f"{self._public_root}/records/{row.id}")
        if fmt is MARC21:
            return self._marc(row)
        if row.metadata_xml is not None and original_format(row.head) is fmt:
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

    def _provenance(self, row: FeedRow, altered: bool) -> str:
        source = self._sources[row.source_id]
        namespace = (self._namespaces.get(row.source_id, "") if row.deleted
                     else root_namespace(row.head) or "")
        nested = row.provenance_xml.decode("utf-8") if row.provenance_xml else ""
        changed = format_datestamp(row.changed)
        return (f'{_PROVENANCE_OPEN}<originDescription harvestDate="{changed}" '
                f'altered="{"true" if altered else "false"}">'
                f"<baseURL>{escape(source.base_url)}</baseURL>"
                f"<identifier>{escape(uri_form(row.identifier))}</identifier>"
                f"<datestamp>{escape(_origin_datestamp(row.datestamp, row.changed))}</datestamp>"
                f"<metadataNamespace>{escape(namespace)}</metadataNamespace>{nested}"
                "</originDescription></provenance></about>")

