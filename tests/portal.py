"""Helpers for the portal tests: harvest OAI servers through the real pipeline into a
data folder, build the Flask app over it, and read pages back with lxml."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from aggregator.config import Settings, load_settings
from aggregator.demo.network import DemoMember, start_network
from aggregator.demo.oaiserver import OAIServer, Repository
from aggregator.demo.run import demo_settings
from aggregator.index.sync import open_index
from aggregator.pipeline import sync_source
from aggregator.store import catalog
from aggregator.store.db import init_schema, make_engine
from aggregator.store.models import Member, Record, Source
from aggregator.web import create_app


@dataclass
class Site:
    """A harvested data folder and the portal built over it."""

    settings: Settings
    engine: Engine
    app: Flask
    members: list[DemoMember] = field(default_factory=list)

    def client(self) -> FlaskClient:
        """A fresh test client (no cookies)."""
        return self.app.test_client()

    def record_id(self, slug: str, identifier: str) -> int:
        """The store id of ``slug``'s record ``identifier``."""
        return record_id(self.engine, slug, identifier)


@dataclass(frozen=True)
class Library:
    """A member to register: its repository and directory entry."""

    slug: str
    name: str
    repository: Repository
    kind: str | None = None
    city: str | None = None
    province: str | None = None
    homepage: str | None = None


def local_settings(data_dir: Path) -> Settings:
    """SQLite and the index in ``data_dir``; loopback sources allowed, no delay."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return demo_settings(load_settings(environ={}, search_rate_limit=0), data_dir)


def harvest(engine: Engine, settings: Settings, libraries: Sequence[Library]) -> None:
    """Serve every library's repository, register it, harvest it (store and index)."""
    with ExitStack() as stack:
        servers = [stack.enter_context(OAIServer(lib.repository)) for lib in libraries]
        register(engine, libraries, servers)
        harvest_all(engine, settings)


def register(engine: Engine, libraries: Sequence[Library],
             servers: Sequence[OAIServer]) -> None:
    """Add each library as a member with its server as the one source."""
    with Session(engine) as session, session.begin():
        for lib, server in zip(libraries, servers, strict=True):
            catalog.add_member(session, lib.slug, lib.name, homepage=lib.homepage,
                               city=lib.city, province=lib.province, kind=lib.kind)
            catalog.add_source(session, lib.slug, server.base_url)


def harvest_all(engine: Engine, settings: Settings) -> None:
    """Harvest every active source once, the index following the store."""
    with Session(engine) as session:
        source_ids = catalog.sources_for(session, None, True)
    index = open_index(settings)
    try:
        for source_id in source_ids:
            result = sync_source(engine, settings, source_id, index=index)
            assert result.status == "ok", result.errors
    finally:
        index.close()


@contextmanager
def sample_network() -> Iterator[list[tuple[DemoMember, OAIServer]]]:
    """The five-member sample network of ``aggregator demo``, running."""
    network = start_network()
    try:
        yield network
    finally:
        for _, server in network:
            server.stop()


def build_sample_site(data_dir: Path) -> Site:
    """Harvest the sample network into ``data_dir``, withdraw one record (harvested
    again), and build the portal; the servers are stopped afterwards."""
    settings = local_settings(data_dir)
    engine = make_engine(settings)
    init_schema(engine)
    with sample_network() as network:
        register(engine, [Library(m.slug, m.name, m.repository, m.kind, m.city, m.province,
                                  m.homepage) for m, _ in network],
                 [server for _, server in network])
        harvest_all(engine, settings)
        # a librarian withdraws a record; the next (incremental) harvest sees the tombstone
        slug, identifier = WITHDRAWN
        server = next(server for m, server in network if m.slug == slug)
        server.repository.delete(identifier, datestamp=datetime.now(UTC))
        harvest_all(engine, settings)
        members = [m for m, _ in network]
    return Site(settings, engine, create_app(settings, engine=engine), members)


def close_site(site: Site) -> None:
    """Close the index the app opened and the store's connections."""
    site.app.extensions["aggregator"].index.close()
    site.engine.dispose()


WITHDRAWN = ("perpusda-sukamaju", "oai:slims/1002")
"""The sample record withdrawn by build_sample_site (a Python book of the public library)."""
DUPLICATE_COPIES = {"perpusda-sukamaju": "oai:slims/1335",
                    "ipk": "oai:repo.ipk.example.ac.id:123456789/2221",
                    "unira": "oai:eprints.unira.example.ac.id:477"}
"""One work of the sample network held by three members (one cluster, three records)."""


def record_id(engine: Engine, slug: str, identifier: str) -> int:
    """The store id of member ``slug``'s record ``identifier``."""
    with Session(engine) as session:
        return session.scalars(
            select(Record.id).join(Source, Source.id == Record.source_id)
            .join(Member, Member.id == Source.member_id)
            .where(Member.slug == slug, Record.identifier == identifier)).one()


def html(response: TestResponse) -> lxml.html.HtmlElement:
    """The response body parsed as HTML."""
    return lxml.html.document_fromstring(response.get_data())


def text_of(element: lxml.html.HtmlElement) -> str:
    """The element's text with whitespace runs collapsed."""
    return " ".join(element.text_content().split())


def texts(doc: lxml.html.HtmlElement, xpath: str) -> list[str]:
    """Collapsed texts of the elements ``xpath`` selects."""
    return [text_of(e) for e in doc.xpath(xpath)]


def one(doc: lxml.html.HtmlElement, xpath: str) -> lxml.html.HtmlElement:
    """The single element ``xpath`` selects (fails when there are none or several)."""
    found = doc.xpath(xpath)
    assert len(found) == 1, f"{xpath}: {len(found)} elements"
    return found[0]


def cls(name: str) -> str:
    """An XPath predicate for elements with CSS class ``name``."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"
