"""The portal's reads from the store, returned as plain frozen dataclasses."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, Row, Select, Subquery, func, select
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from aggregator.normalize import Fields, normalize
from aggregator.store.db import connect, reader
from aggregator.store.models import HarvestRun, Member, Record, Source
from aggregator.store.runs import as_utc

logger = logging.getLogger(__name__)

MAX_RECORD_ID = 2**62
MAX_COPIES = 200
"""At most this many copies are listed per record (a runaway cluster stays cheap)."""
MAX_RECENT = 100
_CHUNK = 500  # ids per IN (...) list, well under SQLite's bound-parameter limit


@dataclass(frozen=True, slots=True)
class MemberCard:
    """One member in the directory, with how much it holds and when it was last harvested."""

    slug: str
    name: str
    initials: str
    homepage: str | None
    logo: str | None
    city: str | None
    province: str | None
    kind: str | None
    records: int
    last_harvest: datetime | None


@dataclass(frozen=True, slots=True)
class SourceCard:
    """One OAI-PMH source of a member, with its live records and latest run outcome."""

    id: int
    base_url: str
    metadata_prefix: str
    set_spec: str
    repository_name: str | None
    status: str
    records: int
    last_success_at: datetime | None
    last_run_status: str | None


@dataclass(frozen=True, slots=True)
class MemberPage:
    """A member's own page: its card, its (not removed) sources and its contact."""

    card: MemberCard
    sources: tuple[SourceCard, ...]
    contact: str | None


@dataclass(frozen=True, slots=True)
class Copy:
    """One member's copy of a work (a live record of the same cluster)."""

    record_id: int
    member_slug: str
    member_name: str
    title: str | None
    link: str | None


@dataclass(frozen=True, slots=True)
class RecordPage:
    """Everything the record page shows; ``deleted`` records are shown as withdrawn."""

    record_id: int
    identifier: str
    datestamp: str | None
    deleted: bool
    metadata_prefix: str
    metadata_xml: bytes | None
    member_slug: str
    member_name: str
    member_homepage: str | None
    source_base_url: str
    cluster_id: int | None
    first_seen: datetime
    last_changed: datetime
    fields: Fields
    copies: tuple[Copy, ...]


@dataclass(frozen=True, slots=True)
class RecentRecord:
    """A newly harvested live record for the front page."""

    record_id: int
    title: str | None
    creators: tuple[str, ...]
    year: int | None
    member_slug: str
    member_name: str
    first_seen: datetime


@dataclass(frozen=True, slots=True)
class Totals:
    """The network's size: active members, live records, active sources."""

    members: int
    records: int
    sources: int


def initials(name: str) -> str:
    """The first letters of a name's first two words that hold letters, uppercased.

    ``"Universitas Gadjah Mada"`` gives ``"UG"``; a name without letters gives ``"?"``.
    """
    found: list[str] = []
    for word in name.split():
        letter = next((ch for ch in word if ch.isalpha()), None)
        if letter is not None:
            found.append(letter.upper()[0])  # "ß".upper() is "SS": keep one letter
        if len(found) == 2:
            break
    return "".join(found) or "?"


def http_url(value: str | None) -> str | None:
    """Return ``value`` stripped when it is an http(s) URL with a host, else ``None``."""
    if not value:
        return None
    url = value.strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. a malformed IPv6 literal
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or any(
            ch.isspace() or ord(ch) < 32 for ch in url):
        return None
    return url


def member_cards(engine: Engine) -> list[MemberCard]:
    """The active members sorted by name (case-insensitive), counted in one statement."""
    with connect(reader(engine)) as conn:
        rows = conn.execute(_card_stmt().where(Member.status == "active")).all()
    return sorted((_card(row) for row in rows), key=lambda c: (c.name.casefold(), c.slug))


