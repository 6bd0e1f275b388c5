"""Exchange and donation lists: the items members offer, how managers keep them, how
others find them, and the request another member's manager sends for one."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, String, cast, func, insert, or_, select
from sqlalchemy.orm import Session

from aggregator.errors import UserInputError
from aggregator.normalize.fields import Fields
from aggregator.offer_files import (
    SIZES,
    OfferItem,
    condition_value,
    make_item,
    quantity_value,
)
from aggregator.store.models import (
    Member,
    Offer,
    Record,
    RequestEvent,
    ServiceRequest,
    Source,
    utcnow,
)
from aggregator.store.runs import as_utc

__all__ = ["NOTE_MAX", "OfferPage", "OfferUnavailable", "OfferView", "RecordChoice",
           "add_items", "ask_for_offer", "browse", "count_available", "edit_offer",
           "get_offer", "mark_given", "member_offers", "offering_members", "own_records",
           "pick", "withdraw", "active_members"]

NOTE_MAX = SIZES["note"]
MAX_WORDS = 8
MAX_WORD = 60
PICK_SHOWN = 30
_ASCII_RUN = re.compile(r"[A-Za-z0-9]+")
_PICK_SCAN = 500  # candidates the database finds before the words are checked exactly


@dataclass(frozen=True, slots=True)
class OfferView:
    """An offer as the pages show it, with its member."""

    id: int
    member_id: int
    member_slug: str
    member_name: str
    member_status: str
    title: str
    creators: str | None
    year: int | None
    publisher: str | None
    isbn: str | None
    note: str | None
    condition: str
    quantity: int
    record_id: int | None
    status: str
    created_at: datetime
    given_at: datetime | None


@dataclass(frozen=True, slots=True)
class OfferPage:
    """One page of offers and how many there are in all."""

    offers: list[OfferView]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """How many pages there are (at least 1)."""
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True, slots=True)
class RecordChoice:
    """One of a member's own records, as the pick form lists it."""

    record_id: int
    title: str
    creators: str | None
    year: int | None
    publisher: str | None
    isbn: str | None


class OfferUnavailable(UserInputError):
    """An offer that cannot be asked for; ``cause`` is ``missing``, ``gone`` (given or
    withdrawn), ``own`` (the asker's own library), ``member`` (the asker's library is
    not active) or ``quantity`` (more than offered)."""

    def __init__(self, cause: str, message: str) -> None:
        super().__init__(message)
        self.cause = cause


def words_of(text: str | None) -> list[str]:
    """The words of a search box (at most :data:`MAX_WORDS`, each cut to :data:`MAX_WORD`)."""
    return [word[:MAX_WORD] for word in (text or "").split()][:MAX_WORDS]


def _like(word: str) -> str:
    escaped = word.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


def _select() -> Select[Offer, str, str, str]:
    return select(Offer, Member.slug, Member.name, Member.status).join(
        Member, Member.id == Offer.member_id)


def _view(row: Any) -> OfferView:
    offer, slug, name, member_status = row
    return OfferView(
        id=offer.id, member_id=offer.member_id, member_slug=slug, member_name=name,
        member_status=member_status,
        title=offer.title, creators=offer.creators, year=offer.year,
        publisher=offer.publisher, isbn=offer.isbn, note=offer.note,
        condition=offer.condition, quantity=offer.quantity, record_id=offer.record_id,
        status=offer.status, created_at=as_utc(offer.created_at) or offer.created_at,
        given_at=as_utc(offer.given_at))


def add_items(session: Session, member_id: int, items: list[OfferItem]) -> int:
    """Store ``items`` (read by :func:`~aggregator.offer_files.parse_offer_file`) as
    available offers of member ``member_id``, in one statement; how many were stored."""
    if not items:
        return 0
    now = utcnow()
    session.execute(insert(Offer), [
        {"member_id": member_id, "title": i.title, "creators": i.creators, "year": i.year,
         "publisher": i.publisher, "isbn": i.isbn, "note": i.note, "condition": i.condition,
         "quantity": i.quantity, "status": "available", "created_at": now}
        for i in items])
    return len(items)


def own_records(session: Session, member_id: int, text: str,
                limit: int = PICK_SHOWN) -> list[RecordChoice]:
    """Member ``member_id``'s live records whose title, creators, publisher, subjects
    or ISBN hold every word of ``text``, newest first."""
    words = words_of(text)
    if not words:
        return []
    stmt = (select(Record.id, Record.fields).join(Source, Source.id == Record.source_id)
            .where(Source.member_id == member_id, ~Record.deleted,
                   Record.fields.is_not(None)))
    raw = cast(Record.fields, String)
    for word in words:
        # JSON may keep non-ASCII letters escaped (\u00c9), which no case-insensitive
        # match sees as "é": the database looks for the word's longest ASCII part, and
        # every word is checked exactly below.
        part = max(_ASCII_RUN.findall(word), key=len, default="")
        if len(part) >= 2:
            stmt = stmt.where(raw.ilike(_like(part), escape="!"))
    found: list[RecordChoice] = []
    folded = [word.casefold() for word in words]
    for record_id, fields in session.execute(
            stmt.order_by(Record.id.desc()).limit(_PICK_SCAN)):
        choice = _choice(record_id, Fields.from_json(fields))
        subjects = " ".join(fields.get("subjects") or ())
        haystack = " ".join(filter(None, (choice.title, choice.creators, choice.publisher,
                                          choice.isbn, subjects))).casefold()
        if all(word in haystack for word in folded):
            found.append(choice)
            if len(found) >= limit:
                break
    return found


