"""What the scheduler keeps in the database: which sources are due, who holds them and
their hosts, and how each source's last run went.

Every process that harvests (``aggregator serve``'s parent, ``aggregator scheduler``
workers on any machine) shares this state, so work is divided through the database:

* a source is *claimed* by taking its lease (``source.lease_owner``/``lease_until``)
  and the lease of its host (``host_lease``) in one transaction; on PostgreSQL the
  source row is read ``FOR UPDATE SKIP LOCKED`` (a claim in progress elsewhere is
  passed over, never waited for), on SQLite the transaction is ``BEGIN IMMEDIATE``;
* each claim gets its own owner (:func:`aggregator.store.runs.lease_owner_id`), so one
  host is never talked to by two runs at once, even two of one process;
* leases carry an expiry that the holder renews while it runs; a crashed holder's
  leases expire and the source is claimed again, resuming from its checkpoint.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from aggregator.schedule import host_key
from aggregator.store.db import connect, reader
from aggregator.store.models import HarvestRun, HostLease, Member, Record, Source, utcnow
from aggregator.store.runs import as_utc, lease_owner_id

__all__ = ["Claim", "SourceStatus", "claim_due", "due_ids", "failures_of", "finish", "host_key",
           "next_due", "release", "renew", "status"]

_SOURCE = cast(Table, Source.__table__)
_HOST = cast(Table, HostLease.__table__)
_MEMBER = cast(Table, Member.__table__)


@dataclass(frozen=True, slots=True)
class Claim:
    """A source this process may now harvest, holding its lease and its host's."""

    source_id: int
    owner: str
    host: str
    full: bool  # the source's full pass (reconciliation) is due
    due_at: datetime | None  # when the run was due (None: never run)


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """A source as ``aggregator status`` shows it."""

    id: int
    member: str
    base_url: str
    status: str
    every_seconds: int
    next_run_at: datetime | None
    lease_owner: str | None
    lease_until: datetime | None
    last_status: str | None
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_full_at: datetime | None
    failures: int
    last_error: str | None
    records: int

    def as_json(self) -> dict[str, Any]:
        """The status as a JSON-ready dict (times in ISO 8601, UTC)."""
        def iso(value: datetime | None) -> str | None:
            return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "id": self.id, "member": self.member, "base_url": self.base_url,
            "status": self.status, "every_seconds": self.every_seconds,
            "next_run_at": iso(self.next_run_at), "lease_owner": self.lease_owner,
            "lease_until": iso(self.lease_until), "last_status": self.last_status,
            "last_run_at": iso(self.last_run_at),
            "last_success_at": iso(self.last_success_at),
            "last_full_at": iso(self.last_full_at), "failures": self.failures,
            "last_error": self.last_error, "records": self.records}


def _due(now: datetime) -> Any:
    """The condition of a source that may be claimed now."""
    src = _SOURCE.c
    return ((src.status == "active") & (_MEMBER.c.status == "active")
            & (src.next_run_at.is_(None) | (src.next_run_at <= now))
            & (src.not_before.is_(None) | (src.not_before <= now))
            & (src.lease_until.is_(None) | (src.lease_until < now)))


def claim_due(engine: Engine, *, limit: int, lease_seconds: float,
              reconcile_every: timedelta, now: datetime | None = None,
              busy_hosts: Collection[str] = (), skip: Collection[int] = ()) -> list[Claim]:
    """Claim up to ``limit`` due sources, each on a host nobody is harvesting.

    Sources are taken in the order they fell due (never-run ones first). A source whose
    host is leased (by any process, or listed in ``busy_hosts``) is left for later, and
    so are the sources in ``skip``.
    """
    now = now or utcnow()
    if limit <= 0:
        return []
    taken = set(busy_hosts)
    claims: list[Claim] = []
    for source_id, host in _candidates(engine, now, skip):
        if host in taken:
            continue
        claim = _claim(engine, source_id, host, lease_seconds, reconcile_every, now)
        taken.add(host)  # claimed now, or held by someone who got there first
        if claim is not None:
            claims.append(claim)
            if len(claims) >= limit:
                break
    return claims


