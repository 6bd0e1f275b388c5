"""Types from evidence, class numbers, call numbers and journal details in normalize()."""

from __future__ import annotations

import pytest

from aggregator.normalize import normalize
from aggregator.normalize.catalogue import call_number, class_number, parse_citation
from aggregator.normalize.fields import Fields

DC_OPEN = (
    '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/">'
)


def dc(body: str) -> Fields:
    return normalize((DC_OPEN + body + "</oai_dc:dc>").encode(), "oai_dc")


def marc(body: str, leader: str = "00000nam a2200000 a 4500") -> Fields:
    xml = (f'<record xmlns="http://www.loc.gov/MARC21/slim"><leader>{leader}</leader>'
           + body + "</record>")
    return normalize(xml.encode(), "marcxml")


def field(tag: str, *subfields: tuple[str, str]) -> str:
    subs = "".join(f'<subfield code="{c}">{v}</subfield>' for c, v in subfields)
    return f'<datafield tag="{tag}" ind1=" " ind2=" ">{subs}</datafield>'


# SLiMS oai_dc as Sukamaju's catalogue sends it: GMD "Text", an ISBN, the DDC number as a
# subject and the call number as an identifier.
SLIMS_TEXT = (
    "<dc:title>Pendidikan Anak Usia Dini</dc:title><dc:creator>Putri, Ayu</dc:creator>"
    "<dc:type>Text</dc:type><dc:subject>Pendidikan; Anak -- Psikologi</dc:subject>"
    "<dc:subject>372.21</dc:subject><dc:subject>pendidikan</dc:subject>"
    "<dc:identifier>9786028519939</dc:identifier>"
    "<dc:identifier>372.21 PUT p</dc:identifier>"
)
# OJS 3 article: dc:source carries the journal, volume, issue and pages.
OJS_ARTICLE = (
    "<dc:title>Literasi Sains di Sekolah Dasar</dc:title><dc:type>Text</dc:type>"
    "<dc:type>info:eu-repo/semantics/publishedVersion</dc:type>"
    "<dc:source>Jurnal Pendidikan Dasar; Vol 13 No 1 (2024); 45-60</dc:source>"
    "<dc:source>2579-5449</dc:source>"
)


def test_slims_text_with_isbn_is_a_book_with_class_and_call_number() -> None:
    fields = dc(SLIMS_TEXT)
    assert fields.type == "Book"
    assert fields.types_raw == ("Text",)
    assert fields.classification == (("ddc", "372.21"),)
    assert fields.call_numbers == ("372.21 PUT p",)
    assert "other" not in fields.identifiers
    # Split on ";", a heading with subdivisions kept whole, case-folded duplicate dropped.
    assert fields.subjects == ("Pendidikan", "Anak -- Psikologi")


def test_text_alone_stays_unknown() -> None:
    assert dc("<dc:title>Catatan</dc:title><dc:type>Text</dc:type>").type is None


def test_ojs_source_gives_journal_details_and_article_type() -> None:
    fields = dc(OJS_ARTICLE)
    assert fields.type == "Article"
    assert (fields.journal_title, fields.volume, fields.issue, fields.pages) == (
        "Jurnal Pendidikan Dasar", "13", "1", "45-60")
    assert fields.identifiers["issn"] == ("2579-5449",)


def test_explicit_type_beats_evidence() -> None:
    fields = dc("<dc:type>Skripsi</dc:type><dc:identifier>9786028519939</dc:identifier>")
    assert fields.type == "Thesis"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Jurnal X; Vol 13 No 1 (2024); 45-60", ("Jurnal X", "13", "1", "45-60")),
        ("Jurnal X, 13(1), 45-60", ("Jurnal X", "13", "1", "45-60")),
        ("Jurnal X; Vol. 5, No. 2 (2019)", ("Jurnal X", "5", "2", None)),
        ("Journal of Y; Vol 2, No 1 (2020): March; 1-10", ("Journal of Y", "2", "1", "1-10")),
        ("Journal Z, Volume 3, Issue 2, pp. 10-20", ("Journal Z", "3", "2", "10-20")),
        ("Jurnal Ilmiah; No 4 (2021)", ("Jurnal Ilmiah", None, "4", None)),
        # OJS in Spanish (the Universidad de Antioquia capture): the year is no issue.
        ("Revista Facultad de Ingeniería; núm. 39 (2007): Revista Facultad de Ingeniería; "
         "42-55", ("Revista Facultad de Ingeniería", None, "39", "42-55")),
        ("Jurnal Y; Vol IV No 2", ("Jurnal Y", "IV", "2", None)),
    ],
)
def test_citation_forms(value: str, expected: tuple[str | None, ...]) -> None:
    found = parse_citation(value)
    assert found is not None
    assert (found.journal_title, found.volume, found.issue, found.pages) == expected


@pytest.mark.parametrize("value", ["https://ojs.example.ac.id/index.php/jpd", "2579-5449",
                                   "Koleksi Perpustakaan Daerah", "Jurnal Nomor Satu",
                                   "Jurnal A (2019)"])
def test_plain_relations_are_not_citations(value: str) -> None:
    assert parse_citation(value) is None


def test_class_and_call_number_shapes() -> None:
    assert class_number("005.133") == ("ddc", "005.133")
    assert class_number("342") == ("ddc", "342")
    assert class_number("2020") is None
    assert class_number("Pendidikan") is None
    assert class_number("QA76.73", "lcc") == ("lcc", "QA76.73")
    assert call_number("R 899.221 Sap s") == "R 899.221 Sap s"
    assert call_number("9786028519939") is None
    assert call_number("Pendidikan anak usia") is None


