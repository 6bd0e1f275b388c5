"""Duplicate detection: true duplicates across members merge, near-misses stay apart."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.cluster.keys import MatchKeys, block_keys, fold, match_keys
from aggregator.cluster.rule import cluster_records, same_work
from aggregator.normalize.fields import Fields

TITLE = "Pendidikan Karakter di Sekolah Dasar"


def keys(title: str | None = TITLE, creators: tuple[str, ...] = ("Santoso, Budi",),
         year: int | None = 2019, type: str | None = "Book", **ids: tuple[str, ...]) -> MatchKeys:
    """Match keys for a record built the way the normaliser would build it."""
    identifiers: dict[str, tuple[str, ...]] = dict(ids)
    return match_keys(Fields(title=title, creators=creators, year=year, type=type,
                             identifiers=identifiers))


def linked(a: MatchKeys, b: MatchKeys) -> bool:
    """same_work, checked to be symmetric and backed by a shared block key."""
    result = same_work(a, b)
    assert same_work(b, a) == result
    if result:
        assert set(block_keys(a)) & set(block_keys(b)), "a true pair must share a block"
    return result


@pytest.mark.parametrize(("text", "expected"), [
    ("Café", "cafe"),
    ("The Rainbow Troops", "rainbow troops"),
    ("An Introduction", "introduction"),
    ("A", "a"),
    ("Pendidikan karakter di sekolah dasar.", "pendidikan karakter di sekolah dasar"),
    ("Tafsir Al-Qur'an:  jilid 1", "tafsir al quran jilid 1"),
    ("Ushul Fiqh — ﬁkih", "ushul fiqh fikih"),
])
def test_fold(text: str, expected: str) -> None:
    assert fold(text) == expected


@pytest.mark.parametrize(("creator", "surname"), [
    ("Santoso, Budi", "santoso"),
    ("Budi Santoso", "santoso"),
    ("Budi Santoso, S.Pd., M.Pd.", "santoso"),
    ("Dr. Budi Santoso M.Pd", "santoso"),
    ("Santoso, Budi, 1970-", "santoso"),
    ("García Márquez, Gabriel", "marquez"),
    ("Gabriel García Márquez", "marquez"),
    ("The, Liang Gie", "the"),
    ("Sukarno", "sukarno"),
])
def test_surname(creator: str, surname: str) -> None:
    assert keys(creators=(creator,)).surname == surname


def test_identifiers_normalised() -> None:
    k = keys(isbn=("0-306-40615-2 (pbk.)", "978-0-306-40615-8"), issn=("issn 0378-5955",),
             doi=("https://doi.org/10.1000/ABC.1",))
    assert k.isbns == ("9780306406157",)  # the second has a wrong check digit
    assert k.issns == ("0378-5955",)
    assert k.dois == ("10.1000/abc.1",)


def test_title_parts() -> None:
    k = keys(title="Sejarah Indonesia Modern : 1200-2008 / M.C. Ricklefs")
    assert k.title == "sejarah indonesia modern"
    assert k.full_title == "sejarah indonesia modern 1200 2008"
    assert k.numbers == ("1200", "2008")


MERGE: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "doi, title casing differs": (
        {"title": "Literasi Digital Siswa", "type": "Article", "doi": ("10.1234/JIP.V5I2.77",)},
        {"title": "LITERASI DIGITAL SISWA SMA", "type": "Article", "creators": (),
         "doi": ("https://doi.org/10.1234/jip.v5i2.77",)}),
    "isbn-10 and hyphenated isbn-13": (
        {"title": "Sejarah Indonesia Modern", "isbn": ("0306406152",)},
        {"title": "Sejarah Indonesia modern 1200-2008", "year": 2020,
         "isbn": ("978-0-306-40615-7",)}),
    "inverted and direct name, trailing full stop": (
        {"title": TITLE, "creators": ("Santoso, Budi",)},
        {"title": "Pendidikan karakter di sekolah dasar.", "creators": ("Budi Santoso",)}),
    "typo in the title": ({}, {"title": "Pendidkan Karakter di Sekolah Dasar"}),
    "diacritics": (
        {"title": "Café dan Budaya Kota Bandung"}, {"title": "Cafe dan budaya kota Bandung"}),
    "subtitle given by one member only": (
        {}, {"title": TITLE + ": teori dan praktik", "year": 2020}),
    "type unknown on one side": ({}, {"type": None}),
    "year missing on one side": ({}, {"year": None}),
    "two journal records of one issn": (
        {"title": "Jurnal Ilmu Pendidikan", "type": "Journal", "creators": (),
         "issn": ("0378-5955",)},
        {"title": "JIP", "type": "Journal", "creators": (), "issn": ("03785955",)}),
}

APART: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "same title, different author": ({}, {"creators": ("Wahyuni, Sri",)}),
    "same title and author, years 5 apart": ({}, {"year": 2024}),
    "book and article of one title": ({}, {"type": "Article"}),
    "thesis and dissertation": ({"type": "Thesis"}, {"type": "Dissertation"}),
    "a book and its review": ({}, {"title": "Resensi: " + TITLE, "type": None}),
    "a book and its review in english": (
        {"title": "The Rainbow Troops"}, {"title": "Review of The Rainbow Troops"}),
    "two articles of one journal": (
        {"title": "Literasi Digital Siswa Sekolah Menengah", "type": "Article",
         "issn": ("0378-5955",)},
        {"title": "Kompetensi Pedagogik Guru Sekolah Dasar", "type": "Article",
         "issn": ("0378-5955",)}),
    "annual reports of two years": (
        {"title": "Laporan Tahunan 2019", "creators": (), "year": 2019},
        {"title": "Laporan Tahunan 2020", "creators": (), "year": 2020}),
    "consecutive reports of one office": (
        {"title": "Laporan Kinerja Dinas Pendidikan Kabupaten Bogor",
         "creators": ("Dinas Pendidikan",), "year": 2019, "type": "Report"},
        {"title": "Laporan Kinerja Dinas Pendidikan Kabupaten Bogor",
         "creators": ("Dinas Pendidikan",), "year": 2020, "type": "Report"}),
    "no author, years one apart": ({"creators": ()}, {"creators": (), "year": 2020}),
    "short generic title without an author": (
        {"title": "Proceedings", "creators": (), "year": 2019},
        {"title": "Proceedings", "creators": (), "year": 2019}),
    "one author missing": ({}, {"creators": ()}),
    "shared isbn, editions years apart": (
        {"isbn": ("0306406152",), "year": 2001}, {"isbn": ("9780306406157",), "year": 2010}),
    "shared isbn, volumes of a set": (
        {"title": "Matematika SMA Jilid 1", "isbn": ("9780306406157",)},
        {"title": "Matematika SMA Jilid 2", "isbn": ("9780306406157",)}),
    "two papers carrying the proceedings isbn": (
        {"title": "Literasi Digital Siswa Sekolah Menengah", "type": "Conference paper",
         "isbn": ("9780306406157",)},
        {"title": "Kompetensi Pedagogik Guru Sekolah Dasar", "type": "Conference paper",
         "isbn": ("9780306406157",), "creators": ("Wahyuni, Sri",)}),
    "same doi, different types": (
        {"type": "Book", "doi": ("10.1/x",)}, {"type": "Book chapter", "doi": ("10.1/x",)}),
}


@pytest.mark.parametrize("case", list(MERGE), ids=list(MERGE))
def test_duplicates_merge(case: str) -> None:
    left, right = MERGE[case]
    assert linked(keys(**left), keys(**right))


@pytest.mark.parametrize("case", list(APART), ids=list(APART))
def test_near_misses_stay_apart(case: str) -> None:
    left, right = APART[case]
    assert not linked(keys(**left), keys(**right))


def test_block_keys_small_and_selective() -> None:
    many = keys(doi=("10.1/a", "10.1/b", "10.1/c"), isbn=("0306406152", "9786020000004"),
                issn=("0378-5955",))
    assert len(block_keys(many)) <= 6
    assert block_keys(keys(title="Laporan Tahunan 2019", creators=())) == ()
    report = keys(title="Laporan Tahunan Dinas Pendidikan", creators=(), year=2019)
    assert all("|y" in key for key in block_keys(report))
    other_author = keys(creators=("Wahyuni, Sri",))
    assert not set(block_keys(keys())) & set(block_keys(other_author))


def test_cluster_is_transitive_and_named_by_smallest_id() -> None:
    a = keys(title="Pendidikan Karakter di Sekolah Dasar", isbn=("0306406152",), year=2018)
    b = keys(title="Pendidikan karakter di sekolah dasar", year=2019)
    c = keys(title="Pendidkan Karakter di Sekolah Dasar", year=2020)
    assert not same_work(a, c)  # only through b
    lone = keys(creators=("Wahyuni, Sri",))
    assert cluster_records([(30, c), (7, b), (12, a), (5, lone)]) == {
        30: 7, 7: 7, 12: 7, 5: 5}


def test_giant_block_stays_linear_and_merges_true_copies() -> None:
    same = [(i, keys(title="Laporan Kinerja Dinas Pendidikan", creators=(), year=2019))
            for i in range(500)]
    clusters = cluster_records(same)
    assert set(clusters.values()) == {0}


CORPUS = [
    keys(),
    keys(title="Pendidikan karakter di sekolah dasar.", creators=("Budi Santoso",)),
    keys(title="Pendidkan Karakter di Sekolah Dasar", year=2020),
    keys(title=TITLE + ": teori dan praktik", year=2021, creators=("Santosa, Budi",)),
    keys(creators=("Wahyuni, Sri",)),
    keys(type="Article"),
    keys(title="Resensi: " + TITLE, type=None),
    keys(title="Sejarah Indonesia Modern", isbn=("0306406152",), creators=()),
    keys(title="Sejarah Indonesia modern : 1200-2008", isbn=("9780306406157",)),
    keys(title="Laporan Tahunan 2019", creators=()),
    keys(title="Laporan Tahunan 2020", creators=()),
    keys(title="Literasi Digital Siswa", type="Article", doi=("10.1/a",)),
    keys(title="literasi digital siswa", type="Article", doi=("10.1/A",), year=2015),
]


@settings(max_examples=60, deadline=None)
@given(st.permutations(list(enumerate(CORPUS, start=100))))
def test_clustering_ignores_input_order(items: list[tuple[int, MatchKeys]]) -> None:
    clusters = cluster_records(items)
    assert clusters == cluster_records(enumerate(CORPUS, start=100))
    for record_id, cluster_id in clusters.items():
        assert cluster_id == min(r for r, c in clusters.items() if c == cluster_id)
        assert cluster_id <= record_id


FIELDS = st.builds(
    Fields,
    title=st.sampled_from([TITLE, TITLE.upper() + ".", "Pendidkan Karakter di Sekolah Dasar",
                           "Resensi: " + TITLE, TITLE + ": teori dan praktik", "Laporan",
                           "Matematika SMA Jilid 1", "Matematika SMA Jilid 2", None]),
    creators=st.sampled_from([(), ("Santoso, Budi",), ("Budi Santosa",), ("Wahyuni, Sri",)]),
    year=st.sampled_from([None, 2017, 2019, 2020]),
    type=st.sampled_from([None, "Book", "Article", "Conference paper", "Other"]),
    identifiers=st.sampled_from([{}, {"isbn": ("0306406152",)}, {"isbn": ("9780306406157",)},
                                 {"doi": ("10.1/x",)}, {"issn": ("0378-5955",)}]),
)


@settings(max_examples=300)
@given(FIELDS, FIELDS)
def test_same_work_is_symmetric(left: Fields, right: Fields) -> None:
    a, b = match_keys(left), match_keys(right)
    assert same_work(a, b) == same_work(b, a)


def test_match_keys_survive_their_stored_json_form() -> None:
    from aggregator.normalize.stored import keys_from_json, keys_to_json

    keys = MatchKeys(dois=("10.1/x",), isbns=("9789790000000",), issns=("1234-5678",),
                     title="a", full_title="a b", surname="c", year=2001, type="Book",
                     words=("alpha", "beta"), main_words=1, numbers=("2",), review=True)
    assert keys_from_json(json.loads(json.dumps(keys_to_json(keys)))) == keys
    assert keys_from_json({}) == MatchKeys()


def test_a_shared_doi_needs_agreeing_titles() -> None:
    thesis = keys(title="Pengaruh Literasi Digital terhadap Prestasi Belajar Siswa",
                  type="Thesis", doi=("10.1234/jurnal.v1",))
    # case, punctuation and a subtitle one member left out: the same thesis
    for title in ("PENGARUH LITERASI DIGITAL TERHADAP PRESTASI BELAJAR SISWA.",
                  "Pengaruh literasi digital terhadap prestasi belajar siswa: studi kasus "
                  "SMA Negeri 1 Bandung"):
        assert linked(thesis, keys(title=title, type="Thesis", year=2021,
                                   doi=("https://doi.org/10.1234/JURNAL.V1",)))
    # the journal's DOI on another article: not the same work
    other = keys(title="Manajemen Arsip Dinamis di Perpustakaan Daerah", type="Thesis",
                 creators=("Santoso, Budi",), doi=("10.1234/jurnal.v1",))
    assert not linked(thesis, other)


def test_overused_identifiers_are_named_per_source() -> None:
    from aggregator.cluster.rule import IDENTIFIER_LIMIT, overused, without

    many = [("doi:10.1/j", rid, 1) for rid in range(IDENTIFIER_LIMIT + 1)]
    few = [("doi:10.1/j", 100 + rid, 2) for rid in range(IDENTIFIER_LIMIT)]
    bad = overused([*many, *few, ("t:abcd|x", 0, 1)])
    assert bad == {rid: frozenset({"doi:10.1/j"}) for rid in range(IDENTIFIER_LIMIT + 1)}
    k = keys(doi=("10.1/j", "10.1/k"), isbn=("9786020000004",))
    assert without(k, bad[0]).dois == ("10.1/k",)
    assert without(k, {"isbn:9786020000004"}).isbns == ()
