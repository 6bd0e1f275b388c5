"""Collection overlap on a hand-computed network of three members, harvested into the
store and clustered by the real stage, on SQLite and PostgreSQL; and its admin pages."""

from __future__ import annotations

import csv
import io
import re
from concurrent.futures import ThreadPoolExecutor

import lxml.html
import pytest
from sqlalchemy import Connection, Engine, select, update

from admin import COORDINATOR, MANAGER_A, MANAGER_B, Network, network
from aggregator.cluster import stage
from aggregator.records import HarvestedRecord
from aggregator.store import catalog, runs
from aggregator.store.db import connect, session_scope
from aggregator.store.ingest import PageWrite, write_page
from aggregator.store.models import Member, Record, Source
from aggregator.store.overlap import (
    OverlapFilters,
    class_of,
    clear_cache,
    collection_overlap,
    counting,
)
from aggregator.web.spreadsheet import csv_cell
from portal import html, one, text_of

PREFIX = "oai_dc"


def dc(title: str, creator: str, year: str, kind: str, *subjects: str) -> bytes:
    parts = "".join(f"<dc:subject>{s}</dc:subject>" for s in subjects)
    return ('<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"<dc:title>{title}</dc:title><dc:creator>{creator}</dc:creator>"
            f"<dc:date>{year}</dc:date><dc:type>{kind}</dc:type>{parts}</oai_dc:dc>").encode()


# Six works. W1 is held by all three members (twice by a), W2 by a and b, W3 by b and
# c; W4 only by a, W5 and W6 only by c. b's withdrawn record counts for nobody.
W1 = dc("Pendidikan Karakter di Sekolah Dasar", "Santoso, Budi", "2019", "Book",
        "372.21", "Pendidikan")
# W2's title starts like a spreadsheet formula: the CSV must keep it plain text.
W2 = dc("=Budidaya Padi Organik di Lahan Sawah", "Hartono, Agus", "2021", "Book",
        "633.18", "Pertanian")
W3 = dc("Sejarah Maritim Nusantara Abad Ketujuh Belas", "Wijaya, Sari", "2015", "Book",
        "959.8", "Sejarah")
W4 = dc("Statistika Dasar untuk Penelitian Sosial", "Lestari, Dewi", "2020", "Article",
        "519.5", "Statistika")
W5 = dc("Hukum Adat Minangkabau dalam Sengketa Tanah", "Rahman, Fikri", "2010", "Thesis",
        "340.5", "Hukum adat")
W6 = dc("Kimia Organik Lanjut untuk Mahasiswa", "Pratama, Yoga", "2022", "Book", "Kimia")
HOLDINGS: dict[str, dict[str, bytes | None]] = {
    "a": {"a:1": W1, "a:2": W2, "a:4": W4, "a:5": W1},
    "b": {"b:1": W1, "b:2": W2, "b:3": W3, "b:9": None},
    "c": {"c:1": W1, "c:3": W3, "c:5": W5, "c:6": W6},
}


def source_of(conn: Connection, slug: str) -> int:
    found = conn.scalar(select(Source.id).join(Member, Member.id == Source.member_id)
                        .where(Member.slug == slug).order_by(Source.id).limit(1))
    assert found is not None
    return int(found)


def harvest(engine: Engine) -> None:
    """Each member's page written by the ingest path, then clustered by the stage."""
    for slug, records in HOLDINGS.items():
        with session_scope(engine) as session:
            if session.scalar(select(Member.id).where(Member.slug == slug)) is None:
                catalog.add_member(session, slug, f"Perpustakaan {slug.upper()}")
                catalog.add_source(session, slug, f"https://{slug}.example/oai")
        with connect(engine) as conn:
            sid = source_of(conn, slug)
        run_id = runs.start_run(engine, sid, "full", "test")
        write_page(engine, PageWrite(sid, run_id, PREFIX, [
            HarvestedRecord(ident, "2024-01-01", xml is None, (), xml)
            for ident, xml in records.items()], None))
    stage.catch_up(engine)
    clear_cache()


def ids(engine: Engine) -> dict[str, int]:
    with connect(engine) as conn:
        return {i: int(r) for i, r in conn.execute(select(Record.identifier, Record.id))}


@pytest.fixture
def net(engine: Engine) -> Engine:
    harvest(engine)
    return engine


def figures(engine: Engine, **filters: object) -> dict[str, object]:
    found = collection_overlap(engine, OverlapFilters(**filters))  # type: ignore[arg-type]
    return {
        "works": found.works,
        "members": {m.slug: (m.works, m.unique, m.unique_percent) for m in found.members},
        "matrix": [list(row) for row in found.matrix],
        "duplicated": [(w.holders, w.records) for w in found.duplicated],
        "rare": {(c.scheme, c.code): c.holders for c in found.rare_classes},
        "classes": {(c.scheme, c.code): (c.works, c.holders) for c in found.classes
                    if c.holders},
        "subjects": [(s.subject, s.works, s.holder) for s in found.subjects],
    }


