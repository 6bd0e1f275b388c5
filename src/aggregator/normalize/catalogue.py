"""Class numbers, call numbers and journal citations found in harvested values."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Citation", "call_number", "class_number", "parse_citation"]

# DDC: three digits, an optional decimal part ("372.21", "005.133", "342").
_DDC = re.compile(r"(?:DDC\s*:?\s*)?(\d{3}(?:\.\d+)?)", re.IGNORECASE)
# UDC: digits joined by dots, colons or a plus with at least one such joiner ("37:004.9").
_UDC = re.compile(r"UDC\s*:?\s*(\d[\d.:+/()\-\" ]*\d\)?)", re.IGNORECASE)
# LCC: one to three capitals, a number, an optional cutter ("QA76.73", "HF5548.2 .K3").
_LCC = re.compile(r"(?:LCC\s*:?\s*)?([A-HJ-NP-VZ][A-Z]{0,2}\s?\d{1,4}(?:\.\d+)?"
                  r"(?:\s?\.?[A-Z]\d+)*)")
# A call number: a class number, then a cutter or author mark and usually a title letter
# ("372.21 PUT p", "2X4.3 SUR k", "R 899.221 Sap s", "QA76.73 .P98 L87 2020").
_CALL = re.compile(
    r"(?:[A-Z]{1,3}\s+)?(?:\d{3}(?:\.\d+)?|\dX\d(?:\.\d+)?|[A-Z]{1,3}\s?\d{1,4}(?:\.\d+)?)"
    r"\s+\.?[A-Za-z][A-Za-z0-9]{0,5}(?:\s+\.?[A-Za-z0-9][\w.]{0,6}){0,3}")


def class_number(value: str, scheme_hint: str | None = None) -> tuple[str, str] | None:
    """A (scheme, number) pair when ``value`` is nothing but a class number.

    A bare number of three digits is read as DDC (the scheme of nearly every member);
    ``scheme_hint`` (``ddc``, ``udc``, ``lcc``) comes from the field it was found in.
    """
    text = value.strip()
    if not text:
        return None
    if scheme_hint == "lcc" or (scheme_hint is None and text.upper().startswith("LCC")):
        found = _LCC.fullmatch(text)
        return ("lcc", " ".join(found.group(1).split())) if found else None
    if scheme_hint == "udc" or text.upper().startswith("UDC"):
        found = _UDC.fullmatch(text) or _UDC.fullmatch("UDC " + text)
        return ("udc", found.group(1).strip()) if found else None
    found = _DDC.fullmatch(text)
    if found is not None:
        return ("ddc", found.group(1))
    return None


def call_number(value: str) -> str | None:
    """The value, cleaned, when it has the shape of a shelf mark, else None."""
    text = " ".join(value.split())
    if len(text) > 40 or not _CALL.fullmatch(text):
        return None
    # Refuse things that are also identifiers ("978 602 ..." read as digits) or words.
    if sum(c.isdigit() for c in text) > 12:
        return None
    return text


@dataclass(frozen=True, slots=True)
class Citation:
    """Journal details parsed from a host description (dc:source, MARC 773 ...)."""

    journal_title: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    year: int | None = None


_NUMBER = r"(?:\d[\w/-]{0,9}|[IVXLC]{1,6}\b)"  # "13", "2A", "1/2", "IV"
_VOL = r"(?:vol(?:ume)?|jilid|volum|tomo)(?![^\W\d_])\.?\s*(?P<vol>" + _NUMBER + ")"
_ISSUE = (r"(?:no|nomor|nomer|number|núm|num|número|numero|n[º°]|issue|iss|edisi)"
          r"(?![^\W\d_])\.?\s*(?P<iss>" + _NUMBER + ")")
_PAGES_RE = re.compile(
    r"(?:\b(?:pp?|hal(?:aman)?|hlm|pages?)\.?\s*)?(?P<pg>\d{1,5}\s*[-–]\s*\d{1,5}|\d{1,5})\s*$",
    re.IGNORECASE)
_VOL_ISSUE = re.compile(_VOL + r"(?:\s*[,.;:]?\s*" + _ISSUE + r")?", re.IGNORECASE)
_ISSUE_ONLY = re.compile(r"(?<!\w)" + _ISSUE, re.IGNORECASE)
# "13(1)" / "13 (1)", the APA form.
# A four-digit year in the brackets is not an issue ("núm. 39 (2007)").
_COMPACT = re.compile(
    r"(?<![\w.])(?P<vol>\d{1,4})\s*\((?!(?:1[5-9]|20)\d\d\))(?P<iss>[\w/-]{1,10})\)")
_YEAR = re.compile(r"\((?:[^()]*?)((?:1[5-9]|20)\d\d)\)")
_ISSN_PART = re.compile(r"[EP]?-?ISSN\s*:?\s*\d{4}-?\d{3}[\dXx]", re.IGNORECASE)
_LOCATOR = re.compile(
    _VOL + r"|(?<!\w)" + _ISSUE + r"|(?<![\w.])\d{1,4}\s*\((?!(?:1[5-9]|20)\d\d\))",
    re.IGNORECASE)


def parse_citation(value: str) -> Citation | None:
    """Parse a host description into journal, volume, issue and pages.

    Understands the OJS forms ("Jurnal X; Vol 13 No 1 (2024); 45-60", "Jurnal X, 13(1),
    45-60", "Journal of Y; Vol 2, No 1 (2020): March; 1-10") and English ones
    ("Journal Z, Volume 3, Issue 2, pp. 10-20"). Returns None when the value has no
    volume or issue (then it is a plain relation, not a citation).
    """
    text = " ".join(_ISSN_PART.sub("", value).split()).strip(" ;,")
    locator = _LOCATOR.search(text)
    if locator is None:
        return None
    title = text[: locator.start()].strip(" ;,.:-–") or None
    rest = text[locator.start():]
    volume = issue = None
    found = _VOL_ISSUE.search(rest)
    tail_start = 0
    if found is not None and found.start() == 0:
        volume, issue = found.group("vol"), found.group("iss")
        tail_start = found.end()
    else:
        compact = _COMPACT.match(rest)
        if compact is not None:
            volume, issue = compact.group("vol"), compact.group("iss")
            tail_start = compact.end()
        else:
            alone = _ISSUE_ONLY.match(rest)
            if alone is None:
                return None
            issue = alone.group("iss")
            tail_start = alone.end()
    tail = rest[tail_start:]
    if issue is None:
        more = _ISSUE_ONLY.search(tail)
        if more is not None and more.start() < 4:
            issue = more.group("iss")
            tail = tail[more.end():]
    year_match = _YEAR.search(tail)
    year = int(year_match.group(1)) if year_match else None
    if year_match is not None:
        tail = tail[year_match.end():]
    pages_match = _PAGES_RE.search(tail.strip(" ;,.:"))
    pages = None
    if pages_match is not None and re.search(r"[;,:]|\bp", tail):
        pages = re.sub(r"\s*[-–]\s*", "-", pages_match.group("pg"))
    return Citation(title, _bare(volume), _bare(issue), pages, year)


def _bare(value: str | None) -> str | None:
    """Drop trailing punctuation from a volume or issue."""
    if value is None:
        return None
    return value.strip(" .,;:") or None
