"""MARC 21 bibliographic records in MARCXML (Koha, SLiMS, library catalogues) to fields."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from aggregator.normalize.builder import Draft, Node, clean, local_name
from aggregator.normalize.fields import Fields

__all__ = ["MARC_NS", "map_marc"]

MARC_NS = "http://www.loc.gov/MARC21/slim"

# ISBD punctuation that ends a subfield ("Judul utama /", "Jakarta :", "2019.").
_ISBD_TAIL = re.compile(r"[\s/:;,.=]+$")
# Relator terms and codes that mean "author of the work"; other roles are contributors.
_AUTHOR_ROLES = frozenset({
    "aut", "cre", "author", "authors", "pengarang", "penulis", "creator", "writer",
    "co-author", "coauthor", "joint author",
})
_SUBDIVISIONS = frozenset("vxyz")
_DOCTORAL = re.compile(r"disertasi|dissertation|doctor|doktor|ph\.?\s?d|s-?3", re.IGNORECASE)
# Leader/06 (type of record) → type; language material (a, t) depends on leader/07.
_LEADER_TYPES = {
    "c": "Other", "d": "Other", "e": "Map", "f": "Map", "g": "Video", "i": "Audio",
    "j": "Audio", "k": "Image", "m": "Software", "o": "Other", "p": "Other", "r": "Other",
}
_TEXT_LEVELS = {"m": "Book", "s": "Journal", "b": "Article", "a": "Book chapter",
                "i": "Other", "c": "Other", "d": "Other"}


def _strip_isbd(value: str) -> str:
    """Remove trailing ISBD punctuation, keeping a final "." after one capital (initials)."""
    stripped = _ISBD_TAIL.sub("", value)
    if value.endswith(".") and len(stripped) >= 2 and stripped[-1].isupper() \
            and not stripped[-2].isalnum():
        return stripped + "."
    return stripped


class _Field:
    """One datafield: its tag, indicators and (code, cleaned value) subfields."""

    __slots__ = ("ind1", "ind2", "subfields", "tag")

    def __init__(self, node: Node, tag: str, subfield_tags: frozenset[str]) -> None:
        self.tag = tag
        self.ind1 = (node.get("ind1") or " ").strip()
        self.ind2 = (node.get("ind2") or " ").strip()
        self.subfields = [
            ((sub.get("code") or "").strip(), clean(sub.text))
            for sub in node if sub.tag in subfield_tags
        ]

    def first(self, code: str) -> str:
        """The first non-empty value of subfield ``code``, or ""."""
        return next((v for c, v in self.subfields if c == code and v), "")

    def all(self, codes: str) -> list[str]:
        """Every non-empty value of the given subfield codes, in order."""
        return [v for c, v in self.subfields if c in codes and v]


def _title(f: _Field) -> str:
    """Title proper, remainder, part number and part name, without ISBD punctuation."""
    parts = [_strip_isbd(v) for v in f.all("abnp")]
    return ": ".join(p for p in parts if p)


def _on_title(d: Draft, f: _Field) -> None:
    d.titles.append(_title(f))


def _on_other_title(d: Draft, f: _Field) -> None:
    d.other_titles.append(_title(f))


def _on_creator(d: Draft, f: _Field) -> None:
    d.creators.append(_strip_isbd(f.first("a")))


def _on_added_name(d: Draft, f: _Field) -> None:
    name = _strip_isbd(f.first("a"))
    roles = {_strip_isbd(r).lower() for r in f.all("e4")}
    if not roles or roles & _AUTHOR_ROLES:
        d.creators.append(name)  # catalogues list co-authors in 700 without a role
    else:
        d.contributors.append(name)


def _on_subject(d: Draft, f: _Field) -> None:
    heading = ""
    for code, value in f.subfields:
        if not value or not code.isalpha():
            continue  # $0 authority ids, $2 thesaurus, $9 Koha links
        part = _strip_isbd(value)
        if not heading:
            heading = part
        else:
            heading += (" -- " if code in _SUBDIVISIONS else " ") + part
    d.subjects.append(heading)


def _on_keywords(d: Draft, f: _Field) -> None:
    d.subjects.extend(_strip_isbd(v) for v in f.all("a"))


def _on_abstract(d: Draft, f: _Field) -> None:
    d.abstracts.append(" ".join(f.all("ab")))


def _on_imprint(d: Draft, f: _Field) -> None:
    if f.tag == "264" and f.ind2 not in ("1", ""):
        d.fallback_dates.extend(f.all("c"))  # production, distribution, copyright
        return
    d.publishers.extend(_strip_isbd(v) for v in f.all("b"))
    d.dates.extend(f.all("c"))


def _on_identifier(d: Draft, f: _Field) -> None:
    d.identifiers.extend(f.all("a"))


def _on_other_identifier(d: Draft, f: _Field) -> None:
    source = f.first("2").lower()
    for value in f.all("a"):
        if f.ind1 == "7" and source in ("doi", "hdl", "handle"):
            value = ("doi:" if source == "doi" else "hdl:") + value
        d.identifiers.append(value)


def _on_language(d: Draft, f: _Field) -> None:
    for value in f.all("a"):
        # Older records pack several codes into one subfield: "engind".
        if len(value) > 3 and len(value) % 3 == 0 and value.isalpha() and value.islower():
            d.languages.extend(value[i:i + 3] for i in range(0, len(value), 3))
        else:
            d.languages.append(value)


def _on_thesis(d: Draft, f: _Field) -> None:
    note = " ".join(v for _, v in f.subfields)
    d.strong_type = "Dissertation" if _DOCTORAL.search(note) else "Thesis"


def _on_genre(d: Draft, f: _Field) -> None:
    d.types.extend(_strip_isbd(v) for v in f.all("a"))


def _on_rights(d: Draft, f: _Field) -> None:
    d.rights.extend(f.all("au"))


def _on_link(d: Draft, f: _Field) -> None:
    d.identifiers.extend(f.all("u"))


_CLASS_SCHEMES = {"082": "ddc", "080": "udc", "050": "lcc"}


def _on_class(d: Draft, f: _Field) -> None:
    scheme = _CLASS_SCHEMES[f.tag]
    for value in f.all("a"):
        # DDC segmentation marks ("372.2/1") and LCC's item part ($b) are not the class.
        d.classes.append((value.replace("/", "").replace("'", ""), scheme))


def _on_call_number(d: Draft, f: _Field) -> None:
    # 090 (local call number) $a $b; 852 (holdings) $k prefix, $h class, $i item part.
    codes = "ab" if f.tag == "090" else "khi"
    shelf = " ".join(v for c in codes for v in f.all(c))
    if shelf:
        d.call_numbers.append(shelf)


def _on_host(d: Draft, f: _Field) -> None:
    title, detail = f.first("t"), f.all("g")
    d.hosts.append("; ".join([title, *detail]) if title else "; ".join(detail))
    d.related.extend(f.all("x"))  # the journal's ISSN


_HANDLERS: dict[str, Callable[[Draft, _Field], None]] = {
    "082": _on_class, "080": _on_class, "050": _on_class, "090": _on_call_number,
    "852": _on_call_number, "773": _on_host,
    "245": _on_title, "240": _on_other_title, "242": _on_other_title,
    "246": _on_other_title, "100": _on_creator, "110": _on_creator, "111": _on_creator,
    "700": _on_added_name, "710": _on_added_name, "711": _on_added_name,
    "600": _on_subject, "610": _on_subject, "611": _on_subject, "630": _on_subject,
    "650": _on_subject, "651": _on_subject, "653": _on_keywords, "520": _on_abstract,
    "260": _on_imprint, "264": _on_imprint, "020": _on_identifier, "022": _on_identifier,
    "024": _on_other_identifier, "041": _on_language, "502": _on_thesis,
    "655": _on_genre, "336": _on_genre, "506": _on_rights, "540": _on_rights,
    "856": _on_link,
}


@cache
def _tags(ns: str, local: str) -> frozenset[str]:
    """The Clark name and the bare name of a MARCXML element."""
    return frozenset({"{" + ns + "}" + local, local})


def _fixed_data(value: str) -> tuple[str | None, str | None]:
    """From 008: date 1 (positions 07-10) and the language (35-37), when usable."""
    year = value[7:11] if len(value) >= 11 and value[7:11].isdigit() else None
    code = value[35:38].strip() if len(value) >= 38 else ""
    usable = code.isalpha() and code not in ("und", "zxx", "mul", "   ")
    return year, code if usable else None


def _leader_type(leader: str) -> str | None:
    """Type from leader/06 (type of record) and, for text, leader/07 (level)."""
    if len(leader) < 8:
        return None
    kind, level = leader[6], leader[7]
    if kind in "at":
        return _TEXT_LEVELS.get(level)
    return _LEADER_TYPES.get(kind)


def map_marc(record: Node, ns: str = MARC_NS) -> Fields:
    """Map a MARC 21 slim ``record`` element to fields.

    Args:
        record: the ``record`` element (not the ``collection``).
        ns: the namespace its children use ("" for namespace-less records).
    """
    draft = Draft("marcxml")
    datafield, controlfield = _tags(ns, "datafield"), _tags(ns, "controlfield")
    leader_tags, subfield_tags = _tags(ns, "leader"), _tags(ns, "subfield")
    leader = fixed = ""
    for node in record:
        tag = node.tag
        if tag in datafield:
            number = (node.get("tag") or "").strip()
            handler = _HANDLERS.get(number)
            if handler is not None:
                handler(draft, _Field(node, number, subfield_tags))
        elif tag in controlfield:
            if (node.get("tag") or "").strip() == "008":
                fixed = node.text or ""
        elif tag in leader_tags:
            leader = node.text or ""
    year, language = _fixed_data(fixed)
    if year is not None:
        draft.fallback_dates.append(year)
    if language is not None and not draft.languages:
        draft.languages.append(language)  # 041 is more precise when present
    draft.fallback_type = _leader_type(leader)
    return draft.finish()


def marc_record(root: Node) -> Node | None:
    """The record element of a MARCXML document (the root, or a collection's first)."""
    if local_name(root.tag) != "collection":
        return root
    for child in root:
        if local_name(child.tag) == "record":
            return child
    return None
