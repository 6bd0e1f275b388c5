"""Interlibrary loan, copy and exchange requests: made by patrons, answered by the holding
member's managers, followed by the patron at an unguessable status link.

An answer is a conditional UPDATE (``... WHERE status IN (allowed)``), so of two
managers answering the same request at once exactly one wins; the other, and any
illegal step (fulfilling a declined request), gets a :class:`RequestConflict`.
After ``request_retention_days`` the patron's name, email and note are erased
(:func:`purge_expired`); the rest stays for the network's figures.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, or_, select, update
from sqlalchemy.orm import Session, aliased

from aggregator.errors import UserInputError
from aggregator.store import users
from aggregator.store.db import session_scope
from aggregator.store.models import (
    ACCEPTS_REQUESTS,
    REQUEST_STATUSES,
    Member,
    Offer,
    RequestEvent,
    ServiceRequest,
    utcnow,
)
from aggregator.store.runs import as_utc

__all__ = ["ACTIONS", "SIZES", "EventView", "Holder", "RequestConflict", "RequestView",
           "answer", "create", "events", "get_by_token", "get_request",
           "holders_taking_requests", "home_choices", "kinds_accepted", "list_requests",
           "purge_expired", "set_request_settings"]

# The most characters each field a patron types may have (the form says the same).
SIZES = {"patron_name": 200, "patron_email": 320, "home_library": 300, "note": 2000,
         "reason": 2000, "request_conditions": 2000}
# action -> (the status it leads to, the statuses it may start from)
ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "accept": ("accepted", ("new",)),
    "decline": ("declined", ("new", "accepted")),
    "fulfil": ("fulfilled", ("new", "accepted")),
}
CLOSED = ("declined", "fulfilled")
TOKEN_MAX = 64


class RequestConflict(UserInputError):
    """An answer that does not fit the request's status (answered meanwhile by somebody
    else, or a step that is not allowed from there); ``current`` is that status."""

    def __init__(self, message: str, current: str) -> None:
        super().__init__(message)
        self.current = current


@dataclass(frozen=True, slots=True)
class RequestView:
    """A request as the pages and notices show it."""

    id: int
    token: str
    kind: str
    status: str
    holder_member_id: int
    holder_slug: str
    holder_name: str
    home_member_id: int | None
    home_slug: str | None
    home_name: str  # the member's name, or the library the patron typed
    record_id: int | None
    offer_id: int | None
    title: str
    patron_name: str | None
    patron_email: str | None
    note: str | None
    reason: str | None
    created_at: datetime
    answered_at: datetime | None
    closed_at: datetime | None
    purged_at: datetime | None

    @property
    def is_open(self) -> bool:
        """Whether the holder may still answer it."""
        return self.status not in CLOSED


@dataclass(frozen=True, slots=True)
class EventView:
    """One step of a request's timeline."""

    status: str
    at: datetime
    actor: str | None
    note: str | None


def kinds_accepted(accepts: str | None) -> tuple[str, ...]:
    """The kinds of request a member setting takes (``both`` → loan and copy)."""
    return {"loans": ("loan",), "copies": ("copy",), "both": ("loan", "copy")}.get(
        accepts or "none", ())


def _text(name: str, value: str | None, *, required: bool = False) -> str | None:
    value = (value or "").strip()
    if required and not value:
        raise UserInputError(f"the {name.replace('_', ' ')} is empty")
    if len(value) > SIZES[name]:
        raise UserInputError(f"the {name.replace('_', ' ')} is too long: at most "
                             f"{SIZES[name]} characters")
    if any(ord(c) < 32 and c not in "\r\n\t" for c in value):
        raise UserInputError(f"the {name.replace('_', ' ')} has control characters")
    return value or None


def _active(session: Session, slug: str) -> Member:
    member = session.scalar(select(Member).where(Member.slug == slug,
                                                 Member.status == "active"))
    if member is None:
        raise UserInputError(f"no active member {slug!r}")
    return member


