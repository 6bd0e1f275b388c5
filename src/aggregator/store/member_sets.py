"""A member's own sets: the setSpecs a source's records use, and the names the member gives them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, Table, Text, select, update
from sqlalchemy import cast as sql_cast

from aggregator.errors import UserInputError
from aggregator.store.db import connect, reader
from aggregator.store.models import Record, Source

__all__ = ["CHECK_EVERY", "names_due", "save_set_names", "set_names", "specs_in_use",
           "with_parents"]

_RECORD = cast(Table, Record.__table__)
_SOURCE = cast(Table, Source.__table__)

CHECK_EVERY = timedelta(days=1)
"""How often a source's ``ListSets`` is asked at most (names change rarely)."""


def with_parents(specs: Iterable[str]) -> set[str]:
    """The specs and every hierarchical parent of each (``a:b:c`` implies ``a:b`` and ``a``).

    A parent with an empty level (``a::b`` → ``a:``) is not a setSpec and is left out.
    """
    out: set[str] = set()
    for spec in specs:
        out.add(spec)
        levels = spec.split(":")
        for depth in range(1, len(levels)):
            if all(levels[:depth]):
                out.add(":".join(levels[:depth]))
    return out


def specs_in_use(engine: Engine, source_id: int) -> set[str]:
    """The setSpecs on the source's records, live and deleted, with their parents."""
    # Distinct JSON lists as text: a source repeats a handful of set lists, and text
    # compares on every backend (PostgreSQL's json type has no equality).
    stmt = (select(sql_cast(_RECORD.c.set_specs, Text)).distinct()
            .where(_RECORD.c.source_id == source_id))
    with connect(reader(engine)) as conn:
        lists = conn.scalars(stmt).all()
    found: set[str] = set()
    for text in lists:
        specs = json.loads(text) if text else None
        if isinstance(specs, list):
            found.update(spec for spec in specs if isinstance(spec, str) and spec)
    return with_parents(found)


def names_due(checked_at: datetime | None, now: datetime) -> bool:
    """Whether a source whose ``ListSets`` was last asked at ``checked_at`` may be asked now."""
    return checked_at is None or now - checked_at >= CHECK_EVERY


def save_set_names(engine: Engine, source_id: int, specs: Iterable[str],
                   listed: Mapping[str, str | None] | None = None, *, complete: bool = False,
                   checked_at: datetime | None = None) -> dict[str, str | None]:
    """Store the source's setSpecs in use with the best name known for each.

    A complete listing decides every name (a spec it does not list has none); an
    incomplete one (failed, cut short, or not asked: ``listed=None``) gives the names
    it has and leaves the other specs with the name stored before.

    Args:
        engine: the store.
        source_id: the source.
        specs: the setSpecs in use (see :func:`specs_in_use`).
        listed: setSpec → setName from the member's ``ListSets``, when it was asked.
        complete: ``listed`` is the whole list.
        checked_at: when ``ListSets`` was asked, stored to space the next ask; ``None``
            keeps the stored time.

    Returns:
        What was stored: setSpec → setName or ``None``.

    Raises:
        UserInputError: there is no source with that id.
    """
    listed = listed or {}
    with connect(engine) as conn:
        before = conn.execute(select(_SOURCE.c.set_names)
                              .where(_SOURCE.c.id == source_id)).first()
        if before is None:
            raise UserInputError(f"unknown source {source_id}")
        previous: dict[str, Any] = before.set_names or {}
        names = {spec: listed.get(spec) if complete else listed.get(spec, previous.get(spec))
                 for spec in sorted(specs)}
        values: dict[str, Any] = {"set_names": names}
        if checked_at is not None:
            values["sets_checked_at"] = checked_at
        conn.execute(update(_SOURCE).where(_SOURCE.c.id == source_id).values(**values))
    return names


def set_names(engine: Engine, source_id: int) -> dict[str, str | None] | None:
    """The source's setSpecs in use → the member's name for each (``None`` when unknown).

    ``None`` until a run of the source completed; the OAI feed names the sets
    ``member:<slug>:<spec>`` after it.

    Raises:
        UserInputError: there is no source with that id.
    """
    with connect(engine) as conn:
        row = conn.execute(select(_SOURCE.c.set_names).where(_SOURCE.c.id == source_id)).first()
    if row is None:
        raise UserInputError(f"unknown source {source_id}")
    return None if row.set_names is None else dict(row.set_names)
