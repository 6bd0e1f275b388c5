"""The portal's HTML pages, exports and languages, over the harvested sample network."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree
from sqlalchemy import Engine, distinct, func, select
from sqlalchemy.orm import Session

from aggregator.config import Settings, load_settings
from aggregator.demo.oaiserver import Repository, SampleRecord
from aggregator.demo.run import (
    DEMO_DESCRIPTION,
    DEMO_DESCRIPTION_EN,
    DEMO_NAME,
    demo_settings,
    run_demo,
)
from aggregator.store.db import make_engine
from aggregator.store.models import Member, Record, Source
from aggregator.web import create_app, directory
from aggregator.web.charts import year_histogram
from aggregator.web.translations import INDONESIAN
from portal import (
    DUPLICATE_COPIES,
    WITHDRAWN,
    Library,
    Site,
    build_sample_site,
    close_site,
    cls,
    harvest,
    html,
    one,
    text_of,
    texts,
)

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "src" / "aggregator" / "web"
TEMPLATES = ROOT / "templates"
DUPLICATE = "An introduction to rural sociology"  # held by ipk, perpusda-sukamaju and unira


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    built = build_sample_site(tmp_path_factory.mktemp("portal"))
    yield built
    close_site(built)


def live_works(engine: Engine, slug: str | None = None) -> int:
    """Works (clusters with a live record), optionally only those ``slug`` holds."""
    stmt = (select(func.count(distinct(Record.cluster_id))).select_from(Record)
            .join(Source, Source.id == Record.source_id)
            .join(Member, Member.id == Source.member_id).where(~Record.deleted))
    if slug:
        stmt = stmt.where(Member.slug == slug)
    with Session(engine) as session:
        return session.scalar(stmt) or 0


def live_records(engine: Engine) -> dict[str, int]:
    """Live records per member slug."""
    with Session(engine) as session:
        rows = session.execute(
            select(Member.slug, func.count(Record.id)).join(Source, Source.member_id == Member.id)
            .join(Record, Record.source_id == Source.id).where(~Record.deleted)
            .group_by(Member.slug)).all()
    return {slug: int(n) for slug, n in rows}


def found(doc: etree._Element) -> int | None:
    """The number in "N karya ditemukan" (None for the no-hits heading)."""
    heading = text_of(one(doc, "//h1[@id='results-heading']"))
    match = re.fullmatch(r"([\d.]+) karya ditemukan", heading)
    if match is None:
        assert heading == "Tidak ada karya yang ditemukan"
        return None
    return int(match.group(1).replace(".", ""))


def hits(doc: etree._Element) -> list[etree._Element]:
    return doc.xpath(f"//ol[{cls('hits')}]/li[{cls('hit')}]")


def hit_record_ids(doc: etree._Element) -> list[int]:
    return [int(h.xpath(".//h2/a/@href")[0].rsplit("/", 1)[1]) for h in hits(doc)]


def facet_links(doc: etree._Element, heading: str) -> dict[str, tuple[str, int]]:
    """A facet's entries: label → (href, count)."""
    section = one(doc, f"//aside[{cls('facets')}]/section[h2='{heading}']")
    out = {}
    for link in section.xpath(".//li/a"):
        count = text_of(one(link, f"span[{cls('count')}]"))
        label = (link.text or "").strip()
        out[label] = (link.get("href"), int(count.replace(".", "")))
    return out


def get(site: Site, url: str, status: int = 200) -> etree._Element:
    response = site.client().get(url)
    assert response.status_code == status, (url, response.status_code)
    assert response.mimetype == "text/html"
    return html(response)


def follow(href: str) -> str:
    """A page-relative ``?query`` link as a /search URL."""
    assert href.startswith("?"), href
    return "/search" + href


# -- home, search ------------------------------------------------------------------------

def test_home_page_counts_the_network_and_lists_recent_records_and_members(site: Site) -> None:
    doc = get(site, "/")
    assert one(doc, "/html").get("lang") == "id"
    assert texts(doc, "//nav[@aria-label='Menu utama']//a") == ["Cari", "Anggota", "Tentang"]
    counts = live_records(site.engine)
    assert text_of(one(doc, f"//p[{cls('counts')}]")) == (
        f"{sum(counts.values())} cantuman dari 5 perpustakaan anggota")
    recent = doc.xpath(f"//ul[{cls('recent')}]/li/a/@href")
    assert len(recent) == 8 and all(re.fullmatch(r"/records/\d+", h) for h in recent)
    withdrawn = site.record_id(*WITHDRAWN)
    assert f"/records/{withdrawn}" not in recent
    cards = doc.xpath(f"//ul[{cls('members')}]//h3/a/@href")
    assert sorted(cards) == sorted(f"/members/{m.slug}" for m in site.members)
    form = one(doc, "//form[@role='search']")
    assert form.get("action") == "/search" and form.xpath(".//input[@name='q']")


def test_search_without_words_lists_every_work_once(site: Site) -> None:
    doc = get(site, "/search")
    total = live_works(site.engine)
    assert found(doc) == total
    assert len(hits(doc)) == 20  # the default page size
    assert one(doc, "//ol[@class='hits']").get("start") == "1"


def test_a_duplicate_is_one_hit_held_by_several_members(site: Site) -> None:
    doc = get(site, "/search?q=rural+sociology")
    matching = [h for h in hits(doc) if text_of(one(h, ".//h2")) == DUPLICATE]
    assert len(matching) == 1
    held = one(matching[0], f".//p[{cls('held')}]")
    assert text_of(held).startswith("Dimiliki oleh:")
    names = {m.slug: m.name for m in site.members}
    assert {(a.get("href"), text_of(a)) for a in held.xpath("a")} == {
        (f"/members/{slug}", names[slug]) for slug in DUPLICATE_COPIES}
    ids = {site.record_id(slug, ident) for slug, ident in DUPLICATE_COPIES.items()}
    assert hit_record_ids(doc)[hits(doc).index(matching[0])] in ids
    marks = texts(matching[0], ".//h2//mark")
    assert [m.lower() for m in marks] == ["rural", "sociology"]


def test_facet_links_add_a_filter_and_chips_remove_it(site: Site) -> None:
    total = live_works(site.engine)
    doc = get(site, "/search")
    members = facet_links(doc, "Anggota")
    names = {m.slug: m.name for m in site.members}
    assert set(members) == set(names.values())
    href, count = members[names["ipk"]]
    assert count == live_works(site.engine, "ipk") < total
    narrowed = get(site, follow(href))
    assert found(narrowed) == count
    assert all("/members/ipk" in h.xpath(f".//p[{cls('held')}]/a/@href")
               for h in hits(narrowed))
    chip = one(narrowed, f"//a[{cls('chip')}]")
    assert text_of(chip) == f"Anggota: {names['ipk']} ×"
    restored = get(site, follow(chip.get("href")))
    assert found(restored) == total
    assert not restored.xpath(f"//a[{cls('chip')}]")
    # a second facet narrows further, and its count is the new total
    type_href, type_count = facet_links(narrowed, "Jenis")["Skripsi/Tesis"]
    both = get(site, follow(type_href))
    assert found(both) == type_count < count
    assert len(both.xpath(f"//a[{cls('chip')}]")) == 2