def _candidates(engine: Engine, now: datetime, skip: Collection[int], *,
                busy_hosts_too: bool = False) -> list[tuple[int, str]]:
    """(source id, host) of the due sources on hosts nobody holds (with
    ``busy_hosts_too``, on any host), in the order they fell due."""
    src = _SOURCE.c
    with connect(reader(engine)) as conn:
        leased = set(conn.scalars(select(_HOST.c.host).where(_HOST.c.until >= now)))
        rows = conn.execute(
            select(src.id, src.base_url).join(_MEMBER, _MEMBER.c.id == src.member_id)
            .where(_due(now)).order_by(src.next_run_at.is_not(None), src.next_run_at,
                                       src.id)).all()
    skipped = set(skip)
    found = [(row.id, host_key(row.base_url)) for row in rows if row.id not in skipped]
    return [(source_id, host) for source_id, host in found
            if busy_hosts_too or host not in leased]


def due_ids(engine: Engine, *, skip: Collection[int] = (),
            busy_hosts_too: bool = False) -> list[int]:
    """The sources that are due and could be claimed now (their host is free), or
    with ``busy_hosts_too`` once their host is free."""
    return [source_id for source_id, _ in _candidates(engine, utcnow(), skip,
                                                      busy_hosts_too=busy_hosts_too)]


def _claim(engine: Engine, source_id: int, host: str, lease_seconds: float,
           reconcile_every: timedelta, now: datetime) -> Claim | None:
    """Take one source and its host in one transaction, or neither."""
    owner = lease_owner_id()
    until = now + timedelta(seconds=lease_seconds)
    src = _SOURCE.c
    with connect(engine) as conn:
        row = conn.execute(
            select(src.id, src.next_run_at, src.last_full_at, src.created_at)
            .join(_MEMBER, _MEMBER.c.id == src.member_id)
            .where(src.id == source_id, _due(now))
            .with_for_update(skip_locked=True, of=_SOURCE)).first()
        if row is None or not _take_host(conn, host, owner, source_id, until, now):
            return None  # nothing was written
        conn.execute(update(_SOURCE).where(src.id == source_id)
                     .values(lease_owner=owner, lease_until=until))
    last_full = as_utc(row.last_full_at) or as_utc(row.created_at)
    full = last_full is not None and last_full + reconcile_every <= now
    return Claim(source_id, owner, host, full, as_utc(row.next_run_at))


def _take_host(conn: Connection, host: str, owner: str, source_id: int, until: datetime,
               now: datetime) -> bool:
    values = {"owner": owner, "until": until, "source_id": source_id}
    if conn.execute(update(_HOST).where(_HOST.c.host == host, _HOST.c.until < now)
                    .values(**values)).rowcount == 1:
        return True
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    added = conn.execute(dialect.insert(_HOST).values(host=host, **values)
                         .on_conflict_do_nothing(index_elements=["host"])
                         .returning(_HOST.c.host))  # rowcount: -1 here on PostgreSQL
    return added.first() is not None


def renew(engine: Engine, owners: Collection[str], lease_seconds: float) -> set[str]:
    """Extend the leases of ``owners`` (sources and hosts); returns the owners that
    still hold their source (one that lost it must stop: another process took over)."""
    if not owners:
        return set()
    until = utcnow() + timedelta(seconds=lease_seconds)
    owned = list(owners)
    with connect(engine) as conn:
        conn.execute(update(_SOURCE).where(_SOURCE.c.lease_owner.in_(owned))
                     .values(lease_until=until))
        held = set(conn.scalars(select(_SOURCE.c.lease_owner)
                                .where(_SOURCE.c.lease_owner.in_(owned))))
    with connect(engine) as conn:
        conn.execute(update(_HOST).where(_HOST.c.owner.in_(owned)).values(until=until))
    return {owner for owner in owned if owner in held}


