"""Highlighted snippets: the best window of a field, HTML-escaped, with matches in <mark>."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

ELLIPSIS = "…"
MIN_CHARS = 20
# How much text to keep before the first match of the chosen window.
LEAD_CHARS = 30

_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Lower-case ``text`` and strip its diacritics (``Café`` → ``cafe``)."""
    if text.isascii():  # most harvested text: nothing to decompose
        return text.lower()
    return _fold_unicode(text)


@lru_cache(maxsize=65536)  # words repeat across hits and pages
def _fold_unicode(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def highlight(text: str, terms: Iterable[str], *, max_chars: int = 240) -> str:
    """An HTML snippet of ``text`` around the query terms.

    The window of at most ``max_chars`` characters with the most matching words is
    chosen; a word matches when its folded form starts with a folded query word (so
    ``pendidik`` marks ``Pendidikan`` and ``cafe`` marks ``Café``). Every character of
    ``text`` is HTML-escaped before the ``<mark>`` tags are put around the matched
    words, so the snippet carries no markup but ours. An ellipsis marks a cut end.

    Args:
        text: the field as harvested (untrusted).
        terms: query words or phrases; phrases count as their separate words.
        max_chars: the longest snippet, not counting the ellipses (at least 20).

    Returns:
        Escaped HTML safe to place in element content; without marks when nothing
        matched (then the snippet is the start of the text).
    """
    limit = max(MIN_CHARS, max_chars)
    text = " ".join(unicodedata.normalize("NFC", text).split())
    needles = _needles(terms)
    matches = _find(text, needles)
    start, end = _window(text, matches, limit)
    parts = [ELLIPSIS] if start > 0 else []
    cursor = start
    for left, right in matches:
        if left < start or right > end:
            continue
        parts.append(html.escape(text[cursor:left]))
        parts.append(f"<mark>{html.escape(text[left:right])}</mark>")
        cursor = right
    parts.append(html.escape(text[cursor:end]))
    if end < len(text):
        parts.append(ELLIPSIS)
    return "".join(parts)


def _needles(terms: Iterable[str]) -> tuple[str, ...]:
    """The distinct folded words of the query terms."""
    words: dict[str, None] = {}
    for term in terms:
        for word in _WORD.findall(fold(term)):
            words[word] = None
    return tuple(words)


def _find(text: str, needles: tuple[str, ...]) -> list[tuple[int, int]]:
    """Spans of the words of ``text`` whose folded form starts with a needle."""
    if not needles:
        return []
    if text.isascii():  # lower-casing keeps every offset: one regex pass finds them all
        return [m.span() for m in _needle_pattern(needles).finditer(text.lower())]
    return [m.span() for m in _WORD.finditer(text) if fold(m.group()).startswith(needles)]


@lru_cache(maxsize=1024)
def _needle_pattern(needles: tuple[str, ...]) -> re.Pattern[str]:
    """A word that starts with one of ``needles`` (ASCII text, already lower case)."""
    alternatives = "|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True))
    return re.compile(rf"(?<![^\W_])(?:{alternatives})[^\W_]*")


def _window(text: str, matches: list[tuple[int, int]], limit: int) -> tuple[int, int]:
    """The [start, end) slice of ``text`` to show: at most ``limit`` characters."""
    if len(text) <= limit:
        return 0, len(text)
    if not matches:
        return 0, _snap_end(text, limit)
    best_first, best_count = 0, 0
    last = 0
    for first, (left, _) in enumerate(matches):
        # Advance ``last`` to the last match that still fits in a window opening at ``left``.
        last = max(last, first)
        while last + 1 < len(matches) and matches[last + 1][1] - left <= limit:
            last += 1
        if last - first + 1 > best_count:
            best_first, best_count = first, last - first + 1
    anchor = matches[best_first][0]
    covered_end = matches[best_first + best_count - 1][1]
    # Keep some lead-in text, but never at the cost of a match in the window.
    spare = limit - (covered_end - anchor)
    start = _snap_start(text, max(0, anchor - min(LEAD_CHARS, spare)), anchor)
    end = _snap_end(text, min(len(text), start + limit), start)
    return start, max(end, min(covered_end, start + limit))


def _snap_start(text: str, start: int, anchor: int) -> int:
    """Move ``start`` forward to the beginning of a word (no further than ``anchor``)."""
    if start == 0 or text[start - 1] == " ":
        return start
    space = text.find(" ", start, anchor)
    return anchor if space < 0 else space + 1


def _snap_end(text: str, end: int, start: int = 0) -> int:
    """Move ``end`` back so that no word is cut, unless that would empty the window."""
    if end >= len(text) or text[end] == " ":
        return end
    space = text.rfind(" ", start, end)
    return end if space <= start else space
