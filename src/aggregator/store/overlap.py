"""Collection overlap for coordinated acquisition: works unique to a member, works two
members share, the most widely held works, and classes or subjects one member or none holds."""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Engine, select, text

from aggregator.store.db import connect, reader
from aggregator.store.models import Member, Record, Source

__all__ = ["CLASS_LEVELS", "MAX_AGE", "ClassHolding", "DuplicatedWork", "MemberOverlap",
           "Overlap", "OverlapFilters", "SubjectHolding", "class_of", "clear_cache",
           "collection_overlap", "counting"]

logger = logging.getLogger(__name__)

CLASS_LEVELS = ("hundreds", "tens")
MAX_AGE = 300.0  # seconds a cached result is served while the store seems unchanged
TOP_WORKS = 25  # most widely held works listed
TOP_SUBJECTS = 50  # subjects held by one member listed (most works first)
_FETCH = 20_000  # rows a cursor hands over at once
_CACHE_SIZE = 32
_NO_RECORD = 1 << 62  # above every record id
_MEMO = 200_000  # class numbers and subjects remembered (folded) before starting afresh
# The columns read, in cluster order. SQLite picks the year, classification and subjects
# out of the stored fields (parsing them once, in C) and hands them over as one short
# JSON array, ``[year, [[scheme, number], ...], [subject, ...]]``; PostgreSQL hands over
# the fields' text, which orjson parses quicker than the server's json operators or a
# cast to jsonb (1.3 s, 3 s and 5 s for 200,000 records).
_SCAN = {
    "sqlite": "SELECT id, cluster_id, source_id, work_type,"
              " json_extract(fields, '$.year', '$.classification', '$.subjects')"
              " FROM record WHERE deleted = 0 ORDER BY cluster_id",
    "postgresql": "SELECT id, cluster_id, source_id, work_type, fields::text"
                  " FROM record WHERE NOT deleted ORDER BY cluster_id",
}
# Cheap signs that the answer may have changed: the change counter (every record
# write), the clusters' change feed, and the members and sources.
_SIGNAL = text(
    "SELECT (SELECT max(value) FROM change_counter), (SELECT max(seq) FROM cluster_change),"
    " (SELECT count(*) FROM source), (SELECT coalesce(max(id), 0) FROM source),"
    " (SELECT count(*) FROM member WHERE status <> 'removed')")


@dataclass(frozen=True, slots=True)
class OverlapFilters:
    """Which works count: of one type, with a record dated within the years; and how
    finely classes are told apart (DDC hundreds or tens, UDC first digit or two)."""

    type: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    level: str = "hundreds"


@dataclass(frozen=True, slots=True)
class MemberOverlap:
    """One member's works (clusters with a live record of its sources) and those only it
    holds."""

    id: int
    slug: str
    name: str
    works: int
    unique: int

    @property
    def unique_percent(self) -> float:
        """The share of the member's works no other member holds, in percent."""
        return round(100.0 * self.unique / self.works, 1) if self.works else 0.0


@dataclass(frozen=True, slots=True)
class DuplicatedWork:
    """A work held by several members: a record of it (the lowest id) and its title."""

    record_id: int
    title: str
    holders: tuple[str, ...]  # member slugs
    records: int


@dataclass(frozen=True, slots=True)
class ClassHolding:
    """A top-level class (``("ddc", "300")``) with its works and the members holding it."""

    scheme: str
    code: str
    works: int
    holders: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SubjectHolding:
    """A subject (as first met) held by one member only."""

    subject: str
    works: int
    holder: str


@dataclass(frozen=True, slots=True)
class Overlap:
    """The overlap of the members' collections under ``filters``.

    ``matrix[i][j]`` is the number of works members ``i`` and ``j`` (in ``members``
    order) both hold; the diagonal holds each member's own works.
    """

    filters: OverlapFilters
    works: int
    members: tuple[MemberOverlap, ...]
    matrix: tuple[tuple[int, ...], ...]
    duplicated: tuple[DuplicatedWork, ...]
    classes: tuple[ClassHolding, ...]
    subjects: tuple[SubjectHolding, ...]
    computed_at: float = field(default_factory=time.time)

    @property
    def rare_classes(self) -> tuple[ClassHolding, ...]:
        """The classes held by exactly one member or by none."""
        return tuple(c for c in self.classes if len(c.holders) <= 1)


