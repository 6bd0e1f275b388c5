"""The JSON export: ``{"records": [...]}`` with the record's identity and its fields."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aggregator.export.model import ExportRecord

__all__ = ["record_json", "render_json"]


def record_json(rec: ExportRecord) -> dict[str, Any]:
    """One record as a JSON-ready dict; ``fields`` is :meth:`Fields.as_json` unchanged."""
    return {
        "id": rec.id,
        "identifier": rec.identifier,
        "member": {"slug": rec.member_slug, "name": rec.member_name},
        "url": rec.url,
        "metadata_prefix": rec.metadata_prefix,
        "fields": rec.fields.as_json(),
    }


def render_json(records: Sequence[ExportRecord]) -> bytes:
    """``{"records": [...]}`` as UTF-8 JSON, also for a single record.

    An object rather than a bare list leaves room for paging or a count later without
    breaking readers. ``<``, ``>`` and ``&`` are written as ``\\u`` escapes so the
    document stays inert if someone embeds it in an HTML ``<script>``.
    """
    text = json.dumps({"records": [record_json(r) for r in records]},
                      ensure_ascii=False, indent=2, sort_keys=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    # A lone surrogate (never produced by an XML parser) cannot be UTF-8: replace it.
    return (text + "\n").encode("utf-8", errors="replace")
