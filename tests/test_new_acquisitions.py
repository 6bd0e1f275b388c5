"""New acquisitions: works new to the network or to a member in a period, from the store
(SQLite and PostgreSQL), on the portal's page, as Atom feeds read by feedparser, and as
the monthly printable list and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from lxml import etree
from sqlalchemy import Engine, select, update

from aggregator.config import Settings
from aggregator.demo.oaiserver import OAIServer
from aggregator.demo.provider import Repository
from aggregator.demo.samples import SampleRecord
from aggregator.index.backends import BACKENDS, open_backend
from aggregator.index.model import IndexDoc, SearchQuery
from aggregator.store import arrivals
from aggregator.store.db import init_schema, make_engine
from aggregator.store.models import Record
from aggregator.store.runs import as_utc
from aggregator.web import create_app
from aggregator.web.spreadsheet import csv_cell
from portal import Library, cls, harvest_all, html, local_settings, record_id, register, texts

WHEN = datetime(2022, 3, 1, tzinfo=UTC)
NOW = datetime.now(UTC)
BASE = "https://katalog.example.org"


def book(ident: str, title: str, creator: str, year: str, **extra: list[str]) -> SampleRecord:
    return SampleRecord(identifier=ident, datestamp=WHEN, metadata={
        "title": [title], "creator": [creator], "date": [year], "type": ["Book"],
        "language": ["ind"], **extra})


def libraries() -> list[Library]:
    return [
        Library("perpus-a", "Perpustakaan A", Repository([
            book("a:1", "Pendidikan Karakter di Sekolah Dasar", "Santoso, Budi", "2019"),
            book("a:2", "Sejarah Maritim Nusantara", "Wijaya, Sari", "2015"),
            book("a:3", "Kimia Dasar untuk Mahasiswa", "Halim, Rudi", "2021"),
            book("a:4", "Statistika Terapan", "Putri, Dewi", "2018"),
            book("a:5", "=HYPERLINK(\"http://evil.example\")", "@Mallory", "2020"),
        ])),
        Library("perpus-b", "Perpustakaan B", Repository([
            book("b:7", "Pendidikan karakter di sekolah dasar.", "Budi Santoso", "2019"),
            SampleRecord(identifier="b:8", datestamp=WHEN, metadata={
                "title": ["Ekonomi Pembangunan Daerah"], "creator": ["Siregar, Tono"],
                "date": ["2022"], "type": ["Thesis"], "subject": ["338.9"],
                "language": ["ind"]}),
        ])),
    ]


AGO = {"a:1": 60, "a:2": 60, "a:3": 2, "a:4": 20, "a:5": 1, "b:7": 3, "b:8": 5}
"""Days since each sample record was first harvested (set in the store after harvest)."""
NEW = book("a:6", "Geografi Pesisir Jawa", "Rahman, Ali", "2023")
"""Added to perpus-a's repository after the first harvest: first harvested now."""
WEEK = {"a:3", "a:5", "a:6", "b:8"}
"""The works new to the network in the last 7 days (by one of their records)."""


@dataclass
class Scenario:
    engine: Engine
    settings: Settings
    ids: dict[str, int]  # sample identifier → record id
    first_seen_updated: datetime  # a:2's first_seen, after its update was harvested


def build(engine: Engine, settings: Settings) -> Scenario:
    """Harvest the two libraries, move first_seen back, then re-harvest an update of an
    old record (a:2) and a record added since (a:6)."""
    libs = libraries()
    with ExitStack() as stack:
        servers = [stack.enter_context(OAIServer(lib.repository)) for lib in libs]
        register(engine, libs, servers)
        harvest_all(engine, settings)
        slugs = {"a": "perpus-a", "b": "perpus-b"}
        ids = {ident: record_id(engine, slugs[ident[0]], ident) for ident in AGO}
        with engine.begin() as conn:
            for ident, days in AGO.items():
                conn.execute(update(Record).where(Record.id == ids[ident])
                             .values(first_seen=NOW - timedelta(days=days)))
        libs[0].repository.update("a:2", metadata={
            "title": ["Sejarah Maritim Nusantara (edisi revisi)"], "creator": ["Wijaya, Sari"],
            "date": ["2015"], "type": ["Book"], "language": ["ind"]})
        libs[0].repository.add(replace_record(NEW))
        harvest_all(engine, settings)
    ids["a:6"] = record_id(engine, "perpus-a", "a:6")
    with engine.connect() as conn:
        seen, title = conn.execute(select(Record.first_seen, Record.fields)
                                   .where(Record.id == ids["a:2"])).one()
    assert "edisi revisi" in title["title"]  # the update was harvested …
    return Scenario(engine, settings, ids, seen)


