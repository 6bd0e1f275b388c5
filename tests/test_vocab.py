"""Language and type vocabularies."""

from __future__ import annotations

import pytest

from aggregator.normalize.vocab import TYPES, language_code, language_codes, resolve_type, type_of


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ind", "id"), ("id", "id"), ("in", "id"), ("Indonesian", "id"),
        ("Bahasa Indonesia", "id"), ("indonesia", "id"), ("Indonesia", "id"),
        ("eng", "en"), ("en", "en"), ("English", "en"), ("Inggris", "en"),
        ("Bahasa Inggris", "en"), ("en_US", "en"), ("en-GB", "en"),
        ("jav", "jv"), ("Javanese", "jv"), ("Jawa", "jv"), ("sun", "su"), ("Sunda", "su"),
        ("msa", "ms"), ("may", "ms"), ("Malay", "ms"), ("Melayu", "ms"),
        ("ara", "ar"), ("Arab", "ar"), ("Arabic", "ar"),
        ("zho", "zh"), ("chi", "zh"), ("Mandarin", "zh"), ("jpn", "ja"),
        ("fre", "fr"), ("fra", "fr"), ("French", "fr"), ("ger", "de"), ("deu", "de"),
        ("dut", "nl"), ("nld", "nl"), ("spa", "es"), ("por", "pt"), ("rus", "ru"),
        ("kor", "ko"), ("  ENG ", "en"), ("Bali", "ban"),
        ("xx", None), ("Klingon", None), ("", None),
    ],
)
def test_language_code(value: str, expected: str | None) -> None:
    assert language_code(value) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["Indonesia"], ("id",)),
        (["en; id"], ("en", "id")),
        (["Spanish, Castilian"], ("es",)),  # Dataverse
        (["ind", "Bahasa Indonesia", "id"], ("id",)),
        (["  Basa Walikan  "], ("Basa Walikan",)),  # unknown: kept, stripped
        (["und"], ("und",)),
        (["", "  "], ()),
    ],
)
def test_language_codes(values: list[str], expected: tuple[str, ...]) -> None:
    assert language_codes(values) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Skripsi", "Thesis"), ("Tesis", "Thesis"), ("Disertasi", "Dissertation"),
        ("info:eu-repo/semantics/bachelorThesis", "Thesis"),
        ("info:eu-repo/semantics/masterThesis", "Thesis"),
        ("info:eu-repo/semantics/doctoralThesis", "Dissertation"),
        ("info:eu-repo/semantics/article", "Article"),
        ("info:eu-repo/semantics/book", "Book"),
        ("info:eu-repo/semantics/bookPart", "Book chapter"),
        ("info:eu-repo/semantics/conferenceObject", "Conference paper"),
        ("info:eu-repo/semantics/report", "Report"),
        ("info:eu-repo/semantics/workingPaper", "Report"),
        ("info:eu-repo/semantics/dataset", "Dataset"),
        ("info:eu-repo/semantics/other", "Other"),
        ("Article", "Article"), ("Journal Article", "Article"),
        ("Peer-reviewed Article", "Article"), ("Artikel", "Article"), ("Buku", "Book"),
        ("Book", "Book"), ("Monograph", "Book"), ("Laporan", "Report"), ("Report", "Report"),
        ("Prosiding", "Conference paper"), ("Conference Paper", "Conference paper"),
        ("Thesis", "Thesis"), ("Dissertation", "Dissertation"), ("Dataset", "Dataset"),
        ("Image", "Image"), ("Sound", "Audio"), ("MovingImage", "Video"),
        ("Software", "Software"), ("Map", "Map"),
        ("article", "Article"), ("book", "Book"), ("book_section", "Book chapter"),
        ("conference_item", "Conference paper"), ("thesis", "Thesis"), ("monograph", "Book"),
        ("  JOURNAL   article. ", "Article"), ("Thesis (Masters)", "Thesis"),
        ("Skripsi S1 Manajemen", "Thesis"), ("Artículo revisado por pares", "Article"),
        ("info:eu-repo/semantics/publishedVersion", None), ("NonPeerReviewed", None),
        ("Text", None), ("Teks", None), ("Experimental Data", None), ("", None),
    ],
)
def test_type_of(value: str, expected: str | None) -> None:
    assert type_of(value) == expected
    assert expected is None or expected in TYPES


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["Thesis", "NonPeerReviewed"], "Thesis"),  # EPrints
        (["info:eu-repo/semantics/article", "info:eu-repo/semantics/publishedVersion",
          "Artículo revisado por pares"], "Article"),  # OJS
        (["Text"], None),  # SLiMS GMD alone says nothing
        (["Text", "Skripsi"], "Thesis"),
        (["info:eu-repo/semantics/other", "Buku"], "Book"),
        (["info:eu-repo/semantics/other"], "Other"),
        (["Thesis", "info:eu-repo/semantics/doctoralThesis"], "Dissertation"),
        (["Experimental Data", "Environmental Data"], None),
        ([], None),
    ],
)
def test_resolve_type(values: list[str], expected: str | None) -> None:
    assert resolve_type(values) == expected