def test_marc_082_090_773() -> None:
    fields = marc(
        field("245", ("a", "Literasi sains")) + field("082", ("a", "372.3/5"))
        + field("650", ("a", "342")) + field("650", ("a", "Sains"))
        + field("090", ("a", "372.35"), ("b", "LIT l"))
        + field("773", ("t", "Jurnal Pendidikan Dasar"), ("g", "Vol. 13, no. 1 (2024), p. 45-60"),
                ("x", "2579-5449")),
        leader="00000nab a2200000 a 4500")
    assert fields.classification == (("ddc", "372.35"), ("ddc", "342"))
    assert fields.subjects == ("Sains",)
    assert fields.call_numbers == ("372.35 LIT l",)
    assert (fields.journal_title, fields.volume, fields.issue, fields.pages) == (
        "Jurnal Pendidikan Dasar", "13", "1", "45-60")
    assert fields.identifiers["issn"] == ("2579-5449",)
    assert fields.type == "Article"


def test_marc_852_call_number_and_050() -> None:
    fields = marc(field("050", ("a", "QA76.73"), ("b", ".P98"))
                  + field("852", ("h", "005.133"), ("i", "SUR p")))
    assert fields.classification == (("lcc", "QA76.73"),)
    assert fields.call_numbers == ("005.133 SUR p",)


def test_mods_classification_and_host() -> None:
    xml = (
        '<mods xmlns="http://www.loc.gov/mods/v3"><titleInfo><title>A</title></titleInfo>'
        '<classification authority="ddc">005.133</classification>'
        '<relatedItem type="host"><titleInfo><title>Jurnal Informatika</title></titleInfo>'
        '<identifier type="issn">1412-0100</identifier><part>'
        '<detail type="volume"><number>5</number></detail>'
        '<detail type="issue"><number>2</number></detail>'
        '<extent unit="page"><start>10</start><end>20</end></extent></part></relatedItem>'
        "</mods>")
    fields = normalize(xml.encode(), "mods")
    assert fields.classification == (("ddc", "005.133"),)
    assert (fields.journal_title, fields.volume, fields.issue, fields.pages) == (
        "Jurnal Informatika", "5", "2", "10-20")
    assert fields.identifiers["issn"] == ("1412-0100",)
    assert fields.type == "Article"


def test_new_fields_round_trip_through_json() -> None:
    fields = dc(SLIMS_TEXT + "<dc:source>Jurnal X; Vol 1 No 2 (2020); 3-4</dc:source>")
    assert Fields.from_json(fields.as_json()) == fields


def test_type_share_on_a_mixed_sample_is_high() -> None:
    sample = [
        dc(SLIMS_TEXT), dc(OJS_ARTICLE),
        dc("<dc:type>Text</dc:type><dc:identifier>979-3062-79-7</dc:identifier>"),
        dc("<dc:type>Skripsi</dc:type>"), dc("<dc:type>Tesis</dc:type>"),
        dc("<dc:type>Disertasi</dc:type>"), dc("<dc:type>Buku</dc:type>"),
        dc("<dc:type>Monograph</dc:type>"), dc("<dc:type>Artikel</dc:type>"),
        dc("<dc:type>Journal article</dc:type>"),
        dc("<dc:type>info:eu-repo/semantics/article</dc:type>"),
        dc("<dc:type>info:eu-repo/semantics/bachelorThesis</dc:type>"),
        dc("<dc:type>Text</dc:type><dc:source>Jurnal A, 2(3), 1-9</dc:source>"),
        marc(field("245", ("a", "Buku"))),
        dc("<dc:type>Book</dc:type>"), dc("<dc:type>Article</dc:type>"),
        dc("<dc:type>Thesis</dc:type>"), dc("<dc:type>Text</dc:type>"),
    ]
    typed = sum(1 for f in sample if f.type is not None)
    assert typed / len(sample) > 0.9


def test_slims_text_with_only_a_call_number_is_a_book() -> None:
    fields = dc("<dc:title>Hukum tata negara</dc:title><dc:type>Text</dc:type>"
                "<dc:subject>342</dc:subject><dc:identifier>342 SEM h</dc:identifier>")
    assert fields.type == "Book"
    assert dc("<dc:type>Image</dc:type><dc:identifier>342 SEM h</dc:identifier>").type == "Image"


def test_eprints_article_with_journal_name_only() -> None:
    fields = dc("<dc:type>Article</dc:type><dc:type>PeerReviewed</dc:type>"
                "<dc:source>Jurnal Teknologi dan Sistem Informasi Nusantara</dc:source>")
    assert fields.journal_title == "Jurnal Teknologi dan Sistem Informasi Nusantara"
    assert fields.volume is None
    # A thesis's dc:source is not a journal.
    assert dc("<dc:type>Skripsi</dc:type><dc:source>Koleksi Digital</dc:source>"
              ).journal_title is None


def test_subject_languages_from_xml_lang_and_mods() -> None:
    fields = dc('<dc:subject xml:lang="id">Pendidikan; Sekolah</dc:subject>'
                '<dc:subject xml:lang="en">Education</dc:subject>'
                "<dc:subject>Kurikulum</dc:subject><dc:subject>education</dc:subject>")
    assert fields.subjects == ("Pendidikan", "Sekolah", "Education", "Kurikulum")
    assert fields.subject_languages == ("id", "id", "en", None)
    assert Fields.from_json(fields.as_json()) == fields
    assert dc("<dc:subject>Kurikulum</dc:subject>").subject_languages == ()
    mods = normalize(
        b'<mods xmlns="http://www.loc.gov/mods/v3"><subject lang="eng"><topic>Libraries</topic>'
        b'</subject><subject lang="ind"><topic>Perpustakaan</topic></subject></mods>', "mods")
    assert mods.subjects == ("Libraries", "Perpustakaan")
    assert mods.subject_languages == ("en", "id")
