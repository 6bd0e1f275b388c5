"""Match keys of a record (folded title words, first surname, year, identifiers) and the
block keys that decide which records are compared for duplicates."""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from aggregator.normalize.fields import Fields

MAX_BLOCK_KEYS = 6

_ARTICLES = frozenset({"the", "a", "an"})
_STOPWORDS = frozenset({
    "a", "an", "and", "as", "at", "by", "for", "from", "in", "is", "of", "on", "or", "the",
    "to", "with", "akan", "antara", "atau", "bagi", "dalam", "dan", "dari", "dengan", "di",
    "ini", "itu", "ke", "oleh", "pada", "sebagai", "serta", "tentang", "terhadap", "untuk",
    "yang"})
# Words of titles that recur every year (reports, statistics, proceedings): such titles
# must agree on the year exactly to match on the title.
_REVIEW_PREFIXES = ("review of ", "book review", "resensi", "tinjauan buku", "ulasan buku",
                    "telaah buku", "reviewed work", "rezension")
# Types that name a part of a container: a shared ISBN or ISSN names the container.
_UNKNOWN_TYPES = frozenset({"other"})
_NAME_SUFFIXES = frozenset({"phd", "ma", "msc", "mba", "jr", "sr", "ii", "iii", "iv", "se", "sh",
                            "st", "mm", "mt", "mpd", "spd", "ed", "eds", "editor", "penyunting",
                            "penyusun", "trans", "penerjemah"})

_NON_WORD = re.compile(r"[\W_]+")
_LETTERS = re.compile(r"[^\W\d_]+")
_APOSTROPHES = re.compile(r"['\u2019\u02bc`]")
# For ASCII text one bytes.translate lower-cases and blanks punctuation and control
# characters, several times faster than the regexes the general path needs.
_ASCII_FOLD = bytes(
    ord(" ") if i < 32 or i == 127 or chr(i) in string.punctuation else ord(chr(i).lower())
    for i in range(256)
)
_SUBTITLE = re.compile(r"[:=;]|\s[-\u2013\u2014]\s")
_SUBTITLE_HINT = re.compile(r"[:=;\-\u2013\u2014]")  # a cheap first test
_ISBN = re.compile(r"97[89]\d{10}|\d{9}[\dX]")
_ISSN = re.compile(r"(\d{4})-?(\d{3}[\dX])")
_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)


