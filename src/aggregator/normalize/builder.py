"""The mutable draft the format mappings fill in, and the text clean-up they share."""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Iterable, Iterator
from typing import Protocol

from aggregator.normalize.catalogue import (
    Citation,
    call_number,
    class_number,
    parse_citation,
)
from aggregator.normalize.fields import Fields
from aggregator.normalize.identifiers import classify, link_from
from aggregator.normalize.vocab import is_textual, language_codes, resolve_type
from aggregator.normalize.years import pick_year

__all__ = ["Draft", "Node", "clean", "local_name", "text_of"]


class Node(Protocol):
    """The part of a parsed element the mappings use (an lxml element satisfies it)."""

    @property
    def tag(self) -> object:
        """A ``{namespace}local`` str for elements; something else for comments and PIs."""

    @property
    def text(self) -> str | None:
        """Text before the first child."""

    def get(self, key: str) -> str | None:
        """An attribute value."""

    def __iter__(self) -> Iterator[Node]:
        """The direct children."""

    def __len__(self) -> int:
        """The number of direct children."""

    def itertext(self) -> Iterator[str]:
        """Every text node below this one, in document order."""


# Two or three characters that are UTF-8 read as Latin-1 (SLiMS runs titles through
# PHP's utf8_encode, so "’" arrives as "â\x80\x99" and Arabic as Latin-1 soup).
_MOJIBAKE = re.compile("[\u00c2-\u00f4][\u0080-\u00bf]")


def clean(text: str | None) -> str:
    """Collapse whitespace and repair UTF-8 that was decoded as Latin-1."""
    if not text:
        return ""
    out = " ".join(text.split())
    if not out.isascii() and _MOJIBAKE.search(out):
        with contextlib.suppress(UnicodeError):  # not mojibake after all: keep it
            out = out.encode("latin-1").decode("utf-8")
    return out


def text_of(node: Node) -> str:
    """The cleaned text of an element, including text inside child elements."""
    # clean() inlined: this runs for every field of every record.
    text = "".join(node.itertext()) if len(node) else node.text
    if not text:
        return ""
    out = " ".join(text.split())
    return out if out.isascii() else clean(out)


def local_name(tag: object) -> str:
    """The local part of a Clark name (empty for comments and PIs)."""
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


# An abstract must hold at least this many letters or digits (OJS sends "." and "-").
_SENSIBLE = re.compile(r"(?:\w\W*){3}")