def create(session: Session, *, holder: str, kind: str, title: str, patron_name: str,
           patron_email: str, home: str | None = None, home_library: str | None = None,
           note: str | None = None, record_id: int | None = None,
           offer_id: int | None = None) -> RequestView:
    """Store a new request to member ``holder`` and the first step of its timeline.

    ``home`` is the slug of the patron's home library when it is a member; otherwise
    ``home_library`` names it. Loans and copies go only to members taking that kind.

    Raises:
        UserInputError: an unknown or inactive member, a kind the holder does not take,
            an empty, too long or malformed field.
    """
    member = _active(session, holder)
    if kind not in ("loan", "copy", "exchange"):
        raise UserInputError(f"unknown kind of request {kind!r}")
    if kind != "exchange" and kind not in kinds_accepted(member.accepts_requests):
        raise UserInputError(f"{member.name} takes no {kind} requests")
    name = _text("patron_name", patron_name, required=True)
    email = users.normalise_email(patron_email)
    home_member = _active(session, home) if home else None
    typed = None if home_member else _text("home_library", home_library, required=True)
    row = ServiceRequest(
        token=secrets.token_urlsafe(32), kind=kind, status="new",
        holder_member_id=member.id, home_member_id=home_member.id if home_member else None,
        home_library=typed, record_id=record_id, offer_id=offer_id,
        title=(title.strip() or "-")[:1000], patron_name=name, patron_email=email,
        note=_text("note", note), created_at=utcnow())
    session.add(row)
    session.flush()
    session.add(RequestEvent(request_id=row.id, status="new", at=row.created_at))
    session.flush()
    found = get_request(session, row.id)
    assert found is not None
    return found


_HOLDER = aliased(Member)
_HOME = aliased(Member)
_SELECT = (select(ServiceRequest, _HOLDER.slug, _HOLDER.name, _HOME.slug, _HOME.name,
                  Offer.title)
           .join(_HOLDER, _HOLDER.id == ServiceRequest.holder_member_id)
           .outerjoin(_HOME, _HOME.id == ServiceRequest.home_member_id)
           .outerjoin(Offer, Offer.id == ServiceRequest.offer_id))


def _view(row: tuple[ServiceRequest, str, str, str | None, str | None, str | None]
          ) -> RequestView:
    req, holder_slug, holder_name, home_slug, home_name, offer_title = row
    created = as_utc(req.created_at)
    assert created is not None
    return RequestView(
        req.id, req.token, req.kind, req.status, req.holder_member_id, holder_slug,
        holder_name, req.home_member_id, home_slug, home_name or req.home_library or "-",
        req.record_id, req.offer_id, req.title or offer_title or "-", req.patron_name,
        req.patron_email, req.note, req.reason, created, as_utc(req.answered_at),
        as_utc(req.closed_at), as_utc(req.purged_at))


def get_request(session: Session, request_id: int) -> RequestView | None:
    """The request with this id, or None."""
    row = session.execute(_SELECT.where(ServiceRequest.id == request_id)).first()
    return None if row is None else _view(row)


def get_by_token(session: Session, token: str) -> RequestView | None:
    """The request whose status link carries ``token``, or None."""
    if not token or len(token) > TOKEN_MAX:
        return None
    row = session.execute(_SELECT.where(ServiceRequest.token == token)).first()
    return None if row is None else _view(row)


def events(session: Session, request_id: int) -> list[EventView]:
    """The request's timeline, oldest step first."""
    rows = session.scalars(select(RequestEvent).where(RequestEvent.request_id == request_id)
                           .order_by(RequestEvent.at, RequestEvent.id))
    return [EventView(e.status, as_utc(e.at) or e.at, e.actor, e.note) for e in rows]


def list_requests(session: Session, member_ids: frozenset[int] | None, *,
                  status: str | None = None, limit: int = 500) -> list[RequestView]:
    """Requests held by, or made from (home library), the members ``member_ids`` (every
    request when None), newest first; only those with ``status`` when given.

    Raises:
        UserInputError: an unknown status.
    """
    query = _SELECT
    if member_ids is not None:
        ids = sorted(member_ids)
        query = query.where(or_(ServiceRequest.holder_member_id.in_(ids),
                                ServiceRequest.home_member_id.in_(ids)))
    if status:
        if status not in REQUEST_STATUSES:
            raise UserInputError(f"unknown status {status!r}")
        query = query.where(ServiceRequest.status == status)
    rows = session.execute(query.order_by(ServiceRequest.created_at.desc(),
                                          ServiceRequest.id.desc()).limit(limit))
    return [_view(row) for row in rows]


