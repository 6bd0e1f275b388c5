"""The search conformance suite: every backend in BACKENDS must pass all of it."""

from __future__ import annotations

import importlib
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aggregator.errors import SearchError
from aggregator.index.backends import BACKEND_MODULES, BACKENDS, open_backend, sort_title
from aggregator.index.model import FACETS, IndexDoc, SearchBackend, SearchQuery, SearchResult

MEMBERS = ("ui", "ugm", "itb", "unair")
TYPES = ("Book", "Article", "Thesis")
LANGUAGES = (("id",), ("en",), ("id", "en"))
SUBJECTS = (("Pendidikan",), ("Ekonomi", "Koperasi"), ("Sejarah",), ())
XSS_TITLE = "<script>alert(1)</script> Sejarah Jawa"

_TITLES = [
    "Pendidikan Anak Usia Dini di Jawa Barat",              # d01
    "Café Résumé: a study of naming",                        # d02
    XSS_TITLE,                                               # d03
    "Zamrud khatulistiwa",                                   # d04: title match
    "Laporan tahunan perpustakaan",                          # d05: abstract match
    "Catatan lapangan",                                      # d06: text-only match
    "Dini hari di kota, usia senja",                         # d07: both words, not a phrase
    "Kopi dan petani Gayo",                                  # d08
    "Teh hijau dan kesehatan",                               # d09
    "Ekonomi koperasi desa",                                 # d10
    "Bumi Manusia",                                          # d11: author Pramoedya
    "Membaca ulang sastra Indonesia",                        # d12: Pramoedya in abstract
    "Pendidikan karakter di sekolah dasar",                  # d13
    "Machine learning for library catalogues",               # d14
    "Children's education in rural Indonesia",               # d15
    "Sejarah pelabuhan Makassar",                            # d16
    "Undated pamphlet on pendidikan",                        # d17: no year
]
_FILLER = [
    "Pertanian padi organik", "Hukum adat Minangkabau", "Kesehatan ibu dan anak",
    "Arsitektur rumah Toraja", "Open access in Southeast Asia", "Metadata quality audit",
    "Bahasa daerah yang terancam punah", "Perikanan laut Maluku", "Geologi gunung api",
    "Statistik kemiskinan kota", "Urban transport in Jakarta", "Tari tradisional Bali",
    "Kimia bahan alam", "Digital preservation of manuscripts", "Pariwisata berkelanjutan",
    "Energi surya di pedesaan", "Musik keroncong", "Water management in Java",
    "Pendidikan anak berkebutuhan khusus", "Filsafat ilmu", "Anak jalanan di kota besar",
    "Ekonomi kreatif", "Library consortia and union catalogues",
]


def _corpus() -> list[IndexDoc]:
    docs = []
    for n, title in enumerate(_TITLES + _FILLER, start=1):
        docs.append(IndexDoc(
            id=f"d{n:02d}", title=title,
            creators=(f"Penulis {n}, Nama",), contributors=("Editor, Umum",),
            subjects=SUBJECTS[n % 4], abstract=f"Ringkasan nomor {n} tentang koleksi.",
            publisher="Penerbit Nusantara", text=f"isbn-{n:04d}",
            year=1998 + (n * 7) % 27, type=TYPES[n % 3], languages=LANGUAGES[n % 3],
            members=MEMBERS[: 1 + n % 4][::-1] if n % 2 else MEMBERS[n % 4 :],
            record_ids=(n, 1000 + n),
        ))
    special = {
        "d03": {"abstract": "<img src=x onerror=alert(1)> sejarah Jawa"},
        "d05": {"abstract": "Laporan ini memuat zamrud sebagai nama koleksi."},
        "d06": {"text": "catatan zamrud lapangan arsip nomor"},
        "d11": {"creators": ("Pramoedya Ananta Toer",)},
        "d12": {"abstract": "Esai tentang karya Pramoedya dan sezamannya."},
        "d17": {"year": None},
    }
    return [_replace(d, **special.get(d.id, {})) for d in docs]


