"""Patron queries as tantivy queries: words and phrases over boosted fields, year
ranges, facet filters and sort orders (the query side of ``tantivy_backend``)."""

from __future__ import annotations

import unicodedata
from typing import Any

import tantivy

from aggregator.index.backends import BOOSTS, FIELD_TARGETS, FILTER_FACETS, facet_values
from aggregator.index.model import AnyOf, Clause, ParsedQuery, SearchQuery, Term, YearRange
from aggregator.index.pairs import PAIR_FIELDS, pair_field, pairs

TEXT_FIELDS = (
    "title", "other_titles", "creators", "contributors",
    "subjects", "abstract", "publisher", "text",
)
FACET_FIELDS = {
    "member": "member", "type": "type", "language": "language",
    "subject": "subject_facet", "year": "year",
}


def nfkc(text: str) -> str:
    """Compose (and unify compatibility forms) so that ``e`` + U+0301 folds like ``é``."""
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


class QueryTranslator:
    """Builds tantivy queries against one schema, analysing words with ``analyzer``
    (the analyzer of the text fields, so that query words fold as indexed ones).

    A phrase of two ``common`` words (the index's list, see index/pairs.py) is looked up
    as one term of each field's pair field; a longer phrase keeps its position check,
    limited first to the works holding its common pairs.
    """

    def __init__(self, schema: tantivy.Schema, analyzer: tantivy.TextAnalyzer,
                 common: frozenset[str] = frozenset()) -> None:
        self._schema = schema
        self._analyzer = analyzer
        self._common = common

    def translate(self, parsed: ParsedQuery) -> tantivy.Query:
        """The tantivy query for a parsed patron query (filters not included)."""
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for clause in parsed.must:
            sub = self._clause(clause)
            if sub is not None:
                clauses.append((tantivy.Occur.Must, sub))
        if not clauses:
            clauses.append((tantivy.Occur.Must, tantivy.Query.all_query()))
        for clause in parsed.must_not:
            sub = self._clause(clause)
            if sub is not None:
                clauses.append((tantivy.Occur.MustNot, sub))
        return clauses[0][1] if len(clauses) == 1 else tantivy.Query.boolean_query(clauses)

    def has_phrase(self, parsed: ParsedQuery) -> bool:
        """Whether the query holds a phrase (a term of several words once analysed)."""
        clauses = [*parsed.must, *parsed.must_not]
        options = [o for c in clauses for o in (c.options if isinstance(c, AnyOf) else (c,))]
        for option in options:
            if isinstance(option, Term):
                words = self._analyzer.analyze(nfkc(option.text))
                if len(words) > 1 and not self._one_pair(words):
                    return True
        return False

    def _one_pair(self, words: list[str]) -> bool:
        """Whether ``words`` are two common words, looked up as one pair term."""
        return len(words) == 2 and bool(pairs(words, self._common))

    def _clause(self, clause: Clause) -> tantivy.Query | None:
        if isinstance(clause, YearRange):
            return self._year_range(clause.start, clause.end)
        if isinstance(clause, AnyOf):
            options = [q for q in (self._clause(o) for o in clause.options) if q is not None]
            if len(options) < 2:
                return options[0] if options else None
            return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in options])
        return self._term(clause)

    def _term(self, term: Term) -> tantivy.Query | None:
        """A word or phrase in each field of its group, boosted, any field matching."""
        words = self._analyzer.analyze(nfkc(term.text))
        if not words:
            return None
        per_field: list[tuple[tantivy.Occur, tantivy.Query]] = []
        fields = FIELD_TARGETS.get(term.field, TEXT_FIELDS) if term.field else TEXT_FIELDS
        common_pairs = pairs(words, self._common)
        for name in fields:
            if len(words) == 1:  # tantivy refuses (panics on) one-word phrases
                sub = tantivy.Query.term_query(self._schema, name, words[0])
            elif name in PAIR_FIELDS and self._one_pair(words):
                sub = tantivy.Query.term_query(self._schema, pair_field(name), common_pairs[0])
            else:
                sub = tantivy.Query.phrase_query(self._schema, name, list(words))
                if name in PAIR_FIELDS and common_pairs:  # works holding the pairs first
                    sub = tantivy.Query.boolean_query(
                        [(tantivy.Occur.Must, sub)] + [
                            (tantivy.Occur.Must, tantivy.Query.const_score_query(
                                tantivy.Query.term_query(self._schema, pair_field(name), pair),
                                0.0)) for pair in dict.fromkeys(common_pairs)])
            boost = BOOSTS.get(name, 1.0)
            if boost != 1.0:
                sub = tantivy.Query.boost_query(sub, boost)
            per_field.append((tantivy.Occur.Should, sub))
        return tantivy.Query.boolean_query(per_field)

    def _year_range(self, start: int | None, end: int | None) -> tantivy.Query:
        """Years from ``start`` to ``end`` inclusive, each match scoring exactly 1.

        A bare fast-field range query scores its matches 1 or 0 depending on how the
        conjunction around it is evaluated, which would reorder hits; the wrapper pins it.
        """
        years = tantivy.Query.range_query(
            self._schema, "year", tantivy.FieldType.Integer, start, end)
        return tantivy.Query.const_score_query(years, 1.0)

    def filters(self, query: SearchQuery) -> list[tantivy.Query]:
        """Facet selections (OR within a facet, AND across) and the year bounds."""
        out: list[tantivy.Query] = []
        for facet, values in query.filters.items():
            selected = facet_values(values)
            if not selected:
                continue
            if facet == "year":  # years picked in the facet list; non-numbers match nothing
                years = [int(v) for v in selected if v.isdecimal()]
                picked = (tantivy.Query.term_set_query(self._schema, "year", years) if years
                          else tantivy.Query.empty_query())
                out.append(picked)
            elif facet in FILTER_FACETS:
                out.append(tantivy.Query.term_set_query(self._schema, FACET_FIELDS[facet],
                                                        selected))
        if query.year_from is not None or query.year_to is not None:
            out.append(self._year_range(query.year_from, query.year_to))
        if query.works is not None:
            out.append(tantivy.Query.term_set_query(self._schema, "id", list(query.works))
                       if query.works else tantivy.Query.empty_query())
        return out

    @staticmethod
    def combine(text: tantivy.Query, filters: list[tantivy.Query]) -> tantivy.Query:
        """The text query with the filters as further must clauses that score nothing."""
        if not filters:
            return text
        clauses = [(tantivy.Occur.Must, text)]
        clauses += [(tantivy.Occur.Must, tantivy.Query.const_score_query(f, 0.0))
                    for f in filters]
        return tantivy.Query.boolean_query(clauses)

    @staticmethod
    def order(sort: str) -> dict[str, Any]:
        """Keyword arguments of ``Searcher.search`` for a sort order.

        Works without a year (or a title) come last in every order. Equal years go by id
        (descending for newest, ascending for oldest), equal titles by id.
        """
        if sort == "newest":
            return {"order_by_field": "year_order", "order": tantivy.Order.Desc}
        if sort == "oldest":
            return {"order_by_field": "year_order", "order": tantivy.Order.Asc}
        if sort == "title":
            return {"order_by_field": "sort_title", "order": tantivy.Order.Asc}
        return {}