def finish(engine: Engine, claim: Claim, *, status: str, error: str | None,
           next_run_at: datetime, failures: int, full_done: bool) -> None:
    """Record how the claimed run went and when the source is due next, then give its
    leases back (in this order, so nobody claims it before its next time is set)."""
    values: dict[str, Any] = {"last_status": status, "last_error": error,
                              "next_run_at": next_run_at, "failures": failures}
    if full_done:
        values["last_full_at"] = utcnow()
    with connect(engine) as conn:
        conn.execute(update(_SOURCE).where(_SOURCE.c.id == claim.source_id).values(**values))
    release(engine, claim)


def release(engine: Engine, claim: Claim) -> None:
    """Give back the source's and the host's leases if ``claim.owner`` still holds them."""
    with connect(engine) as conn:
        conn.execute(update(_SOURCE).where(_SOURCE.c.id == claim.source_id,
                                           _SOURCE.c.lease_owner == claim.owner)
                     .values(lease_owner=None, lease_until=None))
        conn.execute(delete(_HOST).where(_HOST.c.host == claim.host,
                                         _HOST.c.owner == claim.owner))


def failures_of(engine: Engine, source_id: int) -> int:
    """The source's count of consecutive failed runs."""
    with connect(reader(engine)) as conn:
        return int(conn.scalar(select(_SOURCE.c.failures).where(_SOURCE.c.id == source_id))
                   or 0)


def next_due(engine: Engine) -> datetime | None:
    """When the next active source falls due (``None``: no active source)."""
    src = _SOURCE.c
    with connect(reader(engine)) as conn:
        row = conn.execute(
            select(func.count().filter(src.next_run_at.is_(None)), func.min(src.next_run_at))
            .join(_MEMBER, _MEMBER.c.id == src.member_id)
            .where(src.status == "active", _MEMBER.c.status == "active")).one()
    if row[0]:
        return utcnow()
    return as_utc(row[1])


def status(engine: Engine) -> list[SourceStatus]:
    """Every source that is not removed, with its schedule, holder and last result."""
    src = _SOURCE.c
    records = (select(Record.source_id, func.count().label("n"))
               .where(~Record.deleted).group_by(Record.source_id).subquery())
    runs = (select(HarvestRun.source_id, func.max(HarvestRun.started_at).label("at"))
            .group_by(HarvestRun.source_id).subquery())
    # the last run that ended, whoever ran it (a scheduler, or `aggregator harvest`)
    ended = (select(HarvestRun.status).where(HarvestRun.source_id == _SOURCE.c.id,
                                             HarvestRun.status != "running")
             .order_by(HarvestRun.id.desc()).limit(1).scalar_subquery())
    with connect(reader(engine)) as conn:
        rows = conn.execute(
            select(src.id, _MEMBER.c.slug, src.base_url, src.status, src.every_seconds,
                   src.next_run_at, src.lease_owner, src.lease_until,
                   func.coalesce(ended, src.last_status),
                   runs.c.at, src.last_success_at, src.last_full_at, src.failures,
                   src.last_error, func.coalesce(records.c.n, 0))
            .join(_MEMBER, _MEMBER.c.id == src.member_id)
            .outerjoin(records, records.c.source_id == src.id)
            .outerjoin(runs, runs.c.source_id == src.id)
            .where(src.status != "removed").order_by(_MEMBER.c.slug, src.id)).all()
    now = utcnow()
    statuses = []
    for r in rows:
        until = as_utc(r[7])
        held = r[6] is not None and until is not None and until >= now
        statuses.append(SourceStatus(
            id=r[0], member=r[1], base_url=r[2], status=r[3], every_seconds=r[4],
            next_run_at=as_utc(r[5]), lease_owner=r[6] if held else None,
            lease_until=until if held else None, last_status=r[8],
            last_run_at=as_utc(r[9]), last_success_at=as_utc(r[10]),
            last_full_at=as_utc(r[11]), failures=int(r[12] or 0), last_error=r[13],
            records=int(r[14])))
    return statuses