def member_page(engine: Engine, slug: str) -> MemberPage | None:
    """A member's page, or ``None`` for an unknown or removed member."""
    if not isinstance(slug, str) or not 0 < len(slug) <= 64:
        return None
    live = _live_counts(Record.source_id)
    latest = (select(HarvestRun.source_id, func.max(HarvestRun.id).label("run_id"))
              .group_by(HarvestRun.source_id).subquery())
    with connect(reader(engine)) as conn:
        row = conn.execute(_card_stmt().where(Member.slug == slug,
                                              Member.status != "removed")).first()
        if row is None:
            return None
        sources = conn.execute(
            select(Source.id, Source.base_url, Source.metadata_prefix, Source.set_spec,
                   Source.repository_name, Source.status, func.coalesce(live.c.n, 0),
                   Source.last_success_at, HarvestRun.status)
            .join(Member, Member.id == Source.member_id)
            .outerjoin(live, live.c.key == Source.id)
            .outerjoin(latest, latest.c.source_id == Source.id)
            .outerjoin(HarvestRun, HarvestRun.id == latest.c.run_id)
            .where(Member.slug == slug, Source.status != "removed")
            .order_by(Source.id)).all()
    cards = tuple(SourceCard(
        id=sid, base_url=url, metadata_prefix=prefix, set_spec=set_spec,
        repository_name=repo, status=status, records=int(n), last_success_at=as_utc(at),
        last_run_status=run_status)
        for sid, url, prefix, set_spec, repo, status, n, at, run_status in sources)
    return MemberPage(card=_card(row), sources=cards, contact=row.contact)


def member_names(engine: Engine) -> dict[str, str]:
    """Every member's name by slug, removed members included (to label facet values)."""
    with connect(reader(engine)) as conn:
        return {slug: name for slug, name in conn.execute(select(Member.slug, Member.name))}


def record_page(engine: Engine, record_id: int) -> RecordPage | None:
    """One record with its fields and copies, or ``None`` for an unknown or bad id."""
    pages = record_pages(engine, [record_id])
    return pages[0] if pages else None


def record_pages(engine: Engine, record_ids: Sequence[int]) -> list[RecordPage]:
    """Several records in the order given (repeats and unknown ids left out).

    Two statements per 500 ids: the records, then the live records of their clusters.
    """
    wanted = list(dict.fromkeys(i for i in record_ids if isinstance(i, int)
                                and not isinstance(i, bool) and 0 < i <= MAX_RECORD_ID))
    if not wanted:
        return []
    found: dict[int, RecordPage] = {}
    with connect(reader(engine)) as conn:
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start:start + _CHUNK]
            rows = conn.execute(_record_stmt().where(Record.id.in_(chunk))).all()
            copies = _copies(conn, {r.cluster_id for r in rows if r.cluster_id is not None})
            for row in rows:
                same = copies.get(row.cluster_id, []) if row.cluster_id is not None else []
                others = tuple(c for c in same if c.record_id != row.id)[:MAX_COPIES]
                found[row.id] = _page(row, others)
    return [found[i] for i in wanted if i in found]


def recent_records(engine: Engine, limit: int = 10) -> list[RecentRecord]:
    """The newest live records, newest first, at most 100.

    Ids are handed out as records are first stored, so the highest ids are the newest
    ``first_seen``: ordering by the primary key reads ``limit`` rows instead of sorting
    the whole table.
    """
    limit = max(0, min(int(limit), MAX_RECENT))
    if not limit:
        return []
    stmt = (_with_member(Record.id, Record.first_seen, *_content()).where(~Record.deleted)
            .order_by(Record.id.desc()).limit(limit))
    with connect(reader(engine)) as conn:
        rows = conn.execute(stmt).all()
    return [RecentRecord(record_id=row.id, title=fields.title, creators=fields.creators,
                         year=fields.year, member_slug=row.slug, member_name=row.name,
                         first_seen=_aware(row.first_seen))
            for row, fields in ((row, _fields(row)) for row in rows)]


def totals(engine: Engine) -> Totals:
    """Active members, live records and active sources (of active members)."""
    members = select(func.count()).select_from(Member).where(Member.status == "active")
    records = select(func.count()).select_from(Record).where(~Record.deleted)
    sources = (select(func.count()).select_from(Source)
               .join(Member, Member.id == Source.member_id)
               .where(Source.status == "active", Member.status == "active"))
    with connect(reader(engine)) as conn:
        row = conn.execute(select(members.scalar_subquery(), records.scalar_subquery(),
                                  sources.scalar_subquery())).one()
    return Totals(members=int(row[0]), records=int(row[1]), sources=int(row[2]))


# -- helpers ---------------------------------------------------------------------------

