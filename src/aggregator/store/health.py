"""How the network's harvesting is doing: each source's last result and failing streak,
the totals the dashboard shows, and the notices already sent about failing sources."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from aggregator.store.models import HarvestRun, Member, NoticeSent, Record, Source, utcnow
from aggregator.store.runs import as_utc

__all__ = ["FAILING_KIND", "SourceHealth", "Totals", "claim_notice", "clear_stale_notices",
           "failing_for", "release_notice", "source_health", "totals"]

FAILING_KIND = "source-failing"
"""``notice_sent.kind`` of the notice "this source has failed for a day"."""

_SUCCESS = ("ok", "partial")


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """A source as the dashboard shows it."""

    id: int
    member_id: int
    member_slug: str
    member_name: str
    base_url: str
    status: str  # active | paused
    last_status: str | None
    last_error: str | None
    failures: int
    failing_since: datetime | None  # set while failures > 0
    last_success_at: datetime | None
    next_run_at: datetime | None
    records: int

    @property
    def failing(self) -> bool:
        """Whether the source's latest runs failed."""
        return self.failures > 0


@dataclass(frozen=True, slots=True)
class Totals:
    """The dashboard's counts (of the whole network, or of one manager's members)."""

    members: int
    sources: int
    records: int
    failing: int
    runs_24h: int


def _scoped(query: Any, member_ids: Collection[int] | None) -> Any:
    return query if member_ids is None else query.where(Source.member_id.in_(list(member_ids)))


def source_health(session: Session, member_ids: Collection[int] | None = None
                  ) -> list[SourceHealth]:
    """Every source that is not removed (of ``member_ids`` only, when given): failing
    ones first, the longest failing first, then by member and id."""
    records = (select(Record.source_id, func.count().label("n")).where(~Record.deleted)
               .group_by(Record.source_id).subquery())
    # the last run that ended, whoever ran it (a scheduler, or `aggregator harvest`)
    ended = (select(HarvestRun.status).where(HarvestRun.source_id == Source.id,
                                             HarvestRun.status != "running")
             .order_by(HarvestRun.id.desc()).limit(1).scalar_subquery())
    rows = session.execute(_scoped(
        select(Source.id, Source.member_id, Member.slug, Member.name, Source.base_url,
               Source.status, func.coalesce(ended, Source.last_status), Source.last_error,
               Source.failures,
               Source.last_success_at, Source.next_run_at, func.coalesce(records.c.n, 0))
        .join(Member, Member.id == Source.member_id)
        .outerjoin(records, records.c.source_id == Source.id)
        .where(Source.status != "removed", Member.status != "removed"), member_ids)
        .order_by(Member.slug, Source.id)).all()
    firsts = _streak_starts(session, [r[0] for r in rows if (r[8] or 0) > 0 and r[9] is None])
    found = []
    for (sid, mid, slug, name, url, status, last, error, failures, success, next_at,
         n) in rows:
        failing = int(failures or 0) > 0
        since = (as_utc(success) or firsts.get(sid)) if failing else None
        found.append(SourceHealth(sid, mid, slug, name, url, status, last, error,
                                  int(failures or 0), since, as_utc(success),
                                  as_utc(next_at), int(n)))
    far = utcnow() + timedelta(days=36500)
    return sorted(found, key=lambda s: (not s.failing, s.failing_since or far))


def _streak_starts(session: Session, source_ids: list[int]) -> dict[int, datetime]:
    """For sources that never succeeded: when the first failed run after their last
    run that did not fail began (their current streak)."""
    if not source_ids:
        return {}
    last_good = (select(HarvestRun.source_id, func.max(HarvestRun.id).label("id"))
                 .where(HarvestRun.status.in_(_SUCCESS), HarvestRun.source_id.in_(source_ids))
                 .group_by(HarvestRun.source_id).subquery())
    rows = session.execute(
        select(HarvestRun.source_id, func.min(HarvestRun.started_at))
        .outerjoin(last_good, last_good.c.source_id == HarvestRun.source_id)
        .where(HarvestRun.source_id.in_(source_ids), HarvestRun.status == "failed",
               HarvestRun.id > func.coalesce(last_good.c.id, 0))
        .group_by(HarvestRun.source_id)).all()
    return {sid: at for sid, started in rows if (at := as_utc(started)) is not None}


