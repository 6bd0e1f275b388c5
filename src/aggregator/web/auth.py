"""Signing in and out: sessions (Flask-Login), CSRF on every form (Flask-WTF), and the
one place that decides where ``next=`` may lead.

Sessions are Flask's signed cookies: HttpOnly, SameSite=Lax, and Secure when the
portal's ``base_url`` is https. Every POST of the portal carries a CSRF token, except
the OAI-PMH endpoint (cookie-less and read-only; the protocol requires POST).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from werkzeug.wrappers.response import Response
from wtforms import EmailField, PasswordField
from wtforms.validators import InputRequired, Length

from aggregator.config import Settings
from aggregator.secretfile import keep_secret
from aggregator.store import users
from aggregator.store.db import session_scope
from aggregator.store.users import AccountView
from aggregator.web import limits
from aggregator.web.i18n import gettext as _
from aggregator.web.state import portal

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()
login_manager = LoginManager()
SECRET_FILE = "web-secret"
SESSION_HOURS = 12


class SignedIn(UserMixin):  # type: ignore[misc]
    """The account of the current request, as Flask-Login wants it."""

    def __init__(self, account: AccountView) -> None:
        self.account = account

    def get_id(self) -> str:
        return str(self.account.id)


def signed_in() -> AccountView | None:
    """The account signed in for this request, or None."""
    user = current_user
    return user.account if getattr(user, "is_authenticated", False) else None


@login_manager.user_loader  # type: ignore[untyped-decorator]
def _load(account_id: str) -> SignedIn | None:
    if not account_id.isdigit():
        return None
    with session_scope(portal().engine) as session:
        account = users.get_account(session, int(account_id))
    return None if account is None else SignedIn(account)


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else None.

    Refused: anything with a scheme or a host (``https://evil.example``,
    ``//evil.example``), backslashes (browsers read ``/\\evil.example`` as
    ``//evil.example``), control characters and whitespace, and anything not starting
    with a single ``/``.
    """
    if not target or len(target) > 2000:
        return None
    if "\\" in target or any(ord(c) < 33 or c == "\x7f" for c in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


class LoginForm(FlaskForm):  # type: ignore[misc]
    """The sign-in form: ``email``, ``password`` (and ``csrf_token``)."""

    email = EmailField("Email", validators=[InputRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[InputRequired(), Length(max=1000)])


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    """Show the sign-in form; sign in and go to ``next`` (a path here) or /admin."""
    target = safe_next(request.values.get("next")) or url_for("admin.overview")
    if signed_in() is not None:
        return redirect(target)
    form = LoginForm()
    if form.validate_on_submit():
        email = (form.email.data or "").strip().lower()
        # Counted before the password is checked, right or wrong, per account and per
        # client address, in counters all worker processes share.
        wait = (limits.hit("login:" + email, limits.login_per_account())
                or limits.hit("login-client:" + limits.client_address(),
                              limits.login_per_client()))
        if wait is not None:
            return render_template("login.html", form=form, next=target, wait=wait), 429
        with session_scope(portal().engine) as session:
            account = users.authenticate(session, email, form.password.data or "")
        if account is not None:
            login_user(SignedIn(account))
            return redirect(target)
        flash(_("The email or the password is wrong."), "error")
        return render_template("login.html", form=form, next=target), 401
    status = 400 if request.method == "POST" else 200
    return render_template("login.html", form=form, next=target), status


@bp.post("/logout")
def logout() -> Response:
    """Sign out (a POST with the form token, so no page elsewhere can sign anyone out)."""
    logout_user()
    return redirect(url_for("pages.home"))


def _unauthorised() -> Response:
    if request.method == "GET":
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    return redirect(url_for("auth.login"))


def init_app(app: Flask, settings: Settings) -> None:
    """Sessions, CSRF and the sign-in pages."""
    secret = settings.web_secret_key.encode() if settings.web_secret_key else keep_secret(
        Path(settings.data_dir) / SECRET_FILE, "web_secret_key")
    app.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.lower().startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    login_manager.unauthorized_handler(_unauthorised)
    app.register_blueprint(bp)
    app.jinja_env.globals["signed_in"] = signed_in

