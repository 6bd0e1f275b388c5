"""Tests specific to the tantivy backend: analysis, replacement, meta, facets, sorting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.errors import SearchError, SearchTimeout
from aggregator.index import tantivy_backend
from aggregator.index.highlight import highlight
from aggregator.index.model import IndexDoc, SearchQuery
from aggregator.index.tantivy_backend import TantivyBackend


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[TantivyBackend]:
    engine = TantivyBackend(tmp_path / "idx")
    yield engine
    engine.close()


def _ids(engine: TantivyBackend, **kwargs: object) -> list[str]:
    return [hit.id for hit in engine.search(SearchQuery(**kwargs)).hits]  # type: ignore[arg-type]


def _corpus() -> list[IndexDoc]:
    return [
        IndexDoc(id="1", title="Sejarah kopi Nusantara", creators=("Hatta, Mohammad",),
                 subjects=("Kopi", "Sejarah"), year=2019, type="Book", languages=("id",),
                 members=("ui", "ugm")),
        IndexDoc(id="2", title="Coffee and trade", abstract="Kopi in colonial Java.",
                 subjects=("Kopi",), year=2021, type="Article", languages=("en",),
                 members=("ugm",)),
        IndexDoc(id="3", title="Teh dan gula", subjects=("Teh",), year=2019, type="Thesis",
                 languages=("id", "en"), members=("itb",)),
        IndexDoc(id="4", title="Pendidikan anak", subjects=("Pendidikan",), type="Book",
                 languages=("id",), members=("ui",)),
    ]


@pytest.fixture
def corpus(backend: TantivyBackend) -> TantivyBackend:
    backend.add(_corpus())
    backend.commit({"change_seq": 4})
    return backend


@pytest.mark.parametrize(
    ("indexed", "typed"),
    [("Café Society", "cafe"), ("cafe society", "CAFÉ"), ("Cafe\u0301 crème", "café"),
     ("Ørsted", "orsted"), ("Straße", "strasse"), ("Ｐｅｎｄｉｄｉｋａｎ", "pendidikan")],
)
def test_folding_matches_both_ways(backend: TantivyBackend, indexed: str, typed: str) -> None:
    backend.add([IndexDoc(id="x", title=indexed)])
    backend.commit({})
    assert _ids(backend, text=typed) == ["x"]
    assert _ids(backend, text=f'"{typed}"') == ["x"]


def test_add_replaces_by_id(backend: TantivyBackend) -> None:
    backend.add([IndexDoc(id="7", title="first version")])
    backend.commit({})
    backend.add([IndexDoc(id="7", title="second version"), IndexDoc(id="8", title="other")])
    backend.add([IndexDoc(id="8", title="other again")])  # twice in one batch: last wins
    backend.commit({})
    assert backend.count() == 2
    assert _ids(backend, text="first") == []
    assert _ids(backend, text="second") == ["7"]
    assert [h.title for h in backend.search(SearchQuery(text="other")).hits] == ["other again"]


def test_changes_show_only_after_commit_and_delete_works(corpus: TantivyBackend) -> None:
    corpus.add([IndexDoc(id="9", title="Kopi baru")])
    corpus.delete(["1"])
    assert corpus.count() == 4
    assert "9" not in _ids(corpus, text="kopi")
    corpus.commit({"change_seq": 6})
    assert corpus.count() == 4
    assert sorted(_ids(corpus, text="kopi")) == ["2", "9"]


def test_meta_survives_reopen(tmp_path: Path) -> None:
    first = TantivyBackend(tmp_path)
    assert first.meta() == {}
    first.add(_corpus())
    first.commit({"change_seq": 42, "built": "2024-05-01T00:00:00Z"})
    first.close()
    again = TantivyBackend(tmp_path, create=False)
    assert again.meta() == {"change_seq": 42, "built": "2024-05-01T00:00:00Z"}
    assert again.count() == 4
    assert not list(tmp_path.glob("*.tmp"))
    again.close()


def test_missing_index_without_create_is_a_search_error(tmp_path: Path) -> None:
    with pytest.raises(SearchError):
        TantivyBackend(tmp_path / "nothing", create=False)


def test_second_writer_waits_then_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tantivy_backend, "WRITER_TIMEOUT", 0.2)
    holder = TantivyBackend(tmp_path)
    holder.add([IndexDoc(id="1", title="held")])
    other = TantivyBackend(tmp_path)
    with pytest.raises(SearchError):
        other.add([IndexDoc(id="2", title="blocked")])
    holder.close()
    other.add([IndexDoc(id="2", title="now free")])
    other.commit({})
    assert _ids(other, text="free") == ["2"]
    other.close()


def test_facet_counts_cover_the_filtered_set(corpus: TantivyBackend) -> None:
    everything = corpus.search(SearchQuery())
    assert everything.total == 4
    assert everything.facets["member"] == (("ugm", 2), ("ui", 2), ("itb", 1))
    assert everything.facets["year"] == (("2019", 2), ("2021", 1))
    assert everything.facets["language"] == (("id", 3), ("en", 2))
    assert everything.facets["type"] == (("Book", 2), ("Article", 1), ("Thesis", 1))
    assert everything.facets["subject"][0] == ("Kopi", 2)

    filtered = corpus.search(SearchQuery(filters={"language": ("id",), "type": ("Book",)}))
    assert sorted(h.id for h in filtered.hits) == ["1", "4"]
    assert filtered.facets["member"] == (("ui", 2), ("ugm", 1))
    assert filtered.facets["year"] == (("2019", 1),)

    either = corpus.search(SearchQuery(filters={"member": ("itb", "ugm")}, facet_limit=1))
    assert either.total == 3
    assert either.facets["member"] == (("ugm", 2),)


def test_year_bounds_and_ranges(corpus: TantivyBackend) -> None:
    assert sorted(_ids(corpus, year_from=2020)) == ["2"]
    assert sorted(_ids(corpus, year_to=2019)) == ["1", "3"]
    assert sorted(_ids(corpus, text="year:2019..2021 -teh")) == ["1", "2"]
    assert sorted(_ids(corpus, text="kopi OR year:2019")) == ["1", "2", "3"]


def test_filters_do_not_change_the_ranking(backend: TantivyBackend) -> None:
    docs = [IndexDoc(id=str(n), title="kopi " + "teh " * n, year=2000 + n % 3,
                     members=("a", "b")[n % 2:]) for n in range(12)]
    backend.add(docs)
    backend.commit({})
    plain = _ids(backend, text="kopi", per_page=100)
    kept = set(_ids(backend, text="kopi", year_from=2001, filters={"member": ("b",)}))
    assert _ids(backend, text="kopi", year_from=2001, filters={"member": ("b",)}) == [
        i for i in plain if i in kept
    ]


def test_fields_boosts_phrases_and_exclusion(corpus: TantivyBackend) -> None:
    assert _ids(corpus, text="kopi") == ["1", "2"]  # a title match outranks an abstract one
    assert _ids(corpus, text="title:kopi") == ["1"]
    assert _ids(corpus, text="author:hatta") == ["1"]
    assert sorted(_ids(corpus, text="subject:kopi")) == ["1", "2"]
    assert _ids(corpus, text='"kopi nusantara"') == ["1"]
    assert _ids(corpus, text='"nusantara kopi"') == []
    assert _ids(corpus, text="kopi -coffee") == ["1"]


def test_sort_orders(corpus: TantivyBackend) -> None:
    assert _ids(corpus, sort="newest") == ["2", "3", "1", "4"]  # equal years by id; undated last
    assert _ids(corpus, sort="oldest") == ["1", "3", "2", "4"]
    assert _ids(corpus, sort="title") == ["2", "4", "1", "3"]


def test_ties_keep_a_fixed_order_across_batches_and_reopen(tmp_path: Path) -> None:
    engine = TantivyBackend(tmp_path)
    ids = ["5", "12", "3", "40", "7", "x-b", "x-a", "1"]
    for start in range(0, len(ids), 3):  # several segments
        engine.add([IndexDoc(id=i, title="Same title", year=2000) for i in ids[start:start + 3]])
        engine.commit({})
    orders = [_ids(engine, sort=s, per_page=100) for s in ("newest", "oldest", "title")]
    numeric = sorted((i for i in ids if i.isdecimal()), key=int)
    assert [i for i in orders[1] if i.isdecimal()] == numeric
    assert [i for i in orders[0] if i.isdecimal()] == numeric[::-1]
    engine.close()
    again = TantivyBackend(tmp_path)
    assert [_ids(again, sort=s, per_page=100) for s in ("newest", "oldest", "title")] == orders
    again.close()


def test_paging_is_clamped(corpus: TantivyBackend) -> None:
    assert len(corpus.search(SearchQuery(per_page=0)).hits) == 1
    assert _ids(corpus, sort="title", per_page=2, page=2) == ["1", "3"]
    assert corpus.search(SearchQuery(page=99)).hits == ()
    assert corpus.search(SearchQuery(page=99)).total == 4


def test_hits_come_from_the_stored_display(backend: TantivyBackend) -> None:
    backend.add([IndexDoc(id="5", title="<script>alert(1)</script> kopi", creators=("A, B",),
                          year=1999, type="Book", languages=("id",), members=("ui",),
                          abstract="Tentang kopi.", record_ids=(11, 12))])
    backend.commit({})
    hit = backend.search(SearchQuery(text="kopi")).hits[0]
    assert (hit.id, hit.creators, hit.year, hit.record_ids) == ("5", ("A, B",), 1999, (11, 12))
    assert hit.title.startswith("<script>")  # raw, the template escapes it
    assert "<script>" not in hit.highlights["title"]
    assert "&lt;script&gt;" in hit.highlights["title"]
    assert "<mark>kopi</mark>" in hit.highlights["abstract"]
    assert backend.search(SearchQuery(text="kopi", highlight=False)).hits[0].highlights == {}


def test_suggest_folds_and_ranks_by_frequency(backend: TantivyBackend) -> None:
    titles = ["Pendidikan dasar", "Pendidikan tinggi", "Pendapatan daerah", "Pendidik"]
    backend.add([IndexDoc(id=str(n), title=t) for n, t in enumerate(titles)])
    backend.commit({})
    assert backend.suggest("PÉND") == ["pendidikan", "pendapatan", "pendidik"]
    assert backend.suggest("pend", limit=1) == ["pendidikan"]
    assert backend.suggest("  ") == []
    backend.delete(["2"])
    backend.commit({})
    assert backend.suggest("penda") == []  # words of deleted records are not suggested


def test_time_limit_raises_search_timeout(tmp_path: Path) -> None:
    engine = TantivyBackend(tmp_path, time_limit=0.0)
    with pytest.raises(SearchTimeout):
        engine.search(SearchQuery(text="anything"))


@pytest.mark.parametrize("sort", ["relevance", "newest", "title"])
def test_facets_counted_in_groups_match_one_count(
    backend: TantivyBackend, sort: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without filters or a phrase, subjects are counted by a job of their own.
    monkeypatch.setattr(tantivy_backend, "SPLIT_FROM", 0)
    backend.add(_corpus())
    backend.commit({})
    backend.add([IndexDoc(id="2", title="Kopi again", subjects=("Kopi", "Teh"),
                          members=("a", "b", "c"))])
    backend.delete(["3"])
    backend.commit({})
    for text in ("", "kopi", '"sejarah kopi"', "-kopi", "nothing-matches"):
        for filters in ({}, {"member": ("ui", "a")}):
            result = backend.search(SearchQuery(text=text, filters=filters, sort=sort,
                                                per_page=1))
            alone = {facet: backend.search(SearchQuery(
                text=text, filters=filters, sort=sort, per_page=1, facets=(facet,)
            )).facets[facet] for facet in result.facets}
            assert list(result.facets) == list(SearchQuery().facets)
            assert result.facets == alone
            plain = backend.search(SearchQuery(text=text, filters=filters, sort=sort,
                                               per_page=1, facets=()))
            assert plain.facets == {} and result.total == plain.total
            assert [h.id for h in result.hits] == [h.id for h in plain.hits]


def test_facet_groups() -> None:
    def groups(query: SearchQuery, phrase: bool = False, docs: int = 10**6) -> list[list[str]]:
        return tantivy_backend._facet_groups(query, phrase, docs)

    every = list(SearchQuery().facets)
    assert groups(SearchQuery(text="kopi")) == [
        [f for f in every if f != "subject"], ["subject"]]
    assert groups(SearchQuery(text="kopi"), docs=1000) == [every]
    assert groups(SearchQuery(text='"sejarah kopi"'), phrase=True) == [every]
    assert groups(SearchQuery(text="kopi", year_from=2000)) == [every]
    assert groups(SearchQuery(text="kopi", filters={"type": ("Book",)})) == [every]
    assert groups(SearchQuery(text="kopi", facets=("subject",))) == [["subject"]]
    assert groups(SearchQuery(text="kopi", facets=())) == []


@pytest.mark.parametrize(("title", "abstract"), [
    ("Ｐｅｎｄｉｄｉｋａｎ kopi", "Cafe\u0301 dan kopi"),  # indexed NFKC, shown as harvested
    ("Pendidikan kopi", "Café dan kopi"),
    ("Kopi ﬁsika", ""), ("", "Tentang kopi"),
])
def test_hits_give_the_original_title_and_abstract(backend: TantivyBackend, title: str,
                                                   abstract: str) -> None:
    backend.add([IndexDoc(id="1", title=title, abstract=abstract, creators=("", "A, B"),
                          type=" Book", languages=("id", "ID"), members=("ui",),
                          record_ids=(3,))])
    backend.commit({})
    hit = backend.search(SearchQuery(text="kopi")).hits[0]
    assert (hit.title, hit.creators, hit.type, hit.languages) == (
        title, ("", "A, B"), " Book", ("id", "ID"))
    marked = {"title": highlight(title, ["kopi"])}
    if abstract:
        marked["abstract"] = highlight(abstract, ["kopi"])
        assert "<mark>kopi</mark>" in marked["abstract"]
    assert hit.highlights == marked


def _pair_corpus() -> list[IndexDoc]:
    """Works whose titles, abstracts and subjects reuse a few words, so that they are
    common; some phrases run across two values of one field, which must not match."""
    words = ["sistem", "informasi", "pendidikan", "karakter", "sekolah", "dasar", "desa"]
    docs = []
    for n in range(1200):
        pick = [words[(n * 7 + k * (n % 5 + 1)) % len(words)] for k in range(6)]
        docs.append(IndexDoc(
            id=str(n), title=" ".join(pick[:3]).capitalize(),
            abstract=f"{' '.join(pick)} nomor{n}", subjects=(pick[4], pick[5]),
            creators=(f"Penulis{n % 40}, {pick[0].title()}",), year=2000 + n % 20,
            type=("Book", "Thesis")[n % 2], members=(f"m{n % 3}",)))
    docs.append(IndexDoc(id="long", title=f"Sistem {'q' * 90} informasi",  # not a phrase
                         abstract=f"Sistem {'ü' * 90} informasi"))
    return docs


def _all_ids(engine: TantivyBackend, text: str, filters: dict[str, tuple[str, ...]]
             ) -> set[str]:
    found: set[str] = set()
    for page in range(1, 20):
        hits = engine.search(SearchQuery(text=text, filters=filters, per_page=100,
                                         page=page)).hits
        found.update(h.id for h in hits)
        if len(hits) < 100:
            return found
    raise AssertionError("more pages than expected")


def test_common_pairs_find_what_positions_find(tmp_path: Path) -> None:
    docs = _pair_corpus()
    plain = TantivyBackend(tmp_path / "plain")
    paired = TantivyBackend(tmp_path / "paired")
    texts = [[d.title, d.abstract, *d.subjects, *d.creators] for d in docs]
    common = paired.learn_common(texts)
    assert {"sistem", "informasi", "pendidikan"} <= common and "nomor7" not in common
    assert paired.learn_common([]) == common  # learnt once: the list never changes
    for engine in (plain, paired):
        engine.add(docs)
        engine.commit({"change_seq": 1})
    queries = ['"sistem informasi"', '"informasi sistem"', 'title:"pendidikan karakter"',
               '"sekolah dasar desa"', '"dasar desa" -"sistem informasi"',
               'subject:"sekolah dasar"', '"desa nomor7"', '"karakter sekolah" OR "desa desa"',
               'author:"penulis3 sistem"']
    for text in queries:
        for filters in ({}, {"type": ("Thesis",)}):
            want = plain.search(SearchQuery(text=text, filters=filters))
            got = paired.search(SearchQuery(text=text, filters=filters))
            assert got.total == want.total, text
            assert got.facets == want.facets, text
            # every match, page by page (the order may differ: a pair is scored as a term)
            assert _all_ids(paired, text, filters) == _all_ids(plain, text, filters), text
    # a phrase across two subject values is not a phrase, with pairs or positions
    first, second = docs[0].subjects
    assert first in common and second in common
    for engine in (plain, paired):
        assert _all_ids(engine, f'subject:"{first} {second}"', {}) == set()
    reopened = TantivyBackend(tmp_path / "paired", create=False)
    assert reopened.learn_common([]) == common  # kept with the index
    assert reopened.search(SearchQuery(text='"sistem informasi"')).total == plain.search(
        SearchQuery(text='"sistem informasi"')).total
    for engine in (plain, paired, reopened):
        engine.close()


def test_common_pairs_are_terms_of_their_own(tmp_path: Path) -> None:
    engine = TantivyBackend(tmp_path / "idx")
    engine.learn_common([[d.title, d.abstract] for d in _pair_corpus()])

    def shown(text: str) -> str:
        return repr(engine.translate(tantivy_backend.parse_query(text)))

    # one pair term per pair field (titles, subjects, abstract); positions elsewhere
    two = shown('"sistem informasi"')
    assert two.count('"sistem informasi"') == 4 and two.count("Phrase") == 4
    assert shown('"sistem informasi desa"').count("Phrase") == 8  # longer: positions
    assert '"sistem nomor7"' not in shown('"sistem nomor7"')  # a rare word: no pair
    engine.close()


def test_an_index_of_another_schema_asks_for_a_rebuild(tmp_path: Path) -> None:
    import tantivy

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True)  # e.g. built before the pair fields
    old = tantivy.Index(builder.build(), str(tmp_path))
    old.writer().commit()
    del old
    with pytest.raises(SearchError, match="another version: run `aggregator index rebuild`"):
        TantivyBackend(tmp_path, create=False)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("abcXYZ019 -.,'/_\t\n") | st.characters(
    max_codepoint=0x7F), max_size=200) | st.builds(
    lambda a, b: f"{a} {'q' * b} {a}", st.text("ab ", max_size=5), st.integers(75, 85)))
def test_ascii_words_as_the_analyzer_gives_them(text: str) -> None:
    expected = list(tantivy_backend._analyzer(keep_long=True).analyze(text))
    assert tantivy_backend._words(text) == expected
    indexed = list(tantivy_backend._analyzer().analyze(text))
    assert [w for w in expected if len(w) < tantivy_backend.LONG_WORD] == indexed


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=120)
       | st.text(alphabet=st.sampled_from("aZ9 _-.\u00e9\u00c5\u2163"), max_size=30))
def test_sort_keys_of_ascii_titles_as_the_shared_sort_title(title: str) -> None:
    from aggregator.index.backends import sort_title

    assert tantivy_backend._sort_key(title) == sort_title(title)


def test_pairs_skip_rare_words_and_value_boundaries() -> None:
    from aggregator.index.pairs import pairs

    common = frozenset({"sistem", "informasi", "desa"})
    assert pairs(["sistem", "informasi", "desa", "x", "desa", "sistem"], common) == [
        "sistem informasi", "informasi desa", "desa sistem"]
    assert pairs(["sistem"], common) == [] and pairs([], common) == []


def test_total_counted_beside_the_facets_matches_the_search_count(tmp_path: Path) -> None:
    engine = TantivyBackend(tmp_path / "idx")
    docs = _pair_corpus()
    engine.add(docs[:600])
    engine.commit({"change_seq": 1})
    engine.add(docs[600:])
    engine.delete(str(n) for n in range(0, 1200, 7))  # deleted documents are not counted
    engine.commit({"change_seq": 2})
    for text in ("sistem", '"sistem informasi"', "desa -karakter", "nomor77", "zzz", ""):
        for filters in ({}, {"type": ("Thesis",)}):
            with_facets = engine.search(SearchQuery(text=text, filters=filters))
            alone = engine.search(SearchQuery(text=text, filters=filters, facets=()))
            expected = len(_all_ids(engine, text, filters))
            assert with_facets.total == alone.total == expected, (text, filters)
            assert [h.id for h in with_facets.hits] == [h.id for h in alone.hits]
    engine.close()