def failing_for(health: SourceHealth, now: datetime | None = None) -> timedelta | None:
    """How long ``health``'s source has been failing (None: it is not, or nobody knows
    since when)."""
    if not health.failing or health.failing_since is None:
        return None
    return (now or utcnow()) - health.failing_since


def totals(session: Session, member_ids: Collection[int] | None = None,
           now: datetime | None = None) -> Totals:
    """The counts of the dashboard, over ``member_ids`` only when given."""
    now = now or utcnow()
    live = (Source.status != "removed") & (Member.status != "removed")
    members = select(func.count()).select_from(Member).where(Member.status != "removed")
    if member_ids is not None:
        members = members.where(Member.id.in_(list(member_ids)))
    sources = _scoped(select(func.count(Source.id), func.count(Source.id).filter(
        Source.failures > 0)).join(Member, Member.id == Source.member_id).where(live),
        member_ids)
    records = _scoped(select(func.count()).select_from(Record)
                      .join(Source, Source.id == Record.source_id)
                      .join(Member, Member.id == Source.member_id)
                      .where(~Record.deleted, live), member_ids)
    runs = _scoped(select(func.count()).select_from(HarvestRun)
                   .join(Source, Source.id == HarvestRun.source_id)
                   .where(HarvestRun.started_at >= now - timedelta(hours=24)), member_ids)
    n_sources, n_failing = session.execute(sources).one()
    return Totals(int(session.scalar(members) or 0), int(n_sources or 0),
                  int(session.scalar(records) or 0), int(n_failing or 0),
                  int(session.scalar(runs) or 0))


# -- notices already sent ---------------------------------------------------------------

def claim_notice(session: Session, kind: str, subject: str,
                 now: datetime | None = None) -> bool:
    """Record that notice ``kind`` about ``subject`` is being sent; False when it was
    recorded already (by this process or another), so it must not be sent again.

    The insert is the claim: of several schedulers checking at once, exactly one
    inserts the row. Commit before sending, so the others see it.
    """
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    added = session.execute(
        dialect.insert(NoticeSent).values(kind=kind, subject=subject, sent_at=now or utcnow())
        .on_conflict_do_nothing(index_elements=["kind", "subject"])
        .returning(NoticeSent.kind))
    return added.first() is not None


def release_notice(session: Session, kind: str, subject: str) -> None:
    """Forget notice ``kind`` about ``subject`` (it could not be sent: try again later)."""
    session.execute(delete(NoticeSent).where(NoticeSent.kind == kind,
                                             NoticeSent.subject == subject))


def clear_stale_notices(session: Session, failing: dict[int, datetime | None]) -> int:
    """Forget the failing-source notices of sources that are no longer failing, or whose
    current streak began after the notice was sent (a new streak gets a new notice).

    Args:
        failing: the failing sources, with the start of their streak.

    Returns:
        How many notices were forgotten.
    """
    sent = session.execute(select(NoticeSent.subject, NoticeSent.sent_at)
                           .where(NoticeSent.kind == FAILING_KIND)).all()
    stale = []
    for subject, sent_at in sent:
        source_id = int(subject) if subject.isdigit() else -1
        since = failing.get(source_id)
        at = as_utc(sent_at)
        if source_id not in failing or (since is not None and at is not None and at < since):
            stale.append(subject)
    if stale:
        session.execute(delete(NoticeSent).where(NoticeSent.kind == FAILING_KIND,
                                                 NoticeSent.subject.in_(stale)))
    return len(stale)
