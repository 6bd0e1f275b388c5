"""Email notices of interlibrary requests, when ``smtp_url`` is set: the patron at each
step (with the status link), the holding member's managers and the home member's
managers when a request is made.

Each message is about one request and carries only that request's patron data: the
holder's managers read the patron's contact (they answer them), the home library's
managers the patron's name, the patron their own request. Plain text, Indonesian
first and English after, through :func:`aggregator.notify.send` (never raises).
"""

from __future__ import annotations

from sqlalchemy import Engine

from aggregator.config import Settings
from aggregator.notify import SIGNATURE, send
from aggregator.store import requests
from aggregator.store.db import session_scope
from aggregator.store.requests import RequestView
from aggregator.store.users import managers_of

__all__ = ["request_answered", "request_made", "status_link"]

_KIND = {"loan": ("peminjaman", "loan"), "copy": ("salinan", "copy"),
         "exchange": ("pertukaran/hibah", "exchange or donation")}
_STATUS = {"new": ("baru, menunggu jawaban", "new, waiting for an answer"),
           "accepted": ("diterima", "accepted"), "declined": ("ditolak", "declined"),
           "fulfilled": ("dipenuhi", "fulfilled")}


def status_link(settings: Settings, request: RequestView) -> str:
    """The patron's status page of ``request``."""
    return f"{settings.public_root}/requests/{request.token}"


def _load(engine: Engine, request_id: int) -> tuple[RequestView | None, list[str], list[str]]:
    with session_scope(engine) as session:
        found = requests.get_request(session, request_id)
        if found is None:
            return None, [], []
        holder = managers_of(session, found.holder_member_id)
        home = (managers_of(session, found.home_member_id)
                if found.home_member_id is not None else [])
    return found, holder, home


def request_made(settings: Settings, engine: Engine, request_id: int) -> int:
    """Tell the patron (status link), the holder's managers and the home member's
    managers of a new request. Returns how many emails went out (0 without SMTP)."""
    if not settings.smtp_url:
        return 0
    found, holder, home = _load(engine, request_id)
    if found is None or not found.patron_email:
        return 0
    kind_id, kind_en = _KIND.get(found.kind, (found.kind, found.kind))
    sent = int(send(settings, found.patron_email,
                    f"[{settings.network_name}] Permintaan {kind_id} / {kind_en} request: "
                    f"{found.title[:80]}", _patron_text(settings, found)))
    page = f"{settings.public_root}/admin/requests/{found.id}"
    what = f"{found.title}\n{found.holder_name}"
    for to in holder:
        sent += send(settings, to, f"[{settings.network_name}] Permintaan baru / New "
                     f"request {found.id}: {found.title[:80]}", f"""\
Permintaan {kind_id} baru untuk {found.holder_name}:

    {what}

Pemohon: {found.patron_name} <{found.patron_email}>
Perpustakaan asal: {found.home_name}
Catatan: {found.note or '-'}

Jawab di {page}

-----

A new {kind_en} request to {found.holder_name}:

    {what}

Patron: {found.patron_name} <{found.patron_email}>
Home library: {found.home_name}
Note: {found.note or '-'}

Answer it at {page}

{SIGNATURE}
{settings.network_name}
""")
    for to in home:
        if to == found.patron_email:  # a manager asking for an exchange item: told above
            continue
        sent += send(settings, to, f"[{settings.network_name}] Permintaan pemustaka Anda / "
                     f"Your patron's request {found.id}", f"""\
Pemustaka perpustakaan Anda, {found.patron_name}, meminta {kind_id} dari
{found.holder_name}:

    {found.title}

Lihat di {page}

-----

Your library's patron {found.patron_name} asked {found.holder_name} for a {kind_en}:

    {found.title}

See it at {page}

{SIGNATURE}
{settings.network_name}
""")
    return sent


def request_answered(settings: Settings, engine: Engine, request_id: int) -> int:
    """Tell the patron the holder's answer (status, reason, status link). Returns how
    many emails went out (0 without SMTP, or when the patron's data was purged)."""
    if not settings.smtp_url:
        return 0
    found, _, _ = _load(engine, request_id)
    if found is None or not found.patron_email:
        return 0
    status_id, status_en = _STATUS.get(found.status, (found.status, found.status))
    return int(send(settings, found.patron_email,
                    f"[{settings.network_name}] Permintaan Anda {status_id} / Your request "
                    f"{status_en}: {found.title[:80]}", _patron_text(settings, found)))


def _patron_text(settings: Settings, found: RequestView) -> str:
    kind_id, kind_en = _KIND.get(found.kind, (found.kind, found.kind))
    status_id, status_en = _STATUS.get(found.status, (found.status, found.status))
    reason = (found.reason or "").strip()
    reason_id = f"\nJawaban perpustakaan:\n{reason}\n" if reason else ""
    reason_en = f"\nThe library's answer:\n{reason}\n" if reason else ""
    link = status_link(settings, found)
    return f"""\
Yth. {found.patron_name},

Permintaan {kind_id} Anda kepada {found.holder_name}:

    {found.title}

Status: {status_id}
{reason_id}
Ikuti permintaan Anda di {link}
(simpan tautan ini; siapa pun yang memilikinya dapat melihat permintaan Anda)

-----

Dear {found.patron_name},

Your {kind_en} request to {found.holder_name}:

    {found.title}

Status: {status_en}
{reason_en}
Follow your request at {link}
(keep this link to yourself: whoever has it can see your request)

{SIGNATURE}
{settings.network_name}
"""