def test_every_figure_of_the_three_members(net: Engine) -> None:
    got = figures(net)
    assert got["works"] == 6
    assert got["members"] == {"a": (3, 1, 33.3), "b": (3, 0, 0.0), "c": (4, 2, 50.0)}
    assert got["matrix"] == [[3, 2, 1], [2, 3, 2], [1, 2, 4]]
    assert got["duplicated"] == [(("a", "b", "c"), 4), (("a", "b"), 2), (("b", "c"), 2)]
    assert got["classes"] == {("ddc", "300"): (2, ("a", "b", "c")),
                              ("ddc", "500"): (1, ("a",)), ("ddc", "600"): (1, ("a", "b")),
                              ("ddc", "900"): (1, ("b", "c"))}
    assert got["rare"] == {("ddc", "500"): ("a",), **{
        ("ddc", code): () for code in ("000", "100", "200", "400", "700", "800")}}
    assert got["subjects"] == [("Hukum adat", 1, "c"), ("Kimia", 1, "c"),
                               ("Statistika", 1, "a")]
    found = collection_overlap(net)
    record = ids(net)
    assert [w.record_id for w in found.duplicated] == [record["a:1"], record["a:2"],
                                                       record["b:3"]]
    assert found.duplicated[0].title == "Pendidikan Karakter di Sekolah Dasar"


def test_filters_by_type_and_years(net: Engine) -> None:
    books = figures(net, type="Book")
    assert books["works"] == 4
    assert books["members"] == {"a": (2, 0, 0.0), "b": (3, 0, 0.0), "c": (3, 1, 33.3)}
    assert books["matrix"] == [[2, 2, 1], [2, 3, 2], [1, 2, 3]]
    recent = figures(net, year_from=2019, year_to=2021)
    assert recent["works"] == 3
    assert recent["members"] == {"a": (3, 1, 33.3), "b": (2, 0, 0.0), "c": (1, 0, 0.0)}
    assert recent["matrix"] == [[3, 2, 1], [2, 2, 1], [1, 1, 1]]
    assert recent["rare"] == {("ddc", "500"): ("a",), **{
        ("ddc", code): () for code in ("000", "100", "200", "400", "700", "800", "900")}}
    assert figures(net, year_from=2022)["members"] == {
        "a": (0, 0, 0.0), "b": (0, 0, 0.0), "c": (1, 1, 100.0)}
    tens = figures(net, level="tens")
    assert tens["classes"] == {("ddc", "370"): (1, ("a", "b", "c")),
                               ("ddc", "340"): (1, ("c",)), ("ddc", "630"): (1, ("a", "b")),
                               ("ddc", "950"): (1, ("b", "c")), ("ddc", "510"): (1, ("a",))}
    assert len(tens["rare"]) == 100 - 3  # type: ignore[arg-type]


def test_the_cache_follows_the_store(net: Engine) -> None:
    with ThreadPoolExecutor(4) as pool:  # asked at once: answered once
        answers = list(pool.map(lambda _: collection_overlap(net), range(4)))
    first = answers[0]
    assert all(answer is first for answer in answers)
    assert collection_overlap(net) is first
    assert collection_overlap(net, max_age=0) is not first  # too old
    with connect(net) as conn:
        sid = source_of(conn, "a")
    run_id = runs.start_run(net, sid, "full", "test")
    write_page(net, PageWrite(sid, run_id, PREFIX, [
        HarvestedRecord("a:4", "2024-02-01", True, (), None)], None))  # a withdraws W4
    after = collection_overlap(net)
    assert after.works == 5
    assert [(m.slug, m.works, m.unique) for m in after.members] == [
        ("a", 2, 0), ("b", 3, 0), ("c", 4, 2)]


def test_pages_get_the_last_figures_at_once_while_they_are_counted_again(
        net: Engine) -> None:
    first = collection_overlap(net, stale_ok=True)  # never asked: waits for its count
    assert first.works == 6
    with connect(net) as conn:
        sid = source_of(conn, "a")
    run_id = runs.start_run(net, sid, "full", "test")
    write_page(net, PageWrite(sid, run_id, PREFIX, [
        HarvestedRecord("a:4", "2024-02-01", True, (), None)], None))  # a withdraws W4
    assert collection_overlap(net, stale_ok=True) is first  # at once: the last figures
    after = collection_overlap(net)  # waits for the count under way
    assert after is not first and after.works == 5
    assert not counting(net)
    assert collection_overlap(net, stale_ok=True) is after


