"""The patron query parser: syntax, limits, the plain-words fallback, and that it never fails."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.index.model import AnyOf, ParsedQuery, Term, YearRange
from aggregator.index.query import MAX_OR_OPTIONS, MAX_TERMS, parse_query


def test_words_are_lower_cased_and_all_required() -> None:
    assert parse_query("Pendidikan  ANAK") == ParsedQuery(must=(Term("pendidikan"), Term("anak")))


@pytest.mark.parametrize("text", ["", "   ", "... !! -- *", "* ? ~"])
def test_empty_or_punctuation_matches_everything(text: str) -> None:
    assert parse_query(text) == ParsedQuery()


def test_phrases_and_field_prefixes_with_aliases() -> None:
    parsed = parse_query('"Usia Dini" judul:"Anak Usia" pengarang:Smith subjek:ekonomi title:café')
    assert parsed.must == (
        Term("usia dini", phrase=True),
        Term("anak usia", "title", phrase=True),
        Term("smith", "author"),
        Term("ekonomi", "subject"),
        Term("café", "title"),
    )
    assert not parsed.fallback


@pytest.mark.parametrize(("text", "expected"), [
    ("year:2019", YearRange(2019, 2019)),
    ("year:2019..2021", YearRange(2019, 2021)),
    ("year:..2005", YearRange(None, 2005)),
    ("year:2019..", YearRange(2019, None)),
])
def test_year_ranges(text: str, expected: YearRange) -> None:
    assert parse_query(text).must == (expected,)


def test_or_chains_with_word_and_pipe() -> None:
    parsed = parse_query('ekonomi OR "usia dini" | title:x koperasi')
    assert parsed.must == (
        AnyOf((Term("ekonomi"), Term("usia dini", phrase=True), Term("x", "title"))),
        Term("koperasi"),
    )


def test_lower_case_or_is_a_word() -> None:
    assert parse_query("kopi or teh").must == (Term("kopi"), Term("or"), Term("teh"))


def test_exclusions() -> None:
    parsed = parse_query('anak -dini -"usia muda" -title:x -year:..2000')
    assert parsed.must == (Term("anak"),)
    assert parsed.must_not == (Term("dini"), Term("usia muda", phrase=True), Term("x", "title"),
                               YearRange(None, 2000))


def test_wildcards_and_fuzzy_marks_are_punctuation() -> None:
    assert parse_query("a* b? c~").must == (Term("a"), Term("b"), Term("c"))
    assert parse_query("a OR * OR b").must == (AnyOf((Term("a"), Term("b"))),)


def test_inner_punctuation_makes_a_phrase() -> None:
    assert parse_query("e-learning").must == (Term("e learning", phrase=True),)


@pytest.mark.parametrize(("text", "words"), [
    ('"usia dini', ["usia", "dini"]),
    ("anak OR", ["anak"]),
    ("OR anak", ["anak"]),
    ("anak OR OR dini", ["anak", "dini"]),
    ("title: anak", ["anak"]),
    ("title:", []),
    ("year:abc anak", ["abc", "anak"]),
    ("year:2021..2019 anak", ["2021", "2019", "anak"]),
    ("year:.. anak", ["anak"]),
    ("-anak OR dini", ["anak", "dini"]),
])
def test_syntax_errors_fall_back_to_plain_words(text: str, words: list[str]) -> None:
    parsed = parse_query(text)
    assert parsed.fallback
    assert parsed.must == tuple(Term(w) for w in words)
    assert parsed.must_not == ()


def test_limits() -> None:
    many = parse_query(" ".join(f"w{i}" for i in range(100)))
    assert len(many.must) == MAX_TERMS
    chain = parse_query(" OR ".join(f"w{i}" for i in range(100)))
    assert chain.must == (AnyOf(tuple(Term(f"w{i}") for i in range(MAX_OR_OPTIONS))),)
    long = parse_query("x" * 10_000)
    assert long.must == (Term("x" * 500),)


def _size(parsed: ParsedQuery) -> int:
    clauses = parsed.must + parsed.must_not
    return sum(len(c.options) if isinstance(c, AnyOf) else 1 for c in clauses)


_ALPHABET = st.sampled_from(list('ab é"-|:*?~. OR title: year: 2019 .. judul:Ü'))


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=700), st.lists(_ALPHABET, max_size=200).map("".join)))
def test_never_raises_and_stays_bounded(text: str) -> None:
    parsed = parse_query(text)
    assert _size(parsed) <= MAX_TERMS
    for clause in parsed.must + parsed.must_not:
        if isinstance(clause, AnyOf):
            assert 2 <= len(clause.options) <= MAX_OR_OPTIONS
            assert all(not isinstance(o, AnyOf) for o in clause.options)
        if isinstance(clause, Term):
            assert clause.text and clause.text == clause.text.lower()
            assert len(clause.text) <= 500
            assert not set(clause.text) & set('*?~"')