def _replace(doc: IndexDoc, **changes: object) -> IndexDoc:
    values = {name: getattr(doc, name) for name in doc.__slots__}
    values.update(changes)
    return IndexDoc(**values)  # type: ignore[arg-type]


CORPUS = _corpus()
BY_ID = {d.id: d for d in CORPUS}


def _backend_available(name: str) -> str | None:
    """None when the backend's module imports, else why not."""
    try:
        importlib.import_module(BACKEND_MODULES[name][0])
    except ImportError as exc:
        return f"the {name} backend does not import yet: {exc}"
    return None


def _open(name: str, path: Path) -> SearchBackend:
    reason = _backend_available(name)
    if reason:
        pytest.skip(reason)
    return open_backend(name, path)


@pytest.fixture(params=BACKENDS)
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchBackend]:
    """A fresh, empty index of each backend."""
    backend = _open(request.param, tmp_path / "index")
    yield backend
    backend.close()


@pytest.fixture
def backend(empty: SearchBackend) -> SearchBackend:
    """A fresh index of each backend holding the corpus."""
    empty.add(CORPUS)
    empty.commit({"change_seq": len(CORPUS)})
    return empty


def ids(result: SearchResult) -> set[str]:
    return {hit.id for hit in result.hits}


def find(backend: SearchBackend, text: str, **kw: object) -> set[str]:
    return ids(backend.search(SearchQuery(text=text, per_page=100, **kw)))  # type: ignore[arg-type]


def where(predicate: Callable[[IndexDoc], bool]) -> set[str]:
    return {d.id for d in CORPUS if predicate(d)}


def words(*parts: str) -> Callable[[IndexDoc], bool]:
    """Whether a document has every folded word somewhere in its text fields."""
    def has(doc: IndexDoc) -> bool:
        blob = " ".join([doc.title, *doc.other_titles, *doc.creators, *doc.contributors,
                         *doc.subjects, doc.abstract, doc.publisher, doc.text])
        found = set(sort_title(blob).split())
        return all(p in found for p in parts)
    return has


# -- writing ------------------------------------------------------------------------------


def test_changes_are_visible_after_commit(empty: SearchBackend) -> None:
    empty.add(CORPUS[:5])
    assert empty.count() == 0
    empty.commit({"change_seq": 1})
    assert empty.count() == 5


def test_add_replace_delete_count(backend: SearchBackend) -> None:
    assert backend.count() == len(CORPUS)
    backend.add([_replace(BY_ID["d08"], title="Kakao dan petani Sulawesi")])
    backend.commit({"change_seq": 41})
    assert backend.count() == len(CORPUS)
    assert find(backend, "kakao") == {"d08"}
    assert find(backend, "gayo") == set()
    backend.delete(["d09", "d10", "no-such-id"])
    backend.commit({"change_seq": 42})
    assert backend.count() == len(CORPUS) - 2
    assert find(backend, "teh") == set()
    assert backend.search(SearchQuery()).total == len(CORPUS) - 2


def test_repeated_id_in_one_batch_keeps_the_last(empty: SearchBackend) -> None:
    empty.add([IndexDoc("x", title="pertama"), IndexDoc("x", title="kedua")])
    empty.add([IndexDoc("y", title="ketiga")])
    empty.delete(["y"])
    empty.commit({"change_seq": 1})
    assert empty.count() == 1
    assert find(empty, "kedua") == {"x"}
    assert find(empty, "pertama") == set()


@pytest.mark.parametrize("name", BACKENDS)
def test_meta_round_trip_across_reopen(name: str, tmp_path: Path) -> None:
    path = tmp_path / "index"
    backend = _open(name, path)
    assert backend.meta() == {}
    backend.add(CORPUS[:3])
    backend.commit({"change_seq": 7, "built": "2024-01-01T00:00:00Z"})
    backend.close()
    again = open_backend(name, path, create=False)
    try:
        assert again.meta() == {"change_seq": 7, "built": "2024-01-01T00:00:00Z"}
        assert again.count() == 3
    finally:
        again.close()


