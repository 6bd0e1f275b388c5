"""``/admin/members/<slug>``: a member's directory entry, editable, and its sources."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers.response import Response

from aggregator.errors import UserInputError
from aggregator.store import catalog, sources
from aggregator.store.db import session_scope
from aggregator.store.models import MEMBER_KINDS
from aggregator.web.admin.access import bp, managed_member
from aggregator.web.i18n import gettext as _
from aggregator.web.state import portal

FIELDS = ("name", "homepage", "city", "province", "kind", "contact", "logo")
MAX_INPUT = 4000  # longer than any column: the store says which field is too long


def _member_or_404(slug: str) -> dict[str, str]:
    """The member's fields as the form shows them, when the account may manage it."""
    with session_scope(portal().engine) as session:
        member = managed_member(session, slug)
        values = {name: getattr(member, name) or "" for name in FIELDS}
        values["id"] = str(member.id)
        values["accepts_requests"] = member.accepts_requests or "none"
        values["request_conditions"] = member.request_conditions or ""
    return values


@bp.route("/members/<slug>", methods=["GET", "POST"])
def member(slug: str) -> str | Response | tuple[str, int]:
    """Show the member's details and sources; save changed details."""
    values = _member_or_404(slug)
    if request.method == "POST":
        typed = {name: request.form.get(name, "")[:MAX_INPUT] for name in FIELDS}
        try:
            with session_scope(portal().engine) as session:
                catalog.edit_member(session, slug, **typed)
        except UserInputError as exc:
            flash(_("Nothing was saved: {reason}", reason=str(exc)), "error")
            return _render(slug, {**values, **typed}, 400)
        flash(_("The member's details are saved."), "ok")
        return redirect(url_for("admin.member", slug=slug))
    return _render(slug, values, 200)


def _render(slug: str, values: dict[str, str], status: int) -> tuple[str, int]:
    with session_scope(portal().engine) as session:
        listed = sources.member_sources(session, int(values["id"]))
    return render_template("admin/member.html", slug=slug, values=values, sources=listed,
                           kinds=MEMBER_KINDS), status
