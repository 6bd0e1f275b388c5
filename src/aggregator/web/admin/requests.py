"""``/admin/requests``: the interlibrary requests of a manager's members, as holder (to
answer: accept, decline with a reason, fulfilled) and as the patron's home library
(read only); the coordinator sees and answers all. Their figures
(``/admin/requests/figures`` and ``.csv``), and each member's request settings
(``/admin/members/<slug>/requests``)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from flask import Response, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers.response import Response as WerkzeugResponse

from aggregator.errors import UserInputError
from aggregator.request_notices import request_answered
from aggregator.store import request_figures, requests
from aggregator.store.db import session_scope
from aggregator.store.models import ACCEPTS_REQUESTS, REQUEST_STATUSES
from aggregator.store.request_figures import FigureRow
from aggregator.store.requests import SIZES, RequestConflict, RequestView
from aggregator.store.users import AccountView
from aggregator.web.admin.access import account, bp, managed_member
from aggregator.web.i18n import gettext as _
from aggregator.web.state import portal

CSV_COLUMNS = ("member", "name", "kind", "made", "open", "new", "accepted", "fulfilled",
               "declined", "answered", "median_hours", "p90_hours")


def _visible(me: AccountView, found: RequestView) -> bool:
    return (me.is_coordinator or found.holder_member_id in me.member_ids
            or (found.home_member_id is not None and found.home_member_id in me.member_ids))


def _may_answer(me: AccountView, found: RequestView) -> bool:
    return me.may_manage(found.holder_member_id)


def _request_or_404(request_id: int) -> tuple[AccountView, RequestView]:
    me = account()
    with session_scope(portal().engine) as session:
        found = requests.get_request(session, request_id)
    if found is None or not _visible(me, found):
        abort(404)  # another member's request cannot be told from none
    return me, found


@bp.get("/requests")
def requests_list() -> str:
    """The requests of the account's members (all for the coordinator), newest first."""
    me = account()
    status = request.args.get("status", "")
    if status not in REQUEST_STATUSES:
        status = ""
    with session_scope(portal().engine) as session:
        found = requests.list_requests(session, None if me.is_coordinator else me.member_ids,
                                       status=status or None)
    return render_template("admin/requests.html", requests_=found, status=status,
                           statuses=REQUEST_STATUSES, me=me,
                           answers=lambda r: _may_answer(me, r))


@bp.get("/requests/<int:request_id>")
def request_detail(request_id: int) -> str:
    """One request: what was asked, by whom, its timeline, and the answer forms (for the
    holder's managers and the coordinator)."""
    me, found = _request_or_404(request_id)
    with session_scope(portal().engine) as session:
        steps = requests.events(session, request_id)
    return render_template("admin/request.html", request_=found, steps=steps,
                           may_answer=_may_answer(me, found), reason_max=SIZES["reason"])


@bp.post("/requests/<int:request_id>/<any(accept, decline, fulfil):action>")
def answer(request_id: int, action: str) -> WerkzeugResponse:
    """Accept, decline (with a reason) or fulfil; the patron is told by email."""
    me, found = _request_or_404(request_id)
    if not _may_answer(me, found):
        abort(403)  # the home library sees the request but does not answer it
    reason = request.form.get("reason", "")[:SIZES["reason"] + 1]
    back = redirect(url_for("admin.request_detail", request_id=request_id))
    if action == "decline" and not reason.strip():
        flash(_("Nothing was saved: say why the request is declined (the patron reads it)."),
              "error")
        return back
    try:
        with session_scope(portal().engine) as session:
            done = requests.answer(session, request_id, action, actor=me.email,
                                   reason=reason)
    except RequestConflict as exc:
        now = {"accepted": _("accepted"), "declined": _("declined"),
               "fulfilled": _("fulfilled")}.get(exc.current, exc.current)
        flash(_("Nothing was changed: the request is already {status}.", status=now), "error")
        return back
    except UserInputError as exc:
        flash(_("Nothing was saved: {reason}", reason=str(exc)), "error")
        return back
    flash(_("The answer is saved."), "ok")
    if request_answered(portal().settings, portal().engine, done.id):
        flash(_("The patron was told by email."), "ok")
    return back


def _day(name: str) -> datetime | None:
    raw = request.args.get(name, "")[:10]
    try:
        return datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC) if raw else None
    except ValueError:
        return None


def _figures() -> tuple[list[FigureRow], datetime | None, datetime | None]:
    me = account()
    since, until = _day("since"), _day("until")
    with session_scope(portal().engine) as session:
        rows = request_figures.figures(
            session, since=since, until=until + timedelta(days=1) if until else None,
            member_ids=None if me.is_coordinator else me.member_ids)
    return rows, since, until


@bp.get("/requests/figures")
def requests_figures() -> str:
    """Requests made, answered and the hours to answer, per member (the account's) and
    for the network, by kind, optionally for a date range."""
    rows, since, until = _figures()
    return render_template("admin/request_figures.html", rows=rows,
                           since=since.strftime("%Y-%m-%d") if since else "",
                           until=until.strftime("%Y-%m-%d") if until else "")


def _hours(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


@bp.get("/requests/figures.csv")
def requests_figures_csv() -> Response:
    """The same figures as CSV (member empty: the network)."""
    rows, _since, _until = _figures()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([row.member_slug or "", row.member_name or "", row.kind, row.made,
                         row.open, row.new, row.accepted, row.fulfilled, row.declined,
                         row.answered, _hours(row.median_hours), _hours(row.p90_hours)])
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="request-figures.csv"'})


@bp.post("/members/<slug>/requests")
def member_requests(slug: str) -> WerkzeugResponse:
    """Save which requests the member takes and its conditions."""
    with session_scope(portal().engine) as session:
        managed_member(session, slug)
    accepts = request.form.get("accepts_requests", "")[:20]
    conditions = request.form.get("request_conditions", "")[:SIZES["request_conditions"] + 1]
    try:
        if accepts not in ACCEPTS_REQUESTS:
            raise UserInputError(_("Choose which requests the member takes."))
        with session_scope(portal().engine) as session:
            requests.set_request_settings(session, slug, accepts, conditions)
    except UserInputError as exc:
        flash(_("Nothing was saved: {reason}", reason=str(exc)), "error")
    else:
        flash(_("The member's request settings are saved."), "ok")
    return redirect(url_for("admin.member", slug=slug))
