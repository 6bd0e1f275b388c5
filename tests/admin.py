"""Helpers for the admin tests: a store with two members, their accounts, and clients
signed in through the real /login form."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from aggregator.config import Settings
from aggregator.offer_files import OfferItem
from aggregator.store import applications, catalog, offers, requests, users
from aggregator.store.db import init_schema, make_engine, session_scope
from aggregator.web import create_app
from portal import local_settings

PASSWORD = "a long enough password"
COORDINATOR = "koordinator@example.org"
MANAGER_A = "pengelola.a@example.org"
MANAGER_B = "pengelola.b@example.org"
_TOKEN = re.compile(r'<input[^>]*\bname="csrf_token"[^>]*>')
_VALUE = re.compile(r'\bvalue="([^"]+)"')


@dataclass
class Network:
    """Members ``a`` and ``b`` with one source each, three accounts, one application, and
    one interlibrary request to ``a`` (from a library outside the network)."""

    settings: Settings
    engine: Engine
    app: Flask
    source_a: int
    source_b: int
    application_id: int
    offer_a: int  # an available offer of member a
    request_id: int = 0

    def client(self, email: str | None = None) -> FlaskClient:
        """A client signed in as ``email`` (anonymous when None)."""
        client = self.app.test_client()
        if email is not None:
            response = client.post("/login", data={
                "email": email, "password": PASSWORD, "csrf_token": token(client)})
            assert response.status_code == 302, response.text
        return client


def token(client: FlaskClient, path: str = "/login", **options: object) -> str:
    """The CSRF token of ``client``'s session, read from a form the way a browser would."""
    found = _TOKEN.search(client.get(path, **options).text)  # type: ignore[arg-type]
    value = _VALUE.search(found.group(0)) if found else None
    assert value is not None, f"no csrf_token on {path}"
    return value.group(1)


def network(data_dir: Path, **overrides: object) -> Network:
    """Build the store and the app."""
    # tests sign in again and again: no sign-in limit unless a test asks for one
    settings = replace(local_settings(data_dir), **{"login_rate_limit": 0, **overrides})
    engine = make_engine(settings)
    init_schema(engine)
    with session_scope(engine) as session:
        ids = []
        for slug in ("a", "b"):
            catalog.add_member(session, slug, f"Perpustakaan {slug.upper()}")
            ids.append(catalog.add_source(session, slug, f"http://127.0.0.1:9/{slug}/oai").id)
        offers.add_items(session, ids_of(session, "a"), [OfferItem(title="Buku Tukar A")])
        offer_a = offers.member_offers(session, ids_of(session, "a")).offers[0].id
        users.add_account(session, COORDINATOR, PASSWORD, "coordinator")
        users.add_account(session, MANAGER_A, PASSWORD, "manager", ["a"])
        users.add_account(session, MANAGER_B, PASSWORD, "manager", ["b"])
        application = applications.submit(
            session, name="Perpustakaan Calon", homepage=None,
            contact_email="calon@example.org", base_url="http://127.0.0.1:9/calon/oai",
            report={"base_url": "http://127.0.0.1:9/calon/oai", "errors": [],
                    "warnings": [], "info": {}}, platform=None)
        requests.set_request_settings(session, "a", "both", None)
        made = requests.create(session, holder="a", kind="copy", title="Sejarah Desa",
                               patron_name="Siti", patron_email="siti@example.org",
                               home_library="Perpustakaan Sekolah")
    return Network(settings, engine, create_app(settings, engine=engine), ids[0], ids[1],
                   application.id, offer_a, made.id)


def ids_of(session: Session, slug: str) -> int:
    """The id of member ``slug``."""
    return catalog.get_member(session, slug).id
