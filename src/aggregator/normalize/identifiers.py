"""Identifier values sorted by kind (DOI, handle, ISBN, ...) and the best link chosen."""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable, Sequence

__all__ = [
    "TEST_HANDLE_PREFIX",
    "best_link",
    "classify",
    "classify_all",
    "isbn_is_valid",
    "issn_is_valid",
    "safe_http_url",
]

TEST_HANDLE_PREFIX = "123456789"

# No whitespace and no C0/C1 control characters anywhere in an identifier we rewrite.
_CHAR = r"[^\s\x00-\x1f\x7f-\x9f]"
_DOI = re.compile(
    r"(?:doi:\s*|info:doi/|https?://(?:dx\.|www\.)?doi\.org/)?(10\.\d{4,9}/" + _CHAR + r"+)",
    re.IGNORECASE,
)
_HANDLE = re.compile(
    r"(?:hdl:\s*|info:hdl/|https?://hdl\.handle\.net/)(\d[\w.]*/" + _CHAR + r"+)",
    re.IGNORECASE,
)
_URN = re.compile(r"urn:[a-z0-9][a-z0-9-]{0,31}:" + _CHAR + r"+", re.IGNORECASE)
# No nested quantifiers (no catastrophic backtracking); user:password@ is refused.
_HOST = r"[^\W_][\w.-]*|\[[0-9A-Fa-f:.]+\]"
_URL = re.compile(
    r"https?://(" + _HOST + r")(?::\d{1,5})?(?:[/?#]" + _CHAR + r"*)?", re.IGNORECASE
)
_ISBN = re.compile(
    r"(?:ISBN(?:[-\s]?1[03])?\s*:?\s*)?((?:\d[\s-]*){9}[\dXx]|(?:\d[\s-]*){12}\d)"
    r"(?:\s*[(\[:;].*)?",
    re.IGNORECASE,
)
_ISSN = re.compile(
    r"(?:[EP]-?ISSN|ISSN(?:-?L)?)\s*:?\s*(\d{4})[\s-]?(\d{3}[\dXx])(?:\s*[(\[].*)?"
    r"|(\d{4})-(\d{3}[\dXx])(?:\s*[(\[].*)?",
    re.IGNORECASE,
)
# Values that only stand for "nothing here".
_PLACEHOLDER = re.compile(r"[\s\-–—._/?]*|n/?a|none|null|nil|tidak ada", re.IGNORECASE)
# Links to files rather than landing pages (EPrints puts the PDF in dc:identifier).
_FILE_EXTENSIONS = frozenset({
    "pdf", "doc", "docx", "odt", "rtf", "ppt", "pptx", "xls", "xlsx", "csv", "zip", "rar",
    "7z", "gz", "epub", "djvu", "jpg", "jpeg", "png", "gif", "tif", "tiff", "mp3", "mp4",
    "wav", "txt",
})


_ISBN10_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2, 1)
_ISBN13_WEIGHTS = (1, 3) * 6 + (1,)
_ISSN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 1)


def _weighted(digits: str, weights: tuple[int, ...]) -> int:
    """Sum of digit × weight, a final X counting as 10."""
    values = [10 if c in "Xx" else int(c) for c in digits]
    return sum(map(operator.mul, values, weights))


def isbn_is_valid(digits: str) -> bool:
    """Check an ISBN-10 or ISBN-13 (digits only, a final ``X`` allowed in ISBN-10)."""
    if len(digits) == 10 and digits[:9].isdigit() and (digits[9].isdigit() or digits[9] in "Xx"):
        return _weighted(digits, _ISBN10_WEIGHTS) % 11 == 0
    if len(digits) == 13 and digits.isdigit() and digits[:3] in ("978", "979"):
        return _weighted(digits, _ISBN13_WEIGHTS) % 10 == 0
    return False


def issn_is_valid(digits: str) -> bool:
    """Check an ISSN given as eight characters without the hyphen (``X`` allowed last)."""
    if len(digits) != 8 or not digits[:7].isdigit():
        return False
    if not (digits[7].isdigit() or digits[7] in "Xx"):
        return False
    return _weighted(digits, _ISSN_WEIGHTS) % 11 == 0


def safe_http_url(value: str) -> str | None:
    """Return the value if it is an absolute http(s) URL with a host, else None.

    Spaces inside a URL (SLiMS file names) are escaped as ``%20``; anything with control
    characters, another scheme or no host is refused.
    """
    text = value.strip()
    if text[:4].lower() != "http":
        return None
    if " " in text:
        text = text.replace(" ", "%20")
    return text if _URL.fullmatch(text) else None