class Draft:
    """Field values collected from one record, turned into :class:`Fields` at the end.

    Every list keeps document order; duplicates are removed when finishing.
    """

    __slots__ = ("abstracts", "call_numbers", "classes", "contributors", "creators",
                 "dates", "fallback_dates", "fallback_type", "format", "hosts",
                 "identifiers", "languages", "links", "other_titles", "publishers",
                 "related", "rights", "strong_type", "subject_langs", "subjects", "titles",
                 "types")

    def __init__(self, fmt: str) -> None:
        self.format = fmt
        self.titles: list[str] = []
        self.other_titles: list[str] = []
        self.creators: list[str] = []
        self.contributors: list[str] = []
        self.subjects: list[str] = []
        self.abstracts: list[str] = []
        self.publishers: list[str] = []
        self.dates: list[str] = []
        self.fallback_dates: list[str] = []
        self.types: list[str] = []
        self.strong_type: str | None = None
        self.fallback_type: str | None = None
        self.languages: list[str] = []
        self.identifiers: list[str] = []
        self.related: list[str] = []
        self.links: list[str] = []
        self.rights: list[str] = []
        # Class numbers as (value, scheme hint or None), shelf marks, host descriptions.
        self.classes: list[tuple[str, str | None]] = []
        self.call_numbers: list[str] = []
        self.hosts: list[str] = []
        # Subject value → language, for the subjects whose language the record gives.
        self.subject_langs: dict[str, str] = {}

    def finish(self) -> Fields:
        """Build the immutable :class:`Fields`."""
        titles = _unique(self.titles + self.other_titles)
        year, year_raw = pick_year(self.dates)
        if year is None and self.fallback_dates:
            year, fallback_raw = pick_year(self.fallback_dates)
            year_raw = year_raw if year is None and year_raw else fallback_raw
        identifiers, pairs = self._identifiers()
        subjects, subject_languages = self._subjects()
        # oai_dc's dc:source is both a host and a related value: read each value once
        citation = next((c for c in map(parse_citation, dict.fromkeys(self.hosts + self.related))
                         if c), None)
        kind = self.strong_type or resolve_type(self.types) or self.fallback_type
        if kind is None:
            shelved = bool(self.call_numbers) and (not self.types or is_textual(self.types))
            kind = _type_from_evidence(identifiers, citation is not None, shelved)
        if citation is None and kind == "Article":
            citation = _journal_only(self.hosts)
        classification = _unique_pairs(
            found for value, hint in self.classes
            if (found := class_number(value, hint)) is not None)
        return Fields(
            title=titles[0] if titles else None,
            other_titles=titles[1:],
            creators=_unique(self.creators),
            contributors=_unique(self.contributors),
            subjects=subjects,
            abstract=_pick_abstract(self.abstracts),
            publisher=next((p for p in self.publishers if p), None),
            year=year,
            year_raw=year_raw,
            type=kind,
            types_raw=_unique(self.types),
            languages=language_codes(self.languages),
            identifiers=identifiers,
            rights=_unique(self.rights),
            link=link_from(pairs),
            format=self.format,
            classification=classification,
            call_numbers=_unique(self.call_numbers),
            journal_title=citation.journal_title if citation else None,
            volume=citation.volume if citation else None,
            issue=citation.issue if citation else None,
            pages=citation.pages if citation else None,
            subject_languages=subject_languages,
        )

    def _subjects(self) -> tuple[tuple[str, ...], tuple[str | None, ...]]:
        """Subjects split on ``;``, class numbers moved out, case-folded duplicates dropped,
        and the language of each (empty when none is known).

        A heading with subdivisions ("Anak -- Psikologi") stays one subject, as a
        cataloguer built it; the first spelling of a repeated term is kept, and the same
        term in two languages ("Education" en, "Education" id) is still one subject.
        """
        seen: dict[str, str] = {}
        langs: dict[str, str | None] = {}
        for raw in self.subjects:
            lang = self.subject_langs.get(raw)
            for part in raw.split(";") if ";" in raw else (raw,):
                value = part.strip()
                if not value:
                    continue
                if class_number(value) is not None:
                    self.classes.append((value, None))
                    continue
                key = value.casefold()
                if key not in seen:
                    seen[key] = value
                    langs[key] = lang
        if not self.subject_langs:
            return tuple(seen.values()), ()
        return tuple(seen.values()), tuple(langs.values())

    def _identifiers(self) -> tuple[dict[str, tuple[str, ...]], list[tuple[str, str]]]:
        """Classify identifiers (all kept) and related values (kept when recognised)."""
        grouped: dict[str, dict[str, None]] = {}
        link_pairs: list[tuple[str, str]] = []
        for source, keep_other in ((self.links, False), (self.identifiers, True),
                                   (self.related, False)):
            for value in source:
                found = classify(value)
                if keep_other and found is not None and found[0] == "other":
                    if class_number(value) is not None:
                        self.classes.append((value, None))
                        continue
                    shelf = call_number(value)
                    if shelf is not None:
                        self.call_numbers.append(shelf)
                        continue
                if found is None or (found[0] == "other" and not keep_other):
                    continue
                grouped.setdefault(found[0], {})[found[1]] = None
                link_pairs.append(found)
        return {kind: tuple(values) for kind, values in grouped.items()}, link_pairs


def _type_from_evidence(identifiers: dict[str, tuple[str, ...]], cited: bool,
                        shelved: bool) -> str | None:
    """A type when the type values say nothing specific (absent, or only "Text").

    A journal citation (volume or issue) makes an article; an ISBN, or a shelf mark on a
    text item of a library catalogue (SLiMS's GMD "Text"), a book. An ISSN alone says
    nothing (a book in a series has one too).
    """
    if cited:
        return "Article"
    if identifiers.get("isbn") or shelved:
        return "Book"
    return None


def _journal_only(hosts: list[str]) -> Citation | None:
    """An article's host given by its name alone (EPrints' dc:source "Jurnal X")."""
    for value in hosts:
        found = classify(value)
        if (found is None or found[0] == "other") and any(ch.isalpha() for ch in value):
            return Citation(journal_title=value.strip(" ;,."))
    return None


def _unique_pairs(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Pairs without duplicates, in first-seen order."""
    return tuple(dict.fromkeys(pairs))


def _unique(values: list[str]) -> tuple[str, ...]:
    """Non-empty values without duplicates, in first-seen order."""
    if len(values) < 2:
        return tuple(values) if values and values[0] else ()
    unique = dict.fromkeys(values)
    unique.pop("", None)
    return tuple(unique)


def _pick_abstract(values: list[str]) -> str | None:
    """The longest sensible abstract (the first among equals), else the first non-empty.

    HTML markup (Zenodo sends it escaped twice, OJS once) is reduced to its text.
    """
    best: str | None = None
    for value in values:
        if _SENSIBLE.search(value) and (best is None or len(value) > len(best)):
            best = value
    if best is None:
        best = next((v for v in values if v), None)
    if best is not None and ("<" in best or "&" in best):
        best = _plain_text(best)
    return best


_TAG = re.compile(r"</?[A-Za-z][^<>]*>")


def _plain_text(value: str) -> str:
    """Unescape entities and drop tags when the text looks like HTML."""
    text = html.unescape(value) if "&lt;" in value or "&amp;" in value else value
    if not _TAG.search(text):
        return value
    return clean(html.unescape(_TAG.sub(" ", text))) or value
