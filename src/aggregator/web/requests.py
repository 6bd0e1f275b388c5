"""A patron asks a holding member for a loan or a copy of a record
(``/records/<id>/request/<slug>``), then follows the request at its status page
(``/requests/<token>``), whose unguessable token is the only key to it.

A public form: CSRF, a size limit on every field, no account, and at most
``request_rate_limit`` requests an hour per client address (counted in the counters
every worker process shares). Status pages are not indexed, not cached and send no
referrer (the token is in their URL).
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers.response import Response
from wtforms import EmailField, Field, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import StopValidation

from aggregator.errors import UserInputError
from aggregator.request_notices import request_made
from aggregator.store import requests
from aggregator.store.db import session_scope
from aggregator.store.requests import SIZES, Holder
from aggregator.web import limits, queries
from aggregator.web.formchecks import at_most, email_address, required
from aggregator.web.i18n import gettext as _
from aggregator.web.queries import RecordPage
from aggregator.web.state import portal

bp = Blueprint("requests", __name__)
OTHER = "other"  # the home-library choice of a library outside the network
PRIVATE_HEADERS = {"X-Robots-Tag": "noindex, nofollow", "Referrer-Policy": "no-referrer",
                   "Cache-Control": "no-store"}
request_per_client = limits.from_setting("request_rate_limit", "hour")





def _home_typed(form: FlaskForm, field: Field) -> None:
    if form.home.data == OTHER and not (field.data or "").strip():
        raise StopValidation(_("Name your library, or pick it from the list."))


def _chosen(form: FlaskForm, field: Field) -> None:
    if not field.data:
        raise StopValidation(_('Choose your library, or "Another library".'))


class RequestForm(FlaskForm):  # type: ignore[misc]
    """``kind``, ``name``, ``email``, ``home`` (a member's slug or ``other``),
    ``home_other``, ``note`` (and ``csrf_token``)."""

    kind = RadioField("kind")
    name = StringField("name", validators=[required, at_most(SIZES["patron_name"])])
    email = EmailField("email", validators=[required, at_most(SIZES["patron_email"]),
                                            email_address])
    home = SelectField("home", validators=[_chosen])
    home_other = StringField("home_other", validators=[at_most(SIZES["home_library"]),
                                                       _home_typed])
    note = TextAreaField("note", validators=[at_most(SIZES["note"])])


def _holders(page: RecordPage) -> dict[str, Holder]:
    slugs = list(dict.fromkeys([page.member_slug, *(c.member_slug for c in page.copies)]))
    with session_scope(portal().engine) as session:
        return requests.holders_taking_requests(session, slugs)


@bp.app_context_processor
def _globals() -> dict[str, object]:
    return {"request_holders": lambda page: [] if page.deleted else
            list(_holders(page).values())}


def _kind_label(kind: str) -> str:
    return _("A loan") if kind == "loan" else _("A copy")


@bp.route("/records/<int:record_id>/request/<slug>", methods=["GET", "POST"])
def ask(record_id: int, slug: str) -> str | Response | tuple[str, int]:
    """The form; on a valid POST the request is stored and the patron sent to its
    status page."""
    page = queries.record_page(portal().engine, record_id)
    if page is None or page.deleted:
        abort(404)
    holder = _holders(page).get(slug)
    if holder is None:
        abort(404)
    held = page.record_id if page.member_slug == slug else next(
        c.record_id for c in page.copies if c.member_slug == slug)
    with session_scope(portal().engine) as session:
        homes = requests.home_choices(session)
    form = RequestForm()
    form.kind.choices = [(kind, _kind_label(kind)) for kind in holder.kinds]
    if len(holder.kinds) == 1 and not form.kind.data:
        form.kind.data = holder.kinds[0]
    form.home.choices = [("", _("Choose your library")), *homes,
                         (OTHER, _("Another library (type its name)"))]
    if not form.validate_on_submit():
        return _page(form, page, holder), 400 if form.is_submitted() else 200
    wait = limits.hit("request:" + limits.client_address(), request_per_client())
    if wait is not None:
        return _page(form, page, holder, wait=wait), 429
    home = form.home.data if form.home.data not in ("", OTHER) else None
    try:
        with session_scope(portal().engine) as session:
            made = requests.create(
                session, holder=slug, kind=form.kind.data or "",
                title=page.fields.title or "-", patron_name=form.name.data or "",
                patron_email=form.email.data or "", home=home,
                home_library=form.home_other.data, note=form.note.data, record_id=held)
    except UserInputError as exc:  # the member changed its settings meanwhile
        form.kind.errors = [str(exc)]
        return _page(form, page, holder), 409
    request_made(portal().settings, portal().engine, made.id)
    return redirect(url_for("requests.status", token=made.token))


def _page(form: RequestForm, page: RecordPage, holder: Holder, *,
          wait: int | None = None) -> str:
    return render_template("request.html", form=form, page=page, holder=holder,
                           wait=wait, sizes=SIZES, other=OTHER,
                           retention_days=portal().settings.request_retention_days)


@bp.get("/requests/<token>")
def status(token: str) -> tuple[str, int, dict[str, str]]:
    """The request's status, its timeline and the holder's answer."""
    with session_scope(portal().engine) as session:
        found = requests.get_by_token(session, token)
        if found is None:
            abort(404)
        steps = requests.events(session, found.id)
    return (render_template("request_status.html", request_=found, steps=steps,
                            notify=bool(portal().settings.smtp_url)),
            200, PRIVATE_HEADERS)