def year_bars(doc: etree._Element) -> dict[str, tuple[str, int]]:
    """The year histogram's bars: label → (href, count), from each bar's link."""
    section = one(doc, f"//aside[{cls('facets')}]/section[h2='Tahun']")
    out = {}
    for link in section.xpath(".//*[local-name()='svg']/*[local-name()='a']"):
        label, count = link.get("aria-label").split(": ")
        out[label] = (link.get("href"), int(count.removesuffix(" karya").replace(".", "")))
    return out


def test_year_histogram_has_a_bar_per_year_and_each_filters(site: Site) -> None:
    doc = get(site, "/search")
    bars = year_bars(doc)
    years = get_year_counts(site)  # every year of the catalogue, from its own page
    assert 20 < len(years) <= 40  # more than the old facet showed, one bar a year
    assert {label: count for label, (_, count) in bars.items()} == years
    assert list(bars) == sorted(bars)  # oldest on the left
    svg = one(doc, "//*[local-name()='svg'][@role='group']")
    first, last = min(bars), max(bars)
    assert svg.get("aria-label") == f"Karya per tahun, {first} sampai {last}"
    year, (href, count) = max(bars.items(), key=lambda item: item[1][1])
    filtered = get(site, follow(href))
    assert found(filtered) == count
    api = site.client().get(f"/api/search?year={year}&per_page=100").json
    assert api["total"] == count and {h["year"] for h in api["hits"]} == {int(year)}
    chip = one(filtered, f"//a[{cls('chip')}]")
    assert text_of(chip) == f"Tahun: {year} ×"
    assert found(get(site, follow(chip.get("href")))) == found(doc)


def get_year_counts(site: Site) -> dict[str, int]:
    """Works per year, from the facet's own full list."""
    doc = get(site, "/search/facets/year")
    out = {}
    for link in doc.xpath(f"//ol[{cls('facet-list')}]/li/a"):
        out[(link.text or "").strip()] = int(text_of(one(link, "span")).replace(".", ""))
    return out


def test_year_range_box_filters_without_javascript(site: Site) -> None:
    doc = get(site, "/search?q=desa&language=id")
    form = one(doc, f"//form[{cls('year-range')}]")
    assert form.get("action") == "/search" and form.get("method") == "get"
    hidden = {(i.get("name"), i.get("value")) for i in form.xpath(".//input[@type='hidden']")}
    assert hidden == {("q", "desa"), ("language", "id")}
    for name in ("year_from", "year_to"):
        field = one(form, f".//input[@name='{name}']")
        assert one(form, f".//label[@for='{field.get('id')}']") is not None
    years = get_year_counts(site)
    in_range = sum(c for y, c in years.items() if 2010 <= int(y) <= 2015)
    assert 0 < in_range < sum(years.values())
    boxed = get(site, "/search?year_from=2015&year_to=2010")  # backwards is read as meant
    assert found(boxed) == in_range
    assert text_of(one(boxed, f"//a[{cls('chip')}]")) == "Tahun: 2010..2015 ×"
    form = one(boxed, f"//form[{cls('year-range')}]")
    assert one(form, ".//input[@name='year_from']").get("value") == "2010"
    assert one(form, ".//input[@name='year_to']").get("value") == "2015"
    assert not form.xpath(".//input[@type='hidden'][@name='year']")  # the box replaces it
    since = get(site, "/search?year_from=2015&year_to=")
    assert found(since) == sum(c for y, c in years.items() if int(y) >= 2015)
    narrowed = get(site, "/search?q=desa&language=id&year_from=2010&year_to=2015")
    assert found(narrowed) == site.client().get(
        "/api/search?q=desa&language=id&year=2010..2015").json["total"]
    bad = get(site, "/search?year_from=abc")
    assert found(bad) == found(get(site, "/search")) and bad.xpath(f"//p[{cls('notice')}]")


def test_every_facet_value_is_reachable_from_show_all(site: Site) -> None:
    doc = get(site, "/search")
    subjects = facet_links(doc, "Subjek")
    assert len(subjects) == 10
    section = one(doc, f"//aside[{cls('facets')}]/section[h2='Subjek']")
    more = one(section, f".//p[{cls('more')}]/a")
    assert text_of(more) == "Tampilkan semua: Subjek"
    listing = get(site, more.get("href"))
    links = listing.xpath(f"//ol[{cls('facet-list')}]/li/a")
    listed = {(link.text or "").strip(): link.get("href") for link in links}
    assert len(listed) > 10 and set(subjects) <= set(listed)
    counts = [int(text_of(one(a, "span")).replace(".", "")) for a in links]
    assert counts == sorted(counts, reverse=True)
    rarest = (links[-1].text or "").strip()
    narrowed = get(site, listed[rarest])
    assert found(narrowed) == counts[-1]
    assert text_of(one(narrowed, f"//a[{cls('chip')}]")) == f"Subjek: {rarest} ×"
    # members: five, so no "show all"
    members = one(doc, f"//aside[{cls('facets')}]/section[h2='Anggota']")
    assert not members.xpath(f".//p[{cls('more')}]")