def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _content() -> Iterator[ColumnElement[Any] | InstrumentedAttribute[Any]]:
    """The columns :func:`_fields` reads; ``fields`` only once the store has it."""
    yield Record.metadata_prefix
    yield Record.metadata_xml
    columns = Record.__table__.c
    if "fields" in columns:
        yield columns["fields"].label("fields")


def _fields(row: Row[Any]) -> Fields:
    """A record's fields: the stored JSON when present and readable, else the XML mapped."""
    stored = row._mapping.get("fields")
    if isinstance(stored, dict):
        try:
            return Fields.from_json(stored)
        except (TypeError, ValueError, AttributeError) as exc:
            logger.warning("record %s: stored fields unreadable (%s), mapping the XML again",
                           row._mapping.get("id"), exc)
    return normalize(row.metadata_xml, row.metadata_prefix)


def _live_counts(key: InstrumentedAttribute[int]) -> Subquery:
    """Live records grouped by ``key`` (a Record or Source column), as a subquery."""
    return (select(key.label("key"), func.count(Record.id).label("n"))
            .select_from(Record).join(Source, Source.id == Record.source_id)
            .where(~Record.deleted).group_by(key).subquery())


def _card_stmt() -> Select[*tuple[Any, ...]]:
    live = _live_counts(Source.member_id)
    last = (select(Source.member_id, func.max(Source.last_success_at).label("at"))
            .group_by(Source.member_id).subquery())
    return (select(Member.slug, Member.name, Member.homepage, Member.logo, Member.city,
                   Member.province, Member.kind, Member.contact,
                   func.coalesce(live.c.n, 0).label("records"), last.c.at.label("last_harvest"))
            .outerjoin(live, live.c.key == Member.id)
            .outerjoin(last, last.c.member_id == Member.id))


def _card(row: Row[Any]) -> MemberCard:
    return MemberCard(slug=row.slug, name=row.name, initials=initials(row.name),
                      homepage=http_url(row.homepage), logo=http_url(row.logo), city=row.city,
                      province=row.province, kind=row.kind, records=int(row.records),
                      last_harvest=as_utc(row.last_harvest))


def _with_member(*columns: Any) -> Select[*tuple[Any, ...]]:
    """Select ``columns`` of records joined to their member's slug and name."""
    return (select(*columns, Member.slug, Member.name)
            .join(Source, Source.id == Record.source_id)
            .join(Member, Member.id == Source.member_id))


def _record_stmt() -> Select[*tuple[Any, ...]]:
    return _with_member(Record.id, Record.identifier, Record.datestamp, Record.deleted,
                        Record.cluster_id, Record.first_seen, Record.last_changed,
                        Source.base_url, Member.homepage, *_content())


def _copies(conn: Connection, clusters: set[int]) -> dict[int, list[Copy]]:
    """The live records of these clusters, the first ``MAX_COPIES + 1`` of each by name."""
    if not clusters:
        return {}
    rank = func.row_number().over(partition_by=Record.cluster_id,
                                  order_by=(func.lower(Member.name), Record.id))
    ranked = (_with_member(Record.id, Record.cluster_id, *_content(), rank.label("rank"))
              .where(Record.cluster_id.in_(sorted(clusters)), ~Record.deleted).subquery())
    rows = conn.execute(select(ranked).where(ranked.c.rank <= MAX_COPIES + 1)).all()
    out: dict[int, list[Copy]] = {}
    for row in rows:
        fields = _fields(row)
        out.setdefault(row.cluster_id, []).append(Copy(
            record_id=row.id, member_slug=row.slug, member_name=row.name,
            title=fields.title, link=fields.link))
    for copies in out.values():  # the same order on SQLite and PostgreSQL, whatever collation
        copies.sort(key=lambda c: (c.member_name.casefold(), c.record_id))
    return out


def _page(row: Row[Any], copies: tuple[Copy, ...]) -> RecordPage:
    return RecordPage(
        record_id=row.id, identifier=row.identifier, datestamp=row.datestamp,
        deleted=bool(row.deleted), metadata_prefix=row.metadata_prefix,
        metadata_xml=row.metadata_xml, member_slug=row.slug, member_name=row.name,
        member_homepage=http_url(row.homepage), source_base_url=row.base_url,
        cluster_id=row.cluster_id, first_seen=_aware(row.first_seen),
        last_changed=_aware(row.last_changed), fields=_fields(row), copies=copies)
