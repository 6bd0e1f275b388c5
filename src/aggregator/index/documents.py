"""Search documents from the store: one IndexDoc per duplicate cluster."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import groupby
from typing import Any, TypeVar

import orjson

from aggregator.index.model import IndexDoc
from aggregator.normalize.fields import Fields
from aggregator.normalize.stored import fields_of

MAX_LIST = 50  # subjects, titles … kept per document
T = TypeVar("T")
# A copy as read from the store: record id, member slug, stored fields (JSON text or
# dict, None in old rows), the metadata XML (read only when no fields are stored), prefix
RawCopy = tuple[int, str, object, bytes | None, str]
_FIELD_NAMES = frozenset(Fields.__dataclass_fields__)


def _richness(fields: Fields) -> tuple[int, int]:
    filled = sum(1 for value in (fields.title, fields.creators, fields.subjects, fields.abstract,
                                 fields.publisher, fields.year, fields.type, fields.languages,
                                 fields.link) if value)
    return filled, len(fields.abstract or "")


def _unique(values: Iterable[str], limit: int = MAX_LIST) -> tuple[str, ...]:
    if not values:  # most lists of most records are empty
        return ()
    seen: dict[str, str] = {}
    for value in values:
        key = value.casefold().strip()
        if key and key not in seen:
            seen[key] = value.strip()
        if len(seen) >= limit:
            break
    return tuple(seen.values())


def cluster_doc(cluster_id: int, copies: Sequence[tuple[int, str, Fields]]) -> IndexDoc:
    """Merge the copies of one work (record id, member slug, fields) into one document.

    The richest copy gives title, creators, year and type; subjects, languages, other
    titles and identifiers are pooled from every copy; members are sorted.
    """
    best = max(copies, key=lambda c: (_richness(c[2]), -c[0]))[2]
    everyone = [c[2] for c in copies]
    titles = [f.title for f in everyone if f.title and f.title != best.title]
    identifiers = [v for f in everyone for values in f.identifiers.values() for v in values]
    year = best.year if best.year is not None else next(
        (f.year for f in everyone if f.year is not None), None)
    return IndexDoc(
        id=str(cluster_id),
        title=best.title or "",
        other_titles=_unique([*best.other_titles, *titles]),
        creators=best.creators,
        contributors=_unique(c for f in everyone for c in f.contributors),
        subjects=_unique(s for f in everyone for s in f.subjects),
        abstract=best.abstract or "",
        publisher=best.publisher or "",
        text=" ".join(_unique(identifiers, 200)),
        year=year,
        type=best.type or next((f.type for f in everyone if f.type), None),
        languages=_unique(lang for f in everyone for lang in f.languages),
        members=tuple(sorted({c[1] for c in copies})),
        record_ids=tuple(sorted(c[0] for c in copies)),
    )


def docs_from_rows(rows: Iterable[Any]) -> Iterator[IndexDoc]:
    """Documents from live rows (id, cluster_id, metadata_prefix, metadata_xml, fields,
    slug) ordered by cluster id; the stored fields are used, the XML only where none are
    stored; records with neither are skipped."""
    for cluster_id, group in groupby(rows, key=lambda r: r.cluster_id):
        copies = [(r.id, r.slug, fields_of(r.fields, r.metadata_xml, r.metadata_prefix))
                  for r in group if r.fields is not None or r.metadata_xml]
        if copies:
            yield cluster_doc(cluster_id, copies)


def raw_cluster_doc(cluster_id: int, copies: Sequence[RawCopy]) -> IndexDoc:
    """:func:`cluster_doc` of copies as read from the store."""
    if len(copies) == 1:
        rid, slug, stored, _, _ = copies[0]
        doc = _one_copy_doc(cluster_id, rid, slug, stored)
        if doc is not None:
            return doc
    return cluster_doc(cluster_id, [(rid, slug, fields_of(stored, xml, prefix))
                                    for rid, slug, stored, xml, prefix in copies])


def _one_copy_doc(cluster_id: int, record_id: int, slug: str, stored: object
                  ) -> IndexDoc | None:
    """:func:`cluster_doc` of one copy, read straight from its stored fields (JSON text
    as ``Fields.as_json`` wrote it), or None when they need the full road (no stored
    fields, unknown keys, unexpected values).

    Most works have one copy, and for them building ``Fields`` and merging cost as much
    as writing the tantivy document.
    """
    try:
        data = orjson.loads(stored) if isinstance(stored, str) else stored
        if not isinstance(data, dict) or not data.keys() <= _FIELD_NAMES:
            return None
        get = data.get
        identifiers = [v for values in (get("identifiers") or {}).values() for v in values]
        return IndexDoc(
            id=str(cluster_id), title=get("title") or "",
            other_titles=_unique(get("other_titles") or ()),
            creators=tuple(get("creators") or ()),
            contributors=_unique(get("contributors") or ()),
            subjects=_unique(get("subjects") or ()),
            abstract=get("abstract") or "", publisher=get("publisher") or "",
            text=" ".join(_unique(identifiers, 200)), year=get("year"),
            type=get("type") or None, languages=_unique(get("languages") or ()),
            members=(slug,), record_ids=(record_id,),
        )
    except (TypeError, ValueError, AttributeError):
        return None


def prepare_many(prepare: Callable[[IndexDoc], T],
                 clusters: Sequence[tuple[int, Sequence[RawCopy]]]) -> list[T]:
    """``prepare`` (a backend's document builder) of each cluster's document; the unit
    of work of the worker process of an index fill."""
    return [prepare(raw_cluster_doc(cid, copies)) for cid, copies in clusters]
