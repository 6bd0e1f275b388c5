"""``/admin/members/<slug>/offers`` and ``/admin/offers/<id>``: a member's exchange and
donation list: upload a file, pick from the member's own records, edit, mark given,
withdraw."""

from __future__ import annotations

from typing import cast

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers.response import Response

from aggregator.errors import UserInputError
from aggregator.offer_files import (
    MAX_FILE_BYTES,
    MAX_ITEMS,
    MAX_QUANTITY,
    OfferFileError,
    parse_offer_file,
)
from aggregator.store import offers
from aggregator.store.db import reader, session_scope
from aggregator.store.models import OFFER_CONDITIONS
from aggregator.store.offers import NOTE_MAX, OfferView
from aggregator.web.admin.access import bp, managed_member, member_allowed
from aggregator.web.auth import login_manager, signed_in
from aggregator.web.i18n import gettext as _
from aggregator.web.params import page_number
from aggregator.web.state import portal

PER_PAGE = 50
MAX_FIELD = 4000  # longer than any column: the store says which value is too long


def _member(slug: str) -> tuple[int, str]:
    """The member's id and name, when the account may manage it; 404 otherwise."""
    with session_scope(reader(portal().engine)) as session:
        member = managed_member(session, slug)
        return member.id, member.name


def _offer(offer_id: int) -> OfferView:
    """The offer, when the account may manage its member; 404 otherwise."""
    with session_scope(reader(portal().engine)) as session:
        found = offers.get_offer(session, offer_id)
    member_allowed(found.member_id if found is not None else None)
    assert found is not None
    return found


def _list(slug: str, status: int = 200, problems: list[str] | None = None,
          upload_error: str | None = None) -> tuple[str, int]:
    member_id, name = _member(slug)
    with session_scope(reader(portal().engine)) as session:
        listed = offers.member_offers(session, member_id, page_number(request.args), PER_PAGE)
    return render_template(
        "admin/offers.html", slug=slug, name=name, listed=listed, problems=problems or [],
        upload_error=upload_error, max_kib=MAX_FILE_BYTES // 1024, max_items=MAX_ITEMS,
        conditions=OFFER_CONDITIONS), status


@bp.get("/members/<slug>/offers")
def offers_list(slug: str) -> tuple[str, int]:
    """The member's offers (available first), the upload form and the pick form."""
    return _list(slug)


@bp.post("/members/<slug>/offers/upload")
def offers_upload(slug: str) -> Response | tuple[str, int]:
    """Add every item of a CSV or MARC file, or none (each bad line listed)."""
    member_id, _name = _member(slug)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _list(slug, 400, upload_error=_("Choose a file to upload."))
    data = upload.stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        return _too_large(slug)
    try:
        items = parse_offer_file(data)
    except OfferFileError as exc:
        return _list(slug, 400, problems=exc.problems, upload_error=_(
            "Nothing was added: fix these lines and upload the file again."))
    with session_scope(portal().engine) as session:
        added = offers.add_items(session, member_id, items)
    flash(_("{n} items were added to the exchange list.", n=added), "ok")
    return redirect(url_for("admin.offers_list", slug=slug))