def class_of(scheme: str, number: str, level: str = "hundreds") -> str | None:
    """The top-level class of a class number: DDC ``372.21`` → ``300`` (``370`` at
    ``tens``); UDC ``37:004.9`` → ``3`` (``37``); ``None`` for other schemes and
    numbers that do not start with digits."""
    digits = level == "tens"
    if scheme == "ddc":
        if len(number) < 3 or not number[:3].isdigit():
            return None
        return number[:2] + "0" if digits else number[0] + "00"
    if scheme == "udc":
        head = number[:2] if digits else number[:1]
        return head if head.isdigit() and len(head) == (2 if digits else 1) else None
    return None


def _all_classes(scheme: str, level: str) -> list[str]:
    if scheme == "ddc":
        return [f"{n:03d}" for n in range(0, 1000, 10 if level == "tens" else 100)]
    if level == "tens":
        return [f"{n:02d}" for n in range(100)]
    return [str(n) for n in range(10) if n != 4]  # UDC class 4 is vacant


_LOCK = threading.Lock()
_CACHE: dict[tuple[str, OverlapFilters], tuple[tuple[Any, ...], float, Overlap]] = {}
_GATES: dict[tuple[str, OverlapFilters], threading.Lock] = {}


def clear_cache() -> None:
    """Forget every cached result."""
    with _LOCK:
        _CACHE.clear()
        _GATES.clear()


def collection_overlap(engine: Engine, filters: OverlapFilters | None = None, *,
                       max_age: float = MAX_AGE, stale_ok: bool = False) -> Overlap:
    """The overlap under ``filters``, from the cache while the store shows no change and
    the result is younger than ``max_age`` seconds, else in one pass over the live
    records in cluster order.

    With ``stale_ok`` (the pages), an outdated cached result is answered at once while a
    thread counts again; only a question never asked before waits for its count.

    A work is a cluster (a live record not clustered is a work of its own); a member
    holds it when a live record of one of its sources is in it. A work counts when one
    of its records has the type, and one is dated within the years.
    """
    filters = filters or OverlapFilters()
    key = (str(engine.url), filters)
    with connect(reader(engine)) as conn:
        signal = tuple(conn.execute(_SIGNAL).one())
    with _LOCK:
        if len(_GATES) > 4 * _CACHE_SIZE:  # forget the idle ones
            for idle in [k for k, lock in _GATES.items() if not lock.locked()]:
                del _GATES[idle]
        gate = _GATES.setdefault(key, threading.Lock())
        hit = _CACHE.get(key)
    if _fresh(hit, signal, max_age):
        return hit[2]  # type: ignore[index]
    if stale_ok and hit is not None:
        if gate.acquire(blocking=False):  # nobody counts yet: count in the background
            threading.Thread(target=_count_in_background, args=(engine, filters, gate),
                             name="overlap-count", daemon=True).start()
        return hit[2]
    with gate:  # the same question asked twice at once is answered once
        with _LOCK:
            hit = _CACHE.get(key)
        if _fresh(hit, signal, max_age):
            return hit[2]  # type: ignore[index]
        return _count(engine, filters)


def counting(engine: Engine, filters: OverlapFilters | None = None) -> bool:
    """Whether the overlap under ``filters`` is being counted now."""
    with _LOCK:
        gate = _GATES.get((str(engine.url), filters or OverlapFilters()))
    return gate is not None and gate.locked()


def _fresh(hit: tuple[tuple[Any, ...], float, Overlap] | None, signal: tuple[Any, ...],
           max_age: float) -> bool:
    return hit is not None and hit[0] == signal and time.monotonic() - hit[1] < max_age


def _count(engine: Engine, filters: OverlapFilters) -> Overlap:
    """Count and cache (the caller holds the question's gate)."""
    with connect(reader(engine)) as conn:  # read before counting: a change meanwhile is
        signal = tuple(conn.execute(_SIGNAL).one())  # seen by the next question
    now = time.monotonic()
    result = _compute(engine, filters)
    with _LOCK:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(min(_CACHE, key=lambda k: _CACHE[k][1]))
        _CACHE[(str(engine.url), filters)] = (signal, now, result)
    return result