def test_a_removed_members_records_count_for_nobody(net: Engine) -> None:
    collection_overlap(net)
    with session_scope(net) as session:
        session.execute(update(Member).where(Member.slug == "a").values(status="removed"))
    got = figures(net)  # the cache sees the change
    assert got["works"] == 5
    assert got["members"] == {"b": (3, 1, 33.3), "c": (4, 2, 50.0)}
    assert got["matrix"] == [[3, 2], [2, 4]]
    record = ids(net)
    assert [(w.record_id, w.holders, w.records)
            for w in collection_overlap(net).duplicated] == [
        (record["b:1"], ("b", "c"), 2), (record["b:3"], ("b", "c"), 2)]


def test_class_of() -> None:
    assert class_of("ddc", "372.21") == "300"
    assert class_of("ddc", "372.21", "tens") == "370"
    assert class_of("ddc", "005.133") == "000"
    assert class_of("udc", "37:004.9") == "3"
    assert class_of("udc", "37:004.9", "tens") == "37"
    assert class_of("udc", "5", "tens") is None
    assert class_of("lcc", "QA76") is None
    assert class_of("ddc", "x12") is None


# -- the pages ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Network:
    """The admin test network (members a and b, their managers, the coordinator) with
    the three members' records harvested and clustered."""
    built = network(tmp_path_factory.mktemp("overlap"))
    harvest(built.engine)
    return built


def rows(doc: lxml.html.HtmlElement, table: str) -> list[list[str]]:
    return [[text_of(cell) for cell in tr.xpath("th|td")]
            for tr in doc.xpath(f"//table[@id='{table}']/tbody/tr")]


def test_the_page_shows_every_figure(site: Network) -> None:
    response = site.client(COORDINATOR).get("/admin/overlap?lang=en")
    assert response.status_code == 200
    doc = html(response)
    assert re.fullmatch(r"6 works match the filter\. Counted at 20\d\d-\d\d-\d\d \d\d:\d\d UTC; "
                        r"counted again when the catalogue changes, at most every five "
                        r"minutes\.", text_of(one(doc, "//p[@id='overlap-works']")))
    assert rows(doc, "overlap-members") == [
        ["Perpustakaan A", "3", "1", "33.3%"], ["Perpustakaan B", "3", "0", "0.0%"],
        ["Perpustakaan C", "4", "2", "50.0%"]]
    matrix = doc.xpath("//table[@id='overlap-matrix']/tbody/tr")
    assert [[td.get("data-count") for td in tr.xpath("td")] for tr in matrix] == [
        ["3", "2", "1"], ["2", "3", "2"], ["1", "2", "4"]]
    assert [[td.get("class") for td in tr.xpath("td")] for tr in matrix] == [
        ["self", "heat-7", "heat-3"], ["heat-7", "self", "heat-7"],
        ["heat-2", "heat-5", "self"]]
    assert text_of(matrix[2].xpath("td")[1]) == "2 50.0%"  # numbers, not colour alone
    assert one(doc, "//table[@id='overlap-matrix']/caption") is not None
    assert doc.xpath("//table[@id='overlap-matrix']/thead/tr/th/@scope") == ["col"] * 4
    assert doc.xpath("//table[@id='overlap-matrix']/tbody/tr/th/@scope") == ["row"] * 3
    record = ids(site.engine)
    assert rows(doc, "overlap-duplicated") == [
        ["Pendidikan Karakter di Sekolah Dasar", "3", "4", "a, b, c"],
        ["=Budidaya Padi Organik di Lahan Sawah", "2", "2", "a, b"],
        ["Sejarah Maritim Nusantara Abad Ketujuh Belas", "2", "2", "b, c"]]
    assert doc.xpath("//table[@id='overlap-duplicated']//a/@href") == [
        f"/records/{record[i]}" for i in ("a:1", "a:2", "b:3")]
    assert rows(doc, "overlap-classes") == [
        ["DDC 000 · Computer science, information and general works", "0", "no member"],
        ["DDC 100 · Philosophy and psychology", "0", "no member"],
        ["DDC 200 · Religion", "0", "no member"],
        ["DDC 400 · Language", "0", "no member"],
        ["DDC 500 · Science", "1", "a"],
        ["DDC 700 · Arts and recreation", "0", "no member"],
        ["DDC 800 · Literature", "0", "no member"]]
    assert rows(doc, "overlap-subjects") == [
        ["Hukum adat", "1", "c"], ["Kimia", "1", "c"], ["Statistika", "1", "a"]]
    assert "Tumpang tindih koleksi" in site.client(COORDINATOR).get(
        "/admin/overlap?lang=id").text


