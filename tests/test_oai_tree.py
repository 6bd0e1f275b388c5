"""The network as a node of a tree: aggregator B harvests aggregator A's feed over HTTP,
and B's feed still says which library each record came from (two levels of provenance)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from aggregator.config import Settings, load_settings
from aggregator.pipeline import sync_source
from aggregator.store import catalog
from aggregator.store.db import init_schema, make_engine
from aggregator.web import create_app
from aggregator.web.serve import PortalServer
from oaifeed import Network, dc, gone, one, pages, xp


@pytest.fixture
def node_a(engine: Engine, settings: Settings) -> Iterator[str]:
    """Aggregator A (a provincial hub): two member libraries, served over HTTP; yields
    its feed's URL."""
    network = Network(engine)
    network.member("kota", "https://kota.example/oai.php")
    network.member("desa", "https://desa.example/oai")
    network.put("kota", [dc(f"oai:slims/{i}", f"Buku kota {i}", n=i, sets=("umum",))
                         for i in range(1, 6)])
    network.put("desa", [dc("oai:desa:1", "Buku desa"), gone("oai:desa:2")])
    server = PortalServer(None, port=0)
    a_settings = replace(settings, base_url=server.url.rstrip("/"),
                         oai_repository_id="hub.kalbar.example.id", oai_page_size=2)
    server.mount(create_app(a_settings, engine=engine))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield a_settings.public_root + "/oai"
    finally:
        server.stop()
        thread.join(timeout=10)


def test_b_harvests_a_and_its_feed_shows_both_levels(node_a: str, tmp_path: Path) -> None:
    b_settings = load_settings(environ={}, data_dir=str(tmp_path / "b"),
                               allow_networks=("127.0.0.0/8",),
                               base_url="https://onesearch.example.id",
                               oai_repository_id="onesearch.example.id")
    b_engine = make_engine(b_settings)
    init_schema(b_engine)
    try:
        with Session(b_engine) as session, session.begin():
            catalog.add_member(session, "kalbar", "Jaringan Kalimantan Barat")
            source = catalog.add_source(session, "kalbar", node_a).id
        result = sync_source(b_engine, b_settings, source)
        assert result.status == "ok", result.as_json()
        assert (result.new, result.deleted) == (6, 1)

        client = create_app(b_settings, engine=b_engine).test_client()

        def get(args: dict[str, str]) -> bytes:
            return client.get("/oai?" + urlencode(args)).get_data()

        records = [r for page in pages(get, {"verb": "ListRecords", "metadataPrefix": "oai_dc"})
                   for r in xp(page, "//o:record")]
        assert len(records) == 7
        by_id = {one(r, "o:header/o:identifier/text()"): r for r in records}
        record = by_id["oai:onesearch.example.id:kalbar/oai:hub.kalbar.example.id:kota/oai:slims/3"]
        outer = one(record, "o:about/p:provenance/p:originDescription")
        assert one(outer, "p:baseURL/text()") == node_a  # B got it from A
        assert one(outer, "p:identifier/text()") == "oai:hub.kalbar.example.id:kota/oai:slims/3"
        inner = one(outer, "p:originDescription")
        assert one(inner, "p:baseURL/text()") == "https://kota.example/oai.php"  # the library
        assert one(inner, "p:identifier/text()") == "oai:slims/3"
        assert one(inner, "p:datestamp/text()") == "2024-01-01"
        assert inner.get("altered") == "true" and inner.get("harvestDate")
        assert one(record, ".//dc:title/text()") == "Buku kota 3"
        deleted = by_id["oai:onesearch.example.id:kalbar/oai:hub.kalbar.example.id:desa/oai:desa:2"]
        assert deleted.find("{*}header").get("status") == "deleted"
        # A's sets come along as the member's own sets in B
        sets = xp(record, "o:header/o:setSpec/text()")
        assert "member:kalbar:member:kota:umum" in sets
    finally:
        b_engine.dispose()
