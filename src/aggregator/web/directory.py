"""The members directory read from the store: cards, a member's page, names by slug."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, Select, Subquery, func, select
from sqlalchemy.orm import InstrumentedAttribute

from aggregator.store.db import connect, reader
from aggregator.store.models import HarvestRun, Member, Record, Source
from aggregator.store.runs import as_utc
from aggregator.web.security import safe_link


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
    return safe_link(value)


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


