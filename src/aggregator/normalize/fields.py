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
                    "languages", "rights"):
            values[key] = tuple(values.get(key) or ())
        values["identifiers"] = {k: tuple(v) for k, v in (values.get("identifiers") or {}).items()}
        return cls(**values)


_NAMES = tuple(Fields.__dataclass_fields__)