@pytest.mark.parametrize("name", BACKENDS)
def test_missing_index_without_create_is_a_search_error(name: str, tmp_path: Path) -> None:
    if reason := _backend_available(name):
        pytest.skip(reason)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SearchError, match="rebuild"):
        open_backend(name, tmp_path / "empty", create=False)


def test_unknown_backend_is_a_search_error(tmp_path: Path) -> None:
    with pytest.raises(SearchError, match="unknown search backend"):
        open_backend("lucene", tmp_path)


# -- query language -----------------------------------------------------------------------


def test_empty_query_returns_everything(backend: SearchBackend) -> None:
    result = backend.search(SearchQuery(per_page=100))
    assert result.total == len(CORPUS)
    assert ids(result) == set(BY_ID)
    assert not result.fallback


def test_all_words_must_match(backend: SearchBackend) -> None:
    expected = where(words("pendidikan", "anak"))
    assert len(expected) >= 2 and len(find(backend, "pendidikan")) > len(expected)
    assert find(backend, "pendidikan anak") == expected
    assert find(backend, "PENDIDIKAN, anak!") == expected


def test_phrase(backend: SearchBackend) -> None:
    assert find(backend, "usia dini") == {"d01", "d07"}
    assert find(backend, '"usia dini"') == {"d01"}
    assert find(backend, '"anak usia dini"') == {"d01"}


def test_phrase_never_spans_two_values(backend: SearchBackend) -> None:
    both = {d.id for d in CORPUS if d.subjects == ("Ekonomi", "Koperasi")}
    assert both <= find(backend, "subject:ekonomi subject:koperasi") and both
    assert find(backend, 'subject:"ekonomi koperasi"') == set()  # two headings, no phrase
    assert find(backend, '"ekonomi koperasi"') == {"d10"}  # the title's phrase


def test_field_prefixes(backend: SearchBackend) -> None:
    assert find(backend, "pramoedya") == {"d11", "d12"}
    assert find(backend, "author:pramoedya") == {"d11"}
    assert find(backend, "pengarang:Pramoedya") == {"d11"}
    assert find(backend, 'author:"ananta toer"') == {"d11"}
    assert find(backend, "title:zamrud") == {"d04"}
    assert find(backend, "judul:zamrud") == {"d04"}
    assert find(backend, "subject:koperasi") == where(lambda d: "Koperasi" in d.subjects)
    assert find(backend, "subjek:koperasi") == find(backend, "subject:koperasi")
    assert "d10" not in find(backend, "subject:koperasi")  # the word is only in its title


def test_or(backend: SearchBackend) -> None:
    assert find(backend, "kopi OR teh") == {"d08", "d09"}
    assert find(backend, "kopi | teh | title:zamrud") == {"d04", "d08", "d09"}
    assert find(backend, "kopi or teh") == set()  # lower-case "or" is a word


def test_exclusion(backend: SearchBackend) -> None:
    anak = where(words("anak"))
    assert find(backend, "anak -dini") == anak - where(words("dini"))
    assert find(backend, 'anak -"usia dini"') == anak - {"d01"}
    assert find(backend, "-pendidikan") == set(BY_ID) - where(words("pendidikan"))
    assert find(backend, "zamrud -title:zamrud") == {"d05", "d06"}


@pytest.mark.parametrize(("text", "low", "high"), [
    ("year:2005", 2005, 2005), ("year:2005..2010", 2005, 2010),
    ("year:..2003", None, 2003), ("year:2020..", 2020, None),
])
def test_year_ranges(backend: SearchBackend, text: str, low: int | None,
                     high: int | None) -> None:
    expected = where(lambda d: d.year is not None and (low is None or d.year >= low)
                     and (high is None or d.year <= high))
    assert expected
    assert find(backend, text) == expected
    assert find(backend, "-" + text) == set(BY_ID) - expected


