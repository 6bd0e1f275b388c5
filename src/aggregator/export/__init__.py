"""Record exports for copy cataloguing and reference managers: MARCXML, BibTeX, RIS, JSON.

Pure functions: the web layer passes :class:`ExportRecord` values in and serves the
bytes that come out with the format's media type and :func:`filename`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

from aggregator.errors import UserInputError
from aggregator.export.bibtex import render_bibtex
from aggregator.export.citation import citation
from aggregator.export.json_export import render_json
from aggregator.export.marcxml import render_marcxml
from aggregator.export.model import ExportFormat, ExportRecord
from aggregator.export.ris import render_ris

__all__ = ["FORMATS", "ExportFormat", "ExportRecord", "citation", "filename", "render"]

FORMATS: dict[str, ExportFormat] = {
    f.name: f for f in (
        ExportFormat("marcxml", "application/marcxml+xml; charset=utf-8", "xml", "MARCXML"),
        ExportFormat("bibtex", "application/x-bibtex; charset=utf-8", "bib", "BibTeX"),
        ExportFormat("ris", "application/x-research-info-systems; charset=utf-8", "ris",
                     "RIS"),
        ExportFormat("json", "application/json", "json", "JSON"),
    )
}

_RENDERERS: dict[str, Callable[[Sequence[ExportRecord]], bytes]] = {
    "marcxml": render_marcxml,
    "bibtex": render_bibtex,
    "ris": render_ris,
    "json": render_json,
}

_NOT_STEM = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_STEM = 100


def _format(fmt: str) -> ExportFormat:
    """The format named ``fmt``, or UserInputError naming the known ones."""
    found = FORMATS.get(fmt)
    if found is None:
        known = ", ".join(sorted(FORMATS))
        raise UserInputError(f"unknown export format {fmt!r}; known formats: {known}")
    return found


def render(records: Sequence[ExportRecord], fmt: str) -> bytes:
    """Export records in one format.

    Args:
        records: the records, in the order they should appear (may be empty).
        fmt: a key of :data:`FORMATS`.

    Returns:
        The document as bytes (UTF-8), to be served with ``FORMATS[fmt].media_type``.

    Raises:
        UserInputError: ``fmt`` is not a known format.
    """
    return _RENDERERS[_format(fmt).name](records)


def filename(fmt: str, stem: str) -> str:
    """A safe download file name: ``filename("bibtex", "record-42")`` → ``record-42.bib``.

    The stem is ASCII-folded and reduced to ``[A-Za-z0-9._-]`` (runs of anything else
    become one ``-``), without leading dots or dashes; an empty stem becomes ``export``.

    Raises:
        UserInputError: ``fmt`` is not a known format.
    """
    extension = _format(fmt).extension
    folded = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    safe = _NOT_STEM.sub("-", folded).lstrip(".-")[:_MAX_STEM].rstrip(".-")
    return f"{safe or 'export'}.{extension}"
