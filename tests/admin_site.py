"""Helpers for the /admin tests: a harvested site with running OAI servers, accounts,
and test clients signed in through /login with the form's CSRF token."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from aggregator.demo.oaiserver import OAIServer, Repository
from aggregator.store import users
from aggregator.store.db import init_schema, make_engine
from aggregator.web import create_app
from harvesting import make_records
from portal import Library, Site, harvest_all, html, local_settings, register

PASSWORD = "correct horse battery"
ALICE = "alice@perpus-a.example.org"  # manages perpus-a
BOB = "bob@perpus-b.example.org"  # manages perpus-b


@dataclass
class AdminSite:
    """The site, and the OAI server of each member by slug (still running)."""

    site: Site
    servers: dict[str, OAIServer]

    def signed_in(self, email: str) -> FlaskClient:
        """A client signed in as ``email``, reading pages in English."""
        client = self.site.client()
        client.get("/?lang=en")
        token = csrf_token(client, "/login")
        answer = client.post("/login", data={"email": email, "password": PASSWORD,
                                             "csrf_token": token})
        assert answer.status_code == 302, answer.get_data(as_text=True)
        return client


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of the first form of the page at ``path``."""
    page = client.get(path)
    assert page.status_code == 200, path
    found = html(page).xpath("//input[@name='csrf_token']/@value")
    assert found, f"no form token on {path}"
    return str(found[0])


@contextmanager
def admin_site(data_dir: Path) -> Iterator[AdminSite]:
    """Two members, each with a running server, harvested once; a manager for each."""
    settings = local_settings(data_dir)
    engine = make_engine(settings)
    init_schema(engine)
    libraries = [
        Library("perpus-a", "Perpustakaan A", Repository(
            make_records(12, prefix="oai:a.example.org:"), sets={"buku": "Buku"})),
        Library("perpus-b", "Perpustakaan B", Repository(
            make_records(3, prefix="oai:b.example.org:"))),
    ]
    with ExitStack() as stack:
        servers = [stack.enter_context(OAIServer(lib.repository)) for lib in libraries]
        register(engine, libraries, servers)
        harvest_all(engine, settings)
        with Session(engine) as session, session.begin():
            users.add_account(session, ALICE, PASSWORD, "manager", ["perpus-a"])
            users.add_account(session, BOB, PASSWORD, "manager", ["perpus-b"])
            users.add_account(session, "chief@network.example.org", PASSWORD, "coordinator")
        site = Site(settings, engine, create_app(settings, engine=engine))
        try:
            yield AdminSite(site, {lib.slug: server
                                   for lib, server in zip(libraries, servers, strict=True)})
        finally:
            site.app.extensions["aggregator"].index.close()
            engine.dispose()
