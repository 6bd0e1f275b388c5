"""``/admin/applications``: the coordinator's list of applications to join, each with
its endpoint's report, and the decision (approve or reject, with a note).

Approving checks the URL again (DNS may have changed since the library applied), then
creates the member and its source, due at once: the next scheduler to look harvests
it. The applicant is told by email where ``smtp_url`` is set.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers.response import Response

from aggregator.endpoints import registrable_url
from aggregator.errors import RefusedURL, UserInputError
from aggregator.notify import application_decided
from aggregator.store import applications
from aggregator.store.applications import NOTE_MAX, ApplicationView
from aggregator.store.db import session_scope
from aggregator.web.admin.access import bp, coordinator
from aggregator.web.admin.dashboard import moment
from aggregator.web.admin.report import explain, platform_name, summary
from aggregator.web.i18n import current_language
from aggregator.web.i18n import gettext as _
from aggregator.web.state import portal


@bp.get("/applications")
def applications_list() -> str:
    """Every application: pending ones first, oldest first."""
    coordinator()
    lang = current_language()
    with session_scope(portal().engine) as session:
        found = applications.list_applications(session)
    return render_template("admin/applications.html", applications=found, when=moment,
                           verdict=lambda a: summary(a.report, lang),
                           platform=lambda a: platform_name(a.report, lang))


def _application(application_id: int) -> ApplicationView:
    with session_scope(portal().engine) as session:
        found = applications.get_application(session, application_id)
    if found is None:
        abort(404)
    return found


@bp.get("/applications/<int:application_id>")
def application(application_id: int) -> str:
    """One application: the library, its endpoint's report, and the decision forms."""
    coordinator()
    found = _application(application_id)
    lang = current_language()
    with session_scope(portal().engine) as session:
        slug = applications.free_slug(session, found.name)
    return render_template(
        "admin/application.html", application=found, when=moment, slug=slug,
        every=portal().settings.default_every, note_max=NOTE_MAX,
        findings=explain(found.report, lang), verdict=summary(found.report, lang),
        platform=platform_name(found.report, lang))


@bp.post("/applications/<int:application_id>/<any(approve, reject):decision>")
def decide(application_id: int, decision: str) -> Response:
    """Approve (member, source, first harvest due now) or reject, with a note."""
    me = coordinator()
    found = _application(application_id)
    note = request.form.get("note", "")[:NOTE_MAX + 1]
    back = redirect(url_for("admin.application", application_id=application_id))
    try:
        if decision == "approve":
            registrable_url(found.base_url, portal().settings)
        with session_scope(portal().engine) as session:
            if decision == "approve":
                decided = applications.approve(
                    session, application_id, decided_by=me.email, note=note,
                    every=request.form.get("every", "")[:40].strip()
                    or portal().settings.default_every,
                    slug=request.form.get("slug", "")[:100])
            else:
                decided = applications.reject(session, application_id, decided_by=me.email,
                                              note=note)
    except RefusedURL as exc:
        flash(_("Not approved: the endpoint's address is refused now ({reason}).",
                reason=str(exc)), "error")
        return back
    except UserInputError as exc:
        flash(_("Nothing was saved: {reason}", reason=str(exc)), "error")
        return back
    if decided.status == "approved":
        flash(_("Approved: member {slug} and its source are created, harvested at once.",
                slug=decided.member_slug or ""), "ok")
    else:
        flash(_("Rejected."), "ok")
    if application_decided(portal().settings, decided):
        flash(_("The applicant was told by email ({email}).", email=decided.contact_email),
              "ok")
    else:
        flash(_("No email was sent: tell the applicant yourself at {email}.",
                email=decided.contact_email), "ok")
    return back