def _count_in_background(engine: Engine, filters: OverlapFilters,
                         gate: threading.Lock) -> None:
    try:
        _count(engine, filters)
    except Exception:  # the stale figures stay; the next view tries again
        logger.exception("collection overlap: counting again failed")
    finally:
        gate.release()


def _rows(engine: Engine) -> Iterator[tuple[Any, ...]]:
    """The live records' columns in cluster order, through a raw (server-side on
    PostgreSQL) cursor, a batch at a time."""
    raw = engine.raw_connection()
    try:
        dialect = engine.dialect.name
        if dialect == "postgresql":
            cursor = raw.driver_connection.cursor(name="overlap")  # type: ignore[union-attr]
            cursor.itersize = _FETCH
        else:
            cursor = raw.cursor()
        try:
            cursor.execute(_SCAN["postgresql" if dialect == "postgresql" else "sqlite"])
            while batch := cursor.fetchmany(_FETCH):
                yield from batch
        finally:
            cursor.close()
            if dialect == "postgresql":
                raw.rollback()
    finally:
        raw.close()


@dataclass(slots=True)
class _Tally:
    """Running counts of one pass: works by the set of members holding them (a bit mask),
    the most widely held, and the members holding each class and subject."""

    size: int
    works: dict[int, int] = field(default_factory=dict)
    top: list[tuple[int, int, int, int]] = field(default_factory=list)
    class_mask: dict[tuple[str, str], int] = field(default_factory=dict)
    class_works: dict[tuple[str, str], int] = field(default_factory=dict)
    subject_mask: dict[str, int] = field(default_factory=dict)
    subject_works: dict[str, int] = field(default_factory=dict)
    subject_shown: dict[str, str] = field(default_factory=dict)
    bits: dict[int, tuple[int, ...]] = field(default_factory=dict)

    def holders(self, mask: int) -> tuple[int, ...]:
        """The member positions in ``mask``."""
        found = self.bits.get(mask)
        if found is None:
            found = tuple(i for i in range(self.size) if mask >> i & 1)
            self.bits[mask] = found
        return found

    def add(self, mask: int, records: int, first: int, classes: set[tuple[str, str]],
            subjects: dict[str, str]) -> None:
        """Count one work."""
        works = self.works
        works[mask] = works.get(mask, 0) + 1
        if mask & (mask - 1):  # more than one member
            entry = (mask.bit_count(), records, -first, mask)
            if len(self.top) < TOP_WORKS:
                heapq.heappush(self.top, entry)
            elif entry > self.top[0]:
                heapq.heapreplace(self.top, entry)
        for cls in classes:
            self.class_mask[cls] = self.class_mask.get(cls, 0) | mask
            self.class_works[cls] = self.class_works.get(cls, 0) + 1
        for folded, shown in subjects.items():
            self.subject_mask[folded] = self.subject_mask.get(folded, 0) | mask
            self.subject_works[folded] = self.subject_works.get(folded, 0) + 1
            if folded not in self.subject_shown:
                self.subject_shown[folded] = shown

    def counts(self) -> tuple[list[int], list[int], list[list[int]]]:
        """Each member's works, its unique works, and the works each pair shares."""
        own, unique = [0] * self.size, [0] * self.size
        pairs = [[0] * self.size for _ in range(self.size)]
        for mask, n in self.works.items():
            held = self.holders(mask)
            for i in held:
                own[i] += n
                for j in held:
                    if i != j:
                        pairs[i][j] += n
            if len(held) == 1:
                unique[held[0]] += n
        return own, unique, pairs