def _choice(record_id: int, fields: Fields) -> RecordChoice:
    isbns = fields.identifiers.get("isbn") or ()
    return RecordChoice(
        record_id=record_id, title=(fields.title or "(untitled)")[:SIZES["title"]],
        creators="; ".join(fields.creators)[:SIZES["creators"]] or None, year=fields.year,
        publisher=(fields.publisher or "")[:SIZES["publisher"]] or None,
        isbn=isbns[0][:SIZES["isbn"]] if isbns else None)


def pick(session: Session, member_id: int, record_id: int, *, condition: str = "",
         quantity: str = "", note: str = "") -> OfferView:
    """Offer one of the member's own records: its title, creators, year, publisher and
    ISBN are copied, and the offer keeps the record's id.

    Raises:
        UserInputError: the record is not a live record of this member; or a bad
            condition, quantity or note.
    """
    row = session.execute(select(Record.fields).join(Source, Source.id == Record.source_id)
                          .where(Record.id == record_id, Source.member_id == member_id,
                                 ~Record.deleted)).first()
    if row is None or row.fields is None:
        raise UserInputError(f"record {record_id} is not one of this member's records")
    choice = _choice(record_id, Fields.from_json(row.fields))
    item = make_item({"title": choice.title, "creators": choice.creators,
                      "year": str(choice.year or ""), "publisher": choice.publisher,
                      "note": note, "condition": condition, "quantity": quantity})
    offer = Offer(member_id=member_id, title=item.title, creators=item.creators,
                  year=item.year, publisher=item.publisher, isbn=choice.isbn, note=item.note,
                  condition=item.condition, quantity=item.quantity, record_id=record_id,
                  status="available", created_at=utcnow())
    session.add(offer)
    session.flush()
    found = get_offer(session, offer.id)
    assert found is not None
    return found


def get_offer(session: Session, offer_id: int) -> OfferView | None:
    """The offer with this id (whatever its status), or None."""
    row = session.execute(_select().where(Offer.id == offer_id)).first()
    return None if row is None else _view(row)


def _changeable(session: Session, offer_id: int) -> Offer:
    offer = session.get(Offer, offer_id)
    if offer is None:
        raise UserInputError(f"no offer {offer_id}")
    if offer.status != "available":
        raise UserInputError(f"the offer is {offer.status} already: it cannot be changed")
    return offer


def edit_offer(session: Session, offer_id: int, *, condition: str, quantity: str,
               note: str) -> None:
    """Change an available offer's condition, quantity and note.

    Raises:
        UserInputError: no such offer, not available, or a bad value.
    """
    offer = _changeable(session, offer_id)
    note = " ".join(note.split())
    if len(note) > NOTE_MAX:
        raise UserInputError(f"the note is longer than {NOTE_MAX} characters")
    offer.condition = condition_value(condition)
    offer.quantity = quantity_value(quantity)
    offer.note = note or None


def mark_given(session: Session, offer_id: int, count: int | None = None) -> int:
    """Mark ``count`` of the offer's copies given (all when None); the offer becomes
    ``given`` (quantity 0) when none is left. Returns the copies left.

    Raises:
        UserInputError: no such offer, or not available.
    """
    offer = _changeable(session, offer_id)
    if count is None or count >= offer.quantity:
        offer.quantity, offer.status, offer.given_at = 0, "given", utcnow()
    elif count < 1:
        raise UserInputError("at least one copy is given")
    else:
        offer.quantity -= count
    return offer.quantity


def withdraw(session: Session, offer_id: int) -> None:
    """Take an available offer off the list (kept, as ``withdrawn``).

    Raises:
        UserInputError: no such offer, or not available.
    """
    _changeable(session, offer_id).status = "withdrawn"


def member_offers(session: Session, member_id: int, page: int = 1,
                  per_page: int = 50) -> OfferPage:
    """Every offer of a member, available ones first, newest first."""
    where = Offer.member_id == member_id
    total = int(session.scalar(select(func.count(Offer.id)).where(where)) or 0)
    rows = session.execute(_select().where(where).order_by(
        (Offer.status != "available"), Offer.id.desc())
        .limit(per_page).offset((page - 1) * per_page)).all()
    return OfferPage([_view(row) for row in rows], total, page, per_page)


