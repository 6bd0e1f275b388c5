"""The common fields every metadata format is mapped to (the normaliser's output)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

IDENTIFIER_KINDS = ("url", "doi", "handle", "isbn", "issn", "urn", "other")


@dataclass(frozen=True, slots=True)
class Fields:
    """One record's metadata mapped to common fields; nothing harvested is dropped.

    Attributes:
        title: the main title (first one), or ``None``.
        other_titles: further titles (alternatives, translations, subtitles given apart).
        creators: authors as harvested ("Surname, Given" mostly), in order.
        contributors: editors, advisors and other contributors.
        subjects: subject terms and keywords, as harvested (split on ``;`` lists).
        abstract: the description or abstract (the first, longest sensible one).
        publisher: the publisher.
        year: the publication year as an integer (1000–2100), or ``None``.
        year_raw: the date value the year came from, as harvested.
        type: a controlled type (Book, Article, Thesis, Dissertation, Report, Dataset,
            Conference paper, Book chapter, Journal, Image, Video, Audio, Map,
            Software, Other), or ``None`` when nothing is known.
        types_raw: every type value as harvested.
        languages: ISO 639-1 codes where the value could be mapped, else as harvested.
        identifiers: kind (``url``, ``doi``, ``handle``, ``isbn``, ``issn``, ``urn``,
            ``other``) → values (DOIs as ``10.x/y``, ISBNs without hyphens).
        rights: rights statements and licence URLs.
        link: the best http(s) URL to the record on the member's own site, or ``None``;
            never a ``javascript:`` or ``data:`` URL.
        format: which mapping produced this: ``oai_dc``, ``marcxml``, ``mods`` or
            ``unknown``.
        classification: class numbers as (scheme, number): scheme ``ddc``, ``udc`` or
            ``lcc`` (``("ddc", "372.21")``); never repeated among the subjects.
        call_numbers: shelf marks as the member gives them (``372.21 PUT p``).
        journal_title: the journal (or series) an article appeared in.
        volume: the journal volume (``13``).
        issue: the journal issue (``1``).
        pages: the pages, ``45-60`` or ``45`` (the ISSN stays in ``identifiers``).
        subject_languages: the language code of each subject, parallel to ``subjects``
            (``None`` where unknown), from ``xml:lang`` on dc:subject or MODS
            ``subject/@lang``; empty when no subject's language is known.
    """

    title: str | None = None
    other_titles: tuple[str, ...] = ()
    creators: tuple[str, ...] = ()
    contributors: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    abstract: str | None = None
    publisher: str | None = None
    year: int | None = None
    year_raw: str | None = None
    type: str | None = None
    types_raw: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    identifiers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rights: tuple[str, ...] = ()
    link: str | None = None
    format: str = "unknown"
    classification: tuple[tuple[str, str], ...] = ()
    call_numbers: tuple[str, ...] = ()
    journal_title: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    subject_languages: tuple[str | None, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become JSON arrays when encoded)."""
        # Built by hand: dataclasses.asdict deep-copies every value, four times slower.
        out = {name: getattr(self, name) for name in _NAMES}
        out["identifiers"] = dict(self.identifiers)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fields:
        """Rebuild from :meth:`as_json` output."""
        values = dict(data)
        for key in ("other_titles", "creators", "contributors", "subjects", "types_raw",
                    "languages", "rights", "call_numbers", "subject_languages"):
            values[key] = tuple(values.get(key) or ())
        values["classification"] = tuple(
            (str(scheme), str(number)) for scheme, number in values.get("classification") or ())
        values["identifiers"] = {k: tuple(v) for k, v in (values.get("identifiers") or {}).items()}
        return cls(**values)


_NAMES = tuple(Fields.__dataclass_fields__)