def test_syntax_error_falls_back_to_plain_words(backend: SearchBackend) -> None:
    result = backend.search(SearchQuery(text='"usia dini'))
    assert result.fallback
    assert ids(result) == {"d01", "d07"}
    assert backend.search(SearchQuery(text="kopi OR")).fallback
    assert ids(backend.search(SearchQuery(text="kopi OR"))) == {"d08"}


def test_wildcards_are_plain_words(backend: SearchBackend) -> None:
    assert find(backend, "zam*") == set()
    assert find(backend, "zamrud*") == {"d04", "d05", "d06"}
    assert find(backend, "zamrud~2") == set()  # read as the phrase "zamrud 2"


def test_unicode_folding(backend: SearchBackend) -> None:
    assert find(backend, "cafe") == {"d02"}
    assert find(backend, "CAFÉ RESUME") == {"d02"}
    assert find(backend, "title:resumé") == {"d02"}
    assert find(backend, "Cafe\u0301") == {"d02"}  # decomposed é


# -- ranking, sorting, paging ---------------------------------------------------------------


def test_relevance_title_over_abstract_over_text(backend: SearchBackend) -> None:
    result = backend.search(SearchQuery(text="zamrud"))
    assert [h.id for h in result.hits] == ["d04", "d05", "d06"]
    scores = [h.score for h in result.hits]
    assert scores[0] > scores[1] > scores[2] > 0


def _years(result: SearchResult) -> list[int | None]:
    return [h.year for h in result.hits]


def test_sort_newest_and_oldest(backend: SearchBackend) -> None:
    newest = _years(backend.search(SearchQuery(sort="newest", per_page=100)))
    oldest = _years(backend.search(SearchQuery(sort="oldest", per_page=100)))
    dated = sorted(d.year for d in CORPUS if d.year is not None)
    assert newest[:-1] == dated[::-1] and newest[-1] is None  # undated last
    assert oldest[:-1] == dated and oldest[-1] is None


def test_sorts_apply_to_the_matches_only(backend: SearchBackend) -> None:
    matching = {"d04", "d05", "d06", "d08"}
    newest = backend.search(SearchQuery(text="zamrud OR kopi", sort="newest"))
    assert ids(newest) == matching
    assert _years(newest) == sorted((BY_ID[i].year for i in matching), reverse=True)
    oldest = backend.search(SearchQuery(text="zamrud OR kopi", sort="oldest"))
    assert _years(oldest) == sorted(BY_ID[i].year for i in matching)


def test_sort_title(backend: SearchBackend) -> None:
    result = backend.search(SearchQuery(sort="title", per_page=100))
    keys = [sort_title(h.title) for h in result.hits]
    assert keys == sorted(keys)
    assert len(keys) == len(CORPUS)


def test_paging(backend: SearchBackend) -> None:
    everything = backend.search(SearchQuery(sort="title", per_page=100))
    order = [h.id for h in everything.hits]
    page2 = backend.search(SearchQuery(sort="title", page=2, per_page=15))
    assert page2.total == len(CORPUS)
    assert [h.id for h in page2.hits] == order[15:30]
    page3 = backend.search(SearchQuery(sort="title", page=3, per_page=15))
    assert [h.id for h in page3.hits] == order[30:]
    beyond = backend.search(SearchQuery(page=4, per_page=15))
    assert beyond.hits == () and beyond.total == len(CORPUS)
    assert len(backend.search(SearchQuery(per_page=0)).hits) == 1
    assert len(backend.search(SearchQuery(page=0, per_page=-5)).hits) == 1
    assert backend.search(SearchQuery(page=10**9)).hits == ()