def classify(value: str) -> tuple[str, str] | None:
    """Sort one identifier-ish value into a kind and its normalised form.

    Args:
        value: a dc:identifier (or dc:relation, dc:source, MARC 020/022/024/856 ...) value.

    Returns:
        ``(kind, value)`` with kind one of ``doi`` (``10.x/y``), ``handle``
        (``prefix/suffix``), ``urn``, ``isbn`` (digits, checksum valid), ``issn``
        (``1234-5678``, checksum valid), ``url`` or ``other`` (as harvested, stripped);
        None for empty values and placeholders such as ``-``.
    """
    text = value.strip()
    head = text[:4].lower()
    if head == "http":
        lowered = text.lower()
        if "doi.org/10." in lowered:
            found = _DOI.fullmatch(text)
            if found is not None:
                return "doi", found.group(1)
        elif "hdl.handle.net/" in lowered:
            found = _HANDLE.fullmatch(text)
            if found is not None:
                return "handle", found.group(1)
        url = safe_http_url(text)
        if url is not None:
            return "url", url
    elif head in ("doi:", "info", "hdl:") or text.startswith("10."):
        found = _DOI.fullmatch(text) or _HANDLE.fullmatch(text)
        if found is not None:
            return ("doi" if "10." in found.group(1)[:3] else "handle"), found.group(1)
    elif head == "urn:" and _URN.fullmatch(text):
        return "urn", text
    elif text[:1].isdigit() or head == "isbn" or head[:3] in ("iss", "e-i", "p-i", "eis", "pis"):
        numbers = _numbers(text)
        if numbers is not None:
            return numbers
    if _PLACEHOLDER.fullmatch(text):
        return None
    return "other", " ".join(text.split())


def _numbers(text: str) -> tuple[str, str] | None:
    """Recognise an ISBN or ISSN (with a valid checksum), with or without its label."""
    head = text[:1].upper()
    # Bare ISSNs are always written 1234-5678; ISBNs never put the hyphen after 4 digits
    # followed by exactly 4 more characters.
    looks_issn = head in "EPI" and "SSN" in text[:6].upper() or (
        len(text) == 9 and text[4] == "-")
    if looks_issn:
        issn = _ISSN.fullmatch(text)
        if issn is not None:
            first, last = (issn.group(1), issn.group(2)) if issn.group(1) else issn.group(3, 4)
            if issn_is_valid(first + last):
                return "issn", f"{first}-{last.upper()}"
        return None
    isbn = _ISBN.fullmatch(text)
    if isbn is not None:
        digits = isbn.group(1).replace("-", "").replace(" ", "").upper()
        if isbn_is_valid(digits):
            return "isbn", digits
    return None


def classify_all(
    values: Iterable[str], *, recognised_only: Iterable[str] = ()
) -> dict[str, tuple[str, ...]]:
    """Classify many values into kind → values (document order, duplicates removed).

    Args:
        values: identifiers; every non-empty one is kept (unrecognised ones as ``other``).
        recognised_only: further values (dc:relation, dc:source) kept only when they are
            a URL, DOI, handle, URN, ISBN or ISSN, never as ``other``.
    """
    out: dict[str, dict[str, None]] = {}
    for value in values:
        found = classify(value)
        if found is not None:
            out.setdefault(found[0], {})[found[1]] = None
    for value in recognised_only:
        found = classify(value)
        if found is not None and found[0] != "other":
            out.setdefault(found[0], {})[found[1]] = None
    return {kind: tuple(items) for kind, items in out.items()}


def best_link(values: Iterable[str], *, repository_host: str | None = None) -> str | None:
    """Choose the best http(s) link to a record among its identifier values.

    Preference: a DOI (as ``https://doi.org/…``), then a handle outside the DSpace test
    prefix 123456789 (as ``https://hdl.handle.net/…``), then a landing-page URL (on
    ``repository_host`` first), then a URL to a file such as a PDF, then any other
    http(s) URL. Only http and https URLs are ever returned.

    Args:
        values: identifier-ish values in document order (dc:identifier before dc:relation).
        repository_host: the member's host name, to prefer its own pages.
    """
    pairs = [found for found in map(classify, values) if found is not None]
    return link_from(pairs, repository_host=repository_host)


def link_from(
    pairs: Sequence[tuple[str, str]], *, repository_host: str | None = None
) -> str | None:
    """Like :func:`best_link` for values already passed through :func:`classify`."""
    best: tuple[int, int] | None = None
    link: str | None = None
    host = repository_host.lower() if repository_host else None
    for index, (kind, value) in enumerate(pairs):
        if kind == "doi":
            rank, url = 0, "https://doi.org/" + value
        elif kind == "handle":
            test = value.startswith(TEST_HANDLE_PREFIX + "/")
            rank, url = (6 if test else 1), "https://hdl.handle.net/" + value
        elif kind == "url":
            rank, url = _url_rank(value, host), value
        else:
            continue
        if best is None or (rank, index) < best:
            best, link = (rank, index), url
    return link if link is None else safe_http_url(link)


def _url_rank(url: str, host: str | None) -> int:
    """Rank a URL: 2 a landing page, 4 a file; +1 when not on ``host``; 6 a test handle."""
    if TEST_HANDLE_PREFIX in url and "hdl.handle.net/" + TEST_HANDLE_PREFIX in url:
        return 6
    path = url.partition("?")[0].partition("#")[0]
    last = path.rpartition("/")[2]
    is_file = "." in last and last.rpartition(".")[2].lower() in _FILE_EXTENSIONS
    base = 4 if is_file else 2
    if host is None:
        return base
    match = _URL.match(url)
    return base if match is not None and match.group(1).lower() == host else base + 1