def replace_record(record: SampleRecord) -> SampleRecord:
    """A fresh copy of a sample record (each repository owns its records)."""
    return SampleRecord(identifier=record.identifier, datestamp=datetime.now(UTC),
                        metadata={k: list(v) for k, v in record.metadata.items()})


def cluster_of(engine: Engine, rid: int) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(Record.cluster_id).where(Record.id == rid)) or 0)


# -- the store, on SQLite and PostgreSQL ------------------------------------------------

def test_new_works_in_the_store(engine: Engine, settings: Settings) -> None:
    scenario = build(engine, replace(settings, request_delay=0.0))
    ids = scenario.ids
    # … and did not make its work new: first_seen is set once, at the first ingest
    assert as_utc(scenario.first_seen_updated) < NOW - timedelta(days=59)
    week = arrivals.period_window("week")
    month = arrivals.period_window("month")
    found = arrivals.arrivals(engine, *week)
    assert {a.record_id for a in found} == {ids[i] for i in WEEK}
    assert [a.arrived for a in found] == sorted((a.arrived for a in found), reverse=True)
    assert found[0].record_id == ids["a:6"]  # newest first
    assert set(arrivals.new_clusters(engine, *week)) == {cluster_of(engine, ids[i])
                                                         for i in WEEK}
    assert arrivals.count_new(engine, *week) == 4
    assert {a.record_id for a in arrivals.arrivals(engine, *month)} == {
        ids[i] for i in (*WEEK, "a:4")}
    # b:7 is a copy of a:1 (60 days old): new to perpus-b, not to the network
    a1, b7 = cluster_of(engine, ids["a:1"]), cluster_of(engine, ids["b:7"])
    assert a1 == b7
    b_sources = arrivals.member_sources(engine, "perpus-b")
    held = arrivals.arrivals(engine, *week, sources=b_sources)
    assert {a.record_id for a in held} == {ids["b:7"], ids["b:8"]}
    dup = next(a for a in held if a.record_id == ids["b:7"])
    assert dup.members == ("perpus-a", "perpus-b")
    a_sources = arrivals.member_sources(engine, "perpus-a")
    assert {a.record_id for a in arrivals.arrivals(engine, *week, sources=a_sources)} == {
        ids[i] for i in ("a:3", "a:5", "a:6")}
    assert arrivals.member_sources(engine, "nobody") is None
    # filters: a controlled type, a classification prefix (any scheme or one)
    thesis = arrivals.read_filters("thesis", None)
    assert isinstance(thesis, arrivals.Filters) and thesis.type == "Thesis"
    assert [a.record_id for a in arrivals.arrivals(engine, *week, filters=thesis)] == [
        ids["b:8"]]
    for prefix, expected in (("33", [ids["b:8"]]), ("ddc:338.9", [ids["b:8"]]),
                             ("udc:33", []), ("34", [])):
        chosen = arrivals.read_filters(None, prefix)
        assert isinstance(chosen, arrivals.Filters)
        assert [a.record_id for a in arrivals.arrivals(engine, *week, filters=chosen)] == \
            expected, prefix
    assert len(arrivals.arrivals(engine, *week, limit=2)) == 2
    # a row stored before fields were (NULL): its metadata is normalised again
    with engine.begin() as conn:
        conn.execute(update(Record).where(Record.id == ids["a:6"]).values(fields=None))
    again = arrivals.arrivals(engine, *week, limit=1)[0]
    assert (again.record_id, again.title, again.creators) == (
        ids["a:6"], "Geografi Pesisir Jawa", ("Rahman, Ali",))
    # the earliest copy withdrawn: the work's first live copy decides (now b:7, 3 days)
    with engine.begin() as conn:
        conn.execute(update(Record).where(Record.id == ids["a:1"]).values(deleted=True))
    assert b7 in arrivals.new_clusters(engine, *week)


