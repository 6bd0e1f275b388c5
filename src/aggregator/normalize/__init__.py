"""Harvested metadata (oai_dc, MARCXML, MODS) mapped to the common :class:`Fields`."""

from __future__ import annotations

from typing import cast

from aggregator.errors import AggregatorError
from aggregator.harvest.safe_xml import parse_bytes
from aggregator.normalize.builder import Node
from aggregator.normalize.fields import Fields
from aggregator.normalize.identifiers import best_link, classify
from aggregator.normalize.marc import MARC_NS, map_marc, marc_record
from aggregator.normalize.mods import MODS_NS, map_mods, mods_record
from aggregator.normalize.oai_dc import OAI_DC_NS, has_dc_children, map_oai_dc

__all__ = ["Fields", "best_link", "classify", "detect_format", "normalize"]

_BY_NAMESPACE = {OAI_DC_NS: "oai_dc", MARC_NS: "marcxml", MODS_NS: "mods"}


def detect_format(root: Node, metadata_prefix: str = "") -> str:
    """Decide which mapping fits a metadata element.

    The root element's namespace decides; a root of another kind holding DC 1.1
    children counts as oai_dc; only then is the metadataPrefix name consulted
    (``oai_dc``/``dc``, anything with ``marc``, anything with ``mods``).

    Returns:
        ``oai_dc``, ``marcxml``, ``mods`` or ``unknown``.
    """
    tag = root.tag
    if not isinstance(tag, str):
        return "unknown"
    namespace = tag[1:].partition("}")[0] if tag.startswith("{") else ""
    found = _BY_NAMESPACE.get(namespace)
    if found is not None:
        return found
    if has_dc_children(root):
        return "oai_dc"
    if namespace:
        return "unknown"  # a format we do not map (datacite, METS, DDI ...)
    prefix = metadata_prefix.strip().lower()
    if prefix in ("oai_dc", "dc", "qdc", "oai_qdc"):
        return "oai_dc"
    if "marc" in prefix:
        return "marcxml"
    if "mods" in prefix:
        return "mods"
    return "unknown"


def normalize(metadata_xml: bytes | None, metadata_prefix: str = "") -> Fields:
    """Map one record's metadata to common fields.

    Never raises on odd content: missing metadata, XML that cannot be parsed and
    formats we do not know all give ``Fields(format="unknown")``.

    Args:
        metadata_xml: the serialised child of ``<metadata>`` as stored, or None.
        metadata_prefix: the prefix it was harvested with; used only when the root
            element has no namespace.

    Returns:
        The fields; ``format`` says which mapping produced them.
    """
    if not metadata_xml:
        return Fields(format="unknown")
    try:
        root = cast(Node, parse_bytes(metadata_xml))
    except AggregatorError:
        return Fields(format="unknown")
    kind = detect_format(root, metadata_prefix)
    if kind == "oai_dc":
        return map_oai_dc(root)
    if kind == "marcxml":
        record = marc_record(root)
        if record is None:
            return Fields(format="unknown")
        namespace = MARC_NS if cast(str, record.tag).startswith("{" + MARC_NS) else ""
        return map_marc(record, namespace)
    if kind == "mods":
        record = mods_record(root)
        return Fields(format="unknown") if record is None else map_mods(record)
    return Fields(format="unknown")
