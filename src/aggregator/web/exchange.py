"""``/exchange``: the items members offer for exchange or donation, searchable by
anyone; a manager of another member asks for one (``/exchange/<id>/ask``), which
reaches the offering library as a request."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers.response import Response

from aggregator.errors import StoreError, UserInputError
from aggregator.request_notices import request_made
from aggregator.store import offers
from aggregator.store.db import reader, session_scope
from aggregator.store.models import OFFER_CONDITIONS
from aggregator.store.offers import NOTE_MAX, OfferUnavailable, OfferView
from aggregator.web import limits
from aggregator.web.auth import signed_in
from aggregator.web.i18n import gettext as _
from aggregator.web.state import portal

bp = Blueprint("exchange", __name__)
PER_PAGE = 25
MAX_PAGE = 10_000
request_per_client = limits.from_setting("request_rate_limit", "hour")


@bp.app_template_global()
def condition_name(value: str) -> str:
    """An offer's condition in the reader's language."""
    names = {"new": _("New"), "good": _("Good"), "fair": _("Fair"), "poor": _("Poor")}
    return names.get(value, value)


@bp.app_template_global()
def offer_status_name(value: str) -> str:
    """An offer's status in the reader's language."""
    names = {"available": _("available"), "given": _("given"),
             "withdrawn": _("withdrawn")}
    return names.get(value, value)


@bp.app_template_global()
def offers_available(slug: str) -> int:
    """How many items member ``slug`` offers now (0 when the store cannot say)."""
    try:
        with session_scope(reader(portal().engine)) as session:
            return offers.count_available(session, slug)
    except StoreError:
        return 0


def _choice(name: str, allowed: tuple[str, ...] | set[str]) -> str:
    value = request.args.get(name, "")
    return value if value in allowed else ""


@bp.get("/exchange")
def browse() -> str:
    """Available offers of every active member: words, member and condition filters."""
    raw = request.args.get("page", "1")
    page = min(int(raw), MAX_PAGE) if raw.isascii() and raw.isdigit() and len(raw) < 6 else 1
    q = request.args.get("q", "")[:200]
    with session_scope(reader(portal().engine)) as session:
        members = offers.offering_members(session)
        member = request.args.get("member", "")[:64]  # unknown: nothing offered
        condition = _choice("condition", OFFER_CONDITIONS)
        found = offers.browse(session, text=q, member=member, condition=condition,
                              page=max(page, 1), per_page=PER_PAGE)
    args = {"q": q, "member": member, "condition": condition}
    return render_template("exchange.html", found=found, members=members, q=q,
                           member=member, condition=condition, conditions=OFFER_CONDITIONS,
                           args={k: v for k, v in args.items() if v})


def _offer(offer_id: int) -> OfferView:
    """The offer, given and withdrawn ones too; 404 when its member is not active."""
    with session_scope(reader(portal().engine)) as session:
        found = offers.get_offer(session, offer_id)
    if found is None or found.member_status != "active":
        abort(404)
    return found


def _askers(found: OfferView) -> list[tuple[int, str]]:
    """The members the signed-in account may ask on behalf of (not the offering one)."""
    account = signed_in()
    if account is None:
        return []
    with session_scope(reader(portal().engine)) as session:
        members = offers.active_members(session, account.member_ids)
    return [(mid, name) for mid, name in members if mid != found.member_id]


def _page(found: OfferView, status: int = 200, error: str | None = None) -> tuple[str, int]:
    account = signed_in()
    own = account is not None and found.member_id in account.member_ids
    return render_template("exchange_offer.html", offer=found, askers=_askers(found),
                           own=own, error=error, note_max=NOTE_MAX - 30), status


@bp.get("/exchange/<int:offer_id>")
def offer(offer_id: int) -> tuple[str, int]:
    """One offer, with the form to ask for it (for managers of other members)."""
    return _page(_offer(offer_id))


@bp.post("/exchange/<int:offer_id>/ask")
def ask(offer_id: int) -> Response | tuple[str, int]:
    """Ask for the item on behalf of one of the account's members: a new request to
    the offering library."""
    found = _offer(offer_id)
    account = signed_in()
    if account is None:
        signin = _("Sign in as a manager of a member library to ask for this item.")
        return _page(found, 403, signin)
    if found.member_id in account.member_ids and len(account.member_ids) == 1:
        return _page(found, 403, _("This item is offered by your own library."))
    askers = dict(_askers(found))
    if not askers:
        others = _("Only managers of another member library can ask for this item.")
        return _page(found, 403, others)
    raw_member = request.form.get("member", "")
    asking = int(raw_member) if raw_member.isascii() and raw_member.isdigit() \
        and len(raw_member) < 12 else next(iter(askers))
    if asking not in askers:
        return _page(found, 403, _("You do not manage this library."))
    raw_quantity = request.form.get("quantity", "1").strip() or "1"
    if not (raw_quantity.isascii() and raw_quantity.isdigit() and len(raw_quantity) < 5):
        return _page(found, 400, _("The quantity must be a whole number."))
    note = request.form.get("note", "")[:NOTE_MAX + 1]
    wait = limits.hit("request:" + limits.client_address(), request_per_client())
    if wait is not None:
        later = _("Too many requests from this address: try again in {seconds} seconds.",
                  seconds=wait)
        return _page(found, 429, later)
    try:
        with session_scope(portal().engine) as session:
            made_id, token = offers.ask_for_offer(
                session, offer_id, asking_member_id=asking, manager_email=account.email,
                quantity=int(raw_quantity), note=note)
    except OfferUnavailable as exc:
        return _unavailable(found, exc)
    except UserInputError:
        return _page(found, 400, _("The note may have at most {n} characters.",
                                   n=NOTE_MAX - 30))
    request_made(portal().settings, portal().engine, made_id)
    flash(_("Your request was sent to {member}.", member=found.member_name), "ok")
    return redirect(url_for("requests.status", token=token))


def _unavailable(found: OfferView, exc: OfferUnavailable) -> tuple[str, int]:
    if exc.cause == "quantity":
        return _page(found, 400, _("At most {n} copies are offered.", n=found.quantity))
    if exc.cause == "own":
        return _page(found, 403, _("This item is offered by your own library."))
    if exc.cause == "member":
        return _page(found, 403, _("Your library is not an active member of the network."))
    return _page(found, 409, _("This item is not offered any more."))
