"""MARC 21 slim records written from normalised fields, and the escaping MARCXML needs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from aggregator.export.model import ExportRecord, one_line, xml_safe
from aggregator.normalize.fields import Fields

__all__ = ["build_record", "control_field", "datafield", "escape_attr", "escape_text",
           "marc_language"]

# ISO 639-1 (and the regional codes the normaliser keeps) → MARC language code.
# MARC uses the bibliographic ISO 639-2 codes: "ger", "fre", "dut", "may", not "deu" ...
_MARC_LANGUAGES = {
    "id": "ind", "en": "eng", "jv": "jav", "su": "sun", "ms": "may", "ar": "ara",
    "zh": "chi", "ja": "jpn", "ko": "kor", "fr": "fre", "de": "ger", "nl": "dut",
    "es": "spa", "pt": "por", "ru": "rus", "it": "ita", "hi": "hin", "th": "tha",
    "vi": "vie", "tl": "tgl", "tr": "tur", "fa": "per", "ur": "urd", "bn": "ben",
    "ta": "tam", "pl": "pol", "sv": "swe", "no": "nor", "da": "dan", "fi": "fin",
    "el": "gre", "he": "heb", "la": "lat", "sa": "san", "cs": "cze", "hu": "hun",
    "uk": "ukr", "ro": "rum", "ban": "ban", "mad": "mad", "min": "min", "bug": "bug",
    "ace": "ace",
}
_MARC_CODES = frozenset(_MARC_LANGUAGES.values())

# Fields.type → leader/06 (type of record) and leader/07 (bibliographic level); the
# inverse of what normalize/marc.py reads, so a generated record maps back to its type.
_LEADER = {
    "Book": "am", "Article": "ab", "Thesis": "am", "Dissertation": "am", "Report": "am",
    "Conference paper": "am", "Book chapter": "aa", "Journal": "as", "Dataset": "mm",
    "Software": "mm", "Image": "km", "Video": "gm", "Audio": "im", "Map": "em",
}
_THESIS_NOTES = {"Thesis": "Thesis", "Dissertation": "Dissertation (doctoral)"}


def escape_text(value: str) -> str:
    """Escape character data (``\\r`` as a reference, so a parser keeps it)."""
    return (xml_safe(value).replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;").replace("\r", "&#13;"))


def escape_attr(value: str) -> str:
    """Escape an attribute value for double quotes (whitespace kept as references)."""
    return (escape_text(value).replace('"', "&quot;").replace("\t", "&#9;")
            .replace("\n", "&#10;"))


def marc_language(code: str) -> str:
    """The MARC language code for an ISO 639-1 (or MARC) code; ``und`` when unknown."""
    key = code.strip().lower()
    if key in _MARC_CODES:
        return key
    return _MARC_LANGUAGES.get(key, "und")


def control_field(tag: str, value: str) -> str:
    """One ``controlfield`` line."""
    return f'    <controlfield tag="{escape_attr(tag)}">{escape_text(value)}</controlfield>'


def datafield(tag: str, ind1: str, ind2: str, subfields: Iterable[tuple[str, str]]) -> str:
    """One ``datafield`` with its subfields; "" when every subfield value is empty.

    Generated values are flattened to one line; the MARC 21 slim schema requires at
    least one subfield, so an empty field is left out rather than written empty.
    """
    lines = [f'      <subfield code="{escape_attr(code)}">{escape_text(value)}</subfield>'
             for code, value in subfields if value]
    if not lines:
        return ""
    head = (f'    <datafield tag="{escape_attr(tag)}" ind1="{escape_attr(ind1)}" '
            f'ind2="{escape_attr(ind2)}">')
    return "\n".join([head, *lines, "    </datafield>"])


def _leader(kind: str | None) -> str:
    """A 24-character leader: new record, Unicode, unknown encoding level, no ISBD marks."""
    type_level = _LEADER.get(kind or "", "am")
    return f"00000n{type_level} a2200000uc 4500"


def _fixed_data(fields: Fields) -> str:
    """The 40-character 008: entry date, date 1, language, book-style coded values."""
    entered = datetime.now(UTC).strftime("%y%m%d")
    year = fields.year
    dates = f"s{year:04d}    " if year is not None and 0 <= year <= 9999 else "nuuuu    "
    language = marc_language(fields.languages[0]) if fields.languages else "und"
    if _LEADER.get(fields.type or "", "am")[0] == "a":
        contents = "m   " if fields.type in _THESIS_NOTES else "    "
        conference = "1" if fields.type == "Conference paper" else "0"
        # 18-21 illustrations, 22 audience, 23 form, 24-27 contents, 28 government
        # publication, 29 conference, 30 festschrift, 31 index, 32 -, 33 literary form, 34.
        material = f"      {contents} {conference}00 0 "
    else:
        material = "|" * 17  # no attempt to code other materials
    return f"{entered}{dates}xx {material}{language} d"


def _name_indicator(name: str) -> str:
    """1 (surname first) for "Surname, Given"; 0 (forename) for single or direct names."""
    return "1" if "," in name else "0"


def _field_lines(rec: ExportRecord) -> list[str]:
    """Every generated control and data field, in tag order."""
    f = rec.fields
    ids = f.identifiers
    creators = [n for n in (one_line(c) for c in f.creators) if n]
    out = [control_field("001", one_line(rec.identifier)), control_field("008", _fixed_data(f))]
    out += [datafield("020", " ", " ", [("a", one_line(v))]) for v in ids.get("isbn", ())]
    out += [datafield("022", " ", " ", [("a", one_line(v))]) for v in ids.get("issn", ())]
    out += [datafield("024", "7", " ", [("a", one_line(v)), ("2", "doi")])
            for v in ids.get("doi", ())]
    out += [datafield("024", "7", " ", [("a", one_line(v)), ("2", "hdl")])
            for v in ids.get("handle", ())]
    languages = dict.fromkeys(marc_language(c) for c in f.languages)
    languages.pop("und", None)
    out.append(datafield("041", " ", " ", [("a", code) for code in languages]))
    if creators:
        out.append(datafield("100", _name_indicator(creators[0]), " ", [("a", creators[0])]))
    title = one_line(f.title) or "[No title]"
    out.append(datafield("245", "1" if creators else "0", "0", [("a", title)]))
    out += [datafield("246", "3", " ", [("a", one_line(t))]) for t in f.other_titles]
    year = str(f.year) if f.year is not None else ""
    out.append(datafield("264", " ", "1", [("b", one_line(f.publisher)), ("c", year)]))
    if f.type in _THESIS_NOTES:
        out.append(datafield("502", " ", " ", [("a", _THESIS_NOTES[f.type])]))
    out.append(datafield("520", " ", " ", [("a", one_line(f.abstract))]))
    out += [datafield("540", " ", " ", [("a", one_line(r))]) for r in f.rights]
    out += [datafield("650", " ", "4", [("a", one_line(s))]) for s in f.subjects]
    out += [datafield("700", _name_indicator(n), " ", [("a", n)]) for n in creators[1:]]
    out += [datafield("700", _name_indicator(one_line(n)), " ",
                      [("a", one_line(n)), ("e", "contributor")]) for n in f.contributors]
    if f.link and f.link.lower().startswith(("http://", "https://")):
        out.append(datafield("856", "4", "0", [("u", one_line(f.link))]))
    return [line for line in out if line]


def build_record(rec: ExportRecord) -> str:
    """A MARC 21 slim ``<record>`` (in the collection's default namespace) for ``rec``.

    001 carries the OAI identifier, so a cataloguer can trace the copy to its source.
    """
    lines: Sequence[str] = [
        "  <record>",
        f"    <leader>{_leader(rec.fields.type)}</leader>",
        *_field_lines(rec),
        "  </record>",
    ]
    return "\n".join(lines)
