"""Email notices, when ``smtp_url`` is set: a source failing for a day (to its member's
managers, once per failing streak) and an application decided (to the applicant).

Messages are plain text, Indonesian first and English after. Sending never raises: a
mail server that is away or refuses is logged, and the caller goes on.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol
from urllib.parse import unquote, urlsplit

from sqlalchemy import Engine

from aggregator.config import Settings
from aggregator.store import health
from aggregator.store.db import session_scope
from aggregator.store.health import FAILING_KIND, SourceHealth
from aggregator.store.models import utcnow
from aggregator.store.users import managers_of

__all__ = ["FAILING_AFTER", "SMTP_TIMEOUT", "application_decided", "check_failing_sources",
           "send"]

logger = logging.getLogger(__name__)

SMTP_TIMEOUT = 20.0
"""Seconds to wait for the mail server (connecting, and each answer)."""
SIGNATURE = "-- "  # the usual signature separator, trailing space included
FAILING_AFTER = timedelta(hours=24)
"""How long a source fails before its managers are told."""


class Decided(Protocol):
    """What :func:`application_decided` reads of an application (the store's
    :class:`~aggregator.store.applications.ApplicationView`)."""

    @property
    def name(self) -> str: ...
    @property
    def contact_email(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def note(self) -> str | None: ...
    @property
    def member_slug(self) -> str | None: ...


def send(settings: Settings, to: str, subject: str, body: str) -> bool:
    """Send one plain-text message to ``to``; True when the server accepted it.

    Nothing is sent without ``smtp_url``. ``smtp://`` uses STARTTLS when the server
    offers it (and requires it when the URL carries credentials), ``smtps://`` TLS from
    the start. Failures are logged, never raised.
    """
    if not settings.smtp_url:
        return False
    url = urlsplit(settings.smtp_url)
    host = url.hostname or ""
    try:
        message = EmailMessage()
        message["From"] = settings.sender
        message["To"] = to
        message["Subject"] = " ".join(subject.split())  # names come from applicants
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = make_msgid(domain=settings.repository_id)
        message.set_content(body)
        with _connect(url.scheme, host, url.port, need_tls=bool(url.username)) as smtp:
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException, ValueError) as exc:  # ValueError: a bad address
        logger.error("could not send the email %r to %s through %s: %s", subject, to, host,
                     exc)
        return False
    logger.info("email %r sent to %s", subject, to)
    return True


def _connect(scheme: str, host: str, port: int | None, *, need_tls: bool) -> smtplib.SMTP:
    """An open connection; a password is never sent over a connection without TLS."""
    context = ssl.create_default_context()
    if scheme == "smtps":
        return smtplib.SMTP_SSL(host, port or 465, timeout=SMTP_TIMEOUT, context=context)
    smtp = smtplib.SMTP(host, port or 587, timeout=SMTP_TIMEOUT)
    try:
        smtp.ehlo()
        if smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
        elif need_tls:
            raise smtplib.SMTPNotSupportedError(
                "the server does not offer STARTTLS; refusing to send the password in clear")
    except BaseException:
        smtp.close()
        raise
    return smtp


# -- a source failing for a day ---------------------------------------------------------

def check_failing_sources(engine: Engine, settings: Settings,
                          now: datetime | None = None) -> int:
    """Tell the managers of each source failing for more than a day, once per streak;
    forget the notices of sources that recovered. Returns how many emails were sent.

    Safe to run from several schedulers at once: a notice is recorded (and committed)
    before it is sent, and only the process whose record went in sends it.
    """
    if not settings.smtp_url:
        return 0
    now = now or utcnow()
    with session_scope(engine) as session:
        sources = health.source_health(session)
        failing = {s.id: s.failing_since for s in sources if s.failing}
        health.clear_stale_notices(session, failing)
    sent = 0
    for source in sources:
        since = health.failing_for(source, now)
        if since is None or since < FAILING_AFTER:
            continue
        sent += _notify_failing(engine, settings, source, now)
    return sent


def _notify_failing(engine: Engine, settings: Settings, source: SourceHealth,
                    now: datetime) -> int:
    subject = str(source.id)
    with session_scope(engine) as session:
        if not health.claim_notice(session, FAILING_KIND, subject, now):
            return 0
        managers = managers_of(session, source.member_id)
    title, body = _failing_text(settings, source, now)
    sent = sum(send(settings, to, title, body) for to in managers)
    if managers and not sent:  # the mail server is away: try again at the next check
        with session_scope(engine) as session:
            health.release_notice(session, FAILING_KIND, subject)
    return sent


def _failing_text(settings: Settings, source: SourceHealth, now: datetime) -> tuple[str, str]:
    since = source.failing_since.strftime("%Y-%m-%d %H:%M UTC") if source.failing_since else "?"
    hours = int(((now - source.failing_since) if source.failing_since else FAILING_AFTER)
                .total_seconds() // 3600)
    error = source.last_error or "-"
    page = f"{settings.public_root}/admin/"
    title = (f"[{settings.network_name}] Sumber gagal dipanen / Source failing: "
             f"{source.member_name}")
    body = f"""\
Yth. pengelola repositori {source.member_name},

Pemanenan alamat OAI-PMH berikut gagal sejak {since} ({hours} jam, {source.failures} kali
berturut-turut):

    {source.base_url}

Kesalahan terakhir: {error}

Penjadwal akan terus mencoba. Mohon periksa server repositori Anda. Status terkini:
{page}

-----

Dear repository manager of {source.member_name},

Harvesting the following OAI-PMH endpoint has failed since {since} ({hours} hours,
{source.failures} runs in a row):

    {source.base_url}

Last error: {error}

The scheduler keeps trying. Please check your repository's server. Current status:
{page}

{SIGNATURE}
{settings.network_name}
"""
    return title, body


# -- an application decided -------------------------------------------------------------

def application_decided(settings: Settings, application: Decided) -> bool:
    """Tell the applicant the coordinator's decision (approved or rejected, with the
    note). True when the email went out; False without ``smtp_url`` or on failure."""
    if not settings.smtp_url:
        return False
    approved = application.status == "approved"
    note = (application.note or "").strip()
    note_id = f"\nCatatan koordinator:\n{note}\n" if note else ""
    note_en = f"\nThe coordinator's note:\n{note}\n" if note else ""
    member = (f"{settings.public_root}/members/{application.member_slug}"
              if approved and application.member_slug else "")
    if approved:
        status_id = ("DITERIMA. Repositori Anda akan segera dipanen, dan koleksinya muncul "
                     "di katalog bersama.")
        status_en = ("APPROVED. Your repository will be harvested shortly, and its "
                     "collection will appear in the union catalogue.")
        title = "diterima / approved"
    else:
        status_id = "TIDAK DITERIMA."
        status_en = "NOT APPROVED."
        title = "tidak diterima / not approved"
    page_id = f"\nHalaman anggota: {member}\n" if member else ""
    page_en = f"\nMember page: {member}\n" if member else ""
    body = f"""\
Yth. {application.name},

Permohonan Anda untuk bergabung dengan {settings.network_name}: {status_id}
{note_id}{page_id}
-----

Dear {application.name},

Your application to join {settings.network_name}: {status_en}
{note_en}{page_en}
{SIGNATURE}
{settings.network_name}
"""
    return send(settings, application.contact_email,
                f"[{settings.network_name}] Permohonan {title}", body)
