"""Helpers for the admin tests: a small network with sources in known states, accounts,
signing in through /login, and a real SMTP server (aiosmtpd) collecting messages."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.controller import Controller
from flask.testing import FlaskClient
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from aggregator.store import catalog
from aggregator.store.models import Account, HarvestRun, Record, Source
from aggregator.store.users import add_account

PASSWORD = "correct horse battery"


@dataclass
class Network:
    """Source ids of the sample network, by name."""

    ok: int  # perpus-a, harvested fine
    failing_long: int  # perpus-a, failing for 3 days (last success 3 days ago)
    failing_new: int  # perpus-b, never succeeded, failing for 2 hours
    other: int  # perpus-c, fine


def build_network(engine: Engine, now: datetime) -> Network:
    """Three members, four sources in known states, and the accounts:
    ``boss@example.org`` (coordinator), ``a1@``/``a2@example.org`` (perpus-a) and
    ``b@example.org`` (perpus-b)."""
    with Session(engine) as session, session.begin():
        for slug, name in (("perpus-a", "Perpustakaan A"), ("perpus-b", "Perpustakaan B"),
                           ("perpus-c", "Perpustakaan C")):
            catalog.add_member(session, slug, name)
        ids = [catalog.add_source(session, slug, url).id for slug, url in (
            ("perpus-a", "https://a.example.org/oai"),
            ("perpus-a", "https://a.example.org/oai2"),
            ("perpus-b", "https://b.example.org/oai"),
            ("perpus-c", "https://c.example.org/oai"))]
        session.flush()
        add_account(session, "boss@example.org", PASSWORD, "coordinator")
        add_account(session, "a1@example.org", PASSWORD, "manager", ["perpus-a"])
        add_account(session, "a2@example.org", PASSWORD, "manager", ["perpus-a"])
        add_account(session, "b@example.org", PASSWORD, "manager", ["perpus-b"])
    net = Network(*ids)
    set_source(engine, net.ok, last_status="ok", failures=0,
               last_success_at=now - timedelta(hours=3), next_run_at=now + timedelta(hours=21))
    set_source(engine, net.failing_long, last_status="failed", failures=5,
               last_error="connection refused", last_success_at=now - timedelta(days=3),
               next_run_at=now + timedelta(hours=8))
    set_source(engine, net.failing_new, last_status="failed", failures=2,
               last_error="HTTP 500", next_run_at=now + timedelta(minutes=20))
    set_source(engine, net.other, last_status="ok", failures=0,
               last_success_at=now - timedelta(hours=1), next_run_at=now + timedelta(hours=23))
    add_run(engine, net.failing_new, "partial", now - timedelta(days=2))  # an older streak
    add_run(engine, net.failing_new, "failed", now - timedelta(hours=2))
    add_run(engine, net.failing_new, "failed", now - timedelta(hours=1))
    add_run(engine, net.ok, "ok", now - timedelta(hours=3))
    add_run(engine, net.other, "ok", now - timedelta(days=2))  # older than a day
    add_records(engine, net.ok, 3, deleted=1)
    add_records(engine, net.other, 2)
    return net


def set_source(engine: Engine, source_id: int, **values: Any) -> None:
    """Write columns of a source."""
    with Session(engine) as session, session.begin():
        session.execute(update(Source).where(Source.id == source_id).values(**values))


def add_run(engine: Engine, source_id: int, status: str, started: datetime) -> None:
    """Record a finished run of ``source_id``."""
    with Session(engine) as session, session.begin():
        session.add(HarvestRun(source_id=source_id, mode="incremental", status=status,
                               started_at=started, finished_at=started + timedelta(minutes=1),
                               warnings=[], errors=[]))


def add_records(engine: Engine, source_id: int, live: int, deleted: int = 0) -> None:
    """Give ``source_id`` ``live`` live records and ``deleted`` tombstones."""
    with Session(engine) as session, session.begin():
        for n in range(live + deleted):
            session.add(Record(source_id=source_id, identifier=f"oai:{source_id}:{n}",
                               deleted=n >= live, set_specs=[], metadata_prefix="oai_dc",
                               content_hash="0" * 40, change_seq=n + 1))


def sign_in(client: FlaskClient, email: str) -> None:
    """Sign in through /login with the form's CSRF token."""
    page = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, page
    response = client.post("/login", data={"email": email, "password": PASSWORD,
                                           "csrf_token": match.group(1)})
    assert response.status_code == 302, response.get_data(as_text=True)


def account_ids(engine: Engine) -> dict[str, int]:
    """Account ids by email."""
    with Session(engine) as session:
        return {a.email: a.id for a in session.query(Account)}


@dataclass
class Inbox:
    """Messages an SMTP server received."""

    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(cast(EmailMessage, message))
        return "250 OK"

    def to(self) -> list[str]:
        """The recipients, one per message, sorted."""
        with self.lock:
            return sorted(str(m["To"]) for m in self.messages)


@contextmanager
def smtp_server() -> Iterator[tuple[str, Inbox]]:
    """A real SMTP server on 127.0.0.1 (a free port): its ``smtp://`` URL and inbox."""
    inbox = Inbox()
    with socket.socket() as probe:  # a free port (the controller connects to its own)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", inbox
    finally:
        controller.stop()
