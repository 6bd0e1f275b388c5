"""The RIS export: one tag per line, values that can never start a line of their own."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from aggregator.export.model import ExportRecord, one_line, page_range, work_type

__all__ = ["EOL", "render_ris"]

# CRLF: the RIS specification ends every line with CR LF, older Windows tools
# (EndNote, Reference Manager) expect it and Zotero writes it; every reader that
# accepts LF accepts CRLF too.
EOL = "\r\n"

_TYPES = {
    "Article": "JOUR", "Book": "BOOK", "Thesis": "THES", "Dissertation": "THES",
    "Report": "RPRT", "Dataset": "DATA", "Conference paper": "CONF",
    "Book chapter": "CHAP", "Journal": "JFULL", "Image": "ART", "Video": "VIDEO",
    "Audio": "SOUND", "Map": "MAP", "Software": "COMP",
}


def _lines(tag: str, values: Iterable[str | None]) -> list[str]:
    """``TAG  - value`` for every value that is not empty once flattened to one line."""
    return [f"{tag}  - {line}" for line in (one_line(v) for v in values) if line]


def _record(rec: ExportRecord) -> list[str]:
    """Every line of one record, from ``TY`` to ``ER``."""
    f = rec.fields
    ids = f.identifiers
    kind = _TYPES.get(work_type(f) or "", "GEN")
    lines = [f"TY  - {kind}"]
    lines += _lines("AU", f.creators)
    lines += _lines("TI", [f.title])
    lines += _lines("PY", [str(f.year) if f.year is not None else None])
    first, last = page_range(f.pages)
    # JO for a journal's name; T2 for the book or proceedings a chapter or paper is in.
    lines += _lines("JO" if kind == "JOUR" else "T2", [f.journal_title])
    lines += _lines("VL", [f.volume])
    lines += _lines("IS", [f.issue])
    lines += _lines("SP", [first])
    lines += _lines("EP", [last])
    lines += _lines("PB", [f.publisher])
    lines += _lines("AB", [f.abstract])
    lines += _lines("KW", f.subjects)
    lines += _lines("DO", ids.get("doi", ())[:1])  # DO is not repeatable
    lines += _lines("SN", [*ids.get("isbn", ()), *ids.get("issn", ())])
    lines += _lines("UR", dict.fromkeys(u for u in (f.link, rec.url) if u))
    lines += _lines("LA", f.languages)
    lines += _lines("AN", [rec.identifier])
    lines += _lines("N1", [f"Held by {one_line(rec.member_name)}"
                           if one_line(rec.member_name) else None])
    lines.append("ER  - ")
    return lines


def render_ris(records: Sequence[ExportRecord]) -> bytes:
    """RIS records separated by a blank line, CRLF line ends, UTF-8.

    Args:
        records: the records to export, in order.

    Returns:
        UTF-8 bytes; each record starts with ``TY`` and ends with ``ER``.
    """
    blocks = [EOL.join(_record(rec)) + EOL for rec in records]
    return EOL.join(blocks).encode("utf-8")
