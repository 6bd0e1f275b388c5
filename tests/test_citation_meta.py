"""Highwire Press ``citation_*`` meta tags: from the fields, and on real record pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.demo.oaiserver import Repository, SampleRecord
from aggregator.export.highwire import citation_meta, pdf_links
from aggregator.normalize.fields import Fields
from aggregator.store.db import init_schema, make_engine
from aggregator.web import create_app
from portal import Library, Site, close_site, harvest, html, local_settings, one

WHEN = datetime(2022, 3, 1, tzinfo=UTC)
HOSTILE = '"><script>alert(1)</script><meta name="citation_title" content="x'
URL = "https://katalog.example.id/records/7"


def test_article_tags_in_google_scholars_order() -> None:
    fields = Fields(
        title="Literasi informasi", creators=("Putri, Ayu", "Santoso, Budi"), year=2024,
        type="Article", journal_title="Jurnal Pustaka Ilmiah", volume="13", issue="1",
        pages="45-60", publisher="UNS Press", languages=("id",),
        identifiers={"issn": ("2477-3522",), "doi": ("10.20961/jpi.v13i1.1",),
                     "url": ("https://jurnal.example.ac.id/article/download/1/2.PDF?x=1",)},
        link="https://jurnal.example.ac.id/article/view/1")
    assert citation_meta(fields, URL) == [
        ("citation_title", "Literasi informasi"),
        ("citation_author", "Putri, Ayu"), ("citation_author", "Santoso, Budi"),
        ("citation_publication_date", "2024"),
        ("citation_journal_title", "Jurnal Pustaka Ilmiah"),
        ("citation_volume", "13"), ("citation_issue", "1"),
        ("citation_firstpage", "45"), ("citation_lastpage", "60"),
        ("citation_issn", "2477-3522"), ("citation_doi", "10.20961/jpi.v13i1.1"),
        ("citation_publisher", "UNS Press"), ("citation_language", "id"),
        ("citation_abstract_html_url", URL),
        ("citation_pdf_url", "https://jurnal.example.ac.id/article/download/1/2.PDF?x=1"),
    ]


def test_thesis_names_its_institution_and_empty_values_are_left_out() -> None:
    fields = Fields(title="Skripsi", creators=("", "Sari"), type="Thesis",
                    publisher="Universitas Riau", identifiers={"isbn": ("9786028519939",)})
    assert citation_meta(fields, URL) == [
        ("citation_title", "Skripsi"), ("citation_author", "Sari"),
        ("citation_isbn", "9786028519939"),
        ("citation_dissertation_institution", "Universitas Riau"),
        ("citation_abstract_html_url", URL),
    ]


@pytest.mark.parametrize("link", [
    "javascript:alert(1)//x.pdf", "ftp://files.example/x.pdf", "https://x.example/x.pdf.html",
    "https://x.example/view?file=x.pdf", "http://[::1/x.pdf", "/relative/x.pdf",
])
def test_only_http_links_to_a_pdf_are_pdf_urls(link: str) -> None:
    assert pdf_links(Fields(link=link, identifiers={"url": (link,)})) == []


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data: Path = tmp_path_factory.mktemp("meta")
    settings = local_settings(data)
    engine = make_engine(settings)
    init_schema(engine)
    harvest(engine, settings, [Library("unri", "Perpustakaan UNRI", Repository([
        SampleRecord(identifier="oai:unri:1", datestamp=WHEN, metadata={
            "title": [HOSTILE], "creator": ["Wijaya, Sari", "Santoso, Budi & <b>"],
            "date": ["2021"], "type": ["Thesis"], "publisher": ["Universitas Riau"],
            "language": ["ind"],
            "identifier": ["https://repository.unri.ac.id/1/skripsi.pdf"]}),
        SampleRecord(identifier="oai:unri:2", datestamp=WHEN, metadata={
            "title": ["Buku"], "type": ["Book"],
            "identifier": ["https://repository.unri.ac.id/2"]}),
    ]))])
    built = Site(settings, engine, create_app(settings, engine=engine))
    yield built
    close_site(built)


def meta(site: Site, identifier: str) -> list[tuple[str, str]]:
    rid = site.record_id("unri", identifier)
    response = site.client().get(f"/records/{rid}")
    assert response.status_code == 200
    doc = html(response)
    return [(m.get("name"), m.get("content"))
            for m in doc.xpath("/html/head/meta[starts-with(@name, 'citation_')]")]


def test_record_page_carries_the_tags_and_a_hostile_title_stays_text(site: Site) -> None:
    rid = site.record_id("unri", "oai:unri:1")
    tags = meta(site, "oai:unri:1")
    assert tags[0] == ("citation_title", HOSTILE)
    assert [v for n, v in tags if n == "citation_author"] == ["Wijaya, Sari",
                                                               "Santoso, Budi & <b>"]
    found = dict(tags)
    assert found["citation_publication_date"] == "2021"
    assert found["citation_dissertation_institution"] == "Universitas Riau"
    assert found["citation_pdf_url"] == "https://repository.unri.ac.id/1/skripsi.pdf"
    assert found["citation_abstract_html_url"].endswith(f"/records/{rid}")
    assert found["citation_abstract_html_url"].startswith("http")
    body = site.client().get(f"/records/{rid}").get_data(as_text=True)
    assert "<script>alert(1)" not in body
    doc = html(site.client().get(f"/records/{rid}"))
    assert doc.xpath("//script[contains(., 'alert')]") == []
    assert len(doc.xpath("//meta[@name='citation_title']")) == 1
    assert one(doc, "//h1").text_content().strip() == HOSTILE


def test_a_record_without_a_pdf_has_no_pdf_url(site: Site) -> None:
    names = [n for n, _ in meta(site, "oai:unri:2")]
    assert "citation_pdf_url" not in names and "citation_author" not in names
    assert names[0] == "citation_title"