def test_hit_fields(backend: SearchBackend) -> None:
    (hit,) = backend.search(SearchQuery(text="author:pramoedya")).hits
    doc = BY_ID["d11"]
    assert (hit.id, hit.title, hit.creators, hit.year, hit.type, hit.languages, hit.members,
            hit.record_ids) == (doc.id, doc.title, doc.creators, doc.year, doc.type,
                                doc.languages, doc.members, doc.record_ids)


# -- facets and filters -----------------------------------------------------------------------


def _expected_facets(docs: list[IndexDoc]) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter[str]] = {f: Counter() for f in FACETS}
    for d in docs:
        counts["member"].update(d.members)
        counts["language"].update(d.languages)
        counts["subject"].update(d.subjects)
        if d.type:
            counts["type"][d.type] += 1
        if d.year is not None:
            counts["year"][str(d.year)] += 1
    return {f: dict(c) for f, c in counts.items()}


def _facets(result: SearchResult) -> dict[str, dict[str, int]]:
    return {name: dict(values) for name, values in result.facets.items()}


def test_facet_counts(backend: SearchBackend) -> None:
    result = backend.search(SearchQuery(facet_limit=100))
    assert set(result.facets) == set(FACETS)
    assert _facets(result) == _expected_facets(CORPUS)
    for values in result.facets.values():
        counts = [c for _, c in values]
        assert counts == sorted(counts, reverse=True)


def test_facet_limit_keeps_the_most_frequent(backend: SearchBackend) -> None:
    result = backend.search(SearchQuery(facets=("member", "year"), facet_limit=2))
    assert set(result.facets) == {"member", "year"}
    top = sorted(_expected_facets(CORPUS)["member"].values(), reverse=True)[:2]
    assert [c for _, c in result.facets["member"]] == top
    assert len(result.facets["year"]) == 2


def test_each_facet_can_have_its_own_limit(backend: SearchBackend) -> None:
    expected = _expected_facets(CORPUS)
    result = backend.search(SearchQuery(facets=("member", "year", "subject"), facet_limit=2,
                                        facet_limits={"year": 1000, "subject": 3}))
    assert dict(result.facets["year"]) == expected["year"]  # every year, counted exactly
    assert len(expected["year"]) > 3
    assert len(result.facets["member"]) == 2 and len(result.facets["subject"]) == 3
    top = sorted(expected["subject"].values(), reverse=True)[:3]
    assert [c for _, c in result.facets["subject"]] == top


def test_filters_and_across_or_within(backend: SearchBackend) -> None:
    one = backend.search(SearchQuery(filters={"member": ("ui",), "type": ("Book",)},
                                     per_page=100, facet_limit=100))
    expected = [d for d in CORPUS if "ui" in d.members and d.type == "Book"]
    assert ids(one) == {d.id for d in expected} and one.total == len(expected)
    assert _facets(one) == _expected_facets(expected)  # counts follow the filtered set
    either = find(backend, "", filters={"member": ("itb", "unair"), "language": ("en",)})
    assert either == where(lambda d: bool({"itb", "unair"} & set(d.members))
                           and "en" in d.languages)
    subject = find(backend, "pendidikan", filters={"subject": ("Pendidikan", "Sejarah")})
    assert subject == where(lambda d: words("pendidikan")(d)
                            and bool({"Pendidikan", "Sejarah"} & set(d.subjects)))


def test_year_bounds_and_facet(backend: SearchBackend) -> None:
    got = find(backend, "", year_from=2000, year_to=2010)
    assert got == where(lambda d: d.year is not None and 2000 <= d.year <= 2010)
    assert find(backend, "", year_from=2020) == where(lambda d: (d.year or 0) >= 2020)
    assert find(backend, "", filters={"year": ("2005",)}) == where(lambda d: d.year == 2005)


# -- highlights and suggestions -------------------------------------------------------------------

_TAG = re.compile(r"<[^>]*>")


