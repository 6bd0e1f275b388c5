"""Harvesting an upstream aggregator: the provenance it sends is kept with each record."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree  # type: ignore[import-untyped]
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from aggregator.config import Settings
from aggregator.demo.oaiserver import OAIServer, Repository
from aggregator.harvest.safe_xml import XMLElement, parse_bytes
from aggregator.store.models import Record
from harvesting import codes, make_records, register, run

PROV = "http://www.openarchives.org/OAI/2.0/provenance"
XSD = Path(__file__).resolve().parents[1].parent / "shared" / "oai" / "xsd" / "provenance.xsd"
HUB = "http://hub.example.org/oai"
LIBRARY = "http://perpus.example.ac.id/oai"


def origin(base: str, ident: str, harvested: str, inner: str = "") -> str:
    return (f'<originDescription harvestDate="{harvested}" altered="false">'
            f"<baseURL>{base}</baseURL><identifier>{ident}</identifier>"
            "<datestamp>2020-06-01</datestamp>"
            "<metadataNamespace>http://www.openarchives.org/OAI/2.0/oai_dc/</metadataNamespace>"
            f"{inner}</originDescription>")


def about(harvested: str = "2024-03-01T08:00:00Z") -> str:
    """The provincial hub harvested the library, which had harvested a journal."""
    journal = origin("http://jurnal.example.ac.id/oai", "oai:jurnal:12", "2022-01-05")
    library = origin(LIBRARY, "oai:perpus:7", "2023-02-01T00:00:00Z", journal)
    hub = origin(HUB, "oai:hub:perpus/7", harvested, library)
    return f'<about><provenance xmlns="{PROV}">{hub}</provenance></about>'


def provenance_of(engine: Engine, source: int) -> dict[str, tuple[bool, bytes | None]]:
    with Session(engine) as session:
        rows = session.execute(select(Record.identifier, Record.deleted, Record.provenance_xml)
                               .where(Record.source_id == source)).all()
    return {r.identifier: (r.deleted, r.provenance_xml) for r in rows}


def chain(xml: bytes) -> list[tuple[str | None, str | None]]:
    """(baseURL, harvestDate) of the stored originDescription and each nested in it."""
    node: XMLElement | None = parse_bytes(xml)
    out = []
    while node is not None:
        assert node.tag == f"{{{PROV}}}originDescription"
        parts = {el.tag: el for el in node}
        out.append((parts[f"{{{PROV}}}baseURL"].text, node.get("harvestDate")))
        node = parts.get(f"{{{PROV}}}originDescription")
    return out


def test_upstream_provenance_is_stored_and_counts_as_content(
        engine: Engine, settings: Settings) -> None:
    records = make_records(6, prefix="oai:hub:")
    records[0].about = about()
    records[1].about = f'<about><provenance xmlns="{PROV}"><originDescription/></provenance>' \
                       "</about>"
    records[2].about = ('<about><dc:rights xmlns:dc="http://purl.org/dc/elements/1.1/">'
                        "CC BY</dc:rights></about>")
    records[3].about = about()
    records[3].deleted = True
    repo = Repository(records, page_size=2)
    with OAIServer(repo) as server:
        source = register(engine, server.base_url)
        first = run(engine, settings, source)
        assert first.status == "ok", first.as_json()
        assert "provenance-ignored" in codes(first.warnings)
        stored = provenance_of(engine, source)
        assert {k: v[1] is not None for k, v in stored.items()} == {
            "oai:hub:0": True, "oai:hub:1": False, "oai:hub:2": False, "oai:hub:3": False,
            "oai:hub:4": False, "oai:hub:5": False}
        assert stored["oai:hub:3"][0] is True  # a tombstone keeps no provenance
        xml = stored["oai:hub:0"][1]
        assert xml is not None
        assert chain(xml) == [(HUB, "2024-03-01T08:00:00Z"), (LIBRARY, "2023-02-01T00:00:00Z"),
                              ("http://jurnal.example.ac.id/oai", "2022-01-05")]
        # it stands on its own and is what the feed can nest: valid against the schema
        container = etree.fromstring(f'<provenance xmlns="{PROV}">'.encode() + xml
                                     + b"</provenance>")
        etree.XMLSchema(etree.parse(str(XSD))).assertValid(container)

        # The hub harvested the library again: only the provenance changed (same
        # datestamp, same metadata), and a full pass must see it as an update.
        repo.update("oai:hub:0", datestamp=records[0].datestamp,
                    about=about("2024-09-09T09:09:09Z"))
        second = run(engine, settings, source, full=True)
        assert (second.new, second.updated, second.deleted) == (0, 1, 0), second.as_json()
        xml = provenance_of(engine, source)["oai:hub:0"][1]
        assert xml is not None and chain(xml)[0] == (HUB, "2024-09-09T09:09:09Z")
        assert run(engine, settings, source, full=True).updated == 0

        # Deleted upstream, or vanished without a tombstone: no provenance is kept.
        repo.delete("oai:hub:0")
        repo.update("oai:hub:2", about=about())
        third = run(engine, settings, source)
        assert (third.updated, third.deleted) == (1, 1), third.as_json()
        repo.remove("oai:hub:2")
        assert run(engine, settings, source, full=True).deleted == 1
    stored = provenance_of(engine, source)
    assert stored["oai:hub:0"] == (True, None)
    assert stored["oai:hub:2"] == (True, None)


@pytest.mark.parametrize("broken", [
    f'<about><provenance xmlns="{PROV}">{origin(HUB, "x", "not a date")}</provenance></about>',
    f'<about><provenance xmlns="{PROV}">just words</provenance></about>',
    "<about>just words</about>",
])
def test_malformed_about_never_costs_the_record(engine: Engine, settings: Settings,
                                                broken: str) -> None:
    records = make_records(3)
    records[1].about = broken
    with OAIServer(Repository(records)) as server:
        source = register(engine, server.base_url)
        result = run(engine, settings, source)
    assert (result.status, result.new) == ("ok", 3), result.as_json()
    assert all(xml is None for _, xml in provenance_of(engine, source).values())
