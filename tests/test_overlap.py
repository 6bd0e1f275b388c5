"""Collection overlap on a hand-computed network of three members, harvested into the
store and clustered by the real stage, on SQLite and PostgreSQL; and its admin pages."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, Engine, select

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
)

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
W2 = dc("Budidaya Padi Organik di Lahan Sawah", "Hartono, Agus", "2021", "Book",
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
                        .where(Member.slug == slug))
    assert found is not None
    return int(found)


def harvest(engine: Engine) -> None:
    """Each member's page written by the ingest path, then clustered by the stage."""
    for slug, records in HOLDINGS.items():
        with session_scope(engine) as session:
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
    assert found.peak == 2


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
    first = collection_overlap(net)
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


def test_class_of() -> None:
    assert class_of("ddc", "372.21") == "300"
    assert class_of("ddc", "372.21", "tens") == "370"
    assert class_of("ddc", "005.133") == "000"
    assert class_of("udc", "37:004.9") == "3"
    assert class_of("udc", "37:004.9", "tens") == "37"
    assert class_of("udc", "5", "tens") is None
    assert class_of("lcc", "QA76") is None
    assert class_of("ddc", "x12") is None