def _too_large(slug: str) -> tuple[str, int]:
    return _list(slug, 413, upload_error=_(
        "The file is too large: at most {kib} KiB. Split it into several files.",
        kib=MAX_FILE_BYTES // 1024))


@bp.errorhandler(RequestEntityTooLarge)
def _request_too_large(exc: RequestEntityTooLarge) -> ResponseReturnValue:
    """A body over the portal's limit, refused before any view ran: an upload says so on
    its own page."""
    slug = (request.view_args or {}).get("slug")
    if signed_in() is None:  # the guard had not run yet
        return cast(ResponseReturnValue, login_manager.unauthorized())
    if request.endpoint == "admin.offers_upload" and isinstance(slug, str):
        try:
            return _too_large(slug)
        except HTTPException as refused:  # not this account's member
            return render_template("error.html", code=refused.code), refused.code or 404
    return render_template("error.html", code=413), 413


@bp.route("/members/<slug>/offers/pick", methods=["GET", "POST"])
def offers_pick(slug: str) -> Response | tuple[str, int]:
    """Search the member's own records by words (GET ``q``); offer one (POST)."""
    member_id, name = _member(slug)
    if request.method == "POST":
        raw = request.form.get("record_id", "")
        try:
            if not (raw.isascii() and raw.isdigit() and len(raw) < 20):
                raise UserInputError(_("Choose a record to offer."))
            with session_scope(portal().engine) as session:
                picked = offers.pick(
                    session, member_id, int(raw),
                    condition=request.form.get("condition", "")[:MAX_FIELD],
                    quantity=request.form.get("quantity", "")[:MAX_FIELD],
                    note=request.form.get("note", "")[:MAX_FIELD])
        except UserInputError as exc:
            flash(_("Nothing was added: {reason}", reason=str(exc)), "error")
            return _pick_page(slug, member_id, name, 400)
        flash(_("Added to the exchange list: {title}", title=picked.title), "ok")
        return redirect(url_for("admin.offers_list", slug=slug))
    return _pick_page(slug, member_id, name, 200)


def _pick_page(slug: str, member_id: int, name: str, status: int) -> tuple[str, int]:
    q = request.values.get("q", "")[:200]
    with session_scope(reader(portal().engine)) as session:
        found = offers.own_records(session, member_id, q) if q.strip() else []
    return render_template("admin/offer_pick.html", slug=slug, name=name, q=q, found=found,
                           conditions=OFFER_CONDITIONS, max_quantity=MAX_QUANTITY,
                           note_max=NOTE_MAX), status


@bp.route("/offers/<int:offer_id>/edit", methods=["GET", "POST"])
def offer_edit(offer_id: int) -> Response | tuple[str, int]:
    """Change an available offer's condition, quantity and note."""
    found = _offer(offer_id)
    if request.method == "POST":
        try:
            with session_scope(portal().engine) as session:
                offers.edit_offer(session, offer_id,
                                  condition=request.form.get("condition", "")[:MAX_FIELD],
                                  quantity=request.form.get("quantity", "")[:MAX_FIELD],
                                  note=request.form.get("note", "")[:MAX_FIELD])
        except UserInputError as exc:
            flash(_("Nothing was saved: {reason}", reason=str(exc)), "error")
            return _edit_page(found, 400)
        flash(_("The offer is saved."), "ok")
        return redirect(url_for("admin.offers_list", slug=found.member_slug))
    return _edit_page(found, 200)


def _edit_page(found: OfferView, status: int) -> tuple[str, int]:
    return render_template("admin/offer_edit.html", offer=found, conditions=OFFER_CONDITIONS,
                           max_quantity=MAX_QUANTITY, note_max=NOTE_MAX), status


@bp.post("/offers/<int:offer_id>/given")
def offer_given(offer_id: int) -> Response:
    """Mark copies given (``count``, all when empty); the offer leaves the list when
    none is left."""
    found = _offer(offer_id)
    raw = request.form.get("count", "").strip()
    count = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 6 else None
    try:
        with session_scope(portal().engine) as session:
            left = offers.mark_given(session, offer_id, count)
    except UserInputError as exc:
        flash(_("Nothing was saved: {reason}", reason=str(exc)), "error")
    else:
        flash(_("Marked given: {title}", title=found.title) if left == 0 else
              _("Marked given; {n} copies are still offered.", n=left), "ok")
    return redirect(url_for("admin.offers_list", slug=found.member_slug))


@bp.post("/offers/<int:offer_id>/withdraw")
def offer_withdraw(offer_id: int) -> Response:
    """Take an offer off the list."""
    found = _offer(offer_id)
    try:
        with session_scope(portal().engine) as session:
            offers.withdraw(session, offer_id)
    except UserInputError as exc:
        flash(_("Nothing was saved: {reason}", reason=str(exc)), "error")
    else:
        flash(_("Withdrawn: {title}", title=found.title), "ok")
    return redirect(url_for("admin.offers_list", slug=found.member_slug))
