"""How well the catalogue is described: type, classification and journal-detail coverage."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aggregator.store.models import Record

__all__ = ["CatalogueReport", "catalogue_report"]


@dataclass(frozen=True, slots=True)
class CatalogueReport:
    """Coverage figures over the live records of the store.

    A work is a cluster (a record not yet clustered counts as its own work); a work has a
    type when any of its records has one, which is what the type facet shows.
    """

    records: int
    works: int
    records_typed: int
    works_typed: int
    records_classified: int
    articles: int
    articles_with_journal: int
    not_normalised: int
    unmapped_types: tuple[tuple[str, int], ...]

    def as_json(self) -> dict[str, Any]:
        """The figures, with shares in percent, ready for ``json.dumps``."""
        return {
            "records": self.records, "works": self.works,
            "records_typed": self.records_typed, "works_typed": self.works_typed,
            "works_typed_percent": _percent(self.works_typed, self.works),
            "records_typed_percent": _percent(self.records_typed, self.records),
            "records_classified": self.records_classified,
            "records_classified_percent": _percent(self.records_classified, self.records),
            "articles": self.articles, "articles_with_journal": self.articles_with_journal,
            "articles_with_journal_percent": _percent(self.articles_with_journal,
                                                      self.articles),
            "not_normalised": self.not_normalised,
            "unmapped_types": [list(pair) for pair in self.unmapped_types],
        }


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def catalogue_report(session: Session, top: int = 10) -> CatalogueReport:
    """Count, over live records, what the normalised fields say.

    Args:
        session: a store session.
        top: how many of the commonest raw type values of untyped records to list.
    """
    records = typed = classified = articles = with_journal = not_normalised = 0
    works: dict[int | tuple[str, int], bool] = {}
    unmapped: Counter[str] = Counter()
    rows = session.execute(
        select(Record.id, Record.cluster_id, Record.fields)
        .where(Record.deleted.is_(False))
        .execution_options(yield_per=2000))
    for record_id, cluster_id, fields in rows:
        records += 1
        key: int | tuple[str, int] = cluster_id if cluster_id is not None else ("r", record_id)
        if not fields:
            not_normalised += 1
            works.setdefault(key, False)
            continue
        kind = fields.get("type")
        works[key] = works.get(key, False) or kind is not None
        if kind is not None:
            typed += 1
        else:
            raw = fields.get("types_raw") or ()
            unmapped.update(raw if raw else ("(none)",))
        if fields.get("classification"):
            classified += 1
        if kind == "Article":
            articles += 1
            if fields.get("journal_title") and (fields.get("volume") or fields.get("issue")):
                with_journal += 1
    return CatalogueReport(
        records=records, works=len(works), records_typed=typed,
        works_typed=sum(works.values()), records_classified=classified, articles=articles,
        articles_with_journal=with_journal, not_normalised=not_normalised,
        unmapped_types=tuple(unmapped.most_common(top)))