def test_a_manager_sees_the_whole_network_with_their_library_marked(site: Network) -> None:
    doc = html(site.client(MANAGER_A).get("/admin/overlap?lang=en&type=Book"))
    assert rows(doc, "overlap-members") == [
        ["Perpustakaan A (your library)", "2", "0", "0.0%"],
        ["Perpustakaan B", "3", "0", "0.0%"], ["Perpustakaan C", "3", "1", "33.3%"]]
    assert doc.xpath("//nav[@class='admin-nav']//a[@aria-current='page']/text()") == [
        "Collection overlap"]
    assert doc.xpath("//select[@name='type']/option[@selected]/@value") == ["Book"]
    theirs = html(site.client(MANAGER_B).get("/admin/overlap?lang=en&type=Book"))
    assert [row[0] for row in rows(theirs, "overlap-members")] == [
        "Perpustakaan A", "Perpustakaan B (your library)", "Perpustakaan C"]
    coordinator = html(site.client(COORDINATOR).get("/admin/overlap?lang=en"))
    assert "(your library)" not in text_of(one(coordinator, "//table[@id='overlap-members']"))


@pytest.mark.parametrize(("query", "message"), [
    ("year_from=abc", "First year: give a year between 1000 and 2100."),
    ("year_to=99999", "Last year: give a year between 1000 and 2100."),
    ("year_from=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%90",
     "First year: give a year between 1000 and 2100."),
    ("year_from=2022&year_to=2019", "The first year comes after the last year."),
    ("type=Novel", "Unknown type: Novel."),
    ("level=thousands", "Unknown class level: thousands."),
])
def test_bad_filters_are_refused_with_a_message(site: Network, query: str,
                                                message: str) -> None:
    client = site.client(MANAGER_B)
    page = client.get(f"/admin/overlap?lang=en&{query}")
    assert page.status_code == 400
    assert text_of(one(html(page), "//p[@id='filter-error']")) == message
    download = client.get(f"/admin/overlap.csv?lang=en&part=members&{query}")
    assert download.status_code == 400
    assert download.text.strip() == message


def read_csv(site: Network, query: str) -> list[list[str]]:
    response = site.client(MANAGER_A).get(f"/admin/overlap.csv?lang=en&{query}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.text)))


def test_csv_downloads(site: Network) -> None:
    assert read_csv(site, "part=members") == [
        ["member", "name", "works", "unique", "unique_percent"],
        ["a", "Perpustakaan A", "3", "1", "33.3"], ["b", "Perpustakaan B", "3", "0", "0.0"],
        ["c", "Perpustakaan C", "4", "2", "50.0"]]
    assert read_csv(site, "part=matrix&year_from=2019&year_to=2021") == [
        ["member", "a", "b", "c"], ["a", "3", "2", "1"], ["b", "2", "2", "1"],
        ["c", "1", "1", "1"]]
    record = ids(site.engine)
    duplicated = read_csv(site, "part=duplicated")
    assert duplicated[0] == ["record_id", "title", "url", "members", "holders", "records"]
    assert [row[:2] + row[3:] for row in duplicated[1:]] == [
        [str(record["a:1"]), "Pendidikan Karakter di Sekolah Dasar", "3", "a b c", "4"],
        [str(record["a:2"]), "'=Budidaya Padi Organik di Lahan Sawah", "2", "a b", "2"],
        [str(record["b:3"]), "Sejarah Maritim Nusantara Abad Ketujuh Belas", "2", "b c", "2"]]
    assert duplicated[1][2].endswith(f"/records/{record['a:1']}")
    classes = read_csv(site, "part=classes")
    assert classes[0] == ["kind", "scheme", "class", "name", "works", "members", "holders"]
    assert ["class", "ddc", "300", "Social sciences", "2", "3", "a b c"] in classes
    assert ["class", "ddc", "700", "Arts and recreation", "0", "0", ""] in classes
    assert [r for r in classes if r[0] == "subject"] == [
        ["subject", "", "Hukum adat", "", "1", "1", "c"],
        ["subject", "", "Kimia", "", "1", "1", "c"],
        ["subject", "", "Statistika", "", "1", "1", "a"]]
    assert len([r for r in classes if r[0] == "class"]) == 10
    bad = site.client(MANAGER_A).get("/admin/overlap.csv?lang=en&part=everything")
    assert bad.status_code == 400
    assert "Unknown part: everything" in bad.text


def test_anonymous_visitors_are_sent_to_sign_in(site: Network) -> None:
    for url in ("/admin/overlap", "/admin/overlap.csv?part=members"):
        response = site.client().get(url)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


def test_every_class_name_has_an_indonesian_translation() -> None:
    from aggregator.web.admin.overlap import CLASS_NAMES
    from aggregator.web.translations import INDONESIAN
    assert set(CLASS_NAMES.values()) <= set(INDONESIAN)


def test_csv_cells_that_look_like_formulas_are_made_plain() -> None:
    assert [csv_cell(v) for v in ("=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "ok", 7)] == [
        "'=1+1", "'+1", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "ok", 7]
