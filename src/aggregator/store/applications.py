"""Applications to join the network (``/register``) and the coordinator's decisions."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from aggregator.errors import UserInputError
from aggregator.store import catalog, users
from aggregator.store.models import Application, Member, Source, utcnow
from aggregator.store.runs import as_utc

__all__ = ["SIZES", "ApplicationView", "approve", "count_pending", "endpoint_known",
           "free_slug", "get_application", "list_applications", "reject", "submit"]

NOTE_MAX = 2000
# The most characters each field of an application may have (the form says the same).
SIZES = {"name": 300, "homepage": 2000, "contact_email": 320, "base_url": 2000}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class ApplicationView:
    """An application as the pages show it."""

    id: int
    name: str
    homepage: str | None
    contact_email: str
    base_url: str
    platform: str | None
    report: dict[str, Any]
    status: str
    note: str | None
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    member_slug: str | None


def submit(session: Session, *, name: str, homepage: str | None, contact_email: str,
           base_url: str, report: dict[str, Any], platform: str | None) -> ApplicationView:
    """Keep an application, pending the coordinator's decision.

    ``base_url`` is taken as given: the caller has checked it
    (:func:`aggregator.endpoints.registrable_url`).

    Raises:
        UserInputError: a field is empty, too long or malformed; or the endpoint is a
            source of the network already, or an application for it is pending.
    """
    name = name.strip()
    if not name or _CONTROL.search(name):
        raise UserInputError("the library's name is empty or has control characters")
    homepage = (catalog.check_http_url("homepage", homepage)
                if homepage and homepage.strip() else None)
    contact_email = users.normalise_email(contact_email)
    for key, value in (("name", name), ("homepage", homepage), ("base_url", base_url)):
        if value is not None and len(value) > SIZES[key]:
            raise UserInputError(f"the {key} is too long: at most {SIZES[key]} characters")
    known = endpoint_known(session, base_url)
    if known == "source":
        raise UserInputError("this endpoint is harvested by the network already")
    if known == "pending":
        raise UserInputError("an application for this endpoint is waiting for the "
                             "coordinator already")
    application = Application(
        name=name, homepage=homepage, contact_email=contact_email, base_url=base_url,
        platform=platform, report=report, status="pending", created_at=utcnow())
    session.add(application)
    session.flush()
    found = get_application(session, application.id)
    assert found is not None
    return found


def endpoint_known(session: Session, base_url: str) -> str | None:
    """``source`` when the network harvests ``base_url`` already, ``pending`` when an
    application for it waits for the coordinator, else None."""
    if session.scalar(select(Source.id).where(Source.base_url == base_url,
                                              Source.status != "removed")) is not None:
        return "source"
    if session.scalar(select(Application.id).where(
            Application.base_url == base_url, Application.status == "pending")) is not None:
        return "pending"
    return None


def get_application(session: Session, application_id: int) -> ApplicationView | None:
    """The application with this id, or None."""
    row = session.execute(_SELECT.where(Application.id == application_id)).first()
    return None if row is None else _view(row)


_SELECT = select(Application, Member.slug).outerjoin(Member,
                                                       Member.id == Application.member_id)


def _view(row: Any) -> ApplicationView:
    app, slug = row
    return ApplicationView(
        app.id, app.name, app.homepage, app.contact_email, app.base_url, app.platform,
        dict(app.report or {}), app.status, app.note, as_utc(app.created_at) or app.created_at,
        as_utc(app.decided_at) if app.decided_at else None, app.decided_by, slug)


def list_applications(session: Session) -> list[ApplicationView]:
    """Every application: pending ones first (oldest first), then the decided ones
    (latest first)."""
    pending_first = case((Application.status == "pending", 0), else_=1)
    rows = session.execute(_SELECT.order_by(
        pending_first, case((Application.status == "pending", Application.created_at)),
        Application.decided_at.desc(), Application.id.desc()))
    return [_view(row) for row in rows]


def count_pending(session: Session) -> int:
    """How many applications wait for the coordinator."""
    return int(session.scalar(select(func.count()).select_from(Application).where(
        Application.status == "pending")) or 0)


def _pending(session: Session, application_id: int) -> Application:
    application = session.get(Application, application_id)
    if application is None:
        raise UserInputError(f"no application {application_id}")
    if application.status != "pending":
        raise UserInputError(f"application {application_id} was {application.status} "
                             "already")
    return application


def _note(note: str | None) -> str | None:
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise UserInputError(f"the note may have at most {NOTE_MAX} characters")
    return note or None


def approve(session: Session, application_id: int, *, decided_by: str, note: str | None,
            every: str, slug: str | None = None) -> ApplicationView:
    """Accept an application: the member (``slug``, made from the name when empty) and
    its source are created, and the source is due at once (the scheduler harvests it
    first thing). When ``slug`` names an existing member, the endpoint becomes one more
    source of that member.

    Raises:
        UserInputError: no such pending application, a bad note or slug, or the
            endpoint became a source meanwhile.
    """
    application = _pending(session, application_id)
    note = _note(note)
    slug = (slug or "").strip().lower() or free_slug(session, application.name)
    member = session.scalar(select(Member).where(Member.slug == slug))
    if member is None or member.status == "removed":
        member = catalog.add_member(session, slug, application.name,
                                    homepage=application.homepage,
                                    contact=application.contact_email)
    catalog.add_source(session, slug, application.base_url, every=every)
    application.status, application.note = "approved", note
    application.decided_at, application.decided_by = utcnow(), decided_by
    application.member_id = member.id
    session.flush()
    found = get_application(session, application.id)
    assert found is not None
    return found


def reject(session: Session, application_id: int, *, decided_by: str,
           note: str | None) -> ApplicationView:
    """Turn an application down, with a note for the applicant.

    Raises:
        UserInputError: no such pending application, or a bad note.
    """
    application = _pending(session, application_id)
    application.status, application.note = "rejected", _note(note)
    application.decided_at, application.decided_by = utcnow(), decided_by
    session.flush()
    found = get_application(session, application.id)
    assert found is not None
    return found


def free_slug(session: Session, name: str) -> str:
    """A member slug made from ``name`` that no member has yet (``perpustakaan-x``,
    then ``perpustakaan-x-2`` …)."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    base = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:50].strip("-") or "member"
    taken = set(session.scalars(select(Member.slug).where(Member.slug.startswith(base))))
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"
