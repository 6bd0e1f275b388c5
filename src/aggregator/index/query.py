"""The patron query language: turns what was typed into a bounded ParsedQuery, never failing."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from aggregator.index.model import AnyOf, Clause, ParsedQuery, Term, YearRange

MAX_QUERY_CHARS = 500
MAX_TERMS = 32
MAX_OR_OPTIONS = 16

#: Field prefixes a patron may type, in English and Indonesian, and the field they mean.
FIELD_ALIASES = {
    "title": "title",
    "judul": "title",
    "author": "author",
    "pengarang": "author",
    "subject": "subject",
    "subjek": "subject",
}
YEAR_PREFIXES = ("year", "tahun")

# A word is a run of letters and digits; everything else (including * ? ~) is punctuation.
_WORD = re.compile(r"[^\W_]+")
_YEAR = re.compile(r"(\d{1,4})?(\.\.)?(\d{1,4})?")
_YEAR_FILTER = re.compile(r"^\s*(\d{4})?\s*(\.\.\s*(\d{4})?)?\s*$")
_BARE_END = re.compile(r'[\s"|]')
_PREFIX = re.compile(r"([^\W\d_]+):", re.ASCII | re.IGNORECASE)


class _SyntaxProblem(Exception):
    """Raised inside the parser only; parse_query answers it with the plain-words fallback."""


@dataclass(slots=True)
class _Unit:
    """One operand as lexed: its clause (None when it was punctuation only) and its sign."""

    clause: Term | YearRange | None
    negated: bool = False


_OR = "OR"
_Token = _Unit | str


def parse_query(text: str) -> ParsedQuery:
    """Parse a patron's query; never raises.

    Words must all match; ``"quoted phrases"``; ``title:``/``judul:``, ``author:``/
    ``pengarang:``, ``subject:``/``subjek:`` before a word or a phrase; ``year:2019``,
    ``year:2019..2021``, ``year:..2005``, ``year:2019..``; ``OR`` (upper case) or ``|``
    between operands; a leading ``-`` excludes an operand. Wildcards and fuzzy marks
    (``* ? ~``) are plain punctuation.

    Term texts come out lower-cased and NFC-normalised: a word is one run of letters
    and digits; a phrase (or a word with inner punctuation, such as ``e-learning``) is
    such runs joined by single spaces. Diacritics are kept: folding is the analyzer's job.

    Args:
        text: what the patron typed; only the first 500 characters are read.

    Returns:
        The parsed query, bounded to 32 terms and 16 options per OR chain. An empty
        or punctuation-only text gives ``ParsedQuery()`` (match everything). On a
        syntax error the text is read as plain words with ``fallback=True``.
    """
    text = _capped(unicodedata.normalize("NFC", text[: MAX_QUERY_CHARS + 1]))
    try:
        tokens = _lex(text)
        must, must_not = _combine(tokens)
    except _SyntaxProblem:
        return _fallback(text)
    return _bounded(must, must_not, fallback=False)


def _capped(text: str) -> str:
    """Cut an over-long text at a space before the limit, with no dangling operator."""
    if len(text) <= MAX_QUERY_CHARS:
        return text
    cut = text[:MAX_QUERY_CHARS]
    space = cut.rfind(" ")
    if space > 0:
        cut = cut[:space].rstrip()
        while cut.endswith((" OR", " |")):
            cut = cut[: cut.rfind(" ")].rstrip()
    return cut


def plain_words(text: str) -> list[str]:
    """The lower-cased letter-and-digit runs of ``text`` (what the fallback searches for)."""
    return [w.lower() for w in _WORD.findall(unicodedata.normalize("NFC", text))]


# -- lexing -------------------------------------------------------------------------------


def _lex(text: str) -> list[_Token]:
    """Split the text into operands and ``OR`` markers."""
    tokens: list[_Token] = []
    pos, size = 0, len(text)
    while pos < size:
        char = text[pos]
        if char.isspace():
            pos += 1
            continue
        if char == "|":
            tokens.append(_OR)
            pos += 1
            continue
        end = _bare_end(text, pos)
        if text[pos:end] == _OR:
            tokens.append(_OR)
            pos = end
            continue
        negated = char == "-" and pos + 1 < size and not text[pos + 1].isspace()
        clause, pos = _operand(text, pos + 1 if negated else pos)
        tokens.append(_Unit(clause, negated))
    return tokens


def _operand(text: str, pos: int) -> tuple[Term | YearRange | None, int]:
    """Read one operand (phrase, field term, year range or word) starting at ``pos``."""
    if text[pos] == '"':
        words, pos = _phrase(text, pos)
        return _term(words, None, phrase=True), pos
    prefix = _PREFIX.match(text, pos)
    if prefix is not None:
        name = prefix.group(1).lower()
        after = prefix.end()
        if name in FIELD_ALIASES or name in YEAR_PREFIXES:
            if after >= len(text) or text[after].isspace() or text[after] == "|":
                raise _SyntaxProblem(f"{name}: has nothing after it")
            if name in YEAR_PREFIXES:
                end = _bare_end(text, after)
                return _year_range(text[after:end]), end
            if text[after] == '"':
                words, pos = _phrase(text, after)
                return _term(words, FIELD_ALIASES[name], phrase=True), pos
            end = _bare_end(text, after)
            return _term(plain_words(text[after:end]), FIELD_ALIASES[name]), end
    end = _bare_end(text, pos)
    return _term(plain_words(text[pos:end]), None), end


def _bare_end(text: str, pos: int) -> int:
    """Where an unquoted chunk starting at ``pos`` ends."""
    found = _BARE_END.search(text, pos)
    return found.start() if found else len(text)


def _phrase(text: str, pos: int) -> tuple[list[str], int]:
    """Read a quoted phrase whose opening quote is at ``pos``."""
    close = text.find('"', pos + 1)
    if close < 0:
        raise _SyntaxProblem("unbalanced quote")
    return plain_words(text[pos + 1 : close]), close + 1


def _term(words: list[str], field: str | None, *, phrase: bool = False) -> Term | None:
    """A Term from analysed words: None when there are none, a phrase when several."""
    if not words:
        return None
    return Term(" ".join(words), field, phrase=phrase or len(words) > 1)


def _year_range(spec: str) -> YearRange:
    """Read ``2019``, ``2019..2021``, ``..2005`` or ``2019..``."""
    match = _YEAR.fullmatch(spec)
    if match is None or (match.group(1) is None and match.group(3) is None):
        raise _SyntaxProblem(f"bad year range {spec!r}")
    start_text, dots, end_text = match.groups()
    start = int(start_text) if start_text else None
    end = int(end_text) if end_text else None
    if dots is None:
        if start is None or end is not None:  # "2019" is read as start; "..": handled above
            raise _SyntaxProblem(f"bad year range {spec!r}")
        return YearRange(start, start)
    if start is not None and end is not None and start > end:
        raise _SyntaxProblem(f"year range {spec!r} runs backwards")
    return YearRange(start, end)


# -- combining ----------------------------------------------------------------------------


def _combine(tokens: list[_Token]) -> tuple[list[Clause], list[Clause]]:
    """Group operands joined by OR into AnyOf chains; split into must and must_not."""
    # Punctuation-only operands stay in their chain (so "a OR * OR b" is "a OR b")
    # and are dropped below.
    units = tokens
    must: list[Clause] = []
    must_not: list[Clause] = []
    index = 0
    while index < len(units):
        unit = units[index]
        if isinstance(unit, str):
            raise _SyntaxProblem("OR with nothing before it")
        chain = [unit]
        while index + 1 < len(units) and units[index + 1] == _OR:
            following = units[index + 2] if index + 2 < len(units) else None
            if not isinstance(following, _Unit):
                raise _SyntaxProblem("OR with nothing after it")
            chain.append(following)
            index += 2
        index += 1
        if len(chain) > 1 and any(u.negated for u in chain):
            raise _SyntaxProblem("an excluded operand inside an OR chain")
        options = [u.clause for u in chain if u.clause is not None]
        if not options:
            continue
        target = must_not if chain[0].negated else must
        target.append(options[0] if len(options) == 1 else AnyOf(tuple(options)))
    return must, must_not


def _bounded(must: list[Clause], must_not: list[Clause], *, fallback: bool) -> ParsedQuery:
    """Apply the size limits: 16 options per chain, 32 terms in all, no duplicates."""
    budget = MAX_TERMS
    kept: tuple[list[Clause], list[Clause]] = ([], [])
    for source, target in ((must, kept[0]), (must_not, kept[1])):
        for clause in source:
            if budget <= 0:
                break
            if isinstance(clause, AnyOf):
                options = tuple(dict.fromkeys(clause.options))[: min(MAX_OR_OPTIONS, budget)]
                clause = options[0] if len(options) == 1 else AnyOf(options)
            if clause in target:
                continue
            budget -= len(clause.options) if isinstance(clause, AnyOf) else 1
            target.append(clause)
    return ParsedQuery(tuple(kept[0]), tuple(kept[1]), fallback=fallback)


def _fallback(text: str) -> ParsedQuery:
    """Read the text as plain words, leaving out OR operators and field prefixes."""
    cleaned = _PREFIX.sub(_drop_known_prefix, text)
    words = [w for w in _WORD.findall(cleaned) if w != _OR]
    must: list[Clause] = [Term(w.lower()) for w in words]
    return _bounded(must, [], fallback=True)


def _drop_known_prefix(match: re.Match[str]) -> str:
    """Blank out ``title:``, ``year:`` and the other known prefixes."""
    name = match.group(1).lower()
    return " " if name in FIELD_ALIASES or name in YEAR_PREFIXES else match.group(0)


def read_years(text: str) -> tuple[int | None, int | None] | None:
    """A year filter as the CLI's ``--year`` and the portal's ``year=`` take it:
    ``2019`` → (2019, 2019); ``2019..2021``, ``..2005`` and ``2019..`` → a range, as
    written (not reordered). None when ``text`` is no such filter."""
    match = _YEAR_FILTER.match(text)
    if not match or not (match.group(1) or match.group(3)):
        return None
    start = int(match.group(1)) if match.group(1) else None
    end = int(match.group(3)) if match.group(3) else None
    return (start, start) if match.group(2) is None else (start, end)