def test_highlights_are_escaped_and_marked(backend: SearchBackend) -> None:
    result = backend.search(SearchQuery(text="sejarah jawa script img alert onerror"))
    assert {h.id for h in result.hits} == {"d03"}
    (hit,) = result.hits
    assert hit.title == XSS_TITLE  # the hit carries the raw value; templates escape it
    for snippet in hit.highlights.values():
        assert "<script" not in snippet.lower() and "<img" not in snippet.lower()
        assert set(_TAG.findall(snippet)) <= {"<mark>", "</mark>"}
    assert "<mark>Sejarah</mark>" in hit.highlights["title"]
    assert "&lt;" in hit.highlights["title"]
    assert "<mark>" in hit.highlights["abstract"]


def test_highlights_mark_folded_matches(backend: SearchBackend) -> None:
    (hit,) = backend.search(SearchQuery(text="cafe")).hits
    assert "<mark>Café</mark>" in hit.highlights["title"]
    (plain,) = backend.search(SearchQuery(text="cafe", highlight=False)).hits
    assert plain.highlights == {}


def test_suggest(backend: SearchBackend) -> None:
    got = backend.suggest("pend")
    assert got and got[0] == "pendidikan" and all(w.startswith("pend") for w in got)
    assert all(w.startswith("ka") for w in backend.suggest("Ka"))
    assert "cafe" in backend.suggest("caf")
    assert len(backend.suggest("p", limit=2)) == 2
    assert backend.suggest("qqqq") == []


# -- abuse on a big index -------------------------------------------------------------------

BIG = 20_000
_VOCAB = [f"{a}{b}" for a in ("ka", "ba", "ta", "ma", "sa", "ra", "la", "pa", "da", "ga")
          for b in ("lang", "run", "tik", "sar", "mon", "pet", "dus", "wan", "gir", "hol",
                    "cak", "bin", "tor", "yum", "sik", "nel", "far", "zup", "koi", "vel")]


@pytest.fixture(scope="module", params=BACKENDS)
def big(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchBackend]:
    """A 20,000-document index of each backend, built once for the module."""
    backend = _open(request.param, tmp_path_factory.mktemp(f"big-{request.param}"))
    rng = random.Random(20)
    docs = (IndexDoc(id=str(n), title=" ".join(rng.choices(_VOCAB, k=6)),
                     creators=(f"{rng.choice(_VOCAB)}, {rng.choice(_VOCAB)}",),
                     subjects=(rng.choice(_VOCAB[:30]),),
                     abstract=" ".join(rng.choices(_VOCAB, k=25)),
                     year=1980 + n % 45, type=TYPES[n % 3], languages=LANGUAGES[n % 3],
                     members=(MEMBERS[n % 4],), record_ids=(n,))
            for n in range(BIG))
    backend.add(docs)
    backend.commit({"change_seq": BIG})
    yield backend
    backend.close()


@pytest.mark.slow
@pytest.mark.parametrize("text", [
    " OR ".join(_VOCAB[:200]),
    "a* b* c* k* ka* *a* ?a* ka~ b~2",
    "",
    _VOCAB[0],
    " ".join(_VOCAB[:3]),
])
def test_hostile_queries_finish_in_time(big: SearchBackend, text: str) -> None:
    started = time.monotonic()
    result = big.search(SearchQuery(text=text, page=50, per_page=100))
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"{big.name}: {elapsed:.2f} s for {text[:40]!r}"
    assert result.total <= BIG
    print(f"{big.name} {text[:30]!r}: {result.total} hits in {elapsed * 1000:.0f} ms")


@pytest.mark.slow
def test_big_index_counts_and_clamps(big: SearchBackend) -> None:
    assert big.count() == BIG
    result = big.search(SearchQuery(per_page=1000, facets=("member",)))
    assert result.total == BIG and len(result.hits) == 100
    assert dict(result.facets["member"]) == {m: BIG // 4 for m in MEMBERS}
