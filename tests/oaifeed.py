"""Helpers for the OAI feed's tests: a small network written straight into the store,
the official schemas (when ../shared is there), and reading responses with XPath."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import Engine

from aggregator.records import HarvestedRecord
from aggregator.store import catalog, runs
from aggregator.store.db import session_scope
from aggregator.store.ingest import PageWrite, write_page

XSD_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "oai" / "xsd"
NS = {"o": "http://www.openarchives.org/OAI/2.0/",
      "dc": "http://purl.org/dc/elements/1.1/",
      "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/",
      "p": "http://www.openarchives.org/OAI/2.0/provenance",
      "marc": "http://www.loc.gov/MARC21/slim",
      "mods": "http://www.loc.gov/mods/v3",
      "id": "http://www.openarchives.org/OAI/2.0/oai-identifier",
      "f": "http://www.openarchives.org/OAI/2.0/friends/",
      "b": "http://www.openarchives.org/OAI/2.0/branding/"}
REPOSITORY_ID = "katalog.example.id"
BASE_URL = "https://katalog.example.id"

DC = ('<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
      'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{title}</dc:title>'
      "<dc:creator>Penulis, {n}</dc:creator><dc:type>{kind}</dc:type>"
      "<dc:date>{year}</dc:date><dc:identifier>https://lib.example/{n}</dc:identifier>"
      "</oai_dc:dc>")
MARC = ('<record xmlns="http://www.loc.gov/MARC21/slim"><leader>00000nam a2200000 a 4500'
        '</leader><controlfield tag="001">m{n}</controlfield>'
        '<datafield tag="020" ind1=" " ind2=" "><subfield code="a">97860200{n:05d}</subfield>'
        '</datafield><datafield tag="245" ind1="1" ind2="0"><subfield code="a">{title}'
        "</subfield></datafield></record>")
MODS = ('<mods xmlns="http://www.loc.gov/mods/v3" version="3.7"><titleInfo><title>{title}'
        "</title></titleInfo><genre>thesis</genre></mods>")


def dc(ident: str, title: str, *, n: int = 0, kind: str = "Buku", year: int = 2020,
       sets: tuple[str, ...] = (), datestamp: str = "2024-01-01") -> HarvestedRecord:
    """A live oai_dc record."""
    xml = DC.format(title=title, n=n, kind=kind, year=year).encode()
    return HarvestedRecord(ident, datestamp, False, sets, xml)


def marc(ident: str, title: str, *, n: int = 0) -> HarvestedRecord:
    """A live MARCXML record."""
    return HarvestedRecord(ident, "2024-01-01", False, (), MARC.format(title=title, n=n).encode())


def mods(ident: str, title: str) -> HarvestedRecord:
    """A live MODS record."""
    return HarvestedRecord(ident, "2024-01-01", False, (), MODS.format(title=title).encode())


def gone(ident: str, sets: tuple[str, ...] = ()) -> HarvestedRecord:
    """A deleted header."""
    return HarvestedRecord(ident, "2024-02-01", True, sets, None)


@dataclass
class Network:
    """Members and sources written into a store; ``sources[slug]`` is a source id."""

    engine: Engine
    sources: dict[str, int] = field(default_factory=dict)

    def member(self, slug: str, url: str, prefix: str = "oai_dc", **fields: Any) -> int:
        """Add a member with one source; returns the source id."""
        with session_scope(self.engine) as session:
            catalog.add_member(session, slug, f"Perpustakaan {slug}", **fields)
            source = catalog.add_source(session, slug, url, metadata_prefix=prefix)
            self.sources[slug] = source.id
            return source.id

    def put(self, slug: str, records: list[HarvestedRecord], prefix: str = "oai_dc") -> None:
        """Store one harvested page for ``slug``'s source."""
        sid = self.sources[slug]
        run = runs.start_run(self.engine, sid, "incremental", "test")
        write_page(self.engine, PageWrite(source_id=sid, run_id=run, metadata_prefix=prefix,
                                          records=records, checkpoint=None))
        runs.finish_run(self.engine, run, "ok")

    def remove(self, slug: str) -> None:
        """Remove a member (its records become tombstones)."""
        with session_scope(self.engine) as session:
            catalog.remove_member(session, slug)


@cache
def _validator() -> ModuleType | None:
    script = XSD_DIR / "validate_offline.py"
    if not script.is_file():
        return None
    spec = importlib.util.spec_from_file_location("validate_offline", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def schema(lax: bool = False) -> etree.XMLSchema | None:
    """The official OAI-PMH schemas with their payload schemas (``None`` without
    ../shared); ``lax`` checks payloads of namespaces with no schema here (MODS) loosely."""
    module = _validator()
    return None if module is None else module.build_schema(lax=lax)


def require_schema() -> etree.XMLSchema:
    """The strict schema, or skip the test when ../shared/oai is absent."""
    found = schema()
    if found is None:
        pytest.skip(f"official schemas not found at {XSD_DIR}")
    return found


def parse(data: bytes, *, lax: bool = False) -> etree._Element:
    """Parse a response and validate it with the official schemas when they are here."""
    root = etree.fromstring(data)
    checker = schema(lax)
    if checker is not None:
        assert checker.validate(root), (str(checker.error_log.last_error), data[:3000])
    return root


def xp(node: etree._Element, path: str) -> list[Any]:
    """XPath with the OAI namespaces."""
    return list(node.xpath(path, namespaces=NS))


def one(node: etree._Element, path: str) -> Any:
    """The single result of ``path``."""
    found = xp(node, path)
    assert len(found) == 1, (path, found)
    return found[0]


def error_code(root: etree._Element) -> str | None:
    """The OAI error code of a response, if any."""
    codes = xp(root, "/o:OAI-PMH/o:error/@code")
    return codes[0] if codes else None


def pages(get: Any, args: Mapping[str, str], *, lax: bool = False
          ) -> Iterator[etree._Element]:
    """Every page of a list, following resumption tokens (``get(args) -> bytes``)."""
    params = dict(args)
    verb = params["verb"]
    while True:
        root = parse(get(params), lax=lax)
        yield root
        token = xp(root, "//o:resumptionToken/text()")
        if not token:
            return
        params = {"verb": verb, "resumptionToken": token[0]}
