"""``/admin/overlap``: how the members' collections overlap, for coordinated acquisition
(every signed-in account), and its CSV downloads."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from flask import Response, render_template, request

from aggregator.normalize.vocab import TYPES
from aggregator.store.overlap import (
    CLASS_LEVELS,
    Overlap,
    OverlapFilters,
    collection_overlap,
    counting,
)
from aggregator.web.admin.access import account, bp
from aggregator.web.i18n import gettext as _
from aggregator.web.spreadsheet import csv_cell
from aggregator.web.state import portal
from aggregator.web.urls import absolute_url

__all__ = ["BadFilter", "class_name", "heat", "parse_filters"]

YEARS = (1000, 2100)  # the years a record's date can give (see normalize/years.py)
PARTS = ("members", "matrix", "duplicated", "classes")
# DDC hundreds and UDC main classes, named in English (Indonesian in translations.py).
CLASS_NAMES: dict[tuple[str, str], str] = {
    ("ddc", "000"): "Computer science, information and general works",
    ("ddc", "100"): "Philosophy and psychology", ("ddc", "200"): "Religion",
    ("ddc", "300"): "Social sciences", ("ddc", "400"): "Language",
    ("ddc", "500"): "Science", ("ddc", "600"): "Technology",
    ("ddc", "700"): "Arts and recreation", ("ddc", "800"): "Literature",
    ("ddc", "900"): "History and geography",
    ("udc", "0"): "Science and knowledge, information, librarianship",
    ("udc", "1"): "Philosophy and psychology", ("udc", "2"): "Religion",
    ("udc", "3"): "Social sciences", ("udc", "5"): "Mathematics and natural sciences",
    ("udc", "6"): "Applied sciences, medicine and technology",
    ("udc", "7"): "The arts, recreation and sport",
    ("udc", "8"): "Language, linguistics and literature",
    ("udc", "9"): "Geography, biography and history",
}


class BadFilter(ValueError):
    """A filter value the page cannot use; the message says which and why."""


def parse_filters(args: Mapping[str, str]) -> OverlapFilters:
    """The filters of the query string (empty values mean no filter).

    Raises:
        BadFilter: an unknown type or class level, a year that is no year between
            1000 and 2100, or a first year after the last.
    """
    kind = args.get("type", "").strip() or None
    if kind is not None and kind not in TYPES:
        raise BadFilter(_("Unknown type: {value}.", value=kind[:40]))
    level = args.get("level", "").strip() or "hundreds"
    if level not in CLASS_LEVELS:
        raise BadFilter(_("Unknown class level: {value}.", value=level[:40]))
    years = [_year(args.get(name, ""), name) for name in ("year_from", "year_to")]
    if years[0] is not None and years[1] is not None and years[0] > years[1]:
        raise BadFilter(_("The first year comes after the last year."))
    return OverlapFilters(kind, years[0], years[1], level)


def _year(raw: str, name: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or not YEARS[0] <= int(raw) <= YEARS[1]:
        label = _("First year") if name == "year_from" else _("Last year")
        raise BadFilter(_("{field}: give a year between {low} and {high}.", field=label,
                          low=YEARS[0], high=YEARS[1]))
    return int(raw)


def heat(shared: int, works: int) -> int:
    """The heatmap step 0–10 of a cell: the share of the row member's works the column
    member also holds, in tenths (any share at all is at least step 1)."""
    if shared <= 0 or works <= 0:
        return 0
    return max(1, min(10, round(10 * shared / works)))


def percent(part: int, whole: int) -> float:
    """``part`` of ``whole`` in percent, one decimal."""
    return round(100.0 * part / whole, 1) if whole else 0.0


def class_name(scheme: str, code: str) -> str:
    """The class's name in the page's language ("" when it has none here)."""
    name = CLASS_NAMES.get((scheme, code))
    return _(name) if name else ""


@bp.get("/overlap")
def overlap() -> tuple[str, int] | str:
    """The members' works, unique works, the shared-works heatmap, the most widely held
    works, and the classes and subjects one member holds or none."""
    me = account()
    try:
        filters = parse_filters(request.args)
    except BadFilter as exc:
        return render_template("admin/overlap.html", error=str(exc), found=None,
                               filters=OverlapFilters(), args=request.args, types=TYPES,
                               levels=CLASS_LEVELS, own=set()), 400
    found = collection_overlap(portal().engine, filters, stale_ok=True)
    own = set() if me.is_coordinator else set(me.member_ids)
    return render_template("admin/overlap.html", error=None, found=found, filters=filters,
                           args=request.args, types=TYPES, levels=CLASS_LEVELS, own=own,
                           heat=heat, percent=percent, class_name=class_name,
                           recounting=counting(portal().engine, filters),
                           counted_at=datetime.fromtimestamp(found.computed_at, UTC)
                           .strftime("%Y-%m-%d %H:%M UTC"))


@bp.get("/overlap.csv")
def overlap_csv() -> Response:
    """One part of the overlap as CSV: ``part=members|matrix|duplicated|classes``."""
    account()
    part = request.args.get("part", "members")
    try:
        if part not in PARTS:
            raise BadFilter(_("Unknown part: {value} (members, matrix, duplicated, classes).",
                              value=part[:40]))
        filters = parse_filters(request.args)
    except BadFilter as exc:
        return Response(str(exc) + "\n", status=400, mimetype="text/plain")
    found = collection_overlap(portal().engine, filters, stale_ok=True)
    out = io.StringIO()
    writer = csv.writer(out)
    for row in _ROWS[part](found):
        writer.writerow([csv_cell(cell) for cell in row])
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="overlap-{part}.csv"'
    return response


def _members(found: Overlap) -> Iterable[Sequence[object]]:
    yield ("member", "name", "works", "unique", "unique_percent")
    for m in found.members:
        yield (m.slug, m.name, m.works, m.unique, m.unique_percent)


def _matrix(found: Overlap) -> Iterable[Sequence[object]]:
    yield ("member", *(m.slug for m in found.members))
    for m, row in zip(found.members, found.matrix, strict=True):
        yield (m.slug, *row)


def _duplicated(found: Overlap) -> Iterable[Sequence[object]]:
    yield ("record_id", "title", "url", "members", "holders", "records")
    for w in found.duplicated:
        yield (w.record_id, w.title, absolute_url("pages.record", record_id=w.record_id),
               len(w.holders), " ".join(w.holders), w.records)


def _classes(found: Overlap) -> Iterable[Sequence[object]]:
    yield ("kind", "scheme", "class", "name", "works", "members", "holders")
    for c in found.classes:
        yield ("class", c.scheme, c.code, class_name(c.scheme, c.code), c.works,
               len(c.holders), " ".join(c.holders))
    for s in found.subjects:
        yield ("subject", "", s.subject, "", s.works, 1, s.holder)


_ROWS = {"members": _members, "matrix": _matrix, "duplicated": _duplicated,
         "classes": _classes}