def _compute(engine: Engine, filters: OverlapFilters) -> Overlap:
    with connect(reader(engine)) as conn:
        members = conn.execute(select(Member.id, Member.slug, Member.name)
                               .where(Member.status != "removed")
                               .order_by(Member.name, Member.id)).all()
        index = {m.id: i for i, m in enumerate(members)}
        source_bit = {sid: 1 << index[mid] for sid, mid in conn.execute(
            select(Source.id, Source.member_id)) if mid in index}
    tally = _Tally(len(members))
    lo = filters.year_from if filters.year_from is not None else -10**9
    hi = filters.year_to if filters.year_to is not None else 10**9
    any_year = filters.year_from is None and filters.year_to is None
    wanted_type, level = filters.type, filters.level
    top_class: dict[tuple[str, str], tuple[str, str] | None] = {}
    folds: dict[str, str] = {}
    loads = orjson.loads
    whole = engine.dialect.name == "postgresql"  # the whole fields, not three values
    current: Any = object()
    mask = records = 0
    first = _NO_RECORD
    typed = dated = False
    classes: set[tuple[str, str]] = set()
    subjects: dict[str, str] = {}
    for rid, cluster_id, source_id, work_type, extra in _rows(engine):
        if cluster_id is None or cluster_id != current:
            if mask and typed and dated:
                tally.add(mask, records, first, classes, subjects)
            current = cluster_id
            mask = records = 0
            first = _NO_RECORD
            typed, dated = wanted_type is None, any_year
            classes, subjects = set(), {}
            if len(folds) > _MEMO or len(top_class) > _MEMO:
                folds.clear()
                top_class.clear()
        bit = source_bit.get(source_id)
        if bit is None:
            continue
        mask |= bit
        records += 1
        if rid < first:
            first = rid
        if not typed and work_type == wanted_type:
            typed = True
        if extra is None:
            continue
        values = loads(extra)
        if whole:
            if not isinstance(values, dict):  # a JSON null
                continue
            year, classification, subject_list = (
                values.get("year"), values.get("classification"), values.get("subjects"))
        else:
            year, classification, subject_list = values
        if not dated and year is not None:
            dated = lo <= year <= hi
        for scheme, number in classification or ():
            pair = (scheme, number)
            if pair in top_class:
                cls = top_class[pair]
            else:
                top = class_of(scheme, number, level)
                cls = top_class[pair] = None if top is None else (scheme, top)
            if cls is not None:
                classes.add(cls)
        for subject in subject_list or ():
            folded = folds.get(subject)
            if folded is None:
                folded = folds[subject] = " ".join(str(subject).casefold().split())
            if folded and folded not in subjects:
                subjects[folded] = subject.strip()
    if mask and typed and dated:
        tally.add(mask, records, first, classes, subjects)
    return _result(engine, filters, members, tally)


def _result(engine: Engine, filters: OverlapFilters, members: Sequence[Any],
            tally: _Tally) -> Overlap:
    slugs = [m.slug for m in members]
    own, unique, pairs = tally.counts()
    matrix = tuple(tuple(own[i] if i == j else pairs[i][j] for j in range(len(members)))
                   for i in range(len(members)))
    ranked = sorted(tally.top, reverse=True)
    titles = _titles(engine, [-first for _, _, first, _ in ranked])
    duplicated = tuple(
        DuplicatedWork(-first, titles.get(-first, ""),
                       tuple(slugs[i] for i in tally.holders(mask)), records)
        for _, records, first, mask in ranked)
    schemes = ["ddc"] + (["udc"] if any(s == "udc" for s, _ in tally.class_mask) else [])
    classes = tuple(
        ClassHolding(scheme, code, tally.class_works.get((scheme, code), 0),
                     tuple(slugs[i] for i in tally.holders(
                         tally.class_mask.get((scheme, code), 0))))
        for scheme in schemes for code in _all_classes(scheme, filters.level))
    single = [(folded, works) for folded, works in tally.subject_works.items()
              if len(tally.holders(tally.subject_mask[folded])) == 1]
    single.sort(key=lambda pair: (-pair[1], pair[0]))
    subjects = tuple(SubjectHolding(tally.subject_shown[folded], works,
                                    slugs[tally.holders(tally.subject_mask[folded])[0]])
                     for folded, works in single[:TOP_SUBJECTS])
    return Overlap(
        filters=filters, works=sum(tally.works.values()),
        members=tuple(MemberOverlap(m.id, m.slug, m.name, own[i], unique[i])
                      for i, m in enumerate(members)),
        matrix=matrix, duplicated=duplicated, classes=classes, subjects=subjects)


def _titles(engine: Engine, ids: list[int]) -> dict[int, str]:
    """The titles of a few records, by id."""
    if not ids:
        return {}
    out = {}
    with connect(reader(engine)) as conn:
        for rid, fields in conn.execute(select(Record.id, Record.fields)
                                        .where(Record.id.in_(ids))):
            if isinstance(fields, str):
                fields = orjson.loads(fields)
            out[rid] = str((fields or {}).get("title") or "")
    return out
