"""``/register``: a library applies to join the network.

The endpoint is checked at once (the report of ``aggregator check``, explained in the
reader's language with advice for the platform detected). An endpoint with errors is
not sent on: the form comes back with the report, to be fixed and sent again. An
endpoint that can be harvested becomes an application waiting for the coordinator
(``/admin/applications``); the applicant sees its report at ``/register/sent``.

A public form: every field has a size limit, and the checks (each costs requests to
somebody's server) are limited per client address with ``register_rate_limit`` an
hour, counted in the counters every worker process shares.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, session, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers.response import Response
from wtforms import EmailField, Field, StringField, URLField
from wtforms.validators import ValidationError

from aggregator.endpoints import probe, registrable_url
from aggregator.errors import RefusedURL, UserInputError
from aggregator.store import applications, catalog
from aggregator.store.applications import SIZES
from aggregator.store.db import session_scope
from aggregator.web import limits
from aggregator.web.admin.report import explain, platform_name, summary
from aggregator.web.formchecks import at_most, email_address, required
from aggregator.web.i18n import current_language
from aggregator.web.i18n import gettext as _
from aggregator.web.state import portal

bp = Blueprint("register", __name__)
SENT = "applied"  # the session key holding the id of the applicant's application





def _web_address(form: FlaskForm, field: Field) -> None:
    if (field.data or "").strip():
        try:
            catalog.check_http_url("homepage", field.data)
        except UserInputError:
            raise ValidationError(
                _("Give a web address starting with http:// or https://.")) from None


class RegisterForm(FlaskForm):  # type: ignore[misc]
    """``name``, ``homepage``, ``contact_email``, ``base_url`` (and ``csrf_token``)."""

    name = StringField("name", validators=[required, at_most(SIZES["name"])])
    homepage = URLField("homepage", validators=[at_most(SIZES["homepage"]), _web_address])
    contact_email = EmailField("contact_email", validators=[
        required, at_most(SIZES["contact_email"]), email_address])
    base_url = URLField("base_url", validators=[required, at_most(SIZES["base_url"])])


@bp.route("/register", methods=["GET", "POST"])
def register() -> str | Response | tuple[str, int]:
    """The form; on a valid POST, the check of the endpoint, then the application."""
    form = RegisterForm()
    if not form.validate_on_submit():
        return _page(form), 400 if form.is_submitted() else 200
    wait = limits.hit("register:" + limits.client_address(), limits.register_per_client())
    if wait is not None:
        return _page(form, wait=wait), 429
    settings = portal().settings
    typed = (form.base_url.data or "").strip()
    try:
        url = registrable_url(typed, settings)
    except RefusedURL:
        # said in the reader's language, in the same words for every spelling of it
        report = probe(typed, settings)
        form.base_url.errors = [explain(report, current_language())[0].message]
        return _page(form, report=report), 400
    with session_scope(portal().engine) as db:
        known = applications.endpoint_known(db, url)
    if known is not None:
        form.base_url.errors = [
            _("The network harvests this endpoint already.") if known == "source" else
            _("An application for this endpoint is waiting for the coordinator already.")]
        return _page(form), 409
    report = probe(url, settings)
    if not report["ok"]:
        return _page(form, report=report), 422
    try:
        with session_scope(portal().engine) as db:
            application = applications.submit(
                db, name=form.name.data or "", homepage=form.homepage.data,
                contact_email=form.contact_email.data or "", base_url=report["base_url"],
                report=report, platform=report.get("platform"))
    except UserInputError as exc:  # sent twice at once, or a field the form let through
        form.base_url.errors = [str(exc)]
        return _page(form, report=report), 409
    session[SENT] = application.id
    return redirect(url_for("register.sent"))


def _page(form: RegisterForm, *, report: dict[str, Any] | None = None,
          wait: int | None = None) -> str:
    lang = current_language()
    return render_template(
        "register.html", form=form, wait=wait, sizes=SIZES, report=report,
        findings=explain(report, lang) if report else [],
        verdict=summary(report, lang) if report else "",
        platform=platform_name(report, lang) if report else "")


@bp.get("/register/sent")
def sent() -> str | Response:
    """The application just sent, with the report of its endpoint."""
    application_id = session.get(SENT)
    if not isinstance(application_id, int):
        return redirect(url_for("register.register"))
    with session_scope(portal().engine) as db:
        application = applications.get_application(db, application_id)
    if application is None:
        return redirect(url_for("register.register"))
    lang = current_language()
    return render_template(
        "registered.html", application=application, notify=bool(portal().settings.smtp_url),
        findings=explain(application.report, lang), verdict=summary(application.report, lang),
        platform=platform_name(application.report, lang))
