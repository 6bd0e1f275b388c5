"""The network's members and their OAI-PMH sources: registration, listing and removal."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, null, select, update
from sqlalchemy.orm import Session

from aggregator.errors import UserInputError
from aggregator.schedule import format_interval, parse_interval
from aggregator.store.ingest import tombstone_rows
from aggregator.store.models import MEMBER_KINDS, HarvestRun, Member, Record, Source, utcnow
from aggregator.store.runs import as_utc

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_PREFIX = re.compile(r"^[A-Za-z0-9_.!~*'()-]{1,64}$")
MEMBER_FIELDS = ("city", "province", "kind", "contact", "logo")
# the widths of the member table's columns (models.Member)
MEMBER_SIZES = {"name": 300, "homepage": 2000, "city": 200, "province": 200, "contact": 300,
                "logo": 2000}


@dataclass(frozen=True, slots=True)
class MemberSummary:
    """One line of the member list: who, and how much of the catalogue they hold."""

    slug: str
    name: str
    homepage: str | None
    status: str
    sources: int
    records: int


@dataclass(frozen=True, slots=True)
class SourceSummary:
    """One line of the source list, with its latest harvest outcome."""

    id: int
    member: str
    base_url: str
    prefix: str
    set_spec: str
    every: str
    status: str
    records: int
    last_success_at: datetime | None
    last_run_status: str | None


def check_http_url(what: str, url: str) -> str:
    """``url`` trimmed, when it is an http(s) URL with a host and no whitespace.

    Raises:
        UserInputError: it is not; the message names ``what``.
    """
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(
            ch.isspace() for ch in url):
        raise UserInputError(f"bad {what} {url!r}: expected an http:// or https:// URL")
    return url


def _member_fields(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(fields) - set(MEMBER_FIELDS))
    if unknown:
        raise UserInputError(f"unknown member field(s): {', '.join(unknown)}")
    kind = fields.get("kind")
    if kind is not None and kind not in MEMBER_KINDS:
        raise UserInputError(f"bad kind {kind!r}: use one of {', '.join(MEMBER_KINDS)}")
    if fields.get("logo"):
        fields["logo"] = check_http_url("logo URL", fields["logo"])
    for key, value in fields.items():
        _check_size(key, value)
    return fields


def _check_size(key: str, value: str | None) -> None:
    limit = MEMBER_SIZES.get(key)
    if value is not None and limit is not None and len(value) > limit:
        raise UserInputError(f"the member's {key} is too long: at most {limit} characters")


def add_member(session: Session, slug: str, name: str, homepage: str | None = None,
               **fields: Any) -> Member:
    """Register a member, or reactivate a removed one with the same slug.

    The caller commits (see :func:`aggregator.store.db.session_scope`).

    Args:
        session: the session to work in.
        slug: short lowercase key (letters, digits, hyphens; at most 63 characters).
        name: the member's display name.
        homepage: its web site (http or https).
        **fields: ``city``, ``province``, ``kind``, ``contact`` and ``logo``.

    Raises:
        UserInputError: a bad slug, name, URL or field, or the slug is already taken.
    """
    if not SLUG.match(slug):
        raise UserInputError(
            f"bad member slug {slug!r}: use 1-63 lowercase letters, digits and hyphens, "
            "starting with a letter or digit")
    if not name.strip():
        raise UserInputError("a member needs a name")
    _check_size("name", name.strip())
    values = _member_fields(dict(fields))
    if homepage:
        homepage = check_http_url("homepage", homepage)
        _check_size("homepage", homepage)
    member = session.scalar(select(Member).where(Member.slug == slug))
    if member is not None and member.status != "removed":
        raise UserInputError(f"member {slug!r} already exists")
    if member is None:
        member = Member(slug=slug, created_at=utcnow())
        session.add(member)
    member.name, member.homepage, member.status = name.strip(), homepage or None, "active"
    for key, value in values.items():
        setattr(member, key, value)
    session.flush()
    return member


def edit_member(session: Session, slug: str, *, name: str | None = None,
                homepage: str | None = None, **fields: str | None) -> Member:
    """Change a member's details; what is not given (``None``) stays as it is, and an
    empty string clears an optional field. The caller commits.

    Args:
        session: the session to work in.
        slug: the member to change.
        name: its new display name (cannot be cleared).
        homepage: its web site (http or https).
        **fields: ``city``, ``province``, ``kind``, ``contact`` and ``logo``.

    Raises:
        UserInputError: unknown or removed member, an empty name, a bad URL, kind or
            field, or a value longer than its column.
    """
    member = get_member(session, slug)
    if member.status == "removed":
        raise UserInputError(f"member {slug!r} is removed: add it again first")
    changes: dict[str, str | None] = {
        key: (value.strip() or None) for key, value in fields.items() if value is not None}
    values = _member_fields(changes)
    if name is not None:
        if not name.strip():
            raise UserInputError("a member needs a name")
        _check_size("name", name.strip())
        member.name = name.strip()
    if homepage is not None:
        member.homepage = check_http_url("homepage", homepage) if homepage.strip() else None
        _check_size("homepage", member.homepage)
    for key, value in values.items():
        setattr(member, key, value)
    session.flush()
    return member


def check_source_fields(metadata_prefix: str, set_spec: str, every: str) -> tuple[str, int]:
    """Validate a source's prefix, set and interval as typed.

    Returns:
        The set spec trimmed, and the interval in seconds.

    Raises:
        UserInputError: a bad prefix, set spec or interval.
    """
    if not _PREFIX.match(metadata_prefix):
        raise UserInputError(f"bad metadata prefix {metadata_prefix!r}")
    set_spec = set_spec.strip()
    if len(set_spec) > 500 or any(ch.isspace() for ch in set_spec):
        raise UserInputError(f"bad set spec {set_spec!r}")
    try:
        return set_spec, int(parse_interval(every).total_seconds())
    except ValueError as exc:
        raise UserInputError(str(exc)) from exc


def get_member(session: Session, slug: str) -> Member:
    """Return the member with this slug (removed ones included).

    Raises:
        UserInputError: no member has this slug.
    """
    member = session.scalar(select(Member).where(Member.slug == slug))
    if member is None:
        raise UserInputError(f"unknown member {slug!r}")
    return member


def list_members(session: Session, include_removed: bool = False) -> list[MemberSummary]:
    """Summarise the members by slug, with their source and live record counts."""
    sources = (select(Source.member_id, func.count().label("n"))
               .where(Source.status != "removed").group_by(Source.member_id).subquery())
    records = (select(Source.member_id, func.count(Record.id).label("n"))
               .join(Record, Record.source_id == Source.id)
               .where(~Record.deleted).group_by(Source.member_id).subquery())
    stmt = (select(Member.slug, Member.name, Member.homepage, Member.status,
                   func.coalesce(sources.c.n, 0), func.coalesce(records.c.n, 0))
            .outerjoin(sources, sources.c.member_id == Member.id)
            .outerjoin(records, records.c.member_id == Member.id)
            .order_by(Member.slug))
    if not include_removed:
        stmt = stmt.where(Member.status != "removed")
    return [MemberSummary(slug, name, homepage, status, int(n_src), int(n_rec))
            for slug, name, homepage, status, n_src, n_rec in session.execute(stmt)]


def remove_member(session: Session, slug: str) -> int:
    """Remove a member: its sources stop and all its live records become tombstones.

    Nothing is deleted, so downstream harvesters learn about the deletions.

    Returns:
        How many records were tombstoned.

    Raises:
        UserInputError: no member has this slug.
    """
    member = get_member(session, slug)
    member.status = "removed"
    for source in member.sources:
        source.status = "removed"
    session.flush()
    conn = session.connection()
    rows = conn.execute(
        select(Record.id, Record.metadata_prefix, Record.set_specs)
        .join(Source, Source.id == Record.source_id)
        .where(Source.member_id == member.id, ~Record.deleted)
        .order_by(Record.id)).all()
    return tombstone_rows(conn, rows)


def add_source(session: Session, member_slug: str, base_url: str,
               metadata_prefix: str = "oai_dc", set_spec: str = "",
               every: str = "24h") -> Source:
    """Register an OAI-PMH endpoint (base URL + prefix + set) for a member.

    Registering a removed endpoint again reactivates it, with a fresh cursor.
    The caller commits.

    Raises:
        UserInputError: unknown or removed member, bad URL, prefix or interval, or the
            endpoint is already registered.
    """
    member = get_member(session, member_slug)
    if member.status == "removed":
        raise UserInputError(f"member {member_slug!r} is removed: add it again first")
    base_url = check_http_url("base URL", base_url)
    set_spec, every_seconds = check_source_fields(metadata_prefix, set_spec, every)
    source = session.scalar(select(Source).where(
        Source.base_url == base_url, Source.metadata_prefix == metadata_prefix,
        Source.set_spec == set_spec))
    if source is not None and source.status != "removed":
        raise UserInputError(
            f"this endpoint is already registered as source {source.id} "
            f"of member {source.member.slug!r}")
    if source is None:
        source = Source(base_url=base_url, metadata_prefix=metadata_prefix,
                        set_spec=set_spec, created_at=utcnow())
        session.add(source)
    else:  # a removed endpoint: its records are tombstones, so harvest it from scratch
        session.execute(update(Source).where(Source.id == source.id).values(
            cursor_from=None, checkpoint=null(), next_run_at=None, lease_owner=None,
            lease_until=None))
        session.refresh(source)
    source.member = member
    source.every_seconds, source.status = every_seconds, "active"
    session.flush()
    return source


def list_sources(session: Session, include_removed: bool = False) -> list[SourceSummary]:
    """Summarise the sources by member and id, with live records and the latest run."""
    records = (select(Record.source_id, func.count().label("n"))
               .where(~Record.deleted).group_by(Record.source_id).subquery())
    latest = (select(HarvestRun.source_id, func.max(HarvestRun.id).label("run_id"))
              .group_by(HarvestRun.source_id).subquery())
    stmt = (select(Source, Member.slug, func.coalesce(records.c.n, 0), HarvestRun.status)
            .join(Member, Member.id == Source.member_id)
            .outerjoin(records, records.c.source_id == Source.id)
            .outerjoin(latest, latest.c.source_id == Source.id)
            .outerjoin(HarvestRun, HarvestRun.id == latest.c.run_id)
            .order_by(Member.slug, Source.id))
    if not include_removed:
        stmt = stmt.where(Source.status != "removed")
    return [SourceSummary(
        id=src.id, member=slug, base_url=src.base_url, prefix=src.metadata_prefix,
        set_spec=src.set_spec, every=format_interval(timedelta(seconds=src.every_seconds)),
        status=src.status, records=int(n), last_success_at=as_utc(src.last_success_at),
        last_run_status=run_status) for src, slug, n, run_status in session.execute(stmt)]


def sources_for(session: Session, slugs: list[str] | None, all_: bool) -> list[int]:
    """Ids of the active sources to harvest: of the named members, or of every active one.

    Raises:
        UserInputError: a slug is unknown, or neither slugs nor ``all_`` were given.
    """
    stmt = (select(Source.id).join(Member, Member.id == Source.member_id)
            .where(Source.status == "active").order_by(Source.id))
    if all_:
        return list(session.scalars(stmt.where(Member.status == "active")))
    if not slugs:
        raise UserInputError("name at least one member, or choose all of them")
    known = set(session.scalars(select(Member.slug).where(Member.slug.in_(slugs))))
    missing = [slug for slug in slugs if slug not in known]
    if missing:
        raise UserInputError(f"unknown member {missing[0]!r}")
    return list(session.scalars(stmt.where(Member.slug.in_(slugs),
                                           Member.status != "removed")))
