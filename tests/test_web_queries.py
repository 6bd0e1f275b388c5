"""The portal's reads: member directory and pages, record pages with copies, recent, totals."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, update

from aggregator.normalize import Fields
from aggregator.records import HarvestedRecord
from aggregator.store import catalog, runs
from aggregator.store.db import session_scope
from aggregator.store.ingest import PageWrite, write_page
from aggregator.store.models import Member, Record, Source
from aggregator.web import directory, queries
from aggregator.web.queries import Copy

DC = ('<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
      'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{title}</dc:title>'
      '<dc:creator>{creator}</dc:creator><dc:date>{year}</dc:date>'
      '<dc:identifier>{link}</dc:identifier></oai_dc:dc>')


def dc(title: str, creator: str = "Santoso, Budi", year: int = 2019,
       link: str = "https://lib.example/r/1") -> bytes:
    return DC.format(title=title, creator=creator, year=year, link=link).encode()


def add_member(engine: Engine, slug: str, name: str, status: str = "active",
               **fields: Any) -> None:
    with session_scope(engine) as s:
        catalog.add_member(s, slug, name, **fields)
        catalog.get_member(s, slug).status = status


def add_source(engine: Engine, slug: str, url: str, status: str = "active") -> int:
    with session_scope(engine) as s:
        source = catalog.add_source(s, slug, url)
        source.status = status
        return source.id


def harvest(engine: Engine, sid: int, records: Sequence[HarvestedRecord],
            status: str = "ok") -> dict[str, int]:
    """Store records in one finished run; return their ids by identifier."""
    run = runs.start_run(engine, sid, "full", "test")
    write_page(engine, PageWrite(source_id=sid, run_id=run, metadata_prefix="oai_dc",
                                 records=records, checkpoint=None))
    runs.finish_run(engine, run, status)
    with engine.connect() as conn:
        return {ident: rid for ident, rid in conn.execute(
            select(Record.identifier, Record.id).where(Record.source_id == sid))}


def live(ident: str, title: str = "Judul", **kw: Any) -> HarvestedRecord:
    return HarvestedRecord(ident, "2024-01-01", False, (), dc(title, **kw))


def gone(ident: str) -> HarvestedRecord:
    return HarvestedRecord(ident, "2024-01-01", True, (), None)


def set_rows(engine: Engine, model: Any, ids: Sequence[int], **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(update(model).where(model.id.in_(ids)).values(**values))


def at(month: int, day: int = 1) -> datetime:
    return datetime(2024, month, day, tzinfo=UTC)


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Collect every statement sent to the database while the block runs."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        seen.append(sql)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


# -- pure helpers -----------------------------------------------------------------------

@pytest.mark.parametrize(("name", "expected"), [
    ("Universitas Gadjah Mada", "UG"),
    ("Perpustakaan Nasional RI", "PN"),
    ("perpustakaan", "P"),
    ("  (Dinas) 12 arsip daerah", "DA"),
    ("Ümraniye kütüphanesi", "ÜK"),
    ("straße", "S"),
    ("123 - !!", "?"),
    ("", "?"),
])
def test_initials(name: str, expected: str) -> None:
    assert directory.initials(name) == expected


@pytest.mark.parametrize(("url", "expected"), [
    ("https://ugm.ac.id/", "https://ugm.ac.id/"),
    (" http://perpusnas.go.id ", "http://perpusnas.go.id"),
    ("javascript:alert(1)", None),
    ("JavaScript://example.org/%0aalert(1)", None),
    ("data:image/png;base64,AAAA", None),
    ("//ugm.ac.id/logo.png", None),
    ("https://", None),
    ("https://a.example/x y", None),
    ("http://[::1", None),
    ("", None),
    (None, None),
])
def test_http_url(url: str | None, expected: str | None) -> None:
    assert directory.http_url(url) == expected


# -- members ------------------------------------------------------------------------------

def sample_directory(engine: Engine) -> dict[str, int]:
    """Three active members (one without sources), a pending and a removed one."""
    add_member(engine, "ugm", "Universitas Gadjah Mada", homepage="https://ugm.ac.id",
               logo="https://ugm.ac.id/logo.png", city="Yogyakarta", kind="university")
    add_member(engine, "pnri", "Perpustakaan Nasional RI", contact="info@perpusnas.go.id")
    add_member(engine, "arsip", "dinas arsip daerah")
    add_member(engine, "baru", "A New Library", status="pending")
    add_member(engine, "lama", "Aaa Removed Library")
    ids = {"ugm1": add_source(engine, "ugm", "https://ugm.ac.id/oai"),
           "ugm2": add_source(engine, "ugm", "https://etd.ugm.ac.id/oai"),
           "ugm3": add_source(engine, "ugm", "https://old.ugm.ac.id/oai", status="paused"),
           "ugm4": add_source(engine, "ugm", "https://gone.ugm.ac.id/oai", status="removed"),
           "pnri": add_source(engine, "pnri", "https://perpusnas.go.id/oai"),
           "lama": add_source(engine, "lama", "https://lama.example/oai")}
    harvest(engine, ids["ugm1"], [live("a"), live("b"), live("c"), gone("d")])
    harvest(engine, ids["ugm2"], [live("e"), live("f")], status="ok")
    runs.finish_run(engine, runs.start_run(engine, ids["ugm2"], "incremental", "t"), "failed")
    harvest(engine, ids["pnri"], [live("p"), gone("q")])
    harvest(engine, ids["lama"], [live("x")])
    with session_scope(engine) as s:
        catalog.remove_member(s, "lama")
    set_rows(engine, Source, [ids["ugm1"]], last_success_at=at(1))
    set_rows(engine, Source, [ids["ugm2"]], last_success_at=at(6, 15))
    set_rows(engine, Source, [ids["ugm3"]], last_success_at=at(3))
    set_rows(engine, Source, [ids["lama"]], last_success_at=at(12))
    return ids


def test_member_cards_count_live_records_and_take_the_newest_harvest(engine: Engine) -> None:
    sample_directory(engine)
    with statements(engine) as seen:
        cards = directory.member_cards(engine)
    assert len(seen) <= 2  # one SELECT (and SQLite's BEGIN), whatever the number of members
    assert [c.slug for c in cards] == ["arsip", "pnri", "ugm"]  # by name, case-insensitive
    arsip, pnri, ugm = cards
    assert (ugm.records, pnri.records, arsip.records) == (5, 1, 0)
    assert ugm.last_harvest == at(6, 15) and ugm.last_harvest.tzinfo is not None
    assert pnri.last_harvest is None and arsip.last_harvest is None
    assert (ugm.initials, pnri.initials, arsip.initials) == ("UG", "PN", "DA")
    assert (ugm.homepage, ugm.logo, ugm.city, ugm.kind) == (
        "https://ugm.ac.id", "https://ugm.ac.id/logo.png", "Yogyakarta", "university")


def test_unsafe_homepage_and_logo_become_none(engine: Engine) -> None:
    add_member(engine, "ugm", "Universitas Gadjah Mada", homepage="https://ugm.ac.id")
    sid = add_source(engine, "ugm", "https://ugm.ac.id/oai")
    rid = harvest(engine, sid, [live("a")])["a"]
    with engine.begin() as conn:
        conn.execute(update(Member).values(homepage="javascript:alert(1)",
                                           logo="javascript:alert(2)"))
    card = directory.member_cards(engine)[0]
    assert (card.homepage, card.logo) == (None, None)
    page = directory.member_page(engine, "ugm")
    assert page is not None and page.card.homepage is None and page.card.logo is None
    record = queries.record_page(engine, rid)
    assert record is not None and record.member_homepage is None


def test_member_page(engine: Engine) -> None:
    ids = sample_directory(engine)
    page = directory.member_page(engine, "ugm")
    assert page is not None
    assert page.card == directory.member_cards(engine)[2]
    assert [s.id for s in page.sources] == [ids["ugm1"], ids["ugm2"], ids["ugm3"]]  # not ugm4
    one, two, paused = page.sources
    assert (paused.status, paused.records, paused.last_run_status) == ("paused", 0, None)
    assert (one.records, one.last_run_status, one.last_success_at) == (3, "ok", at(1))
    assert (two.records, two.last_run_status, two.last_success_at) == (2, "failed", at(6, 15))
    assert (two.base_url, two.metadata_prefix, two.set_spec, two.status) == (
        "https://etd.ugm.ac.id/oai", "oai_dc", "", "active")
    pnri = directory.member_page(engine, "pnri")
    assert pnri is not None and pnri.contact == "info@perpusnas.go.id"
    assert pnri.sources[0].records == 1
    pending = directory.member_page(engine, "baru")
    assert pending is not None and pending.sources == () and pending.card.records == 0
    for slug in ("lama", "nope", "", "x" * 500, "UGM"):
        assert directory.member_page(engine, slug) is None


def test_member_names_include_removed_members(engine: Engine) -> None:
    sample_directory(engine)
    assert directory.member_names(engine) == {
        "ugm": "Universitas Gadjah Mada", "pnri": "Perpustakaan Nasional RI",
        "arsip": "dinas arsip daerah", "baru": "A New Library", "lama": "Aaa Removed Library"}


def test_totals(engine: Engine) -> None:
    assert queries.totals(engine) == queries.Totals(members=0, records=0, sources=0)
    sample_directory(engine)
    add_member(engine, "tutup", "Suspended Library", status="suspended")
    harvest(engine, add_source(engine, "tutup", "https://tutup.example/oai"), [live("s")])
    # active: ugm, pnri, arsip; live: 5 + 1 + 1 (suspended members' records stay live);
    # active sources of active members: ugm1, ugm2, pnri
    assert queries.totals(engine) == queries.Totals(members=3, records=7, sources=3)


# -- records ------------------------------------------------------------------------------

def cluster(engine: Engine) -> dict[str, int]:
    """One work held by three members (plus a withdrawn copy) and another work."""
    add_member(engine, "b", "Bravo Library", homepage="https://bravo.example")
    add_member(engine, "a", "alpha library")
    add_member(engine, "c", "Charlie Library")
    sa = add_source(engine, "a", "https://alpha.example/oai")
    sb = add_source(engine, "b", "https://bravo.example/oai")
    sc = add_source(engine, "c", "https://charlie.example/oai")
    ids = harvest(engine, sb, [live("oai:b:1", "Sejarah Maritim", link="https://bravo.example/1"),
                               live("oai:b:2", "Budidaya Padi"), gone("oai:b:3")])
    ids |= harvest(engine, sa, [live("a/1", "Sejarah maritim.", link="https://alpha.example/1"),
                                live("a/2", "Sejarah Maritim (dup)", link="javascript:x()")])
    ids |= harvest(engine, sc, [live("c1", "SEJARAH MARITIM", link="https://charlie.example/c1"),
                                live("c2", "Withdrawn copy")])
    harvest(engine, sc, [gone("c2")])
    set_rows(engine, Record, [ids[k] for k in ("oai:b:1", "a/1", "a/2", "c1", "c2")],
             cluster_id=7)
    set_rows(engine, Record, [ids["oai:b:2"]], cluster_id=8)
    return ids


def test_record_page_lists_the_other_live_copies_by_member_name(engine: Engine) -> None:
    ids = cluster(engine)
    page = queries.record_page(engine, ids["oai:b:1"])
    assert page is not None
    assert (page.record_id, page.identifier, page.datestamp, page.deleted) == (
        ids["oai:b:1"], "oai:b:1", "2024-01-01", False)
    assert (page.member_slug, page.member_name, page.member_homepage) == (
        "b", "Bravo Library", "https://bravo.example")
    assert page.source_base_url == "https://bravo.example/oai" and page.cluster_id == 7
    assert page.metadata_prefix == "oai_dc" and page.metadata_xml == dc(
        "Sejarah Maritim", link="https://bravo.example/1")
    assert (page.fields.title, page.fields.creators, page.fields.year) == (
        "Sejarah Maritim", ("Santoso, Budi",), 2019)
    assert page.first_seen.tzinfo is not None and page.last_changed.tzinfo is not None
    # not itself, not the withdrawn c2; alpha < Charlie case-insensitively, then by id
    assert page.copies == (
        Copy(ids["a/1"], "a", "alpha library", "Sejarah maritim.", "https://alpha.example/1"),
        Copy(ids["a/2"], "a", "alpha library", "Sejarah Maritim (dup)", None),
        Copy(ids["c1"], "c", "Charlie Library", "SEJARAH MARITIM",
             "https://charlie.example/c1"))
    other = queries.record_page(engine, ids["c1"])
    assert other is not None
    assert [c.record_id for c in other.copies] == [ids["a/1"], ids["a/2"], ids["oai:b:1"]]
    alone = queries.record_page(engine, ids["oai:b:2"])
    assert alone is not None and alone.cluster_id == 8 and alone.copies == ()


def test_withdrawn_and_unknown_records(engine: Engine) -> None:
    ids = cluster(engine)
    withdrawn = queries.record_page(engine, ids["c2"])
    assert withdrawn is not None and withdrawn.deleted
    # its XML is gone, its last known fields stay (the withdrawn page names it)
    assert withdrawn.metadata_xml is None and withdrawn.fields.format == "oai_dc"
    assert withdrawn.fields.title == "Withdrawn copy"
    assert len(withdrawn.copies) == 4  # the live records of its former work
    never = queries.record_page(engine, ids["oai:b:3"])
    assert never is not None and never.deleted and never.copies == ()
    for bad in (0, -1, max(ids.values()) + 1, 2**62 + 1, 2**70, -(2**70)):
        assert queries.record_page(engine, bad) is None
    assert queries.record_pages(engine, [0, 2**63, -5]) == []
    assert queries.record_pages(engine, []) == []


def test_record_pages_keep_the_order_given_in_a_bounded_number_of_queries(
        engine: Engine) -> None:
    add_member(engine, "one", "Library One")
    add_member(engine, "two", "Library Two")
    ones = harvest(engine, add_source(engine, "one", "https://one.example/oai"),
                   [live(f"r{i}", f"Book {i}") for i in range(50)])
    twos = harvest(engine, add_source(engine, "two", "https://two.example/oai"),
                   [live(f"r{i}", f"Buku {i}") for i in range(50)])
    with engine.begin() as conn:  # each work is held by both libraries
        for i in range(50):
            conn.execute(update(Record).where(Record.id.in_([ones[f"r{i}"], twos[f"r{i}"]]))
                         .values(cluster_id=1000 + i))
    wanted = [ones[f"r{i}"] for i in (49, 3, 17)] + [twos[f"r{i}"] for i in range(47)]
    asked = [wanted[0], 0, *wanted, 10**9, wanted[1]]  # unknown and repeated ids left out
    with statements(engine) as seen:
        pages = queries.record_pages(engine, asked)
    assert len(seen) <= 4
    assert [p.record_id for p in pages] == wanted
    assert [(c.member_slug, c.title) for c in pages[0].copies] == [("two", "Buku 49")]
    assert [(c.member_slug, c.title) for c in pages[-1].copies] == [("one", "Book 46")]
    assert pages[1].fields.title == "Book 3"
    with statements(engine) as single:
        queries.record_pages(engine, wanted[:1])
    assert len(seen) == len(single)  # the same statements for 1 or 50 ids


def test_recent_records_newest_first(engine: Engine) -> None:
    add_member(engine, "one", "Library One")
    sid = add_source(engine, "one", "https://one.example/oai")
    ids = harvest(engine, sid, [live("old", "Lama", year=2001), live("tie1", "Satu"),
                                live("tie2", "Dua", creator="Wijaya, Sari", year=2020),
                                live("new", "Baru")])
    harvest(engine, sid, [gone("new")])
    set_rows(engine, Record, [ids["old"]], first_seen=at(1))
    set_rows(engine, Record, [ids["tie1"], ids["tie2"]], first_seen=at(3))
    set_rows(engine, Record, [ids["new"]], first_seen=at(9))  # withdrawn: not shown
    recent = queries.recent_records(engine, limit=2)
    assert [r.record_id for r in recent] == [ids["tie2"], ids["tie1"]]
    top = recent[0]
    assert (top.title, top.creators, top.year, top.member_slug, top.member_name) == (
        "Dua", ("Wijaya, Sari",), 2020, "one", "Library One")
    assert top.first_seen == at(3)
    assert [r.title for r in queries.recent_records(engine)] == ["Dua", "Satu", "Lama"]
    assert queries.recent_records(engine, limit=0) == []
    assert queries.recent_records(engine, limit=-3) == []
    assert len(queries.recent_records(engine, limit=10**9)) == 3


def test_recent_records_spread_across_members(engine: Engine) -> None:
    add_member(engine, "big", "Big Library")
    add_member(engine, "small", "Small Library")
    small = harvest(engine, add_source(engine, "small", "https://small.example/oai"),
                    [live(f"s{i}", f"Kecil {i}") for i in range(3)])
    big = harvest(engine, add_source(engine, "big", "https://big.example/oai"),
                  [live(f"b{i}", f"Besar {i}") for i in range(20)])
    newest_big = sorted(big.values(), reverse=True)
    plain = queries.recent_records(engine, limit=6)
    assert [r.record_id for r in plain] == newest_big[:6]  # one upload fills the list
    spread = queries.recent_records(engine, limit=6, per_member=2)
    slugs = [r.member_slug for r in spread]
    assert len(spread) == 6 and slugs.count("small") == 2
    assert [r.record_id for r in spread] == sorted((r.record_id for r in spread), reverse=True)
    assert {r.record_id for r in spread} == {*newest_big[:4], *sorted(small.values())[1:]}
    assert spread[0].title == "Besar 19" and spread[0].member_name == "Big Library"
    # fewer members than slots: the list is still filled, newest first
    assert len(queries.recent_records(engine, limit=10, per_member=1)) == 10


def test_stored_fields_win_over_the_xml(engine: Engine) -> None:
    add_member(engine, "one", "Library One")
    ids = harvest(engine, add_source(engine, "one", "https://one.example/oai"),
                  [live("a", "From XML"), live("b", "Also XML")])
    stored = Fields(title="Stored", creators=("X",), format="oai_dc").as_json()
    set_rows(engine, Record, [ids["a"]], fields=stored)
    set_rows(engine, Record, [ids["b"]], fields=None)
    page_a, page_b = queries.record_pages(engine, [ids["a"], ids["b"]])
    assert (page_a.fields.title, page_a.fields.creators) == ("Stored", ("X",))
    assert page_b.fields.title == "Also XML"
