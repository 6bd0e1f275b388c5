"""The aggregated OAI-PMH feed at /oai: every verb, argument rule and error, sets,
formats, provenance, paging and the incremental guarantee, on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import Engine, insert, update

from aggregator.config import Settings
from aggregator.oai import feed as feed_module
from aggregator.oai.naming import record_identifier
from aggregator.oai.readahead import ReadAhead
from aggregator.store import catalog
from aggregator.store.db import connect, make_engine, session_scope
from aggregator.store.ingest import allocate_seq
from aggregator.store.models import Record, Source
from aggregator.web import create_app
from oaifeed import (
    BASE_URL,
    NS,
    REPOSITORY_ID,
    Network,
    dc,
    error_code,
    gone,
    marc,
    mods,
    one,
    pages,
    parse,
    xp,
)

Get = Callable[[Mapping[str, str]], bytes]


@pytest.fixture
def network(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Network:
    """Three members: a SLiMS-like catalogue (DC, sets), a MARC catalogue, a MODS
    repository; deletions among them."""
    monkeypatch.setattr(feed_module, "CATALOGUE_SECONDS", 0.0)  # see new members at once
    net = Network(engine)
    net.member("kota", "https://kota.example/oai.php", city="Pontianak",
               homepage="https://kota.example")
    net.member("unira", "https://unira.example/oai", prefix="marcxml")
    net.member("ipk", "https://ipk.example/oai", prefix="mods")
    net.put("kota", [dc(f"oai:slims/{i}", f"Judul {i}", n=i, sets=("buku", "koleksi:umum"),
                        kind="Buku" if i % 2 else "Skripsi") for i in range(1, 8)])
    net.put("unira", [marc(f"oai:unira:{i}", f"Marc {i}", n=i) for i in range(1, 4)],
            prefix="marcxml")
    net.put("ipk", [mods("oai:ipk:1", "Sebuah tesis"), mods("oai:ipk:2", "Tesis lain")],
            prefix="mods")
    net.put("kota", [gone("oai:slims/7", sets=("buku",))])
    return net


def make_app(engine: Engine, settings: Settings, **overrides: object) -> Flask:
    values: dict[str, object] = {"base_url": BASE_URL, "oai_repository_id": REPOSITORY_ID,
                                 "contact_email": "katalog@example.id", "oai_page_size": 3}
    values.update(overrides)
    return create_app(replace(settings, **values), engine=engine)  # type: ignore[arg-type]


@pytest.fixture
def client(network: Network, settings: Settings) -> FlaskClient:
    return make_app(network.engine, settings).test_client()


def getter(client: FlaskClient) -> Get:
    def get(args: Mapping[str, str]) -> bytes:
        response = client.get("/oai?" + urlencode(args))
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
        return response.get_data()
    return get


def oai(client: FlaskClient, *, lax: bool = False, **args: str) -> etree._Element:
    return parse(getter(client)({k.rstrip("_"): v for k, v in args.items()}), lax=lax)


def harvest(client: FlaskClient, lax: bool = False, **args: str) -> list[etree._Element]:
    """Every <record> (or <header>) of a list, following the tokens."""
    items: list[etree._Element] = []
    for page in pages(getter(client), {k.rstrip("_"): v for k, v in args.items()}, lax=lax):
        items += xp(page, "//o:ListRecords/o:record | //o:ListIdentifiers/o:header")
    return items


def ident(slug: str, local: str) -> str:
    return f"oai:{REPOSITORY_ID}:{slug}/{local}"


def identifiers(items: list[etree._Element]) -> list[str]:
    return [one(i, "(self::o:header | o:header)/o:identifier/text()") for i in items]


# -- Identify, ListMetadataFormats, ListSets, GetRecord ----------------------------------


def test_identify_describes_the_network(client: FlaskClient, network: Network) -> None:
    root = oai(client, verb="Identify")
    assert one(root, "//o:baseURL/text()") == f"{BASE_URL}/oai"
    assert one(root, "//o:request/text()") == f"{BASE_URL}/oai"
    assert one(root, "//o:adminEmail/text()") == "katalog@example.id"
    assert one(root, "//o:deletedRecord/text()") == "persistent"
    assert one(root, "//o:granularity/text()") == "YYYY-MM-DDThh:mm:ssZ"
    assert one(root, "//o:compression/text()") == "gzip"
    assert one(root, "//id:repositoryIdentifier/text()") == REPOSITORY_ID
    assert one(root, "//id:sampleIdentifier/text()").startswith(f"oai:{REPOSITORY_ID}:")
    assert sorted(xp(root, "//f:baseURL/text()")) == [
        "https://ipk.example/oai", "https://kota.example/oai.php", "https://unira.example/oai"]
    assert not xp(root, "//b:branding")  # no logo set
    earliest = one(root, "//o:earliestDatestamp/text()")
    first = min(one(r, "o:header/o:datestamp/text()")
                for r in harvest(client, verb="ListRecords", metadataPrefix="oai_dc"))
    assert earliest == first


def test_identify_friends_leave_removed_members_out_and_brand_with_the_logo(
        network: Network, settings: Settings) -> None:
    network.remove("ipk")
    app = make_app(network.engine, settings, network_logo="https://katalog.example.id/logo.png",
                   network_name="Jaringan Kalbar")
    root = oai(app.test_client(), verb="Identify")
    assert "https://ipk.example/oai" not in xp(root, "//f:baseURL/text()")
    assert one(root, "//o:repositoryName/text()") == "Jaringan Kalbar"
    assert one(root, "//b:collectionIcon/b:url/text()") == "https://katalog.example.id/logo.png"


def test_base_url_never_comes_from_the_host_header(client: FlaskClient) -> None:
    data = client.get("/oai?verb=Identify", headers={"Host": "evil.example",
                                                     "X-Forwarded-Host": "evil.example"})
    assert b"evil.example" not in data.get_data()


def test_list_metadata_formats_for_the_feed_and_for_one_record(client: FlaskClient) -> None:
    def prefixes(root: etree._Element) -> list[str]:
        return [str(p) for p in xp(root, "//o:metadataPrefix/text()")]

    assert prefixes(oai(client, verb="ListMetadataFormats")) == ["oai_dc", "marc21", "mods"]
    assert prefixes(oai(client, verb="ListMetadataFormats",
                        identifier=ident("kota", "oai:slims/1"))) == ["oai_dc", "marc21"]
    assert prefixes(oai(client, verb="ListMetadataFormats",
                        identifier=ident("ipk", "oai:ipk:1"))) == ["oai_dc", "marc21", "mods"]
    missing = oai(client, verb="ListMetadataFormats", identifier=ident("kota", "nope"))
    assert error_code(missing) == "idDoesNotExist"


def test_list_sets_members_their_sets_and_types(client: FlaskClient, network: Network) -> None:
    with network.engine.begin() as conn:  # the names the harvester learnt from ListSets
        conn.execute(update(Source).where(Source.id == network.sources["kota"])
                     .values(set_names={"buku": "Koleksi buku", "koleksi": None,
                                        "koleksi:umum": "Umum"}))
    root = oai(client, verb="ListSets")
    names = {str(s.findtext("{*}setSpec")): str(s.findtext("{*}setName"))
             for s in xp(root, "//o:set")}
    assert names["member:kota"] == "Perpustakaan kota"
    assert names["member:kota:buku"] == "Koleksi buku"
    assert names["member:kota:koleksi"] == "koleksi"  # no name known: the spec
    assert names["member:kota:koleksi:umum"] == "Umum"
    assert {"member", "type", "type:book", "type:thesis", "type:conference-paper"} <= set(names)
    described = one(root, "//o:set[o:setSpec='member:kota']//dc:description/text()")
    assert "Pontianak" in described
    assert error_code(oai(client, verb="ListSets", resumptionToken="x")) == "badResumptionToken"


def test_get_record_in_each_format(client: FlaskClient) -> None:
    root = oai(client, verb="GetRecord", metadataPrefix="oai_dc",
               identifier=ident("kota", "oai:slims/1"))
    assert one(root, "//dc:title/text()") == "Judul 1"
    assert one(root, "//dc:type/text()") == "Book"
    assert "https://lib.example/1" in xp(root, "//dc:identifier/text()")
    assert one(root, "//o:header/o:identifier/text()") == ident("kota", "oai:slims/1")
    assert xp(root, "//o:setSpec/text()") == ["member:kota", "member:kota:buku",
                                               "member:kota:koleksi:umum", "type:book"]
    generated = oai(client, verb="GetRecord", metadataPrefix="marc21",
                    identifier=ident("kota", "oai:slims/2"))
    assert one(generated, "//marc:datafield[@tag='245']/marc:subfield/text()") == "Judul 2"
    passed = oai(client, verb="GetRecord", metadataPrefix="marc21",
                 identifier=ident("unira", "oai:unira:2"))
    assert one(passed, "//marc:controlfield[@tag='001']/text()") == "m2"  # as harvested
    assert one(passed, "//marc:datafield[@tag='020']/marc:subfield/text()") == "9786020000002"
    original = oai(client, lax=True, verb="GetRecord", metadataPrefix="mods",
                   identifier=ident("ipk", "oai:ipk:1"))
    assert one(original, "//mods:title/text()") == "Sebuah tesis"
    assert one(original, "//p:originDescription/@altered") == "false"
    refused = oai(client, verb="GetRecord", metadataPrefix="mods",
                  identifier=ident("kota", "oai:slims/1"))
    assert error_code(refused) == "cannotDisseminateFormat"


def test_every_record_carries_its_provenance(client: FlaskClient) -> None:
    records = harvest(client, verb="ListRecords", metadataPrefix="oai_dc")
    assert len(records) == 12
    for record in records:
        origin = one(record, "o:about/p:provenance/p:originDescription")
        assert origin.get("harvestDate") == one(record, "o:header/o:datestamp/text()")
        deleted = record.find("{*}header").get("status") == "deleted"
        assert origin.get("altered") == ("false" if deleted else "true")  # oai_dc is ours
        local = one(origin, "p:identifier/text()")
        slug = one(record, "o:header/o:identifier/text()").split(":")[2].split("/")[0]
        assert one(record, "o:header/o:identifier/text()") == ident(slug, local)
        assert one(origin, "p:baseURL/text()").startswith(f"https://{slug}.example/")
        assert xp(origin, "p:datestamp/text()")
    kota = next(r for r in records if "slims/1" in one(r, "o:header/o:identifier/text()"))
    assert one(kota, "o:about//p:metadataNamespace/text()") == (
        "http://www.openarchives.org/OAI/2.0/oai_dc/")
    assert one(kota, "o:about//p:datestamp/text()") == "2024-01-01"


@pytest.mark.parametrize(("local", "written"), [
    ("oai:slims/7?a=1&b#c", "oai:slims/7?a=1&b#c"),  # a URI already: as the member sent it
    ("oai:slims/ä", "oai:slims/ä"),  # non-ASCII is legal in an xs:anyURI
    ("oai:slims/50%-diskon", "oai%3Aslims%2F50%25-diskon"),  # a bare "%": not a URI
    ("12:34", "12%3A34"),  # "12" is no scheme
    ("a#b#c", "a%23b%23c"),
    ("ruang baca", "ruang%20baca"),  # xs:anyURI collapses whitespace: keep it encoded
])
def test_provenance_identifiers_are_uris_even_when_the_members_are_not(
        client: FlaskClient, network: Network, local: str, written: str) -> None:
    """provenance.xsd types the origin's identifier xs:anyURI: a member identifier that
    is not one (members send anything) is given percent-encoded, so the feed stays valid."""
    network.put("kota", [dc(local, "Aneh")])
    root = oai(client, verb="GetRecord", metadataPrefix="oai_dc",
               identifier=record_identifier(REPOSITORY_ID, "kota", local))
    assert one(root, "//p:originDescription/p:identifier/text()") == written
    assert unquote(written) == local or written == local


def test_upstream_provenance_is_nested_in_ours(client: FlaskClient, network: Network) -> None:
    upstream = (b'<originDescription xmlns="http://www.openarchives.org/OAI/2.0/provenance" '
                b'harvestDate="2023-05-01T00:00:00Z" altered="false"><baseURL>'
                b"https://perpus.desa.example/oai</baseURL><identifier>oai:desa:9</identifier>"
                b"<datestamp>2023-04-30</datestamp><metadataNamespace>"
                b"http://www.openarchives.org/OAI/2.0/oai_dc/</metadataNamespace>"
                b"</originDescription>")
    with network.engine.begin() as conn:
        conn.execute(update(Record).where(Record.identifier == "oai:slims/3")
                     .values(provenance_xml=upstream))
    root = oai(client, verb="GetRecord", metadataPrefix="oai_dc",
               identifier=ident("kota", "oai:slims/3"))
    outer = one(root, "//o:about/p:provenance/p:originDescription")
    assert one(outer, "p:baseURL/text()") == "https://kota.example/oai.php"
    assert one(outer, "p:originDescription/p:baseURL/text()") == "https://perpus.desa.example/oai"
    assert one(outer, "p:originDescription/p:identifier/text()") == "oai:desa:9"


# -- lists ----------------------------------------------------------------------------


def test_list_records_pages_through_everything_once(client: FlaskClient) -> None:
    seen: list[str] = []
    tokens: list[etree._Element] = []
    for page in pages(getter(client), {"verb": "ListRecords", "metadataPrefix": "oai_dc"}):
        seen += identifiers(xp(page, "//o:record"))
        tokens += xp(page, "//o:resumptionToken")
    assert len(seen) == len(set(seen)) == 12
    assert [t.get("cursor") for t in tokens] == ["0", "3", "6", "9"]
    assert {t.get("completeListSize") for t in tokens} == {"12"}
    assert tokens[-1].text is None and tokens[-1].get("expirationDate") is None
    for token in tokens[:-1]:
        expires = datetime.fromisoformat(token.get("expirationDate").replace("Z", "+00:00"))
        assert expires > datetime.now(UTC) + timedelta(hours=24)
    deleted = [r for r in harvest(client, verb="ListRecords", metadataPrefix="oai_dc")
               if r.find("{*}header").get("status") == "deleted"]
    assert identifiers(deleted) == [ident("kota", "oai:slims/7")]
    assert not xp(deleted[0], "o:metadata")


def test_list_identifiers_and_a_format_only_some_records_have(client: FlaskClient) -> None:
    headers = harvest(client, verb="ListIdentifiers", metadataPrefix="marc21")
    assert len(headers) == 12 and all(h.tag.endswith("header") for h in headers)
    assert identifiers(harvest(client, lax=True, verb="ListRecords", metadataPrefix="mods")) == [
        ident("ipk", "oai:ipk:1"), ident("ipk", "oai:ipk:2")]
    unknown = oai(client, verb="ListRecords", metadataPrefix="ead")
    assert error_code(unknown) == "cannotDisseminateFormat"


@pytest.mark.parametrize(("spec", "expected"), [
    ("member:unira", ["oai:unira:1", "oai:unira:2", "oai:unira:3"]),
    ("member:kota:koleksi", [f"oai:slims/{i}" for i in range(1, 7)]),  # a:b is within a
    ("member:kota:buku", [f"oai:slims/{i}" for i in range(1, 8)]),  # the tombstone too
    ("type:thesis", ["oai:slims/2", "oai:slims/4", "oai:slims/6", "oai:ipk:1", "oai:ipk:2"]),
])
def test_sets_select_literally_and_keep_deletions(client: FlaskClient, spec: str,
                                                  expected: list[str]) -> None:
    found = harvest(client, verb="ListIdentifiers", metadataPrefix="oai_dc", set=spec)
    assert sorted(i.split("/", 1)[1] for i in identifiers(found)) == sorted(expected)


def test_set_specs_are_matched_literally(client: FlaskClient, network: Network) -> None:
    network.put("kota", [dc("u1", "Garis bawah", sets=("a_b",)),
                         dc("u2", "Huruf x", sets=("axb",)),
                         dc("u3", "Persen", sets=("a%b",))])
    under = harvest(client, verb="ListIdentifiers", metadataPrefix="oai_dc",
                    set="member:kota:a_b")
    assert identifiers(under) == [ident("kota", "u1")]  # "_" is no wildcard
    percent = harvest(client, verb="ListIdentifiers", metadataPrefix="oai_dc",
                      set="member:kota:a~25b")
    assert identifiers(percent) == [ident("kota", "u3")]
    with network.engine.begin() as conn:  # what the harvest records after a run
        conn.execute(update(Source).where(Source.id == network.sources["kota"])
                     .values(set_names={"a_b": None, "axb": None, "a%b": "Persen"}))
    listed = {str(s.findtext("{*}setSpec")): str(s.findtext("{*}setName"))
              for s in xp(oai(client, verb="ListSets"), "//o:set")}
    assert listed["member:kota:a~25b"] == "Persen"
    assert error_code(oai(client, verb="ListRecords", metadataPrefix="oai_dc",
                          set="member:kota:a%b")) == "badArgument"


def test_removed_members_records_are_listed_deleted(client: FlaskClient,
                                                    network: Network) -> None:
    network.remove("unira")
    found = harvest(client, verb="ListRecords", metadataPrefix="oai_dc", set="member:unira")
    assert len(found) == 3
    assert all(r.find("{*}header").get("status") == "deleted" for r in found)
    assert all(not xp(r, "o:metadata") for r in found)


def test_a_removed_members_deletions_reach_harvesters_of_its_own_format(
        client: FlaskClient, network: Network) -> None:
    """A harvester of `mods` had ipk's records: when ipk is removed (no live record of
    its source is left to tell the format) it must still learn of their deletion."""
    before = harvest(client, lax=True, verb="ListRecords", metadataPrefix="mods")
    stamp = one(oai(client, verb="Identify"), "//o:responseDate/text()")
    network.remove("ipk")
    after = harvest(client, lax=True, verb="ListRecords", metadataPrefix="mods", from_=stamp)
    assert identifiers(after) == identifiers(before) == [
        ident("ipk", "oai:ipk:1"), ident("ipk", "oai:ipk:2")]
    assert all(r.find("{*}header").get("status") == "deleted" for r in after)
    assert {str(n) for n in xp(after[0], ".//p:metadataNamespace/text()")} == {NS["mods"]}
    formats = xp(oai(client, verb="ListMetadataFormats"), "//o:metadataPrefix/text()")
    assert "mods" in formats


def test_two_sources_of_one_member_with_the_same_local_identifier_are_two_records(
        client: FlaskClient, network: Network) -> None:
    """Two journals of one university, each a stock OJS (oai:ojs.pkp.sfu.ca:article/N):
    a harvester must get two records, not one identifier twice (it keeps the last)."""
    network.member("univ", "https://jurnal-a.univ.example/oai")
    with session_scope(network.engine) as session:
        network.sources["univ-b"] = catalog.add_source(
            session, "univ", "https://jurnal-b.univ.example/oai").id
    network.put("univ", [dc("oai:ojs.pkp.sfu.ca:article/1", "Artikel jurnal A")])
    network.put("univ-b", [dc("oai:ojs.pkp.sfu.ca:article/1", "Artikel jurnal B")])
    found = identifiers(harvest(client, verb="ListIdentifiers", metadataPrefix="oai_dc",
                                set="member:univ"))
    second = network.sources["univ-b"]
    assert found == [ident("univ", "oai:ojs.pkp.sfu.ca:article/1"),
                     ident(f"univ.{second}", "oai:ojs.pkp.sfu.ca:article/1")]
    for label, title in (("univ", "Artikel jurnal A"), (f"univ.{second}", "Artikel jurnal B")):
        record = oai(client, verb="GetRecord", metadataPrefix="oai_dc",
                     identifier=ident(label, "oai:ojs.pkp.sfu.ca:article/1"))
        assert one(record, "//dc:title/text()") == title
        assert "member:univ" in xp(record, "//o:setSpec/text()")
    for wrong in (f"univ.{network.sources['kota']}", "univ.999", "univ."):
        missing = oai(client, verb="GetRecord", metadataPrefix="oai_dc",
                      identifier=ident(wrong, "oai:ojs.pkp.sfu.ca:article/1"))
        assert error_code(missing) == "idDoesNotExist"


def test_identifiers_stay_when_a_record_changes(client: FlaskClient, network: Network) -> None:
    before = oai(client, verb="GetRecord", metadataPrefix="oai_dc",
                 identifier=ident("kota", "oai:slims/2"))
    network.put("kota", [dc("oai:slims/2", "Judul baru", n=2)])
    after = oai(client, verb="GetRecord", metadataPrefix="oai_dc",
                identifier=ident("kota", "oai:slims/2"))
    assert one(after, "//dc:title/text()") == "Judul baru"
    assert one(after, "//o:header/o:datestamp/text()") >= one(before,
                                                                "//o:header/o:datestamp/text()")


def test_a_token_issued_before_new_records_completes_without_skips_or_repeats(
        client: FlaskClient, network: Network) -> None:
    first = oai(client, verb="ListIdentifiers", metadataPrefix="oai_dc")
    token = one(first, "//o:resumptionToken/text()")
    listed = identifiers(xp(first, "//o:header"))
    network.put("kota", [dc(f"baru-{i}", f"Baru {i}") for i in range(5)])
    params = {"verb": "ListIdentifiers", "resumptionToken": token}
    for page in pages(getter(client), params):
        listed += identifiers(xp(page, "//o:header"))
    assert len(listed) == len(set(listed)) == 12  # the list as it was asked for
    assert not any("baru-" in i for i in listed)  # they come with the next `from`


def test_from_the_first_response_date_misses_no_change_made_during_a_run(
        client: FlaskClient, network: Network) -> None:
    """A harvester sends the responseDate of its previous run's first request as `from`:
    changes committed while that run was paging all come in the next run."""
    run_started = oai(client, verb="ListRecords", metadataPrefix="oai_dc")
    response_date = one(run_started, "//o:responseDate/text()")
    token = one(run_started, "//o:resumptionToken/text()")
    network.put("kota", [dc("oai:slims/1", "Diubah selama panen", n=1),  # listed already
                         dc("oai:slims/6", "Diubah juga", n=6),  # not yet listed
                         dc("mid-run", "Baru selama panen")])
    network.put("kota", [gone("oai:slims/5")])
    for _ in pages(getter(client), {"verb": "ListRecords", "resumptionToken": token}):
        pass
    later = harvest(client, verb="ListRecords", metadataPrefix="oai_dc", from_=response_date)
    changed = {i.split("/", 1)[1] for i in identifiers(later)}
    assert {"oai:slims/1", "oai:slims/6", "mid-run", "oai:slims/5"} <= changed
    titles = {one(r, "o:header/o:identifier/text()"): xp(r, ".//dc:title/text()")
              for r in later}
    assert titles[ident("kota", "oai:slims/6")] == ["Diubah juga"]


def test_a_change_being_committed_at_the_first_request_is_not_missed(
        client: FlaskClient, network: Network) -> None:
    """A writer has taken its change time but not committed when a run's first request
    comes: the response waits for it, so the change is either in this run or after the
    responseDate the next run sends as `from`."""
    started, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        with connect(network.engine) as conn:
            seq, when = allocate_seq(conn, 1)
            conn.execute(insert(Record).values(
                id=10_000, source_id=network.sources["kota"], identifier="in-flight",
                datestamp="2024-03-01", deleted=False, set_specs=[], metadata_prefix="oai_dc",
                metadata_xml=dc("in-flight", "Sedang ditulis").metadata_xml,
                content_hash="x", change_seq=seq, last_changed=when, first_seen=when,
                cluster_id=10_000))
            started.set()
            release.wait(10)
            time.sleep(0.3)  # still uncommitted while the request below is made

    writer = threading.Thread(target=slow_writer)
    writer.start()
    try:
        assert started.wait(10)
        release.set()
        first = oai(client, verb="ListIdentifiers", metadataPrefix="oai_dc")
    finally:
        writer.join()
    response_date = one(first, "//o:responseDate/text()")
    token = xp(first, "//o:resumptionToken/text()")
    run = identifiers(xp(first, "//o:header"))
    if token:
        for page in pages(getter(client), {"verb": "ListIdentifiers",
                                           "resumptionToken": token[0]}):
            run += identifiers(xp(page, "//o:header"))
    next_run = oai(client, verb="ListIdentifiers", metadataPrefix="oai_dc",
                   from_=response_date)
    later = [] if error_code(next_run) else identifiers(xp(next_run, "//o:header"))
    assert ident("kota", "in-flight") in run + later


def test_from_and_until_select_by_change_time(client: FlaskClient, network: Network) -> None:
    everything = harvest(client, verb="ListIdentifiers", metadataPrefix="oai_dc")
    stamps = sorted({one(h, "o:datestamp/text()") for h in everything})
    last = stamps[-1]
    until_last = harvest(client, verb="ListIdentifiers", metadataPrefix="oai_dc", until=last)
    assert len(until_last) == 12
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    future = oai(client, verb="ListIdentifiers", metadataPrefix="oai_dc", from_=tomorrow)
    assert error_code(future) == "noRecordsMatch"
    before = oai(client, verb="ListIdentifiers", metadataPrefix="oai_dc", until="2001-01-01")
    assert error_code(before) == "noRecordsMatch"
    day = stamps[0][:10]
    by_day = harvest(client, verb="ListIdentifiers", metadataPrefix="oai_dc", from_=day,
                     until=day)
    assert len(by_day) == sum(1 for h in everything if one(h, "o:datestamp/text()")[:10] == day)


# -- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "code"), [
    ("", "badVerb"),
    ("verb=Frobnicate", "badVerb"),
    ("verb=Identify&verb=Identify", "badVerb"),
    ("verb=Identify&metadataPrefix=oai_dc", "badArgument"),
    ("verb=ListRecords", "badArgument"),
    ("verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=oai_dc", "badArgument"),
    ("verb=ListRecords&metadataPrefix=oai_dc&colour=blue", "badArgument"),
    ("verb=ListRecords&metadataPrefix=oai_dc&from=2024-13-01", "badArgument"),
    ("verb=ListRecords&metadataPrefix=oai_dc&from=yesterday", "badArgument"),
    ("verb=ListRecords&metadataPrefix=oai_dc&from=2024-01-01&until=2024-01-02T00:00:00Z",
     "badArgument"),
    ("verb=ListRecords&metadataPrefix=oai_dc&from=2024-02-01&until=2024-01-01", "badArgument"),
    ("verb=ListRecords&metadataPrefix=oai_dc&resumptionToken=abc", "badArgument"),
    ("verb=ListRecords&metadataPrefix=oai%20dc", "badArgument"),
    ("verb=ListRecords&metadataPrefix=oai_dc&set=bad%20set", "badArgument"),
    ("verb=GetRecord&identifier=x%01y&metadataPrefix=oai_dc", "badArgument"),
    ("verb=ListRecords&resumptionToken=not-a-token", "badResumptionToken"),
    ("verb=ListRecords&metadataPrefix=ead", "cannotDisseminateFormat"),
    # a format we know but no member gives: not in ListMetadataFormats, so not offered
    ("verb=ListRecords&metadataPrefix=oai_datacite", "cannotDisseminateFormat"),
    ("verb=GetRecord&identifier=oai:katalog.example.id:kota/oai:slims/1"
     "&metadataPrefix=oai_datacite", "cannotDisseminateFormat"),
    # a bad argument is badArgument even with a format we do not offer (else the
    # request would be echoed with the bad value: a response the schema refuses)
    ("verb=ListRecords&metadataPrefix=ead&from=yesterday", "badArgument"),
    ("verb=ListIdentifiers&metadataPrefix=ead&until=", "badArgument"),
    ("verb=ListIdentifiers&metadataPrefix=ead&set=bad%20set", "badArgument"),
    ("verb=ListIdentifiers&metadataPrefix=ead&from=2024-02-01&until=2024-01-01",
     "badArgument"),
    ("verb=GetRecord&identifier=oai:other.example:kota/1&metadataPrefix=oai_dc",
     "idDoesNotExist"),
    ("verb=ListRecords&metadataPrefix=oai_dc&set=member:nobody", "noRecordsMatch"),
    ("verb=ListRecords&metadataPrefix=oai_dc&set=shelf", "noRecordsMatch"),
])
def test_errors_are_oai_errors_with_http_200(client: FlaskClient, query: str,
                                             code: str) -> None:
    response = client.get("/oai?" + query)
    assert response.status_code == 200
    root = parse(response.get_data())
    assert error_code(root) == code
    request = one(root, "/o:OAI-PMH/o:request")
    assert request.text == f"{BASE_URL}/oai"
    if code in ("badVerb", "badArgument"):
        assert not request.attrib  # arguments echoed only for a valid request
    else:
        assert request.get("verb")


def test_tokens_refuse_tampering_expiry_and_the_wrong_verb(
        client: FlaskClient, network: Network, settings: Settings,
        monkeypatch: pytest.MonkeyPatch) -> None:
    token = one(oai(client, verb="ListRecords", metadataPrefix="oai_dc"),
                "//o:resumptionToken/text()")
    flipped = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    for bad in (flipped, token[:-1], token + "A"):
        assert error_code(oai(client, verb="ListRecords", resumptionToken=bad)) == (
            "badResumptionToken")
    assert error_code(oai(client, verb="ListIdentifiers", resumptionToken=token)) == (
        "badResumptionToken")
    other = make_app(network.engine, settings, oai_token_secret="another secret")
    assert error_code(oai(other.test_client(), verb="ListRecords", resumptionToken=token)) == (
        "badResumptionToken")
    later = datetime.now(UTC) + timedelta(hours=49)
    monkeypatch.setattr(feed_module, "utcnow", lambda: later)
    assert error_code(oai(client, verb="ListRecords", resumptionToken=token)) == (
        "badResumptionToken")


# -- HTTP -------------------------------------------------------------------------------


def test_post_form_and_gzip(client: FlaskClient) -> None:
    posted = client.post("/oai", data={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"})
    assert posted.status_code == 200 and len(xp(parse(posted.get_data()), "//o:header")) == 3
    not_form = client.post("/oai", data=b'{"verb": "Identify"}',
                           content_type="application/json")
    assert error_code(parse(not_form.get_data())) == "badArgument"
    zipped = client.get("/oai?verb=ListRecords&metadataPrefix=oai_dc",
                        headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert len(xp(parse(gzip.decompress(zipped.get_data())), "//o:record")) == 3
    plain = client.get("/oai?verb=Identify", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in plain.headers
    assert client.put("/oai").status_code == 405


def test_the_store_being_down_is_a_503_to_come_back_to(settings: Settings) -> None:
    broken = replace(settings, database_url="postgresql+psycopg://nobody@127.0.0.1:9/none",
                     base_url=BASE_URL)
    down = create_app(broken, engine=make_engine(broken))
    response = down.test_client().get("/oai?verb=Identify")
    assert response.status_code == 503 and response.headers["Retry-After"]


# -- pages made ahead -------------------------------------------------------------------


def _without_response_date(data: bytes) -> bytes:
    """The response without its times: the responseDate, and the next token's expiry
    (and so its signature), which a page made a second earlier states a second earlier."""
    data = re.sub(rb"<responseDate>[^<]*</responseDate>", b"", data)
    return re.sub(rb'(<resumptionToken[^>]*?) expirationDate="[^"]*"([^>]*>)[^<]*',
                  rb"\1\2", data)


def test_the_next_page_is_made_ahead_and_served_as_it_would_be_made(
        network: Network, settings: Settings) -> None:
    app = make_app(network.engine, settings)
    client = app.test_client()
    first = oai(client, verb="ListRecords", metadataPrefix="oai_dc")
    token = one(first, "//o:resumptionToken/text()")
    folder = Path(settings.data_dir) / feed_module.PAGES_FOLDER
    deadline = time.monotonic() + 10
    while not [p for p in folder.glob("*") if "." not in p.name]:  # being written
        assert time.monotonic() < deadline, "the next page was not made ahead"
        time.sleep(0.01)
    other = make_app(network.engine, settings).test_client()  # another worker process
    url = "/oai?" + urlencode({"verb": "ListRecords", "resumptionToken": token})
    ahead = other.get(url, headers={"Accept-Encoding": "gzip"})
    assert ahead.headers["Content-Encoding"] == "gzip"
    served = gzip.decompress(ahead.get_data())  # two gzip members: head, then the page
    assert int(ahead.headers["Content-Length"]) == len(ahead.get_data())
    fresh = make_app(network.engine, settings).test_client().get(url).get_data()  # made now
    assert _without_response_date(served) == _without_response_date(fresh)
    assert len(xp(parse(served), "//o:record")) == 3
    assert one(parse(served), "//o:request/@resumptionToken") == token
    following = [identifiers(harvest(other, verb="ListRecords", resumptionToken=one(
        parse(page), "//o:resumptionToken/text()"))) for page in (served, fresh)]
    assert following[0] == following[1] and following[0]


def test_pages_nobody_came_for_are_swept(tmp_path: Path) -> None:
    made: list[str] = []

    def make(verb: str, token: str) -> tuple[str, str | None]:
        made.append(token)
        return f"<{verb}>{token}</{verb}>", None

    ahead = ReadAhead(tmp_path / "pages", make)
    ahead.schedule("ListRecords", "t1")
    page = ahead.take("ListRecords", "t1")
    assert page is not None and page.plain == b"<ListRecords>t1</ListRecords>"
    assert gzip.decompress(page.gz) == page.plain
    assert ahead.take("ListRecords", "t1") is None  # taken once
    ahead.schedule("ListRecords", "t2")
    assert ahead.take("ListIdentifiers", "t2") is None  # not for another verb
    deadline = time.monotonic() + 10
    while [p for p in (tmp_path / "pages").iterdir() if p.name.endswith(".making")]:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert made == ["t1", "t2"]
    old = time.time() - 3600
    for path in (tmp_path / "pages").iterdir():
        os.utime(path, (old, old))
    ahead.sweep()
    assert not list((tmp_path / "pages").iterdir())
