"""Duplicate detection across members: the same-work rule and clustering by block."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import replace

from rapidfuzz import fuzz

from aggregator.cluster.keys import MatchKeys, block_keys, type_kind

# Blocks with more members than this are not compared all-pairs; each member is compared
# with the next WINDOW members in (title, year, id) order instead (sorted neighbourhood),
# which keeps a giant block (a common title, a proceedings ISBN) linear in its size.
WINDOW = 20
_PERIODIC = frozenset({"laporan", "report", "tahunan", "annual", "profil", "statistik",
                       "angka", "rencana", "anggaran", "prosiding", "proceedings", "buletin",
                       "bulletin", "yearbook"})
_PART_TYPES = frozenset({"article", "conference paper", "book chapter"})
# A source holding more records than this under one DOI or ISBN uses it for something
# other than the work (an OJS journal's DOI prefix on every article, a SLiMS series ISBN
# on every book of the series): it stops counting as a match key for that source. A
# source may rightly hold a few records of one identifier (a record catalogued twice,
# the volumes of a set); a misused one is on dozens. A count rather than a share of the
# source, so it holds from the first page of a harvest as well as for the whole store.
IDENTIFIER_LIMIT = 3
# Titles of two records sharing a DOI must agree this well (``ratio`` of the full
# titles, or of the main titles when the subtitles differ or one is missing).
DOI_TITLE_RATIO = 85
_IDENTIFIER_KEYS = ("doi:", "isbn:")


def _numbers_clash(a: MatchKeys, b: MatchKeys) -> bool:
    return bool(a.numbers) and bool(b.numbers) and a.numbers != b.numbers


def _titles_similar(a: MatchKeys, b: MatchKeys) -> bool:
    """Whether two titles read as one, per the thresholds in :func:`same_work`."""
    if len(a.words) < 3 or len(b.words) < 3 or _numbers_clash(a, b):
        return False
    if fuzz.ratio(a.full_title, b.full_title, score_cutoff=92):
        return True
    if fuzz.token_sort_ratio(a.full_title, b.full_title, score_cutoff=95):
        return True
    one_lacks_subtitle = a.title == a.full_title or b.title == b.full_title
    return (one_lacks_subtitle and a.main_words >= 3 and b.main_words >= 3
            and bool(fuzz.ratio(a.title, b.title, score_cutoff=95)))


def _titles_agree(a: MatchKeys, b: MatchKeys) -> bool:
    """Whether two records' titles allow a shared DOI to name one work: equal after
    folding or close (case, punctuation, a typo), or the same main title with a
    subtitle differing or left out. A record without a title cannot disagree."""
    if not a.full_title or not b.full_title:
        return True
    if fuzz.ratio(a.full_title, b.full_title, score_cutoff=DOI_TITLE_RATIO):
        return True
    return bool(a.title) and bool(b.title) and bool(
        fuzz.ratio(a.title, b.title, score_cutoff=95))


def overused(filed: Iterable[tuple[str, int, int]]) -> dict[int, frozenset[str]]:
    """The identifier keys each record may not match on, from the block keys filed.

    Args:
        filed: (block key, record id, source id) for every record filed under the keys
            in question (each key's whole list: the counts must be complete).

    Returns:
        Record id → its ``doi:`` and ``isbn:`` keys that more than ``IDENTIFIER_LIMIT``
        records of its own source carry; records without such keys are left out.
    """
    rows = [(key, rid, sid) for key, rid, sid in filed if key.startswith(_IDENTIFIER_KEYS)]
    counts = Counter((key, sid) for key, _, sid in rows)
    bad: defaultdict[int, set[str]] = defaultdict(set)
    for key, rid, sid in rows:
        if counts[key, sid] > IDENTIFIER_LIMIT:
            bad[rid].add(key)
    return {rid: frozenset(keys) for rid, keys in bad.items()}


def without(keys: MatchKeys, bad: Collection[str]) -> MatchKeys:
    """``keys`` without the DOIs and ISBNs named by the block keys ``bad``."""
    if not bad:
        return keys
    return replace(keys, dois=tuple(d for d in keys.dois if f"doi:{d}" not in bad),
                   isbns=tuple(i for i in keys.isbns if f"isbn:{i}" not in bad))


def _surnames_agree(a: str, b: str) -> bool:
    return a == b or (bool(a) and bool(b) and bool(fuzz.ratio(a, b, score_cutoff=85)))


def same_work(a: MatchKeys, b: MatchKeys) -> bool:
    """Decide whether two records describe the same work.

    Vetoes first, whatever else agrees: both types known and different ("Other" counts
    as unknown; Thesis and Dissertation differ); one title reads as a review and the
    other does not. Then, in order:

    1. A shared DOI: the same work when the titles agree (a DOI names one work, but
       real records carry a journal's DOI or a DOI prefix: the full titles' ``ratio``
       ≥ 85, or the main titles' ≥ 95, or a title missing); years may differ, as a
       repository deposit is often dated years after publication. A DOI or ISBN more
       than ``IDENTIFIER_LIMIT`` records of one source carry is not offered here for
       that source's records (see :func:`overused` and :func:`without`).
    2. Years known on both sides and more than 2 apart: different (editions, reprints).
    3. A shared ISBN: the same work, unless both titles carry numbers that differ
       ("Jilid 1" and "Jilid 2" of a set). For Article, Conference paper and Book
       chapter records the ISBN names the container (the proceedings), so the titles
       must be similar as in rule 5; for others the main titles must not be unrelated
       (``token_set_ratio`` ≥ 70, or a title missing).
    4. A shared ISSN: for two Journal records, the same work; otherwise the ISSN names
       the journal, so the same work only when the titles are similar as in rule 5.
    5. Title, creator and year: titles similar, first-creator surnames equal or similar
       (``ratio`` ≥ 85) or both missing, and years at most 1 apart (or one missing);
       the same year exactly when both surnames are missing or a title has a word of
       recurring publications ("laporan", "tahunan", "statistik", "prosiding", …).
       Titles are similar when both have three significant words or more (shorter
       titles such as "Proceedings" or "Laporan Tahunan 2019" never match on the title
       alone), their numbers do not clash, and ``ratio`` of the full titles is ≥ 92, or
       ``token_sort_ratio`` ≥ 95 (words reordered), or one record has no subtitle and
       ``ratio`` of the main titles (three significant words or more) is ≥ 95.

    Args:
        a: one record's match keys.
        b: the other's.

    Returns:
        True when the two belong in one cluster.
    """
    return _same_work(a, b, type_kind(a.type), type_kind(b.type))


def _same_work(a: MatchKeys, b: MatchKeys, kind_a: str | None, kind_b: str | None) -> bool:
    """:func:`same_work` with both records' :func:`type_kind` already known."""
    if (kind_a is not None and kind_b is not None and kind_a != kind_b) or a.review != b.review:
        return False
    if a.dois and b.dois and not set(a.dois).isdisjoint(b.dois):
        return _titles_agree(a, b)
    if a.year is not None and b.year is not None and abs(a.year - b.year) > 2:
        return False
    if a.isbns and b.isbns and not set(a.isbns).isdisjoint(b.isbns):
        if _numbers_clash(a, b):
            return False
        if kind_a in _PART_TYPES or kind_b in _PART_TYPES:
            return _titles_similar(a, b)
        return (not a.title or not b.title
                or bool(fuzz.token_set_ratio(a.title, b.title, score_cutoff=70)))
    if a.issns and b.issns and not set(a.issns).isdisjoint(b.issns):
        return (kind_a == kind_b == "journal") or _titles_similar(a, b)
    if a.year is not None and b.year is not None and a.year != b.year:
        periodic = not (_PERIODIC.isdisjoint(a.words) and _PERIODIC.isdisjoint(b.words))
        if abs(a.year - b.year) > 1 or not a.surname or periodic:
            return False
    return _surnames_agree(a.surname, b.surname) and _titles_similar(a, b)


def _find(parent: dict[int, int], item: int) -> int:
    while parent[item] != item:
        parent[item] = parent[parent[item]]  # path halving
        item = parent[item]
    return item


def cluster_records(items: Iterable[tuple[int, MatchKeys]]) -> dict[int, int]:
    """Cluster records in memory (an index rebuild): record id → cluster id.

    Records are filed under their :func:`block_keys`; pairs within a block are tested
    with :func:`same_work` and joined with union-find, so clusters are the connected
    components (A~B and B~C put A, B, C together). Blocks of up to ``WINDOW + 1``
    records are compared all-pairs (at most 210 comparisons); larger blocks compare each
    record with the next ``WINDOW`` records in (title, year, id) order, which bounds the
    work per block. The result does not depend on the input order.

    Args:
        items: (record id, match keys) pairs; ids must be unique (a repeated id keeps
            its last keys).

    Returns:
        Every record id mapped to its cluster id, the smallest record id in its cluster.
    """
    records = dict(items)
    return cluster_blocks(records, file_blocks(records))


def file_blocks(records: dict[int, MatchKeys]) -> dict[str, list[int]]:
    """Block key → the ids of the records filed under it (in ``records`` order)."""
    blocks: defaultdict[str, list[int]] = defaultdict(list)
    for record_id, keys in records.items():
        for key in block_keys(keys):
            blocks[key].append(record_id)
    return blocks


def cluster_blocks(records: dict[int, MatchKeys],
                   blocks: dict[str, list[int]]) -> dict[int, int]:
    """:func:`cluster_records` over blocks already filed (:func:`file_blocks`); sorts
    each block's list in place."""
    parent = {record_id: record_id for record_id in records}
    # same_work's first veto (two known, different types) tested here, once per record
    # rather than twice per pair: most pairs in a block stop at it.
    kinds = {record_id: type_kind(keys.type) for record_id, keys in records.items()}
    for members in blocks.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda r: (records[r].full_title, records[r].year or 0, r))
        span = len(members) if len(members) <= WINDOW + 1 else WINDOW + 1
        for i, left in enumerate(members):
            kind, keys = kinds[left], records[left]
            year = keys.year
            for right in members[i + 1:i + span]:
                other = kinds[right]
                if kind is not None and other is not None and kind != other:
                    continue
                right_keys = records[right]
                # most pairs of a big block are years apart: same_work's rule 2, unless a
                # DOI is shared (rule 1), decided here without the call
                if (year is not None and right_keys.year is not None
                        and abs(year - right_keys.year) > 2
                        and not (keys.dois and right_keys.dois)):
                    continue
                root_left, root_right = _find(parent, left), _find(parent, right)
                if root_left != root_right and _same_work(keys, right_keys, kind, other):
                    if root_left < root_right:
                        parent[root_right] = root_left
                    else:
                        parent[root_left] = root_right
    return {record_id: _find(parent, record_id) for record_id in records}