def _tokens(text: str) -> list[str]:
    """The folded words of a text (no article dropped)."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_FOLD, b"'`").decode("ascii").split()
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", _APOSTROPHES.sub("", text.casefold())).split()


def _title_tokens(text: str) -> list[str]:
    tokens = _tokens(text)
    if len(tokens) > 1 and tokens[0] in _ARTICLES:
        del tokens[0]
    return tokens


def fold(text: str) -> str:
    """Fold a title for comparison.

    Case-folds, strips diacritics (NFKD, combining marks dropped; other scripts are
    kept), removes apostrophes ("Qur'an" → "quran"), turns every other non-word
    character into a space and collapses spaces. One leading English article ("the",
    "a", "an") is dropped when more words follow; Indonesian has no articles, and no
    Indonesian leading word is dropped ("Laporan", "Kajian" carry meaning). Names must
    not go through this ("The" is a Chinese-Indonesian surname).

    Args:
        text: any title text.

    Returns:
        The folded text; empty when nothing word-like remains.
    """
    return " ".join(_title_tokens(text))


@dataclass(frozen=True, slots=True)
class MatchKeys:
    """What duplicate detection needs of one record, computed once per record.

    Attributes:
        dois: lower-case DOIs (``10.x/y``).
        isbns: valid ISBNs as ISBN-13 (ISBN-10s converted).
        issns: valid ISSNs as ``1234-567X``.
        title: the folded main title (before ``:``, ``=``, ``;`` or `` - ``).
        full_title: the folded title with its subtitle (without a ``/`` statement of
            responsibility).
        surname: the folded surname of the first creator, spaces removed, or ``""``.
        year: the publication year, or ``None``.
        type: the controlled type, or ``None``.
        words: the significant words of ``full_title`` (alphabetic, not stop words).
        main_words: how many significant words ``title`` has.
        numbers: the digit tokens of ``full_title``, sorted (volume, year, edition).
        review: whether the title reads as a review ("Resensi: …", "Review of …").
    """

    dois: tuple[str, ...] = ()
    isbns: tuple[str, ...] = ()
    issns: tuple[str, ...] = ()
    title: str = ""
    full_title: str = ""
    surname: str = ""
    year: int | None = None
    type: str | None = None
    words: tuple[str, ...] = ()
    main_words: int = 0
    numbers: tuple[str, ...] = ()
    review: bool = False


def _isbn13_valid(digits: str) -> bool:
    return (sum(map(int, digits[::2])) + 3 * sum(map(int, digits[1::2]))) % 10 == 0


def _isbn13(candidate: str) -> str | None:
    """The ISBN-13 for a 10- or 13-character ISBN, or ``None`` if its check digit is wrong."""
    if len(candidate) == 13:
        return candidate if _isbn13_valid(candidate) else None
    total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(candidate))
    if total % 11:
        return None
    body = "978" + candidate[:9]
    check = (10 - (sum(map(int, body[::2])) + 3 * sum(map(int, body[1::2]))) % 10) % 10
    return body + str(check)


def _isbns(values: Iterable[str]) -> tuple[str, ...]:
    found: list[str] = []
    for value in values:
        if len(value) == 13 and value.isdigit():  # the normaliser's usual form
            candidates = [value]
        else:
            compact = value.upper().replace("-", "").replace(" ", "")
            candidates = _ISBN.findall(compact)
        for candidate in candidates:
            isbn = _isbn13(candidate)
            if isbn and isbn not in found:
                found.append(isbn)
    return tuple(found)


def _issns(values: Iterable[str]) -> tuple[str, ...]:
    found: list[str] = []
    for value in values:
        for head, tail in _ISSN.findall(value.upper()):
            digits = head + tail
            total = sum((8 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(digits))
            issn = f"{head}-{tail}"
            if total % 11 == 0 and issn not in found:
                found.append(issn)
    return tuple(found)


def _dois(values: Iterable[str]) -> tuple[str, ...]:
    found: list[str] = []
    for value in values:
        doi = _DOI_PREFIX.sub("", value.strip()).lower()
        if doi.startswith("10.") and "/" in doi and doi not in found:
            found.append(doi)
    return tuple(found)


def _is_name_suffix(piece: str) -> bool:
    """Whether a comma piece or trailing word is a degree, role or date, not a name."""
    if piece.isalpha():
        return piece.lower() in _NAME_SUFFIXES
    if "." in piece:
        # "S.Pd.", "M.Hum.", "Ph.D.", "Dr.", an initial "B."
        return all(len(run) <= 4 for run in _LETTERS.findall(piece))
    if not _LETTERS.search(piece):
        return True  # a date such as "1970-"
    return "".join(_tokens(piece)) in _NAME_SUFFIXES


def _surname(creator: str) -> str:
    """The folded last word of the surname part of a name, either name order."""
    name = creator
    if "," in creator:
        name = creator.partition(",")[0].strip()
        if not name or _is_name_suffix(name):
            pieces = [p for p in (p.strip() for p in creator.split(",")) if p]
            name = next((p for p in pieces if not _is_name_suffix(p)), pieces[0] if pieces else "")
    words = name.split()
    while len(words) > 1 and _is_name_suffix(words[-1]):
        words.pop()
    if not words:
        return ""
    # The last word both ways round: "García Márquez, Gabriel" and "Gabriel García
    # Márquez" agree, and so do "Santoso, Budi" and "Budi Santoso".
    last = words[-1]
    return last.lower() if last.isascii() and last.isalpha() else "".join(_tokens(last))


def _significant(tokens: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The significant words (alphabetic, not stop words) and the numbers, sorted."""
    words: list[str] = []
    numbers: list[str] = []
    for token in tokens:
        if token.isalpha():
            if token not in _STOPWORDS:
                words.append(token)
        elif token.isdigit():
            numbers.append(token)
    return tuple(words), tuple(sorted(numbers))