def test_a_facets_full_list_keeps_the_search_and_pages(site: Site,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    doc = get(site, "/search/facets/subject?q=desa&type=Thesis")
    back = one(doc, "//main//p/a")
    assert back.get("href") == "/search?q=desa&type=Thesis"
    first = doc.xpath(f"//ol[{cls('facet-list')}]/li/a/@href")[0]
    assert parse_qs(urlsplit(first).query)["q"] == ["desa"]
    assert parse_qs(urlsplit(first).query)["type"] == ["Thesis"]
    everything = [(a.text or "").strip() for a in
                  get(site, "/search/facets/subject").xpath(f"//ol[{cls('facet-list')}]/li/a")]
    monkeypatch.setattr("aggregator.web.facets.LISTED", 40)
    seen: list[str] = []
    url: str | None = "/search/facets/subject"
    while url:
        page = get(site, url)
        seen += [(a.text or "").strip() for a in page.xpath(f"//ol[{cls('facet-list')}]/li/a")]
        nxt = page.xpath("//nav[@class='pager']/a[@rel='next']/@href")
        url = "/search/facets/subject" + nxt[0] if nxt else None
    assert seen == everything and len(seen) > 80
    assert get(site, "/search/facets/nonsense", status=404) is not None


def test_sort_newest_orders_by_year_descending(site: Site) -> None:
    client = site.client()
    api = client.get("/api/search?sort=newest&per_page=50").json
    years = [h["year"] for h in api["hits"]]
    assert None not in years[:40]
    dated = [y for y in years if y is not None]
    assert dated == sorted(dated, reverse=True) and dated[0] > dated[-1]
    doc = get(site, "/search?sort=newest&per_page=50")
    assert hit_record_ids(doc) == [h["record_id"] for h in api["hits"]]
    assert text_of(one(doc, "//nav[@class='sort']/strong")) == "Terbaru"
    oldest = [h["year"] for h in client.get("/api/search?sort=oldest&per_page=10").json["hits"]]
    assert oldest == sorted(oldest) and oldest[0] < dated[-1]


def test_paging_moves_through_the_results(site: Site) -> None:
    total = live_works(site.engine)
    first = get(site, "/search?per_page=10")
    second = get(site, "/search?per_page=10&page=2")
    assert one(second, "//ol[@class='hits']").get("start") == "11"
    assert len(hits(second)) == 10
    assert not set(hit_record_ids(first)) & set(hit_record_ids(second))
    pager = one(second, "//nav[@class='pager']")
    assert text_of(one(pager, "span")) == f"Halaman 2 dari {math.ceil(total / 10)}"
    prev_q = parse_qs(urlsplit(one(pager, "a[@rel='prev']").get("href")).query)
    next_q = parse_qs(urlsplit(one(pager, "a[@rel='next']").get("href")).query)
    assert (prev_q["page"], next_q["page"], next_q["per_page"]) == (["1"], ["3"], ["10"])
    assert hit_record_ids(get(site, follow(one(pager, "a[@rel='prev']").get("href")))) == \
        hit_record_ids(first)
    last_page = math.ceil(total / 100)
    last = get(site, f"/search?per_page=100&page={last_page}")
    assert len(hits(last)) == total - 100 * (last_page - 1)
    assert not last.xpath("//nav[@class='pager']/a[@rel='next']")


def test_results_per_page_can_be_chosen(site: Site) -> None:
    doc = get(site, "/search?q=pendidikan&per_page=10&page=2")
    chooser = one(doc, "//nav[@class='per-page']")
    assert text_of(one(chooser, "strong[@aria-current='true']")) == "10"
    links = {a.text: parse_qs(urlsplit(a.get("href")).query) for a in chooser.xpath("a")}
    assert sorted(links) == ["100", "20", "50"]
    assert links["50"] == {"q": ["pendidikan"], "per_page": ["50"]}  # back to page 1
    assert links["20"] == {"q": ["pendidikan"]}  # the default is not spelt out
    wider = get(site, follow(chooser.xpath("a[text()='50']")[0].get("href")))
    assert len(hits(wider)) == min(50, found(wider) or 0) > 10


def test_no_hits_suggests_a_spelling_from_the_catalogue(site: Site) -> None:
    doc = get(site, "/search?q=pemrogaman")  # the titles say "pemrograman"
    assert found(doc) is None
    link = one(doc, f"//p[{cls('suggestion')}]/a")
    assert text_of(link) == "pemrograman"
    assert text_of(one(doc, f"//p[{cls('suggestion')}]")).startswith("Mungkin maksud Anda")
    assert (found(get(site, follow(link.get("href")))) or 0) > 0


def test_no_hits_offers_to_drop_each_filter_with_its_count(site: Site) -> None:
    api = site.client()
    python_2004 = api.get("/api/search?q=python&year=2004").json["total"]
    assert python_2004 > 0
    assert api.get("/api/search?q=python&member=jipi").json["total"] == 0  # a journal
    doc = get(site, "/search?q=python&member=jipi&year=2004")
    assert found(doc) is None
    jipi = "Tanpa Anggota: Jurnal Ilmu Perpustakaan dan Informasi"
    # dropping the year still finds nothing, so only the member filter is offered
    assert texts(doc, f"//ul[{cls('relax')}]/li") == [f"{jipi} ({python_2004})"]
    href = one(doc, f"//ul[{cls('relax')}]/li/a").get("href")
    assert parse_qs(urlsplit(href).query) == {"q": ["python"], "year": ["2004"]}
    assert found(get(site, follow(href))) == python_2004
    assert "Saran: periksa ejaan" in text_of(one(doc, f"//div[{cls('nothing')}]"))


# -- records ----------------------------------------------------------------------------

def sample(site: Site, slug: str, identifier: str) -> dict[str, list[str]]:
    member = next(m for m in site.members if m.slug == slug)
    return next(r.metadata for r in member.repository.records if r.identifier == identifier)


def test_record_page_shows_every_field(site: Site) -> None:
    slug, identifier = "perpusda-sukamaju", DUPLICATE_COPIES["perpusda-sukamaju"]
    rid = site.record_id(slug, identifier)
    doc = get(site, f"/records/{rid}")
    dc = sample(site, slug, identifier)
    assert text_of(one(doc, "//h1")) == dc["title"][0]
    assert text_of(one(doc, "//p[@class='byline']")) == "; ".join(dc["creator"])
    details = {text_of(dt): text_of(dt.getnext()) for dt in doc.xpath(f"//dl[{cls('fields')}]/dt")}
    assert details["Pengarang"] == "; ".join(dc["creator"])
    assert details["Penerbit"] == dc["publisher"][0]
    assert details["Tahun"] == dc["date"][0]
    assert details["Bahasa"] == "Bahasa Inggris"
    # A DDC number sent as a subject ("307.72") is a classification, not a subject tag.
    assert texts(doc, "//ul[@class='tags']/li") == [
        s for s in dc["subject"] if not s.replace(".", "").isdigit()]
    assert any(s.replace(".", "").isdigit() for s in dc["subject"])
    assert details["Tautan"] == dc["identifier"][0]
    assert details["ISBN"] == dc["identifier"][1]
    # The call number ("307.72 SIT p") is a shelf mark, not an "other identifier".
    assert "Pengenal lain" not in details
    assert dc["identifier"][2][:3].isdigit()
    assert details["Pengenal OAI"] == identifier
    assert details["Dipanen dari"].startswith("http://127.0.0.1:")
    # every field the API reports for the record is on the page
    fields = site.client().get(f"/api/records/{rid}").json["fields"]
    page_text = text_of(one(doc, "//article"))
    for name in ("title", "publisher", "abstract", "year"):
        if fields[name]:
            assert str(fields[name]) in page_text, name
    for name in ("creators", "subjects", "other_titles", "contributors", "rights"):
        for value in fields[name]:
            assert value in page_text, (name, value)
    for values in fields["identifiers"].values():
        for value in values:
            assert value in page_text
    citation = text_of(one(doc, "//p[@class='citation']"))
    assert dc["title"][0] in citation and "(2022)" in citation
    exports = doc.xpath("//p[@class='export']/a/@href")
    assert exports == [f"/records/{rid}/export/{fmt}" for fmt in ("marcxml", "bibtex", "ris",
                                                                    "json")]
    raw = text_of(one(doc, "//details[@class='raw']/pre"))
    assert f"<dc:title>{dc['title'][0]}</dc:title>" in raw  # the XML, shown as text
    # the harvest's details are in the librarians' section, after the patron's
    librarian = one(doc, f"//section[{cls('librarian')}]")
    assert text_of(one(librarian, "h2")) == "Untuk pustakawan"
    assert librarian.xpath(".//dt/text()")[:2] == ["Pengenal OAI", "Dipanen dari"]
    assert not doc.xpath("//section[@aria-labelledby='details-heading']//dt[.='Pengenal OAI']")
    assert librarian.xpath(".//details[@class='raw']")


def test_record_page_shows_class_numbers_call_numbers_and_journal_details(
        site: Site) -> None:
    from aggregator.normalize import Fields

    rid = site.record_id("unira", DUPLICATE_COPIES["unira"])
    with Session(site.engine) as session:
        stored = session.scalars(select(Record.fields).where(Record.id == rid)).one()
    fields = Fields.from_json(stored)
    article = replace(fields, classification=(("ddc", "372.21"), ("udc", "37")),
                      call_numbers=("372.21 PUT p",), journal_title="Jurnal Pendidikan Dasar",
                      volume="13", issue="1", pages="45-60")
    try:
        with Session(site.engine) as session, session.begin():
            session.get(Record, rid).fields = article.as_json()  # type: ignore[union-attr]
        for lang, labels, journal in (
                ("id", ("Klasifikasi", "Nomor panggil", "Terbit dalam"),
                 "Jurnal Pendidikan Dasar, Vol. 13 No. 1, hlm. 45-60"),
                ("en", ("Classification", "Call number", "Published in"),
                 "Jurnal Pendidikan Dasar, Vol. 13 No. 1, pp. 45-60")):
            doc = get(site, f"/records/{rid}?lang={lang}")
            details = {text_of(dt): dt.getnext()
                       for dt in doc.xpath("//dl[@class='fields']/dt")}
            lines = [t.strip() for t in details[labels[0]].xpath("text()")]
            assert lines == ["DDC 372.21", "UDC 37"]
            assert texts(details[labels[1]], "code") == ["372.21 PUT p"]
            assert text_of(details[labels[2]]) == journal
    finally:
        with Session(site.engine) as session, session.begin():
            session.get(Record, rid).fields = stored  # type: ignore[union-attr]


def test_raw_metadata_is_indented_for_reading(site: Site) -> None:
    from aggregator.web.display import pretty_xml

    flat = b'<r xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>A &amp; B</dc:title></r>'
    assert pretty_xml(flat) == ('<r xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
                                "  <dc:title>A &amp; B</dc:title>\n</r>\n")
    assert pretty_xml(b"<broken") == "<broken"  # shown as it came
    assert pretty_xml(None) == ""
    rid = site.record_id("unira", DUPLICATE_COPIES["unira"])
    raw = one(get(site, f"/records/{rid}"), "//details[@class='raw']/pre").text_content()
    assert "\n  <" in raw  # indented, one element a line


def test_record_page_with_an_abstract_and_rights(site: Site) -> None:
    response = site.client().get("/api/search?q=stunting&per_page=50").json
    rid = response["hits"][0]["record_id"]
    fields = site.client().get(f"/api/records/{rid}").json["fields"]
    assert fields["abstract"]
    doc = get(site, f"/records/{rid}")
    assert text_of(one(doc, "//dd[@class='abstract']")) == " ".join(fields["abstract"].split())


def test_record_page_links_every_holder_and_its_own_page(site: Site) -> None:
    ids = {slug: site.record_id(slug, ident) for slug, ident in DUPLICATE_COPIES.items()}
    doc = get(site, f"/records/{ids['perpusda-sukamaju']}")
    holders = doc.xpath("//section[@class='holders']/ul/li")
    assert len(holders) == 3
    by_member = {one(li, "a[1]").get("href").rsplit("/", 1)[1]: li for li in holders}
    assert set(by_member) == set(DUPLICATE_COPIES)
    links = {slug: one(li, "a[@class='go']").get("href") for slug, li in by_member.items()}
    assert links["perpusda-sukamaju"].endswith("index.php?p=show_detail&id=1335")
    assert links["unira"] == "https://eprints.unira.example.ac.id/477/"
    assert links["ipk"].endswith("/123456789/2221")
    for slug, li in by_member.items():
        assert one(li, "a[@class='go']").get("rel") == "noopener noreferrer nofollow"
        api = site.client().get(f"/api/records/{ids[slug]}").json
        assert api["fields"]["link"] == links[slug]  # each member's own page for its copy
        if slug != "perpusda-sukamaju":
            assert li.xpath("a/@href")[-1] == f"/records/{ids[slug]}"  # the other copies


def test_withdrawn_record_is_gone(site: Site) -> None:
    rid = site.record_id(*WITHDRAWN)
    doc = get(site, f"/records/{rid}", status=410)
    assert "ditarik" in text_of(one(doc, "//p[@class='notice']"))
    assert one(doc, "//form[@role='search']").get("action") == "/search"
    # the last known title stays, and the search box offers to look for it elsewhere
    title = text_of(one(doc, "//h1"))
    assert "Python" in title and title != "(tanpa judul)"
    assert one(doc, "//form[@role='search']//input[@name='q']").get("value") == title
    assert not doc.xpath("//p[@class='export']")
    assert site.client().get(f"/records/{rid}/export/ris").status_code == 404
    assert site.client().get(f"/api/records/{rid}").json["deleted"] is True


def test_only_a_record_still_held_offers_google_scholar_its_tags(site: Site) -> None:
    gone = get(site, f"/records/{site.record_id(*WITHDRAWN)}", status=410)
    assert gone.xpath("//meta[starts-with(@name, 'citation_')]") == []
    slug, identifier = next(iter(DUPLICATE_COPIES.items()))
    rid = site.record_id(slug, identifier)
    held = get(site, f"/records/{rid}")
    assert held.xpath("/html/head/meta[@name='citation_title']/@content") == [
        text_of(one(held, "//h1"))]
    assert held.xpath("/html/head/meta[@name='citation_abstract_html_url']/@content")[0] \
        .endswith(f"/records/{rid}")


@pytest.mark.parametrize("url", [
    "/records/999999", "/records/abc", "/records/0", "/records/99999999999999999999999",
    "/members/nobody", "/members/" + "x" * 300, "/nowhere",
    "/records/1/export/pdf", "/search/export/pdf?q=x", "/records/999999/export/ris"])
def test_unknown_addresses_get_the_404_page(site: Site, url: str) -> None:
    doc = get(site, url, status=404)
    assert text_of(one(doc, "//h1")) == "Halaman tidak ditemukan"
    assert doc.xpath("//form[@role='search']")


# -- members, about, opensearch --------------------------------------------------------

def test_members_directory_lists_every_member_with_its_record_count(site: Site) -> None:
    doc = get(site, "/members")
    counts = live_records(site.engine)
    cards = doc.xpath("//ul[@class='members']/li")
    assert len(cards) == len(site.members) == 5
    kinds = {"public": "Perpustakaan umum", "university": "Perpustakaan perguruan tinggi",
             "special": "Perpustakaan khusus"}
    for member in site.members:
        card = one(doc, f"//ul[@class='members']/li[.//h2/a/@href='/members/{member.slug}']")
        meta = text_of(card.xpath(".//p[@class='meta']")[0])
        assert text_of(one(card, ".//h2")) == member.name
        assert meta == (f"{member.city}, {member.province} · {kinds[member.kind]} · "
                        f"{counts[member.slug]} cantuman")
        assert card.xpath(".//a[@rel='noopener noreferrer nofollow']/@href") == [
            member.homepage]
        assert "Terakhir dipanen" in text_of(card)


def test_member_page_shows_sources_charts_and_a_scoped_search(site: Site) -> None:
    doc = get(site, "/members/ipk")
    assert text_of(one(doc, "//h1")) == "Institut Pertanian Khatulistiwa"
    with Session(site.engine) as session:
        base_url = session.scalars(select(Source.base_url).join(Member)
                                   .where(Member.slug == "ipk")).one()
    row = one(doc, "//section[@aria-labelledby='sources-heading']//tbody/tr")
    cells = [text_of(td) for td in row.xpath("td")]
    assert cells[0].startswith(base_url)
    assert cells[1:3] == ["oai_dc", str(live_records(site.engine)["ipk"])]
    assert cells[3].endswith("UTC")
    charts = doc.xpath("//figure[@class='chart']")
    assert [text_of(one(c, "figcaption")) for c in charts] == [
        "Karya menurut jenis", "Karya menurut tahun"]
    facets = site.client().get("/api/search?member=ipk").json["facets"]
    type_bars = charts[0].xpath(".//*[local-name()='svg']/*[local-name()='g']")
    assert len(type_bars) == len(facets["type"])
    first = facets["type"][0]
    titles = [text_of(g.xpath("*[local-name()='title']")[0]) for g in type_bars]
    assert titles[0] == f"Skripsi/Tesis: {first['count']}" and first["value"] == "Thesis"
    widths = [int(g.xpath("*[local-name()='rect']/@width")[0]) for g in type_bars]
    assert widths == sorted(widths, reverse=True) and widths[0] > widths[-1] > 0
    year_bars = charts[1].xpath(".//*[local-name()='svg']/*[local-name()='g']")
    years = [text_of(g.xpath("*[local-name()='title']")[0]) for g in year_bars]
    assert years == sorted(years) and len(years) >= 10  # oldest first
    form = one(doc, "//form[@role='search']")
    assert form.get("action") == "/search"
    assert form.xpath(".//input[@type='hidden'][@name='member']/@value") == ["ipk"]
    assert form.xpath(".//input[@name='q']")
    scoped = get(site, "/search?q=&member=ipk")
    assert found(scoped) == live_works(site.engine, "ipk")


def test_about_page(site: Site) -> None:
    doc = get(site, "/about")
    assert text_of(one(doc, "//h1")) == f"Tentang {DEMO_NAME}"
    assert DEMO_DESCRIPTION in text_of(one(doc, "//main"))
    body = text_of(one(doc, "//main"))
    total = sum(live_records(site.engine).values())
    assert f"memuat {total} cantuman dari 5 anggota" in body
    assert "Cara bergabung" in body and "/api/search?q=…" in body
    assert one(doc, "//nav[@aria-label='Menu utama']//a[@aria-current='page']").text == "Tentang"


def test_opensearch_description(site: Site) -> None:
    response = site.client().get("/opensearch.xml")
    assert response.status_code == 200
    assert response.mimetype == "application/opensearchdescription+xml"
    doc = etree.fromstring(response.get_data())
    ns = {"os": "http://a9.com/-/spec/opensearch/1.1/"}
    templates = {u.get("type"): u.get("template") for u in doc.xpath("//os:Url", namespaces=ns)}
    root = site.settings.public_root  # base_url, never the request's Host header
    assert templates == {
        "text/html": f"{root}/search?q={{searchTerms}}",
        "application/json": f"{root}/api/search?q={{searchTerms}}",
        "application/x-suggestions+json": f"{root}/api/suggest?q={{searchTerms}}"}
    # at most 16 characters, and still the network's own name
    assert doc.findtext("os:ShortName", namespaces=ns) == "Nusantara"
    assert doc.findtext("os:Description", namespaces=ns) == DEMO_NAME
    page = get(site, "/")
    assert page.xpath("//link[@rel='search']/@href") == ["/opensearch.xml"]


# -- bad parameters ---------------------------------------------------------------------

BAD = [
    ("page=-1", ["page"]), ("page=abc", ["page"]), ("page=999999", ["page"]),
    ("per_page=7", ["per_page"]), ("year=zzz", ["year"]), ("year=3000..1", ["year"]),
    ("sort=bogus", ["sort"]), ("q=" + "a" * 10_000, ["q"]), ('q="pendidikan+karakter', []),
    ("q=(pendidikan+OR+python", []), ("q=pendidikan)", []), ("q=title:", []), ("q=*", []),
    ("lang=xx", []), ("&".join(["member=x"] * 50), []),
    ("q=%F0%9F%92%A5%E2%80%AE%EF%BB%BF%CC%B8", []),
    ("q=%00python%00", []), ("q=%ff%fe", []), ("q=%ED%A0%80", []), ("q=year:abc", []),
    ("q=NOT", []), ("q=a:b:c", []), ("per_page=-5&page=1e9", ["page", "per_page"]),
]


@pytest.mark.parametrize(("query", "ignored"), BAD, ids=[q[:30] for q, _ in BAD])
def test_bad_search_parameters_never_fail(site: Site, query: str, ignored: list[str]) -> None:
    doc = get(site, "/search?" + query)
    notice = doc.xpath("//p[@class='notice']")
    if ignored:
        assert "diabaikan: " + ", ".join(ignored) in text_of(notice[0])
    assert doc.xpath("//h1[@id='results-heading']")
    value = one(doc, "//form[@role='search']//input[@name='q']").get("value")
    assert len(value) <= 200 and "\x00" not in value


@pytest.mark.parametrize("page", ["999999", "40"])
def test_a_page_past_the_end_shows_the_last_page_and_says_so(site: Site, page: str) -> None:
    total = live_works(site.engine)
    last = math.ceil(total / 10)
    assert last < 40
    doc = get(site, f"/search?page={page}&per_page=10")
    assert one(doc, "//ol[@class='hits']").get("start") == str((last - 1) * 10 + 1)
    assert len(hits(doc)) == total - (last - 1) * 10
    assert text_of(one(doc, "//nav[@class='pager']/span")) == f"Halaman {last} dari {last}"
    assert text_of(one(doc, "//p[@class='notice']")).endswith("diabaikan: page.")


# -- exports ----------------------------------------------------------------------------

FORMATS = {"marcxml": ("application/marcxml+xml; charset=utf-8", "xml"),
           "bibtex": ("application/x-bibtex; charset=utf-8", "bib"),
           "ris": ("application/x-research-info-systems; charset=utf-8", "ris"),
           "json": ("application/json", "json")}


def count_records(fmt: str, body: bytes) -> int:
    if fmt == "marcxml":
        return len(etree.fromstring(body).findall("{http://www.loc.gov/MARC21/slim}record"))
    if fmt == "bibtex":
        return len(re.findall(rb"^@\w+\{", body, re.M))
    if fmt == "ris":
        return len(re.findall(rb"^ER  -", body, re.M))
    return len(json.loads(body)["records"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_record_export(site: Site, fmt: str) -> None:
    rid = site.record_id("perpusda-sukamaju", DUPLICATE_COPIES["perpusda-sukamaju"])
    response = site.client().get(f"/records/{rid}/export/{fmt}")
    assert response.status_code == 200
    media_type, extension = FORMATS[fmt]
    assert response.headers["Content-Type"] == media_type
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="record-{rid}.{extension}"')
    body = response.get_data()
    assert count_records(fmt, body) == 1
    assert DUPLICATE.encode() in body


@pytest.mark.parametrize("fmt", FORMATS)
def test_result_list_export(site: Site, fmt: str) -> None:
    response = site.client().get(f"/search/export/{fmt}?q=python&sort=newest&n=5")
    assert response.status_code == 200
    media_type, extension = FORMATS[fmt]
    assert response.headers["Content-Type"] == media_type
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="search-results.{extension}"')
    assert count_records(fmt, response.get_data()) == 5
    if fmt == "json":
        api = site.client().get("/api/search?q=python&sort=newest&per_page=10").json
        ids = [r["id"] for r in json.loads(response.get_data())["records"]]
        assert ids == [h["record_id"] for h in api["hits"][:5]]


def test_result_list_export_links_on_the_search_page_carry_the_search(site: Site) -> None:
    doc = get(site, "/search?q=python&member=ipk&sort=newest")
    links = doc.xpath(f"//section[{cls('results')}]//p[@class='export']/a/@href")
    assert len(links) == 4
    for link in links:
        parts = urlsplit(link)
        assert parts.path.startswith("/search/export/")
        assert parse_qs(parts.query) == {"q": ["python"], "member": ["ipk"], "sort": ["newest"]}


# -- languages --------------------------------------------------------------------------

def test_indonesian_is_the_default_and_english_is_remembered(site: Site) -> None:
    client = site.client()
    doc = html(client.get("/members"))
    assert one(doc, "/html").get("lang") == "id"
    assert text_of(one(doc, "//h1")) == "Perpustakaan anggota"
    english_link = one(doc, "//a[@id='lang-en']").get("href")
    assert english_link == "?lang=en"
    response = client.get("/members?lang=en")
    assert response.headers["Content-Language"] == "en"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=en;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    doc = html(response)
    assert one(doc, "/html").get("lang") == "en"
    assert texts(doc, "//nav[@aria-label='Main menu']//a") == ["Search", "Members", "About"]
    assert text_of(one(doc, "//h1")) == "Member libraries"
    later = html(client.get("/search?q=python"))  # the cookie keeps English
    assert one(later, "/html").get("lang") == "en"
    assert re.fullmatch(r"\d+ works found", text_of(one(later, "//h1[@id='results-heading']")))
    assert one(html(client.get("/?lang=xx")), "/html").get("lang") == "en"
    back = client.get("/?lang=id")
    assert back.headers["Set-Cookie"].startswith("lang=id;")
    assert one(html(client.get("/")), "/html").get("lang") == "id"


def test_english_numbers_and_language_names(site: Site) -> None:
    client = site.client()
    rid = site.record_id("perpusda-sukamaju", DUPLICATE_COPIES["perpusda-sukamaju"])
    doc = html(client.get(f"/records/{rid}?lang=en"))
    details = {text_of(dt): text_of(dt.getnext()) for dt in doc.xpath("//dl[@class='fields']/dt")}
    assert details["Language"] == "English" and "Publisher" in details
    assert texts(doc, "//section[@class='holders']/h2") == ["Held by"]


_MESSAGE = re.compile(r"""\b_\(\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")""")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def message_ids() -> set[str]:
    """Every literal ``_(…)`` of the templates and the web package, sub-folders too."""
    found: set[str] = set()
    files = [*TEMPLATES.rglob("*.html"), *TEMPLATES.rglob("*.xml"), *WEB.rglob("*.py")]
    for path in files:
        for single, double in _MESSAGE.findall(path.read_text("utf-8")):
            raw = single or double
            found.add(re.sub(r"\\(.)", r"\1", raw))
    return found


def dynamic_message_ids() -> set[str]:
    """Ids built at render time: facet names, sort names, member kinds, identifier labels."""
    from aggregator.store.models import MEMBER_KINDS
    from aggregator.web.display import IDENTIFIER_LABELS
    from aggregator.web.params import FILTERS, SORTS

    ids = {name.capitalize() for name in (*FILTERS, "year")}
    ids |= {sort.capitalize() for sort in SORTS}
    ids |= {f"{kind.capitalize()} library" for kind in MEMBER_KINDS}
    ids |= {label for label in IDENTIFIER_LABELS.values() if not label.isupper()
            and label != "Handle"}  # acronyms and "Handle" read the same in Indonesian
    return ids


def test_every_message_has_an_indonesian_translation() -> None:
    literal = message_ids()
    assert len(literal) > 60  # the regex does find the templates' messages
    assert "this copy's record" in literal  # escaped quotes are read too
    missing = sorted((literal | dynamic_message_ids()) - set(INDONESIAN))
    assert missing == []


def test_translations_keep_the_placeholders_of_their_english_id() -> None:
    wrong = {en: id_ for en, id_ in INDONESIAN.items()
             if sorted(_PLACEHOLDER.findall(en)) != sorted(_PLACEHOLDER.findall(id_))}
    assert wrong == {}


# -- SQLite and PostgreSQL --------------------------------------------------------------

WHEN = datetime(2022, 3, 1, tzinfo=UTC)


def book(ident: str, title: str, creator: str, year: str, **extra: list[str]) -> SampleRecord:
    return SampleRecord(identifier=ident, datestamp=WHEN, metadata={
        "title": [title], "creator": [creator], "date": [year], "type": ["Book"],
        "language": ["ind"], **extra})


def test_search_and_record_pages_on_each_store(engine: Engine, settings: Settings) -> None:
    settings = replace(settings, request_delay=0.0)
    harvest(engine, settings, [
        Library("perpus-a", "Perpustakaan A", Repository([
            book("oai:a:1", "Pendidikan Karakter di Sekolah Dasar", "Santoso, Budi", "2019",
                 subject=["Pendidikan"], identifier=["https://a.example.org/record/1"]),
            book("oai:a:2", "Sejarah Maritim Nusantara", "Wijaya, Sari", "2015")]),
            kind="public"),
        Library("perpus-b", "Perpustakaan B", Repository([
            book("slims/7", "Pendidikan karakter di sekolah dasar.", "Budi Santoso", "2019",
                 identifier=["https://b.example.org/7"])]), kind="school"),
    ])
    app = create_app(settings, engine=engine)
    try:
        client = app.test_client()
        doc = html(client.get("/search?q=pendidikan"))
        assert found(doc) == 1
        held = texts(doc, f"//p[{cls('held')}]/a")
        assert held == ["Perpustakaan A", "Perpustakaan B"]
        href = one(doc, "//ol[@class='hits']/li//h2/a").get("href")
        record = client.get(href)
        assert record.status_code == 200
        page = html(record)
        assert text_of(one(page, "//h1")) in ("Pendidikan Karakter di Sekolah Dasar",
                                              "Pendidikan karakter di sekolah dasar.")
        go = page.xpath("//section[@class='holders']//a[@class='go']/@href")
        assert sorted(go) == ["https://a.example.org/record/1", "https://b.example.org/7"]
        assert found(html(client.get("/search"))) == 2
        members = html(client.get("/members"))
        assert texts(members, "//ul[@class='members']//h2") == ["Perpustakaan A",
                                                                 "Perpustakaan B"]
    finally:
        app.extensions["aggregator"].index.close()


@pytest.mark.parametrize(("header", "lang"), [
    ("en-US,en;q=0.9", "en"), ("en-GB", "en"), ("id-ID,id;q=0.9,en;q=0.8", "id"),
    ("en;q=0.5,id;q=0.9", "id"), ("fr-FR,fr;q=0.9", "id"), ("", "id"),
    ("fr;q=0.9,en;q=0.4", "en"),
])
def test_a_first_visit_follows_the_browsers_languages(site: Site, header: str,
                                                      lang: str) -> None:
    client = site.client()
    response = client.get("/members", headers={"Accept-Language": header} if header else {})
    assert response.headers["Content-Language"] == lang
    assert "Accept-Language" in response.headers["Vary"]
    assert "Set-Cookie" not in response.headers  # nothing chosen yet, nothing remembered
    assert one(html(response), "/html").get("lang") == lang


def test_a_chosen_language_beats_the_browsers(site: Site) -> None:
    client = site.client()
    english = {"Accept-Language": "en-US,en;q=0.9"}
    assert client.get("/?lang=id", headers=english).headers["Content-Language"] == "id"
    assert client.get("/members", headers=english).headers["Content-Language"] == "id"


def test_the_network_description_in_each_language(site: Site) -> None:
    english = "A network of village and campus libraries."
    app = create_app(replace(site.settings, network_description=DEMO_DESCRIPTION,
                             network_description_en=english), engine=site.engine)
    try:
        client = app.test_client()
        for path in ("/", "/about"):
            id_doc = html(client.get(path + "?lang=id"))
            assert DEMO_DESCRIPTION in text_of(one(id_doc, "//main"))
            assert one(id_doc, "//meta[@name='description']").get("content") == DEMO_DESCRIPTION
            en_doc = html(client.get(path + "?lang=en"))
            assert english in text_of(one(en_doc, "//main"))
            assert DEMO_DESCRIPTION not in text_of(one(en_doc, "//main"))
            assert one(en_doc, "//meta[@name='description']").get("content") == english
    finally:
        app.extensions["aggregator"].index.close()
    # without an English text, English pages keep the one description there is
    app = create_app(replace(site.settings, network_description=DEMO_DESCRIPTION,
                             network_description_en=""), engine=site.engine)
    try:
        en_doc = html(app.test_client().get("/?lang=en"))
        assert DEMO_DESCRIPTION in text_of(one(en_doc, "//main"))
    finally:
        app.extensions["aggregator"].index.close()


def test_a_long_span_of_years_is_drawn_in_wider_bars() -> None:
    histogram = year_histogram([("1905", 1), ("1950", 4), ("1951", 2), ("2024", 8),
                                ("n.d.", 3)])
    assert histogram is not None and histogram.first == 1905 and histogram.last == 2024
    assert len(histogram.bars) <= 40
    spans = {(b.start, b.end): b.count for b in histogram.bars if b.count}
    assert spans == {(1905, 1909): 1, (1950, 1954): 6, (2020, 2024): 8}  # 5-year bars
    assert max(b.height for b in histogram.bars) == histogram.height
    assert [b.year for b in histogram.bars if b.count][1] == "1950..1954"
    assert year_histogram([("n.d.", 3)]) is None


def test_the_demos_home_page_shows_real_looking_new_records(tmp_path: Path) -> None:
    """`aggregator demo` harvests, lets two librarians catalogue and edit, harvests again:
    the home page's "recently added" shows those works and works of other members, never
    a placeholder."""
    data_dir = tmp_path / "demo"
    settings = demo_settings(load_settings(environ={}, search_rate_limit=0), data_dir)
    assert run_demo(settings, data_dir, echo=lambda line: None, port=None) == 0
    engine = make_engine(settings)
    app = create_app(settings, engine=engine)
    try:
        doc = html(app.test_client().get("/"))
        items = doc.xpath(f"//ul[{cls('recent')}]/li")
        assert len(items) == 8
        titles = [text_of(one(li, "a")) for li in items]
        assert titles[:2] == [
            "Pengaruh pupuk hayati terhadap pertumbuhan dan hasil padi ladang di Kabupaten "
            "Sanggau", "Budidaya ikan lele di kolam terpal untuk pemula"]
        body = " ".join(text_of(li) for li in items)
        for placeholder in ("Koleksi baru", "New acquisition", "Pustakawan", "Demo"):
            assert placeholder not in body
        members = {slug: name for slug, name in directory.member_names(engine).items()}
        shown = [name for name in members.values() if name in body]
        assert len(shown) >= 4  # the list shows the network, not one member's upload
        english = html(app.test_client().get("/?lang=en"))
        assert DEMO_DESCRIPTION_EN in text_of(one(english, "//main"))
        with Session(engine) as session:  # numbered the way the member's software does
            newest = session.scalars(select(Record.identifier).order_by(Record.id.desc())
                                     .limit(2)).all()
            slims = [int(i.rsplit("/", 1)[1]) for i in session.scalars(
                select(Record.identifier).where(Record.identifier.like("oai:slims/%")))]
        assert f"oai:slims/{max(slims)}" in newest
        assert not any(i.endswith("-baru") for i in newest)
        # the cooperation services are switched on: request links and an exchange list
        exchange = html(app.test_client().get("/exchange"))
        offered = exchange.xpath("//main//a[starts-with(@href, '/exchange/')]/@href")
        assert len(set(offered)) == 3
        with Session(engine) as session:
            sukamaju = session.scalar(
                select(Record.id).join(Source, Source.id == Record.source_id)
                .join(Member, Member.id == Source.member_id)
                .where(Member.slug == "perpusda-sukamaju", ~Record.deleted))
        record = html(app.test_client().get(f"/records/{sukamaju}"))
        assert record.xpath(
            f"//a[@href='/records/{sukamaju}/request/perpusda-sukamaju']")
    finally:
        app.extensions["aggregator"].index.close()
        engine.dispose()


def test_english_pages_show_no_indonesian_message(site: Site) -> None:
    """Every text of the portal's own (not harvested) is in English with ``?lang=en``."""
    indonesian = {text.strip() for english, text in INDONESIAN.items()
                  if text != english and len(text) > 3}
    record = site.record_id(*next(iter(DUPLICATE_COPIES.items())))
    paths = ["/", "/search", "/search?q=desa&year_from=2010&year_to=2020",
             "/search/facets/subject", "/search/facets/year", "/members", "/members/ipk",
             "/about", f"/records/{record}", "/search?q=zzzqqqxx", "/no-such-page"]
    for path in paths:
        response = site.client().get(path + ("&" if "?" in path else "?") + "lang=en")
        doc = html(response)
        assert one(doc, "/html").get("lang") == "en"
        shown = {" ".join(t.split()) for t in doc.xpath("//body//text()") if t.strip()}
        shown |= {" ".join(v.split()) for v in doc.xpath("//@aria-label | //@placeholder"
                                                          " | //@title | //@alt")}
        leaked = {t for t in shown for text in indonesian
                  if t == text or (len(text) > 12 and text in t)}
        assert not leaked, (path, leaked)


def test_robots_txt_keeps_crawlers_to_the_portal(site: Site) -> None:
    from urllib.robotparser import RobotFileParser

    response = site.client().get("/robots.txt")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    robots = RobotFileParser()
    robots.parse(response.get_data(as_text=True).splitlines())
    rid = site.record_id(*DUPLICATE_COPIES.items().__iter__().__next__())
    for path in ("/", "/members", "/members/ipk", f"/records/{rid}", "/about",
                 "/opensearch.xml", "/api/members"):
        assert robots.can_fetch("AnyBot", path), path
    assert robots.site_maps() == [f"{site.settings.public_root}/sitemap.xml"]
    for path in ("/admin/", "/admin/accounts", "/login", "/register", "/search?q=x",
                 "/search/export/ris?q=x", "/api/search?q=x", "/api/suggest?q=x",
                 "/requests/abc"):
        assert not robots.can_fetch("AnyBot", path), path


@pytest.mark.parametrize(("name", "short"), [
    ("Union catalogue", "Union catalogue"),
    ("Jaringan Perpustakaan Nusantara (contoh)", "Nusantara"),
    ("Katalog Induk Perpustakaan Jawa Barat", "Jawa Barat"),
    ("Jaringan Perpustakaan Perguruan Tinggi Kalimantan Selatan", "JPPTKS"),
    ("Perpustakaanperguruantinggi", "Perpustakaanpergu"[:16]),
])
def test_opensearch_short_name_says_which_network(name: str, short: str) -> None:
    from aggregator.web.display import short_name

    assert short_name(name) == short and len(short) <= 16


SITEMAP = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def test_sitemap_index_lists_every_member_and_live_record_by_absolute_url(site: Site) -> None:
    root = site.settings.public_root
    response = site.client().get("/sitemap.xml")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    files = etree.fromstring(response.get_data()).xpath("//sm:sitemap/sm:loc/text()",
                                                        namespaces=SITEMAP)
    assert files == [f"{root}/sitemaps/members-0.xml", f"{root}/sitemaps/records-0.xml"]
    urls: list[str] = []
    for url in files:
        part = site.client().get(url.removeprefix(root))
        assert part.status_code == 200 and part.mimetype == "application/xml"
        locs = etree.fromstring(part.get_data()).xpath("//sm:url/sm:loc/text()",
                                                       namespaces=SITEMAP)
        assert 0 < len(locs) <= 50_000
        urls += locs
    assert all(u.startswith(root + "/") for u in urls)
    with Session(site.engine) as session:
        live = session.scalars(select(Record.id).where(~Record.deleted)).all()
    records = sorted(int(u.rsplit("/", 1)[1]) for u in urls if "/records/" in u)
    assert records == sorted(live)
    assert site.record_id(*WITHDRAWN) not in records
    members = {u.rsplit("/", 1)[1] for u in urls if "/members/" in u}
    assert members == {m.slug for m in site.members}
    assert {f"{root}/", f"{root}/about", f"{root}/members"} <= set(urls)
    assert site.client().get("/sitemaps/records-1.xml").status_code == 404
    assert site.client().get("/sitemaps/members-9.xml").status_code == 404


def test_sitemap_files_split_records_in_fixed_id_ranges(site: Site) -> None:
    from aggregator.store import sitemap

    files = sitemap.record_files(site.engine, size=7)
    assert len(files) > 2
    seen: list[int] = []
    for f in files:
        entries = sitemap.record_entries(site.engine, f.number, size=7)
        assert 0 < len(entries) <= 7
        assert all(f.number * 7 < rid <= (f.number + 1) * 7 for rid, _ in entries)
        assert f.lastmod == max(when for _, when in entries)
        seen += [rid for rid, _ in entries]
    with Session(site.engine) as session:
        assert seen == sorted(session.scalars(select(Record.id).where(~Record.deleted)))


def test_about_page_explains_the_cooperation_services_in_both_languages(site: Site) -> None:
    retention = site.settings.request_retention_days
    for lang, heading, dropped in (
            ("id", "Layanan kerja sama", f"dihapus {retention} hari setelah"),
            ("en", "Cooperation services", f"deleted {retention} days after")):
        doc = get(site, f"/about?lang={lang}")
        assert heading in texts(doc, "//h2")
        services = one(doc, f"//dl[{cls('services')}]")
        assert services.xpath(".//dt/a/@href") == ["/new", "/exchange"]
        assert len(services.xpath("./dt")) == len(services.xpath("./dd")) == 4
        assert dropped in text_of(services)
