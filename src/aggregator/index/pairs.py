"""Pairs of common words, indexed as single terms so that their phrases are cheap.

A phrase of two words is found by intersecting the two words' documents and then
checking their positions in each. For two very common words ("sistem informasi",
"pendidikan karakter") that means checking most of a large index: at a million records
such a phrase took 60–110 ms. Indexing each adjacent pair of *common* words as one term
(the common-grams technique of large library catalogues) turns that phrase into a
single term lookup. Pairs with a rarer word are not indexed: the rare word's short
posting list already makes their phrase cheap.

Which words are common is learnt once per index from a sample of the catalogue and
kept with the index (:func:`save_common`), so that documents added later and queries
use the same list.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

COMMON_FILE = "common-words.json"
COMMON_SHARE = 0.05  # a word in at least this share of the sampled works is common
MAX_COMMON = 300
MIN_SAMPLE = 1000  # fewer works than this: no word is called common
SUFFIX = "_pairs"  # the pair field of text field ``title`` is ``title_pairs``
# The text fields whose common pairs are indexed: where phrases of common words are
# looked for, and long enough for their positions to cost. In names, publishers and
# identifiers the common words of titles and abstracts are rare, so their phrases stay
# cheap with positions.
PAIR_FIELDS = ("title", "other_titles", "subjects", "abstract")

Analyze = Callable[[str], Sequence[str]]


def pair_field(field: str) -> str:
    """The name of the field holding the common pairs of text field ``field``."""
    return field + SUFFIX


def learn_common(works: Iterable[Iterable[str]], analyze: Analyze) -> frozenset[str]:
    """The common words of a sample of works (each given as its text values): those in
    at least COMMON_SHARE of the works, the MAX_COMMON most frequent at most; none when
    the sample is smaller than MIN_SAMPLE works."""
    seen: Counter[str] = Counter()
    total = 0
    for texts in works:
        total += 1
        seen.update({word for text in texts for word in analyze(text)})
    if total < MIN_SAMPLE:
        return frozenset()
    least = COMMON_SHARE * total
    ranked = sorted(seen.items(), key=lambda item: (-item[1], item[0]))
    return frozenset(word for word, count in ranked[:MAX_COMMON] if count >= least)


def pairs(words: Sequence[str], common: frozenset[str]) -> list[str]:
    """The terms of the adjacent pairs of common words in ``words`` (one field value's
    analysed words), as ``"first second"``."""
    out: list[str] = []
    before = None  # the previous word, when it is common
    for word in words:
        if word in common:
            if before is not None:
                out.append(before + " " + word)
            before = word
        else:
            before = None
    return out


def save_common(folder: Path, common: frozenset[str]) -> None:
    """Keep the common words with the index in ``folder``."""
    (folder / COMMON_FILE).write_text(json.dumps(sorted(common), ensure_ascii=False),
                                      encoding="utf-8")


def load_common(folder: Path) -> frozenset[str]:
    """The common words kept with the index in ``folder`` (none if it has none)."""
    try:  # none, or unreadable: phrases are still found, by positions
        words = json.loads((folder / COMMON_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()
    if not isinstance(words, list):
        return frozenset()
    return frozenset(word for word in words if isinstance(word, str))
