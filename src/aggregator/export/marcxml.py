"""The MARCXML export: harvested MARC records passed through, others generated."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from aggregator.errors import AggregatorError
from aggregator.export.marc_build import build_record, escape_attr, escape_text
from aggregator.export.model import ExportRecord
from aggregator.harvest.safe_xml import XMLElement, is_element, parse_bytes
from aggregator.normalize import detect_format
from aggregator.normalize.builder import Node
from aggregator.normalize.marc import MARC_NS

__all__ = ["render_marcxml"]

# The attributes MARC 21 slim defines per element; others (xsi:schemaLocation) are not
# part of the record and would need namespace declarations of their own.
_ATTRIBUTES = {
    "record": ("type", "id"),
    "leader": ("id",),
    "controlfield": ("id", "tag"),
    "datafield": ("id", "tag", "ind1", "ind2"),
    "subfield": ("id", "code"),
}
# Indicators are required by the schema; catalogues sometimes leave them out.
_REQUIRED = {"ind1": " ", "ind2": " "}


def _split(tag: object) -> tuple[str, str]:
    """(namespace, local name) of an element tag; ("", "") for comments and PIs."""
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def _marc_children(node: XMLElement, local: str) -> list[XMLElement]:
    """The element children of ``node`` named ``local`` in MARC's or no namespace."""
    return [child for child in node
            if is_element(child) and _split(child.tag)[1] == local
            and _split(child.tag)[0] in (MARC_NS, "")]


def _start(local: str, node: XMLElement, indent: str) -> str:
    """A start tag in the default (MARC) namespace, keeping the schema's attributes."""
    attrs = ""
    for name in _ATTRIBUTES[local]:
        value = node.get(name)
        if value is None:
            value = _REQUIRED.get(name)
        if value is not None:
            attrs += f' {name}="{escape_attr(value)}"'
    return f"{indent}<{local}{attrs}>"


def _copy_record(record: XMLElement) -> str:
    """Re-write a harvested ``record`` in the default namespace, values untouched.

    Whatever prefix (``marc:``) or lack of namespace the source used, the copy's
    elements are MARC 21 slim; text is copied exactly (no whitespace clean-up).
    """
    lines = [_start("record", record, "  ")]
    for field in record:
        if not is_element(field):
            continue
        namespace, local = _split(field.tag)
        if namespace not in (MARC_NS, "") or local not in ("leader", "controlfield",
                                                            "datafield"):
            continue  # not MARC 21 slim: nothing a MARC tool could read
        if local != "datafield":
            lines.append(_start(local, field, "    ")
                         + f"{escape_text(field.text or '')}</{local}>")
            continue
        subfields = _marc_children(field, "subfield")
        if not subfields:
            continue  # the schema requires one; an empty field carries nothing
        lines.append(_start("datafield", field, "    "))
        lines += [_start("subfield", sub, "      ") + f"{escape_text(sub.text or '')}</subfield>"
                  for sub in subfields]
        lines.append("    </datafield>")
    lines.append("  </record>")
    return "\n".join(lines)


def original_records(rec: ExportRecord) -> list[str] | None:
    """The harvested MARC record(s) of ``rec`` re-written, or None when not MARC.

    Records harvested as MARC (decided as the normaliser decides: the root's namespace,
    then the metadataPrefix) are copied; a wrapping ``<collection>`` is dropped.
    """
    if not rec.metadata_xml:
        return None
    try:
        root = parse_bytes(rec.metadata_xml)
    except AggregatorError:
        return None  # unreadable: fall back to a generated record
    if detect_format(cast(Node, root), rec.metadata_prefix) != "marcxml":
        return None
    namespace, local = _split(root.tag)
    if namespace not in (MARC_NS, ""):
        return None
    records = [root] if local == "record" else (
        _marc_children(root, "record") if local == "collection" else [])
    return [_copy_record(r) for r in records] or None


def render_marcxml(records: Sequence[ExportRecord]) -> bytes:
    """A MARC 21 slim ``<collection>`` with one or more ``<record>`` per input record.

    Args:
        records: the records to export, in order.

    Returns:
        UTF-8 bytes with an XML declaration.
    """
    parts = ['<?xml version="1.0" encoding="UTF-8"?>', f'<collection xmlns="{MARC_NS}">']
    for rec in records:
        parts += original_records(rec) or [build_record(rec)]
    parts.append("</collection>\n")
    return "\n".join(parts).encode("utf-8")