def answer(session: Session, request_id: int, action: str, *, actor: str,
           reason: str | None = None) -> RequestView:
    """Move the request on: ``accept``, ``decline`` (a reason is required) or
    ``fulfil``; the reason (optional otherwise) is shown to the patron.

    Raises:
        UserInputError: no such request, an unknown action, a missing or bad reason.
        RequestConflict: the request's status does not allow the step (it was answered
            meanwhile, or it is closed).
    """
    if action not in ACTIONS:
        raise UserInputError(f"unknown answer {action!r}: accept, decline or fulfil")
    to, allowed = ACTIONS[action]
    text = _text("reason", reason, required=action == "decline")
    now = utcnow()
    values: dict[str, object] = {"status": to}
    if text is not None:
        values["reason"] = text
    if to in CLOSED:
        values["closed_at"] = now
    done = session.execute(
        update(ServiceRequest)
        .where(ServiceRequest.id == request_id, ServiceRequest.status.in_(allowed))
        .values(**values), execution_options={"synchronize_session": False})
    if done.rowcount != 1:  # type: ignore[attr-defined]
        current = session.scalar(select(ServiceRequest.status).where(
            ServiceRequest.id == request_id))
        if current is None:
            raise UserInputError(f"no request {request_id}")
        raise RequestConflict(f"request {request_id} is {current}: it cannot be "
                              f"{to} now", current)
    session.execute(update(ServiceRequest).where(
        ServiceRequest.id == request_id, ServiceRequest.answered_at.is_(None))
        .values(answered_at=now), execution_options={"synchronize_session": False})
    session.add(RequestEvent(request_id=request_id, status=to, at=now, actor=actor,
                             note=text))
    session.flush()
    session.expire_all()
    found = get_request(session, request_id)
    assert found is not None
    return found


def set_request_settings(session: Session, slug: str, accepts: str,
                         conditions: str | None) -> None:
    """Which requests member ``slug`` takes (none, loans, copies, both) and the
    conditions patrons read before asking.

    Raises:
        UserInputError: an unknown member or setting, or conditions too long.
    """
    if accepts not in ACCEPTS_REQUESTS:
        raise UserInputError(f"unknown setting {accepts!r}: one of "
                             f"{', '.join(ACCEPTS_REQUESTS)}")
    text = _text("request_conditions", conditions)
    member = session.scalar(select(Member).where(Member.slug == slug,
                                                 Member.status != "removed"))
    if member is None:
        raise UserInputError(f"unknown member {slug!r}")
    member.accepts_requests, member.request_conditions = accepts, text
    session.flush()


def purge_expired(engine: Engine, days: int, now: datetime | None = None) -> int:
    """Erase the patron's name, email and note of every request made more than ``days``
    days ago (not erased yet); returns how many were erased."""
    now = now or utcnow()
    cutoff = now - timedelta(days=days)
    with session_scope(engine) as session:
        done = session.execute(
            update(ServiceRequest)
            .where(and_(ServiceRequest.created_at < cutoff,
                        ServiceRequest.purged_at.is_(None)))
            .values(patron_name=None, patron_email=None, note=None, purged_at=now),
            execution_options={"synchronize_session": False})
        return int(done.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Holder:
    """A member's request settings, as the record page offers them."""

    slug: str
    name: str
    kinds: tuple[str, ...]  # loan, copy
    conditions: str | None


def holders_taking_requests(session: Session, slugs: list[str]) -> dict[str, Holder]:
    """Of the members ``slugs``, the active ones that take loan or copy requests."""
    if not slugs:
        return {}
    rows = session.execute(select(Member.slug, Member.name, Member.accepts_requests,
                                  Member.request_conditions)
                           .where(Member.slug.in_(slugs), Member.status == "active",
                                  Member.accepts_requests != "none"))
    return {slug: Holder(slug, name, kinds_accepted(accepts), conditions)
            for slug, name, accepts, conditions in rows if kinds_accepted(accepts)}


def home_choices(session: Session) -> list[tuple[str, str]]:
    """(slug, name) of every active member, by name: the patron's home library."""
    return [(slug, name) for slug, name in session.execute(
        select(Member.slug, Member.name).where(Member.status == "active")
        .order_by(Member.name, Member.slug))]
