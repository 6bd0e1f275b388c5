"""The figures of the request services, per holding member and for the network: requests
made, by status, and the hours to the first answer (median and 90th percentile), by kind,
optionally for requests made in a date range.

Statuses are counted as they are now: ``open`` is ``new`` + ``accepted`` (not closed),
``made`` is every request. Purged requests count like the others (only the patron's
data is gone).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from aggregator.store.models import REQUEST_KINDS, Member, ServiceRequest

__all__ = ["ALL", "FigureRow", "figures", "percentile"]

ALL = "all"  # the kind of a row that counts every kind


@dataclass(frozen=True, slots=True)
class FigureRow:
    """The figures of one member (``member_slug`` None: the whole network) for one kind
    (``all``: every kind)."""

    member_slug: str | None
    member_name: str | None
    kind: str
    made: int
    new: int
    accepted: int
    fulfilled: int
    declined: int
    answered: int  # with a first answer (for the hours)
    median_hours: float | None
    p90_hours: float | None

    @property
    def open(self) -> int:
        """Requests not closed yet (new or accepted)."""
        return self.new + self.accepted


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (``share`` 0.9 for p90) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def _range(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    found = []
    if since is not None:
        found.append(ServiceRequest.created_at >= since)
    if until is not None:
        found.append(ServiceRequest.created_at < until)
    return found


def _hours(session: Session) -> ColumnElement[Any]:
    """Hours from a request to its first answer, computed by the database (times are
    kept in UTC; SQLite keeps them as text)."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(ServiceRequest.answered_at)
                - func.julianday(ServiceRequest.created_at)) * 24.0
    return func.extract("epoch", ServiceRequest.answered_at - ServiceRequest.created_at
                        ) / 3600.0


def figures(session: Session, *, since: datetime | None = None,
            until: datetime | None = None,
            member_ids: frozenset[int] | None = None) -> list[FigureRow]:
    """Rows per holding member (only ``member_ids`` when given) and kind, each member
    with its ``all`` row first, members by name; then the network's rows (member None),
    always over every member. Requests made in [``since``, ``until``) when given."""
    counts: dict[tuple[int | None, str], dict[str, int]] = defaultdict(
        lambda: defaultdict(int))
    hours: dict[tuple[int | None, str], list[float]] = defaultdict(list)
    within = _range(since, until)
    grouped = (select(ServiceRequest.holder_member_id, ServiceRequest.kind,
                      ServiceRequest.status, func.count()).where(*within)
               .group_by(ServiceRequest.holder_member_id, ServiceRequest.kind,
                         ServiceRequest.status))
    for member_id, kind, status, count in session.execute(grouped):
        for key in ((member_id, kind), (member_id, ALL), (None, kind), (None, ALL)):
            counts[key][status] += count
            counts[key]["made"] += count
    answered = select(ServiceRequest.holder_member_id, ServiceRequest.kind,
                      _hours(session)).where(ServiceRequest.answered_at.is_not(None), *within)
    for member_id, kind, took in session.execute(answered):
        for key in ((member_id, kind), (member_id, ALL), (None, kind), (None, ALL)):
            hours[key].append(float(took))
    names = {mid: (slug, name) for mid, slug, name in session.execute(
        select(Member.id, Member.slug, Member.name))}
    order = [ALL, *REQUEST_KINDS]
    members = sorted({mid for mid, _ in counts if mid is not None
                      and (member_ids is None or mid in member_ids)},
                     key=lambda mid: (names.get(mid, ("", ""))[1].lower(), mid))
    rows = []
    for mid in [*members, None]:
        slug, name = names.get(mid, (None, None)) if mid is not None else (None, None)
        for kind in order:
            if (mid, kind) not in counts:
                continue
            found, spent = counts[(mid, kind)], hours[(mid, kind)]
            rows.append(FigureRow(
                slug, name, kind, found["made"], found["new"], found["accepted"],
                found["fulfilled"], found["declined"], len(spent),
                statistics.median(spent) if spent else None, percentile(spent, 0.9)))
    return rows
