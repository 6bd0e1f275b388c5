"""``/admin/sources/<id>``: a source's schedule, runs and records over time, and the
forms that ask for a harvest, pause, resume and change it."""

from __future__ import annotations

from datetime import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers.response import Response

from aggregator.endpoints import endpoint_offer
from aggregator.errors import HarvestError, UserInputError
from aggregator.store import sources
from aggregator.store.db import session_scope
from aggregator.store.sources import SourceDetail
from aggregator.web.admin.access import bp, member_allowed
from aggregator.web.charts import bar_chart
from aggregator.web.i18n import gettext as _
from aggregator.web.params import page_number
from aggregator.web.state import portal

RUNS_PER_PAGE = sources.RUNS_SHOWN


@bp.app_template_filter("admin_time")
def admin_time(value: datetime | None) -> str:
    """A time as ``2026-12-05 12:30 UTC`` (empty for none)."""
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _allowed_source(source_id: int) -> SourceDetail:
    """The source, when the account may manage its member; 404 otherwise."""
    with session_scope(portal().engine) as session:
        found = sources.get_source(session, source_id)
    member_allowed(found.member_id if found is not None else None)
    assert found is not None
    return found


@bp.get("/sources/<int:source_id>")
def source(source_id: int) -> str:
    """A source: its schedule, its runs with their notices, its records by month."""
    found = _allowed_source(source_id)
    page = page_number(request.args)
    with session_scope(portal().engine) as session:
        runs = sources.recent_runs(session, source_id, RUNS_PER_PAGE,
                                   (page - 1) * RUNS_PER_PAGE)
        total = sources.count_runs(session, source_id)
        months = sources.records_by_month(session, source_id)
    pages = max((total + RUNS_PER_PAGE - 1) // RUNS_PER_PAGE, 1)
    if page > pages:
        abort(404)
    return render_template("admin/source.html", source=found, runs=runs, page=page,
                           pages=pages, chart=bar_chart(months))


def _back(source_id: int) -> Response:
    return redirect(url_for("admin.source", source_id=source_id))


@bp.post("/sources/<int:source_id>/harvest")
def harvest(source_id: int) -> Response:
    """Ask the schedulers for a run now (the source becomes due; nothing runs here)."""
    _allowed_source(source_id)
    try:
        with session_scope(portal().engine) as session:
            sources.harvest_now(session, source_id)
    except UserInputError:
        flash(_("A paused source is not harvested: resume it first."), "error")
    else:
        flash(_("The source is due now: a scheduler will harvest it shortly."), "ok")
    return _back(source_id)


def _set_paused(source_id: int, paused: bool) -> Response:
    _allowed_source(source_id)
    with session_scope(portal().engine) as session:
        sources.set_paused(session, source_id, paused)
    flash(_("The source is paused: it is not harvested until it is resumed.") if paused
          else _("The source is active again: it is harvested on its schedule."), "ok")
    return _back(source_id)


@bp.post("/sources/<int:source_id>/pause")
def pause(source_id: int) -> Response:
    """Stop harvesting the source on its schedule."""
    return _set_paused(source_id, True)


@bp.post("/sources/<int:source_id>/resume")
def resume(source_id: int) -> Response:
    """Harvest the source on its schedule again."""
    return _set_paused(source_id, False)


@bp.post("/sources/<int:source_id>/edit")
def edit(source_id: int) -> Response:
    """Change the prefix, set and interval, once the endpoint confirms it offers them."""
    found = _allowed_source(source_id)
    prefix = request.form.get("prefix", "")[:100]
    set_spec = request.form.get("set", "")[:600]
    every = request.form.get("every", "")[:40]
    try:
        with session_scope(portal().engine) as session:
            change = sources.check_edit(session, source_id, prefix, set_spec, every)
    except UserInputError as exc:
        flash(_("Nothing was saved: {reason}", reason=str(exc)), "error")
        return _back(source_id)
    try:
        offer = endpoint_offer(found.base_url, portal().settings, change.set_spec)
    except HarvestError as exc:
        flash(_("Nothing was saved: the endpoint did not answer ({reason}).",
                reason=str(exc)), "error")
        return _back(source_id)
    if change.metadata_prefix not in offer.prefixes:
        offered = ", ".join(sorted(offer.prefixes)) or "-"
        flash(_("Nothing was saved: the endpoint offers no prefix {prefix} ({offered}).",
                prefix=change.metadata_prefix, offered=offered), "error")
        return _back(source_id)
    if change.set_spec and not offer.has_set:
        flash(_("Nothing was saved: the endpoint does not list the set {set}.",
                set=change.set_spec), "error")
        return _back(source_id)
    try:
        with session_scope(portal().engine) as session:
            sources.edit_source(session, source_id,
                                sources.check_edit(session, source_id, prefix, set_spec, every))
    except UserInputError as exc:
        flash(_("Nothing was saved: {reason}", reason=str(exc)), "error")
        return _back(source_id)
    flash(_("The source's settings are saved."), "ok")
    return _back(source_id)