def _browse_filter(session: Session, text: str, member: str, condition: str
                   ) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Offer.status == "available",
                                        Member.status == "active"]
    words = words_of(text)
    columns = (Offer.title, Offer.creators, Offer.publisher, Offer.isbn)
    if words and session.get_bind().dialect.name == "sqlite":
        # SQLite's LIKE ignores (ASCII) case by itself and is cheap per column
        where += [or_(*(column.like(_like(word), escape="!") for column in columns))
                  for word in words]
    elif words:
        # PostgreSQL's ILIKE is dear in a UTF-8 locale: one LIKE per word over the
        # four columns lower-cased together costs half of four ILIKEs
        haystack = func.lower(func.concat_ws(" ", *columns))
        where += [haystack.like(_like(word.lower()), escape="!") for word in words]
    if member:
        where.append(Member.slug == member)
    if condition:
        where.append(Offer.condition == condition)
    return where


def browse(session: Session, *, text: str = "", member: str = "", condition: str = "",
           page: int = 1, per_page: int = 25) -> OfferPage:
    """Available offers of active members holding every word of ``text`` in their
    title, creators, publisher or ISBN, optionally of one member (slug) and condition;
    newest first."""
    where = _browse_filter(session, text, member, condition)
    total = int(session.scalar(select(func.count(Offer.id)).join(
        Member, Member.id == Offer.member_id).where(*where)) or 0)
    # newest first by id (ids grow with time): the primary key is walked, nothing
    # sorted, and the walk stops at the page's last row
    rows = session.execute(_select().where(*where).order_by(Offer.id.desc())
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return OfferPage([_view(row) for row in rows], total, page, per_page)


def count_available(session: Session, slug: str) -> int:
    """How many offers an active member (by slug) has available."""
    return int(session.scalar(select(func.count(Offer.id)).join(
        Member, Member.id == Offer.member_id).where(
        Member.slug == slug, Member.status == "active", Offer.status == "available")) or 0)


def offering_members(session: Session) -> list[tuple[str, str, int]]:
    """(slug, name, available offers) of every active member offering something, by
    name."""
    rows = session.execute(
        select(Member.slug, Member.name, func.count(Offer.id))
        .join(Offer, Offer.member_id == Member.id)
        .where(Member.status == "active", Offer.status == "available")
        .group_by(Member.slug, Member.name)).all()
    return sorted(((slug, name, int(n)) for slug, name, n in rows),
                  key=lambda row: (row[1].casefold(), row[0]))


def active_members(session: Session, ids: frozenset[int] | set[int]) -> list[tuple[int, str]]:
    """(id, name) of the active members among ``ids``, by name."""
    if not ids:
        return []
    rows = session.execute(select(Member.id, Member.name).where(
        Member.id.in_(sorted(ids)), Member.status == "active")).all()
    return sorted(((int(mid), name) for mid, name in rows), key=lambda r: r[1].casefold())


def ask_for_offer(session: Session, offer_id: int, *, asking_member_id: int,
                  manager_email: str, quantity: int = 1, note: str = "") -> tuple[int, str]:
    """Ask for an offered item on behalf of another member: a new ``exchange`` request
    to the offering member, with its first step, in the caller's transaction.

    The request's patron is the asking library (its name) and its manager (the email);
    the quantity wanted opens the note. Returns the request's id and its status token.

    Raises:
        OfferUnavailable: see its ``cause``.
        UserInputError: the note is too long.
    """
    row = session.execute(_select().where(Offer.id == offer_id)).first()
    if row is None:
        raise OfferUnavailable("missing", f"no offer {offer_id}")
    offer = _view(row)
    if offer.status != "available" or offer.member_status != "active":
        raise OfferUnavailable("gone", "the offer is not available any more")
    asker = session.get(Member, asking_member_id)
    if asker is None or asker.status != "active":
        raise OfferUnavailable("member", "the asking library is not an active member")
    if asker.id == offer.member_id:
        raise OfferUnavailable("own", "a library cannot ask for its own offer")
    if not 1 <= quantity <= offer.quantity:
        raise OfferUnavailable("quantity", f"at most {offer.quantity} copies are offered")
    note = " ".join(note.split())
    text = f"Quantity wanted: {quantity}." + (f" {note}" if note else "")
    if len(text) > NOTE_MAX:
        raise UserInputError(f"the note is longer than {NOTE_MAX - 30} characters")
    request = ServiceRequest(
        token=secrets.token_urlsafe(32), kind="exchange", status="new",
        holder_member_id=offer.member_id, home_member_id=asker.id, offer_id=offer.id,
        title=offer.title, patron_name=asker.name[:200], patron_email=manager_email,
        note=text, created_at=utcnow())
    session.add(request)
    session.flush()
    session.add(RequestEvent(request_id=request.id, status="new", at=request.created_at,
                             actor=None, note=None))
    session.flush()
    return request.id, request.token
