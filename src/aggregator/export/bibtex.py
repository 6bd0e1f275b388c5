"""The BibTeX export: entry types, citation keys and escaping that harvested text cannot break."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from aggregator.export.model import ExportRecord, one_line, page_range, work_type
from aggregator.normalize.fields import Fields

__all__ = ["citation_key", "escape", "escape_url", "render_bibtex"]

_ENTRY_TYPES = {
    "Article": "article", "Book": "book", "Thesis": "mastersthesis",
    "Dissertation": "phdthesis", "Report": "techreport", "Conference paper": "inproceedings",
    "Book chapter": "incollection",
}
# Where the publisher goes: theses name a school, reports an institution.
_PUBLISHER_FIELD = {"mastersthesis": "school", "phdthesis": "school",
                    "techreport": "institution"}

# Every character BibTeX or LaTeX treats specially. Braces become commands, not "\{":
# BibTeX counts "\{" as an opening brace, so an odd number of them would still end
# the field early; the only braces left in the output are the balanced "{}" we write.
_SPECIALS = str.maketrans({
    "\\": r"\textbackslash{}", "{": r"\textbraceleft{}", "}": r"\textbraceright{}",
    "%": r"\%", "&": r"\&", "$": r"\$", "#": r"\#", "_": r"\_",
    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
})
# biblatex reads url and doi verbatim ("\\_" would stay a backslash), so those only
# have the characters that could end the value percent-encoded.
_URL_SPECIALS = str.maketrans({"\\": "%5C", "{": "%7B", "}": "%7D"})
# Where the journal (or the book, or proceedings) title goes.
_CONTAINER_FIELD = {"incollection": "booktitle", "inproceedings": "booktitle",
                    "book": "series", "techreport": "series"}
_NOT_KEY = re.compile(r"[^a-z0-9]+")
_SKIP_WORDS = frozenset({"a", "an", "the", "der", "die", "das", "le", "la", "les", "al"})
_KEY_PART = 30
_AND = re.compile(r"\band\b", re.IGNORECASE)


def escape(value: str | None) -> str:
    """Harvested text as the inside of a braced BibTeX value (one line, specials escaped)."""
    return one_line(value).translate(_SPECIALS)


def escape_url(value: str | None) -> str:
    """A URL or DOI for a verbatim field: one line, braces and backslashes encoded."""
    return one_line(value).replace(" ", "%20").translate(_URL_SPECIALS)


def _fold(value: str) -> str:
    """Lower-case ASCII letters and digits only ("Çağlar" → "caglar", Arabic → "")."""
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return _NOT_KEY.sub("", ascii_text.lower())[:_KEY_PART]


def _surname(name: str) -> str:
    """The part before the comma, else the last word ("Ibnu Katsir" → "Katsir")."""
    head, comma, _ = name.partition(",")
    words = head.split() if comma else name.split()
    return head if comma else (words[-1] if words else "")


def citation_key(fields: Fields) -> str:
    """surname + year + first title word, ASCII-folded ("basuki1991pengantar").

    Returns "" when nothing usable is left (an Arabic-only record, say).
    """
    surname = _fold(_surname(fields.creators[0])) if fields.creators else ""
    words = [_fold(w) for w in (fields.title or "").split()]
    word = next((w for w in words if w and w not in _SKIP_WORDS), "")
    year = str(fields.year) if fields.year is not None else ""
    return surname + year + word if surname or word else ""


def _suffixes() -> Sequence[str]:
    """a … z, then aa … zz: enough to tell apart any sensible export."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    return [*letters, *(x + y for x in letters for y in letters)]


def _unique_keys(records: Sequence[ExportRecord]) -> list[str]:
    """One key per record, unique in the export: later duplicates get a, b, c ..."""
    used: set[str] = set()
    keys: list[str] = []
    for rec in records:
        base = citation_key(rec.fields) or f"record{rec.id}"
        key = base
        if key in used:
            key = next((base + s for s in _suffixes() if base + s not in used),
                       f"{base}-{rec.id}-{len(keys)}")
        used.add(key)
        keys.append(key)
    return keys


def _author(name: str) -> str:
    """One author; a name holding the word "and" is braced so it stays one name."""
    escaped = escape(name)
    return "{" + escaped + "}" if _AND.search(escaped) else escaped


def _entry(rec: ExportRecord, key: str) -> str:
    """One entry; every value braced and escaped, empty values left out."""
    f = rec.fields
    kind = _ENTRY_TYPES.get(work_type(f) or "", "misc")
    ids = f.identifiers
    authors = [_author(n) for n in f.creators if one_line(n)]
    note = f"Held by {rec.member_name}" if one_line(rec.member_name) else ""
    first, last = page_range(f.pages)
    values = [
        ("title", escape(f.title)),
        ("author", " and ".join(authors)),
        ("year", str(f.year) if f.year is not None else ""),
        (_CONTAINER_FIELD.get(kind, "journal"), escape(f.journal_title)),
        ("volume", escape(f.volume)),
        ("number", escape(f.issue)),
        ("pages", escape(f"{first}--{last}" if last else first)),
        (_PUBLISHER_FIELD.get(kind, "publisher"), escape(f.publisher)),
        ("abstract", escape(f.abstract)),
        ("keywords", ", ".join(e for e in (escape(s) for s in f.subjects) if e)),
        ("doi", escape_url(next(iter(ids.get("doi", ())), ""))),
        ("isbn", ", ".join(escape(v) for v in ids.get("isbn", ()))),
        ("issn", ", ".join(escape(v) for v in ids.get("issn", ()))),
        ("url", escape_url(f.link or rec.url)),
        ("language", ", ".join(escape(c) for c in f.languages)),
        ("note", escape(note)),
    ]
    lines = [f"@{kind}{{{key},"]
    lines += [f"  {name} = {{{value}}}," for name, value in values if value]
    lines.append("}")
    return "\n".join(lines)


def render_bibtex(records: Sequence[ExportRecord]) -> bytes:
    """BibTeX entries, one per record, separated by blank lines (UTF-8 text).

    Args:
        records: the records to export, in order.

    Returns:
        UTF-8 bytes; non-ASCII letters are kept as they are (biber, JabRef, Zotero and
        bibtex8 read UTF-8), only LaTeX specials are escaped.
    """
    keys = _unique_keys(records)
    entries = [_entry(rec, key) for rec, key in zip(records, keys, strict=True)]
    return ("\n\n".join(entries) + "\n" if entries else "").encode("utf-8")
