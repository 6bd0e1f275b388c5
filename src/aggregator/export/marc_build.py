"""MARC 21 slim records written from normalised fields, and the escaping MARCXML needs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from aggregator.export.model import ExportRecord, one_line, work_type, xml_safe
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
# Classification scheme → (tag, ind1, ind2). 082: ind1 0 (full edition; the edition
# number, $2, is unknown so left out), ind2 4 (not assigned by LC); 080: ind1 blank
# (edition unknown); 050: ind1 blank (not known to be in LC), ind2 4 (not assigned by LC).
_CLASS_FIELDS = {"ddc": ("082", "0", "4"), "udc": ("080", " ", " "),
                 "lcc": ("050", " ", "4")}
# A subject that is only a Dewey number ("372.21", "020") is a class number.
_DDC_LIKE = re.compile(r"^\d{3}(?:\.\d+)?$")
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
    if _LEADER.get(work_type(fields) or "", "am")[0] == "a":
        contents = "m   " if fields.type in _THESIS_NOTES else "    "
        conference = "1" if fields.type == "Conference paper" else "0"
        # 18-21 illustrations, 22 audience, 23 form, 24-27 contents, 28 government
        # publication, 29 conference, 30 festschrift, 31 index, 32 -, 33 literary form, 34.
        material = f"      {contents} {conference}00 0 "
    else:
        material = "|" * 17  # no attempt to code other materials
    return f"{entered}{dates}xx {material}{language} d"


def _classes(fields: Fields) -> tuple[list[tuple[str, str]], list[str]]:
    """The class numbers to write (050/080/082) and the subjects left for 650.

    A subject that is a class number (or only looks like a Dewey number) goes to 082,
    never to 650, even when the harvested record put it among the subjects.
    """
    classes = [(s.strip().lower(), one_line(n)) for s, n in fields.classification
               if s.strip().lower() in _CLASS_FIELDS and one_line(n)]
    numbers = {n.casefold() for _, n in classes}
    subjects: list[str] = []
    for subject in (one_line(s) for s in fields.subjects):
        if not subject or subject.casefold() in numbers:
            continue
        if _DDC_LIKE.match(subject):
            classes.append(("ddc", subject))
            numbers.add(subject.casefold())
        else:
            subjects.append(subject)
    order = {"lcc": 0, "udc": 1, "ddc": 2}
    return sorted(classes, key=lambda c: order[c[0]]), subjects


def _host_numbering(fields: Fields) -> str:
    """773 $g: "Vol. 13, no. 1 (2024), p. 45-60", with the parts that are known."""
    parts = []
    if one_line(fields.volume):
        parts.append(f"Vol. {one_line(fields.volume)}")
    if one_line(fields.issue):
        parts.append(f"no. {one_line(fields.issue)}")
    text = ", ".join(parts)
    if fields.year is not None:
        text = f"{text} ({fields.year})" if text else f"({fields.year})"
    if one_line(fields.pages):
        text = f"{text}, p. {one_line(fields.pages)}" if text else f"p. {one_line(fields.pages)}"
    return text


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
    classes, subjects = _classes(f)
    for scheme, number in classes:
        tag, ind1, ind2 = _CLASS_FIELDS[scheme]
        out.append(datafield(tag, ind1, ind2, [("a", number)]))
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
    out += [datafield("650", " ", "4", [("a", s)]) for s in subjects]
    out += [datafield("700", _name_indicator(n), " ", [("a", n)]) for n in creators[1:]]
    out += [datafield("700", _name_indicator(one_line(n)), " ",
                      [("a", one_line(n)), ("e", "contributor")]) for n in f.contributors]
    if one_line(f.journal_title):
        out.append(datafield("773", "0", " ", [
            ("t", one_line(f.journal_title)), ("g", _host_numbering(f)),
            *(("x", one_line(v)) for v in ids.get("issn", ())[:1])]))
    # 852 (location) rather than the locally defined 090: 852 is MARC 21's own field,
    # so any system reads it, and its $a names which member holds the shelf mark.
    out += [datafield("852", " ", " ", [("a", one_line(rec.member_name)),
                                        ("h", one_line(c))])
            for c in f.call_numbers if one_line(c)]
    if f.link and f.link.lower().startswith(("http://", "https://")):
        out.append(datafield("856", "4", "0", [("u", one_line(f.link))]))
    return [line for line in out if line]


def build_record(rec: ExportRecord) -> str:
    """A MARC 21 slim ``<record>`` (in the collection's default namespace) for ``rec``.

    001 carries the OAI identifier, so a cataloguer can trace the copy to its source.
    """
    lines: Sequence[str] = [
        "  <record>",
        f"    <leader>{_leader(work_type(rec.fields))}</leader>",
        *_field_lines(rec),
        "  </record>",
    ]
    return "\n".join(lines)
