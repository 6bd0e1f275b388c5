"""Highlighted snippets: escaped first, marked second, best window chosen."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.index.highlight import highlight

_TAGS = re.compile(r"<[^>]*>")


def _only_mark_tags(snippet: str) -> bool:
    return all(tag in ("<mark>", "</mark>") for tag in _TAGS.findall(snippet))


def test_marks_words_by_folded_prefix() -> None:
    assert highlight("Pendidikan Anak Usia Dini", ["pendidik", "DINI"]) == (
        "<mark>Pendidikan</mark> Anak Usia <mark>Dini</mark>")
    assert highlight("Café Résumé", ["cafe", "resume"]) == (
        "<mark>Café</mark> <mark>Résumé</mark>")


def test_hostile_markup_is_escaped_before_marking() -> None:
    text = '<script>alert(1)</script> Anak <img src=x onerror="alert(2)"> script img'
    snippet = highlight(text, ["script", "img", "anak", "onerror"])
    assert "<script" not in snippet.lower()
    assert "<img" not in snippet.lower()
    assert "&lt;script&gt;" in snippet or "&lt;<mark>script</mark>&gt;" in snippet
    assert _only_mark_tags(snippet)
    assert "<mark>Anak</mark>" in snippet


def test_no_match_gives_escaped_text_without_marks() -> None:
    assert highlight("a < b & c", ["zzz"]) == "a &lt; b &amp; c"
    assert highlight("a < b", []) == "a &lt; b"


def test_window_with_most_matches_and_ellipses() -> None:
    text = "kopi " * 10 + "filler " * 100 + "teh susu teh " + "filler " * 100
    snippet = highlight(text, ["teh", "susu"], max_chars=80)
    assert snippet.startswith("…") and snippet.endswith("…")
    assert snippet.count("<mark>") == 3
    assert len(_TAGS.sub("", snippet).strip("…")) <= 80


def test_long_text_without_match_is_cut_at_a_word() -> None:
    snippet = highlight("alpha beta gamma " * 50, ["zzz"], max_chars=30)
    assert snippet.endswith("…")
    assert not snippet.startswith("…")
    assert snippet[:-1].split(" ")[-1] in ("alpha", "beta", "gamma")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=600), st.lists(st.text(max_size=12), max_size=5),
       st.integers(min_value=0, max_value=400))
def test_output_never_carries_foreign_markup(text: str, terms: list[str], limit: int) -> None:
    snippet = highlight(text, terms, max_chars=limit)
    assert _only_mark_tags(snippet)
    assert "<" not in _TAGS.sub("", snippet)
    assert len(_TAGS.sub("", snippet).replace("…", "")) <= max(limit, 20) * 6  # escapes grow


@given(st.text(alphabet=st.sampled_from("abcAB _-.,0é9\u00c9"), max_size=80),
       st.lists(st.text(alphabet="abcé0", min_size=1, max_size=3), min_size=1, max_size=3))
def test_the_ascii_fast_path_finds_the_same_words_as_the_word_by_word_path(
        text: str, terms: list[str]) -> None:
    from aggregator.index.highlight import _WORD, _find, _needles, fold

    needles = _needles(terms)
    slow = [m.span() for m in _WORD.finditer(text) if fold(m.group()).startswith(needles)]
    assert _find(text, needles) == (slow if needles else [])