def match_keys(fields: Fields) -> MatchKeys:
    """Compute the match keys of one normalised record.

    Args:
        fields: the record's normalised fields.

    Returns:
        The keys :func:`block_keys` and :func:`same_work` use.
    """
    raw = fields.title or (fields.other_titles[0] if fields.other_titles else "")
    if " / " in raw:
        raw = raw.split(" / ", 1)[0]
    tokens = _title_tokens(raw)
    full = " ".join(tokens)
    words, numbers = _significant(tokens)
    main, main_words = full, len(words)
    subtitle = _SUBTITLE.search(raw) if _SUBTITLE_HINT.search(raw) else None
    if subtitle:
        main_tokens = _title_tokens(raw[:subtitle.start()])
        if main_tokens:
            main, main_words = " ".join(main_tokens), len(_significant(main_tokens)[0])
    ids = fields.identifiers
    return MatchKeys(
        dois=_dois(ids["doi"]) if "doi" in ids else (),
        isbns=_isbns(ids["isbn"]) if "isbn" in ids else (),
        issns=_issns(ids["issn"]) if "issn" in ids else (),
        title=main,
        full_title=full,
        surname=_surname(fields.creators[0]) if fields.creators else "",
        year=fields.year,
        type=fields.type,
        words=words,
        main_words=main_words,
        numbers=numbers,
        review=full.startswith(_REVIEW_PREFIXES),
    )


def block_keys(keys: MatchKeys) -> tuple[str, ...]:
    """Keys under which a record is filed for candidate lookup.

    Records sharing at least one key are compared with :func:`same_work`. Keys, in
    order, at most six: ``doi:<doi>`` and ``isbn:<isbn13>`` (two of each at most);
    ``issn:<issn>`` for a Journal record, else ``issn:<issn>|<first three title words>``;
    then title keys, only for titles of three significant words or more (shorter ones
    never match on their title): ``t:<stem>|<qualifier>`` where a stem is the first four
    letters of two significant words: the first two and the last two (and the first and
    third of a three-word title), so a typo in one word, or a subtitle one member left
    out, still leaves a shared key. The qualifier is the first three letters of the
    surname; without a creator it is ``y<year>`` and ``y<year-1>`` (years one apart
    share a key), or ``-`` without a year either. The qualifier keeps blocks such as
    "Laporan Tahunan …" small.

    Args:
        keys: the record's match keys.

    Returns:
        The block keys, without repeats.
    """
    out = [f"doi:{d}" for d in keys.dois[:2]] + [f"isbn:{i}" for i in keys.isbns[:2]]
    if keys.issns:
        if type_kind(keys.type) == "journal":
            out.append(f"issn:{keys.issns[0]}")
        else:
            out.append(f"issn:{keys.issns[0]}|{' '.join(keys.full_title.split()[:3])}")
    words = keys.words
    if len(words) >= 3:
        first, second, third = (w[:4] for w in words[:3])
        stems = [first + second, words[-2][:4] + words[-1][:4]]
        if len(words) == 3:
            stems.append(first + third)  # three stems, so each word is left out of one
        if keys.surname:
            qualifiers = [keys.surname[:3]]
        elif keys.year is not None:
            qualifiers = [f"y{keys.year}", f"y{keys.year - 1}"]
        else:
            qualifiers = ["-"]
        out.extend(f"t:{s}|{q}" for s in stems for q in qualifiers)
    return tuple(dict.fromkeys(out))[:MAX_BLOCK_KEYS]


def type_kind(type_: str | None) -> str | None:
    """The type for comparison: case-folded, ``None`` for unknown or "Other"."""
    if type_ is None:
        return None
    kind = type_.casefold()
    return None if kind in _UNKNOWN_TYPES else kind
