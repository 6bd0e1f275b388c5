"""What the portal's sitemaps list: live records and active members, in fixed id ranges.

A sitemap file holds at most 50,000 URLs. File ``n`` of a kind lists the rows with ids
``n * 50,000 + 1`` to ``(n + 1) * 50,000``: a file's address never moves as records are
added or withdrawn (offset pages would shift), and each file is one range scan of the
primary key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from aggregator.store.db import connect, reader
from aggregator.store.models import Member, Record
from aggregator.store.runs import as_utc

SITEMAP_SIZE = 50_000
"""URLs in one sitemap file at most (sitemaps.org)."""


@dataclass(frozen=True, slots=True)
class SitemapFile:
    """One file of a sitemap index: its number and when its newest entry changed."""

    number: int
    lastmod: datetime | None


def record_files(engine: Engine, size: int = SITEMAP_SIZE) -> list[SitemapFile]:
    """The record files that list something, with the last change of each."""
    bucket = (Record.id - 1) // size
    stmt = (select(bucket.label("n"), func.max(Record.last_changed)).where(~Record.deleted)
            .group_by(bucket).order_by(bucket))
    with connect(reader(engine)) as conn:
        return [SitemapFile(int(n), as_utc(when)) for n, when in conn.execute(stmt)]


def record_entries(engine: Engine, number: int,
                   size: int = SITEMAP_SIZE) -> list[tuple[int, datetime]]:
    """(id, last change) of the live records of file ``number``, by id."""
    low, high = number * size + 1, (number + 1) * size
    stmt = (select(Record.id, Record.last_changed)
            .where(~Record.deleted, Record.id >= low, Record.id <= high).order_by(Record.id))
    with connect(reader(engine)) as conn:
        return [(int(rid), _utc(when)) for rid, when in conn.execute(stmt)]


def member_files(engine: Engine, size: int = SITEMAP_SIZE) -> list[SitemapFile]:
    """The member files that list something (active members only)."""
    bucket = (Member.id - 1) // size
    stmt = (select(bucket.label("n")).where(Member.status == "active")
            .group_by(bucket).order_by(bucket))
    with connect(reader(engine)) as conn:
        return [SitemapFile(int(n), None) for (n,) in conn.execute(stmt)]


def member_entries(engine: Engine, number: int, size: int = SITEMAP_SIZE) -> list[str]:
    """The slugs of the active members of file ``number``, by id."""
    low, high = number * size + 1, (number + 1) * size
    stmt = (select(Member.slug).where(Member.status == "active", Member.id >= low,
                                      Member.id <= high).order_by(Member.id))
    with connect(reader(engine)) as conn:
        return [str(slug) for (slug,) in conn.execute(stmt)]


def _utc(value: Any) -> datetime:
    when = as_utc(value)
    assert when is not None
    return when