def test_windows_and_filters_are_checked() -> None:
    since, until = arrivals.month_window("2024-12") or (None, None)
    assert since == datetime(2024, 12, 1, tzinfo=UTC)
    assert until == datetime(2025, 1, 1, tzinfo=UTC)
    for bad in ("2024-13", "2024-00", "24-01", "2024-1", "x", "", "2024-01-01"):
        assert arrivals.month_window(bad) is None, bad
    assert arrivals.previous_month(datetime(2025, 1, 15, tzinfo=UTC)) == "2024-12"
    assert arrivals.previous_month(datetime(2025, 3, 1, tzinfo=UTC)) == "2025-02"
    since, until = arrivals.period_window("week", NOW)
    assert until - since > timedelta(days=7) and until - since < timedelta(days=7, seconds=1)
    assert isinstance(arrivals.read_filters("Poem", None), str)
    assert isinstance(arrivals.read_filters(None, "<script>"), str)
    assert isinstance(arrivals.read_filters(None, "xyz:37"), str)
    assert arrivals.read_filters(None, None) == arrivals.Filters()


@pytest.mark.parametrize(("value", "cell"), [
    ("=1+1", "'=1+1"), ("+62 21", "'+62 21"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=x", "'\t=x"), ("Buku", "Buku"), ("", ""), ("a=b", "a=b")])
def test_csv_cells_never_start_a_formula(value: str, cell: str) -> None:
    assert csv_cell(value) == cell


# -- the portal (SQLite) ----------------------------------------------------------------

@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    data = tmp_path_factory.mktemp("newacq")
    settings = replace(local_settings(Path(data)), base_url=BASE)
    engine = make_engine(settings)
    init_schema(engine)
    scenario = build(engine, settings)
    app = create_app(settings, engine=engine)
    scenario.settings = settings
    scenario.app = app  # type: ignore[attr-defined]
    yield scenario
    app.extensions["aggregator"].index.close()
    engine.dispose()


def get(site: Scenario, path: str, **headers: str) -> tuple[int, bytes, dict[str, str]]:
    client = site.app.test_client()  # type: ignore[attr-defined]
    response = client.get(path, headers=headers)
    return response.status_code, response.get_data(), dict(response.headers)


def record_url(site: Scenario, ident: str) -> str:
    return f"{BASE}/records/{site.ids[ident]}"


def test_the_network_feed_holds_exactly_the_weeks_new_works(site: Scenario) -> None:
    status, body, headers = get(site, "/new.atom", Host="evil.example")
    assert status == 200
    assert headers["Content-Type"].startswith("application/atom+xml")
    assert "max-age" in headers["Cache-Control"]
    feed = feedparser.parse(body)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert {e.id for e in feed.entries} == {record_url(site, i) for i in WEEK}
    assert all(e.link == e.id for e in feed.entries)
    assert feed.feed.id == f"{BASE}/new.atom"
    assert any(link.rel == "self" and link.href == f"{BASE}/new.atom"
               for link in feed.feed.links)
    assert feed.feed.updated_parsed is not None
    newest = feed.entries[0]
    assert newest.title == "Geografi Pesisir Jawa"
    assert [a.name for a in newest.authors] == ["Rahman, Ali"]
    assert "Perpustakaan A" in newest.summary
    assert b"evil.example\"" not in body.replace(b"http://evil.example", b"")
    # the month adds a:4; the other copy of a:1 (b:7) is never new to the network
    month = feedparser.parse(get(site, "/new.atom?period=month")[1])
    assert {e.id for e in month.entries} == {record_url(site, i) for i in (*WEEK, "a:4")}
    assert month.feed.id == f"{BASE}/new.atom?period=month"


def test_a_members_feed_holds_what_is_new_to_it(site: Scenario) -> None:
    feed = feedparser.parse(get(site, "/members/perpus-b/new.atom")[1])
    assert not feed.bozo
    assert {e.id for e in feed.entries} == {record_url(site, "b:7"), record_url(site, "b:8")}
    assert "Perpustakaan B" in feed.feed.title
    feed = feedparser.parse(get(site, "/members/perpus-a/new.atom")[1])
    assert {e.id for e in feed.entries} == {record_url(site, i) for i in ("a:3", "a:5", "a:6")}
    assert get(site, "/members/nobody/new.atom")[0] == 404


def test_feed_filters(site: Scenario) -> None:
    feed = feedparser.parse(get(site, "/new.atom?type=Thesis")[1])
    assert [e.id for e in feed.entries] == [record_url(site, "b:8")]
    feed = feedparser.parse(get(site, "/new.atom?class=338")[1])
    assert [e.id for e in feed.entries] == [record_url(site, "b:8")]
    assert feed.feed.id == f"{BASE}/new.atom?class=338"
    empty = feedparser.parse(get(site, "/new.atom?class=5")[1])
    assert empty.entries == [] and not empty.bozo and empty.feed.updated_parsed


@pytest.mark.parametrize("path", [
    "/new.atom?period=year", "/new.atom?type=Poem", "/new.atom?class=%3Cb%3E",
    "/members/perpus-a/new.atom?period=", "/new.csv?month=2024-13", "/new.csv?month=last",
    "/new/print?month=2024-1", "/members/perpus-a/new.csv?type=nope", "/new?period=day"])
def test_bad_values_are_400_with_a_message(site: Scenario, path: str) -> None:
    status, body, _ = get(site, path)
    assert status == 400, path
    assert any(word in body for word in (b"period", b"type", b"classification", b"month"))


def test_the_monthly_csv(site: Scenario) -> None:
    month = NOW.strftime("%Y-%m")
    status, body, headers = get(site, f"/new.csv?month={month}")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert f"new-acquisitions-network-{month}.csv" in headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert list(rows[0]) == ["record_url", "title", "authors", "year", "type",
                             "classification", "holding_members", "first_harvested"]
    expected = {i for i, days in {**AGO, "a:6": 0}.items()
                if (NOW - timedelta(days=days)).strftime("%Y-%m") == month
                and i not in ("a:1", "a:2", "b:7")}
    assert {r["record_url"] for r in rows} == {record_url(site, i) for i in expected}
    evil = next(r for r in rows if r["record_url"] == record_url(site, "a:5"))
    assert evil["title"].startswith("'=HYPERLINK")
    assert evil["authors"] == "'@Mallory"
    thesis = get(site, f"/new.csv?month={month}&type=Thesis")[1].decode("utf-8-sig")
    if "b:8" in expected:
        row = next(csv.DictReader(io.StringIO(thesis)))
        assert row["classification"] == "ddc 338.9" and row["type"] == "Thesis"
        assert row["holding_members"] == "Perpustakaan B" and row["year"] == "2022"
    # another month: nothing; the default is the previous month
    old = get(site, "/new.csv?month=2001-01")[1].decode("utf-8-sig")
    assert old.strip().splitlines() == [",".join(rows[0])]
    assert arrivals.previous_month() in get(site, "/new.csv")[2]["Content-Disposition"]
    member = get(site, f"/members/perpus-b/new.csv?month={month}")[1].decode("utf-8-sig")
    urls = {r["record_url"] for r in csv.DictReader(io.StringIO(member))}
    assert urls == {record_url(site, i) for i in ("b:7", "b:8") if i in expected | {"b:7"}
                    if (NOW - timedelta(days=AGO[i])).strftime("%Y-%m") == month}


def test_the_printable_list(site: Scenario) -> None:
    month = NOW.strftime("%Y-%m")
    status, body, _ = get(site, f"/members/perpus-a/new/print?month={month}&lang=en")
    assert status == 200
    doc = etree.HTML(body)
    assert doc.xpath("//link[@rel='stylesheet']/@href")[0].endswith("print.css")
    titles = doc.xpath("//tbody/tr/td[2]/a/text()")
    assert "Geografi Pesisir Jawa" in titles and "Sejarah Maritim Nusantara" not in " ".join(
        titles)
    assert doc.xpath("//tbody/tr/td[2]/a/@href")[titles.index("Geografi Pesisir Jawa")] == \
        f"/records/{site.ids['a:6']}"
    assert "Perpustakaan A" in "".join(doc.xpath("//h1//text()"))
    status, body, _ = get(site, "/new/print?month=2001-01&lang=en")
    assert status == 200
    empty = etree.HTML(body)
    assert empty.xpath("//tbody") == [] and empty.xpath("//h1")
    status, body, _ = get(site, f"/new/print?month={month}&type=Thesis&lang=en")
    assert status == 200
    rows = etree.HTML(body).xpath("//tbody/tr")
    assert ["".join(r.xpath("td[2]//text()")) for r in rows] == (
        ["Ekonomi Pembangunan Daerah"] if (NOW - timedelta(days=5)).month == NOW.month else [])


def test_the_page_lists_the_new_works_with_facets(site: Scenario) -> None:
    client = site.app.test_client()  # type: ignore[attr-defined]
    doc = html(client.get("/new?lang=en"))
    titles = texts(doc, "//ol[@class='hits']/li//h2/a")
    assert sorted(titles) == sorted(["Kimia Dasar untuk Mahasiswa",
                                     "=HYPERLINK(\"http://evil.example\")",
                                     "Geografi Pesisir Jawa", "Ekonomi Pembangunan Daerah"])
    assert texts(doc, "//h1")[0].startswith("New this week")
    feeds = doc.xpath("//head/link[@rel='alternate'][@type='application/atom+xml']/@href")
    assert feeds == ["/new.atom", "/new.atom?period=month"]
    facets = doc.xpath(f"//aside//section[{cls('facet')}]//a/@href")
    assert any("type=Thesis" in href for href in facets)
    thesis = html(client.get("/new?type=Thesis&lang=en"))
    assert texts(thesis, "//ol[@class='hits']/li//h2/a") == ["Ekonomi Pembangunan Daerah"]
    month = html(client.get("/new?period=month&lang=en"))
    assert len(month.xpath("//ol[@class='hits']/li")) == 5
    links = month.xpath(f"//aside//section[{cls('facet')}]//a/@href")
    assert links and all("period=month" in href for href in links)
    member = html(client.get("/members/perpus-b/new?lang=en"))
    assert sorted(texts(member, "//ol[@class='hits']/li//h2/a")) == [
        "Ekonomi Pembangunan Daerah", "Pendidikan Karakter di Sekolah Dasar"] or sorted(
        texts(member, "//ol[@class='hits']/li//h2/a")) == [
        "Ekonomi Pembangunan Daerah", "Pendidikan karakter di sekolah dasar."]
    for href in doc.xpath(f"//p[{cls('feeds')}]/a/@href"):  # feeds, print, CSV
        assert client.get(href).status_code == 200, href
    searched = html(client.get("/new?q=kimia&lang=en"))
    assert texts(searched, "//ol[@class='hits']/li//h2/a") == ["Kimia Dasar untuk Mahasiswa"]
    assert client.get("/members/nobody/new").status_code == 404


def test_home_and_member_pages_link_to_the_feeds(site: Scenario) -> None:
    client = site.app.test_client()  # type: ignore[attr-defined]
    home = html(client.get("/"))
    assert "/new.atom" in home.xpath(
        "//head/link[@rel='alternate'][@type='application/atom+xml']/@href")
    assert home.xpath("//main//a[@href='/new']")
    member = html(client.get("/members/perpus-a"))
    assert "/members/perpus-a/new.atom" in member.xpath(
        "//head/link[@rel='alternate'][@type='application/atom+xml']/@href")
    assert member.xpath("//main//a[@href='/members/perpus-a/new']")
    robots = client.get("/robots.txt").get_data(as_text=True)
    assert "Disallow: /new\n" in robots


# -- the index's works filter, in each backend ------------------------------------------

@pytest.mark.parametrize("name", BACKENDS)
def test_the_works_filter_in_each_backend(name: str, tmp_path: Path) -> None:
    backend = open_backend(name, tmp_path / "index")
    try:
        backend.add([IndexDoc(id=str(n), title=f"Sejarah kota {n}", year=2000 + n,
                              type="Book" if n % 2 else "Thesis", members=("perpus-a",))
                     for n in range(1, 9)])
        backend.commit({"change_seq": 8})

        def found(**kw: object) -> tuple[set[str], int, dict[str, int]]:
            result = backend.search(SearchQuery(per_page=100, highlight=False, **kw))
            return ({h.id for h in result.hits}, result.total,
                    dict(result.facets.get("type", ())))

        assert found()[1] == 8
        assert found(works=("2", "3", "5", "99")) == ({"2", "3", "5"}, 3,
                                                       {"Book": 2, "Thesis": 1})
        assert found(works=()) == (set(), 0, {})
        assert found(works=("2", "3", "5"), filters={"type": ("Book",)})[0] == {"3", "5"}
        assert found(works=("2", "3", "5"), text="sejarah", year_from=2003)[0] == {"3", "5"}
    finally:
        backend.close()
