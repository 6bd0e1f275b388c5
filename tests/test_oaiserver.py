"""Protocol behaviour of the demo OAI-PMH provider, checked with sickle and the official XSDs."""

from __future__ import annotations

import base64
import importlib.util
import re
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from lxml import etree
from sickle import Sickle
from sickle import oaiexceptions as oaierr

from aggregator.demo.generate import generate_records
from aggregator.demo.oaiserver import (
    DAYS,
    OAIServer,
    Repository,
    Request,
    Response,
    SampleRecord,
)

NS = {"o": "http://www.openarchives.org/OAI/2.0/"}
XSD_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "oai" / "xsd"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
SETS = ("fak:teknik", "fak:hukum", "perpus")
MARC = (
    '<record xmlns="http://www.loc.gov/MARC21/slim"><leader>00000nam a2200000 a 4500</leader>'
    '<controlfield tag="001">{n}</controlfield><datafield tag="245" ind1="0" ind2="0">'
    '<subfield code="a">Judul {n}</subfield></datafield></record>'
)


class Clock:
    """A settable clock for the repository."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def repo(clock: Clock) -> Repository:
    records = generate_records(230, seed=7, sets=SETS)
    return Repository(records, page_size=50, clock=clock, sets={"fak": "Fakultas"})


@pytest.fixture
def server(repo: Repository) -> Iterator[OAIServer]:
    with OAIServer(repo) as srv:
        yield srv


def fetch(server: OAIServer, query: str = "", data: bytes | None = None) -> tuple[int, bytes]:
    url = server.base_url + ("?" + query if query else "")
    try:
        with urllib.request.urlopen(url, data=data, timeout=10) as resp:
            return int(resp.status), bytes(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def oai(server: OAIServer, **params: str) -> etree._Element:
    status, body = fetch(server, urllib.parse.urlencode(params))
    assert status == 200
    return etree.fromstring(body)


def error_code(root: etree._Element) -> str | None:
    found = root.xpath("string(o:error/@code)", namespaces=NS)
    return str(found) or None


def harvest_ids(server: OAIServer, verb: str = "ListRecords", **kwargs: Any) -> list[str]:
    sickle = Sickle(server.base_url, timeout=10)
    items = getattr(sickle, verb)(metadataPrefix="oai_dc", **kwargs)
    return [item.header.identifier if verb == "ListRecords" else item.identifier for item in items]


def in_order(repo: Repository) -> list[SampleRecord]:
    return sorted(repo.records, key=lambda r: (r.datestamp, r.identifier))


@pytest.mark.parametrize("verb", ["ListRecords", "ListIdentifiers"])
def test_full_harvest_returns_every_record_once(server: OAIServer, verb: str) -> None:
    ids = harvest_ids(server, verb)
    assert sorted(ids) == sorted(r.identifier for r in server.repository.records)
    assert len(server.requests) == 5  # 230 records, 50 a page


def test_post_works_like_get(server: OAIServer) -> None:
    sickle = Sickle(server.base_url, http_method="POST", timeout=10)
    assert len(list(sickle.ListIdentifiers(metadataPrefix="oai_dc"))) == 230
    assert server.received[-1].method == "POST"


def test_edits_between_pages_keep_the_harvest_exact(server: OAIServer, clock: Clock) -> None:
    repo = server.repository
    ordered = in_order(repo)
    later = NOW + timedelta(hours=1)
    seen: list[str] = []
    items = Sickle(server.base_url, timeout=10).ListRecords(metadataPrefix="oai_dc")
    for record in items:
        seen.append(record.header.identifier)
        if len(seen) == 60:  # the second page (records 51-100) is in hand
            clock.now = later
            repo.update(ordered[10].identifier, metadata={"title": ["Judul baru"]})
            repo.delete(ordered[20].identifier)
            repo.update(ordered[150].identifier, metadata={"title": ["Belum dipanen"]})
            repo.add(SampleRecord("oai:bench.example.org:new", later, metadata={"title": ["x"]}))
    counts = Counter(seen)
    assert max(counts.values()) == 1
    assert set(seen) == {r.identifier for r in ordered} - {ordered[150].identifier}
    # the next incremental harvest, from the first harvest's responseDate, catches up
    caught = harvest_ids(server, **{"from": "2026-01-01T00:00:00Z"})
    expected = {ordered[i].identifier for i in (10, 20, 150)} | {"oai:bench.example.org:new"}
    assert set(caught) == expected


def test_from_until_are_inclusive(server: OAIServer) -> None:
    ordered = in_order(server.repository)
    low, high = ordered[40], ordered[120]
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    ids = harvest_ids(
        server, **{"from": low.datestamp.strftime(fmt), "until": high.datestamp.strftime(fmt)}
    )
    want = {r.identifier for r in ordered if low.datestamp <= r.datestamp <= high.datestamp}
    assert set(ids) == want and low.identifier in ids and high.identifier in ids


def test_day_granularity(clock: Clock) -> None:
    day = datetime(2024, 5, 2, tzinfo=UTC)
    records = [
        SampleRecord(f"oai:slims/{i}", day + timedelta(hours=i * 7), metadata={"title": ["t"]})
        for i in range(8)
    ]
    repo = Repository(records, granularity=DAYS, clock=clock)
    with OAIServer(repo) as server:
        ids = harvest_ids(server, **{"from": "2024-05-02", "until": "2024-05-03"})
        assert ids == [f"oai:slims/{i}" for i in range(7)]  # hour 49 falls on 4 May
        root = oai(server, verb="ListIdentifiers", metadataPrefix="oai_dc")
        stamps = root.xpath("//o:datestamp/text()", namespaces=NS)
        assert stamps[0] == "2024-05-02"
        assert root.xpath("string(//o:request/@verb)", namespaces=NS) == "ListIdentifiers"
        seconds = oai(
            server, verb="ListRecords", metadataPrefix="oai_dc", until="2024-05-02T00:00:00Z"
        )
        assert error_code(seconds) == "badArgument"


def test_set_filter_is_hierarchical(server: OAIServer) -> None:
    ids = set(harvest_ids(server, set="fak"))
    assert ids == {r.identifier for r in server.repository.records if r.sets[0].startswith("fak:")}
    assert set(harvest_ids(server, set="fak:hukum")) < ids
    sets = {s.setSpec: s.setName for s in Sickle(server.base_url, timeout=10).ListSets()}
    assert sets == {
        "fak": "Fakultas",
        "fak:hukum": "fak:hukum",
        "fak:teknik": "fak:teknik",
        "perpus": "perpus",
    }


def test_tokens_need_url_encoding(server: OAIServer) -> None:
    root = oai(server, verb="ListRecords", metadataPrefix="oai_dc")
    token_el = root.find(".//o:resumptionToken", NS)
    assert token_el is not None
    token = token_el.text or ""
    assert "+" in token and "/" in token and token.endswith("=")
    assert token_el.get("completeListSize") == "230" and token_el.get("cursor") == "0"
    assert token_el.get("expirationDate") == "2026-01-02T00:00:00Z"
    # properly encoded, the token works and arrives intact
    page = oai(server, verb="ListRecords", resumptionToken=token)
    assert error_code(page) is None and server.requests[-1]["resumptionToken"] == token
    assert page.xpath("string(//o:resumptionToken/@cursor)", namespaces=NS) == "50"
    # sent raw, "+" turns into a space and the token is refused
    status, body = fetch(server, "verb=ListRecords&resumptionToken=" + token)
    assert status == 200 and error_code(etree.fromstring(body)) == "badResumptionToken"
    # tokens are signed: a cursor edited by hand is refused too
    raw = bytearray(base64.b64decode(token))
    raw[20] ^= 1
    edited = oai(server, verb="ListRecords", resumptionToken=base64.b64encode(raw).decode())
    assert error_code(edited) == "badResumptionToken"


def test_last_page_token(server: OAIServer) -> None:
    items = Sickle(server.base_url, timeout=10).ListIdentifiers(metadataPrefix="oai_dc")
    list(items)
    token = etree.fromstring(items.oai_response.raw.encode()).find(".//o:resumptionToken", NS)
    assert token is not None and not token.text and token.get("cursor") == "200"
    server.repository.last_page_token = "absent"
    items = Sickle(server.base_url, timeout=10).ListIdentifiers(metadataPrefix="oai_dc")
    list(items)
    last = etree.fromstring(items.oai_response.raw.encode())
    assert last.find(".//o:resumptionToken", NS) is None


def test_invalidated_and_expired_tokens(server: OAIServer, clock: Clock) -> None:
    items = Sickle(server.base_url, timeout=10).ListIdentifiers(metadataPrefix="oai_dc")
    for _ in range(50):
        next(items)
    server.repository.invalidate_tokens()
    with pytest.raises(oaierr.BadResumptionToken):
        list(items)
    items = Sickle(server.base_url, timeout=10).ListIdentifiers(metadataPrefix="oai_dc")
    next(items)
    clock.now = NOW + timedelta(days=1, seconds=1)
    with pytest.raises(oaierr.BadResumptionToken):
        list(items)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("", "badVerb"),
        ("verb=Harvest", "badVerb"),
        ("verb=Identify&verb=Identify", "badVerb"),
        ("verb=ListRecords", "badArgument"),
        ("verb=Identify&metadataPrefix=oai_dc", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=oai_dc", "badArgument"),
        (
            "verb=ListRecords&metadataPrefix=oai_dc&from=2020-01-01&until=2020-02-01T00:00:00Z",
            "badArgument",
        ),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2020-13-45", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2021-01-01&until=2020-01-01", "badArgument"),
        ("verb=ListRecords&resumptionToken=abc&metadataPrefix=oai_dc", "badArgument"),
        ("verb=ListRecords&metadataPrefix=marcxml", "cannotDisseminateFormat"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2030-01-01", "noRecordsMatch"),
        ("verb=ListRecords&metadataPrefix=oai_dc&set=nowhere", "noRecordsMatch"),
        ("verb=ListIdentifiers&resumptionToken=bm90IGEgdG9rZW4%3D", "badResumptionToken"),
        ("verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:x:1", "idDoesNotExist"),
        ("verb=ListMetadataFormats&identifier=oai:x:1", "idDoesNotExist"),
        ("verb=ListSets&resumptionToken=x", "badResumptionToken"),
        # the rules come from aggregator.oai.protocol, the feed's own
        ("verb=ListMetadataFormats&resumptionToken=x", "badArgument"),
        ("verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:x:%01", "badArgument"),
    ],
)
def test_errors_are_http_200(server: OAIServer, query: str, code: str) -> None:
    status, body = fetch(server, query)
    assert status == 200
    root = etree.fromstring(body)
    assert error_code(root) == code
    request = root.find("o:request", NS)
    assert request is not None and request.text == server.base_url
    if code in ("badVerb", "badArgument"):
        assert not request.attrib


def test_no_set_hierarchy_and_error_status(clock: Clock) -> None:
    repo = Repository(generate_records(3), clock=clock)
    with OAIServer(repo, error_status=422) as server:
        status, body = fetch(server, "verb=ListSets")
        assert status == 422 and error_code(etree.fromstring(body)) == "noSetHierarchy"
        status, body = fetch(server, "verb=ListIdentifiers&metadataPrefix=oai_dc&set=a")
        assert error_code(etree.fromstring(body)) == "noSetHierarchy"


def test_deleted_records(server: OAIServer) -> None:
    repo = server.repository
    target = in_order(repo)[0].identifier
    repo.delete(target, datestamp=NOW - timedelta(days=1))
    root = oai(server, verb="GetRecord", identifier=target, metadataPrefix="oai_dc")
    header = root.find(".//o:header", NS)
    assert header is not None and header.get("status") == "deleted"
    assert root.find(".//o:metadata", NS) is None
    repo.deleted_record = "no"
    gone = oai(server, verb="GetRecord", identifier=target, metadataPrefix="oai_dc")
    assert error_code(gone) == "idDoesNotExist"
    assert target not in harvest_ids(server, "ListIdentifiers")


def test_marcxml_format(clock: Clock) -> None:
    records = generate_records(4)
    records[1].marcxml = MARC.format(n=2)
    with OAIServer(Repository(records, clock=clock)) as server:
        prefixes = [f.metadataPrefix for f in Sickle(server.base_url).ListMetadataFormats()]
        assert prefixes == ["oai_dc", "marcxml"]
        assert harvest_ids(server, "ListIdentifiers") == [r.identifier for r in records]
        ids = [
            r.header.identifier
            for r in Sickle(server.base_url).ListRecords(metadataPrefix="marcxml")
        ]
        assert ids == [records[1].identifier]
        one = oai(server, verb="GetRecord", metadataPrefix="marcxml", identifier=ids[0])
        assert one.xpath("string(//m:subfield)", namespaces={"m": "http://www.loc.gov/MARC21/slim"})


def test_quirk_and_transform_hooks(server: OAIServer) -> None:
    def busy_first(request: Request) -> Response | None:
        if request.index == 0:
            return Response(
                503, b"<html>sibuk</html>", headers={"Retry-After": "0"}, content_type="text/html"
            )
        return None

    server.quirk = busy_first
    sickle = Sickle(server.base_url, max_retries=2, default_retry_after=0, timeout=10)
    assert len(list(sickle.ListIdentifiers(metadataPrefix="oai_dc"))) == 230
    assert (
        server.requests[0]
        == server.requests[1]
        == {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"}
    )
    server.quirk = None
    server.transform = lambda request, body: body.replace(b"<header>", b"<header>\x0b", 1)
    status, body = fetch(server, "verb=ListIdentifiers&metadataPrefix=oai_dc")
    assert status == 200 and b"\x0b" in body
    expected = server.render(Request.of(verb="Identify"))
    assert re.sub(rb"<responseDate>.*?</responseDate>", b"", expected).startswith(b"<?xml")


def test_stall_and_drop(server: OAIServer) -> None:
    server.quirk = lambda request: Response(drop=True)
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        fetch(server, "verb=Identify")
    server.quirk = lambda request: Response(body=b"<OAI-PMH/>", stall=5, stall_after=3)
    with pytest.raises(TimeoutError):
        urllib.request.urlopen(server.base_url + "?verb=Identify", timeout=0.3).read()


# -- schema validation ------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    script = XSD_DIR / "validate_offline.py"
    if not script.is_file():
        pytest.skip(f"official schemas not found at {XSD_DIR}")
    spec = importlib.util.spec_from_file_location("validate_offline", script)
    assert spec is not None and spec.loader is not None
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built: etree.XMLSchema = module.build_schema()
    return built


def test_every_verb_validates(schema: etree.XMLSchema, clock: Clock) -> None:
    records = generate_records(120, seed=3, sets=SETS)
    records[5].marcxml = MARC.format(n=5)
    records[7].deleted = True
    records[9].metadata["title"] = ["Kode <b> & \"kutip\" 'tunggal' — ünïcode"]
    repo = Repository(records, page_size=50, clock=clock, sets={"fak": "Fakultas"})
    base = "http://127.0.0.1:8080/oai"
    token_page = repo.render({"verb": "ListRecords", "metadataPrefix": "oai_dc"}, base)
    token = etree.fromstring(token_page).findtext(".//o:resumptionToken", namespaces=NS)
    queries: list[dict[str, str]] = [
        {"verb": "Identify"},
        {"verb": "ListMetadataFormats"},
        {"verb": "ListMetadataFormats", "identifier": records[5].identifier},
        {"verb": "ListSets"},
        {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": "fak"},
        {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2019-01-01"},
        {"verb": "ListRecords", "metadataPrefix": "marcxml"},
        {"verb": "ListRecords", "resumptionToken": token or ""},
        {"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": records[7].identifier},
        {"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": records[9].identifier},
        {"verb": "Nope"},
        {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2099-01-01"},
        {"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "oai:x:none"},
    ]
    params: dict[str, str] = {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
    while True:  # the whole list, last page (empty token) included
        queries.append(params)
        page = etree.fromstring(repo.render(params, base))
        nxt = page.findtext(".//o:resumptionToken", namespaces=NS)
        if not nxt:
            break
        params = {"verb": "ListRecords", "resumptionToken": nxt}
    for query in queries:
        doc = etree.fromstring(repo.render(query, base))
        assert schema.validate(doc), (query, str(schema.error_log.last_error))


def test_sample_network() -> None:
    from aggregator.demo.network import start_network

    running = start_network()
    try:
        ports = {server.port for _, server in running}
        assert len(running) == len(ports) == 5
        by_slug = {member.slug: server for member, server in running}
        jipi = set(harvest_ids(by_slug["jipi"], "ListIdentifiers"))
        jtsin = set(harvest_ids(by_slug["jtsin"], "ListIdentifiers"))
        assert all(i.startswith("oai:ojs.pkp.sfu.ca:article/") for i in jipi | jtsin)
        assert jipi & jtsin  # the stock OJS identifier collision
        slims = Sickle(by_slug["perpusda-sukamaju"].base_url, timeout=10)
        assert slims.Identify().granularity == DAYS
        marc = list(slims.ListRecords(metadataPrefix="marcxml"))
        assert len(marc) == 121 and all(r.header.identifier.startswith("oai:slims/") for r in marc)
        deleted = sum(r.deleted for _, srv in running for r in srv.repository.records)
        assert deleted >= 2
    finally:
        for _, server in running:
            server.stop()
