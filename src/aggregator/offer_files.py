"""Files of items offered for exchange or donation: CSV (English or Indonesian headers,
comma or semicolon) and MARC (ISO 2709 or MARCXML), read all or nothing.

Outside ``store/``, which may not import ``harvest/``: MARCXML goes through the strict
parser of :mod:`aggregator.harvest.safe_xml` (no DOCTYPE, no entities, no network) before
pymarc reads it.

A file is taken whole or not at all: every bad line is reported (with its line or
record number) and nothing is kept, so a manager fixes the file and sends it again
rather than hunting for which half was stored.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pymarc

from aggregator.errors import ForbiddenXML, MalformedXML, UserInputError
from aggregator.harvest.safe_xml import parse_bytes
from aggregator.store.models import OFFER_CONDITIONS

__all__ = ["MAX_FILE_BYTES", "MAX_ITEMS", "MAX_QUANTITY", "OfferFileError", "OfferItem",
           "SIZES", "condition_value", "parse_offer_file"]

MAX_FILE_BYTES = 200 * 1024  # under the portal's 256 KiB request limit, form included
MAX_ITEMS = 2000
MAX_QUANTITY = 999
MAX_PROBLEMS = 50  # reported of a bad file; a wrong delimiter makes every line bad
SIZES = {"title": 1000, "creators": 1000, "publisher": 300, "isbn": 64, "note": 2000}
MARC_NS = "{http://www.loc.gov/MARC21/slim}"

# Column names as managers write them (lower-cased, spaces collapsed) → field.
COLUMNS = {
    "title": "title", "judul": "title",
    "creators": "creators", "creator": "creators", "author": "creators",
    "authors": "creators", "pengarang": "creators", "penulis": "creators",
    "year": "year", "tahun": "year", "tahun terbit": "year",
    "publisher": "publisher", "penerbit": "publisher",
    "isbn": "isbn",
    "note": "note", "notes": "note", "catatan": "note", "keterangan": "note",
    "condition": "condition", "kondisi": "condition",
    "quantity": "quantity", "qty": "quantity", "jumlah": "quantity",
    "eksemplar": "quantity",
}
# Condition values in both languages → OFFER_CONDITIONS.
CONDITIONS = {
    "new": "new", "baru": "new",
    "good": "good", "baik": "good", "bagus": "good",
    "fair": "fair", "cukup": "fair", "sedang": "fair",
    "poor": "poor", "buruk": "poor", "rusak": "poor", "jelek": "poor",
}
_YEAR = re.compile(r"(?<![0-9])(1[0-9]{3}|20[0-9]{2}|2100)(?![0-9])")
_ISBN = re.compile(r"^[0-9Xx -]{10,20}$")


@dataclass(frozen=True, slots=True)
class OfferItem:
    """One item read from a file, checked and ready to store."""

    title: str
    creators: str | None = None
    year: int | None = None
    publisher: str | None = None
    isbn: str | None = None
    note: str | None = None
    condition: str = "good"
    quantity: int = 1


class OfferFileError(UserInputError):
    """A file that cannot be taken; ``problems`` lists every reason found, each naming
    its line (CSV) or record (MARC)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems[:3]) + (" …" if len(problems) > 3 else ""))
        self.problems = problems


def condition_value(raw: str | None) -> str:
    """A condition as stored (``baik`` → ``good``); empty means ``good``.

    Raises:
        UserInputError: not a known condition in either language.
    """
    value = " ".join((raw or "").split()).lower()
    if not value:
        return "good"
    if value not in CONDITIONS:
        raise UserInputError(f"unknown condition {raw!r}: use one of "
                             f"{', '.join(OFFER_CONDITIONS)} (or baru, baik, cukup, rusak)")
    return CONDITIONS[value]


def quantity_value(raw: str | None) -> int:
    """A quantity (1 to :data:`MAX_QUANTITY`); empty means 1.

    Raises:
        UserInputError: not a whole number in range.
    """
    value = (raw or "").strip()
    if not value:
        return 1
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_QUANTITY:
        raise UserInputError(f"the quantity must be a whole number from 1 to {MAX_QUANTITY}, "
                             f"not {raw!r}")
    return int(value)


def year_value(raw: str | None) -> int | None:
    """A year (1000 to 2100) found in ``raw`` (``c2019.``, ``2019``); empty means none.

    Raises:
        UserInputError: no such year in a non-empty value.
    """
    value = (raw or "").strip()
    if not value:
        return None
    found = _YEAR.search(value)
    if found is None:
        raise UserInputError(f"the year must be from 1000 to 2100, not {raw!r}")
    return int(found.group(1))


def isbn_value(raw: str | None) -> str | None:
    """An ISBN without hyphens or spaces; empty means none.

    Raises:
        UserInputError: not an ISBN of 10 or 13 characters.
    """
    value = (raw or "").strip()
    if not value:
        return None
    digits = re.sub(r"[ -]", "", value).upper()
    if not _ISBN.match(value) or len(digits) not in (10, 13) or "X" in digits[:-1]:
        raise UserInputError(f"not an ISBN: {raw!r}")
    return digits


def make_item(values: dict[str, str | None]) -> OfferItem:
    """An item from typed or read values (title required, every size checked).

    Raises:
        UserInputError: the first problem found.
    """
    text = {name: " ".join((values.get(name) or "").split()) or None
            for name in ("title", "creators", "publisher", "note")}
    if not text["title"]:
        raise UserInputError("the title is missing")
    for name, limit in SIZES.items():
        if len(text.get(name) or values.get(name) or "") > limit:
            raise UserInputError(f"the {name} is longer than {limit} characters")
    return OfferItem(title=text["title"], creators=text["creators"],
                     year=year_value(values.get("year")), publisher=text["publisher"],
                     isbn=isbn_value(values.get("isbn")), note=text["note"],
                     condition=condition_value(values.get("condition")),
                     quantity=quantity_value(values.get("quantity")))


def parse_offer_file(data: bytes) -> list[OfferItem]:
    """Every item of an uploaded file: MARCXML, ISO 2709 MARC or CSV, told by content.

    Raises:
        OfferFileError: the file is too large, empty, unreadable, has more than
            :data:`MAX_ITEMS` items, or any line of it is bad (all of them listed).
    """
    if len(data) > MAX_FILE_BYTES:
        raise OfferFileError([f"the file is larger than {MAX_FILE_BYTES // 1024} KiB: "
                              "split it into several files"])
    body = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not body:
        raise OfferFileError(["the file is empty"])
    if body.startswith(b"<"):
        items = _marcxml(data)
    elif body[:5].isdigit() and body[10:12] == b"22":
        items = _marc(body)
    else:
        items = _csv(data)
    if not items:
        raise OfferFileError(["the file holds no items"])
    if len(items) > MAX_ITEMS:
        raise OfferFileError([f"the file holds {len(items)} items, more than {MAX_ITEMS}: "
                              "split it into several files"])
    return items


Row = tuple[str, dict[str, str | None] | str]  # where, and the values or what is wrong


def _checked(rows: Iterator[Row]) -> list[OfferItem]:
    """Items of (where, values) rows, or every problem found."""
    items: list[OfferItem] = []
    problems: list[str] = []
    for where, values in rows:
        try:
            if isinstance(values, str):
                raise UserInputError(values)
            items.append(make_item(values))
        except UserInputError as exc:
            problems.append(f"{where}: {exc}")
        if len(problems) >= MAX_PROBLEMS:
            problems.append("… (more problems not listed)")
            break
        if len(items) > MAX_ITEMS:
            break
    if problems:
        raise OfferFileError(problems)
    return items


def _csv(data: bytes) -> list[OfferItem]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OfferFileError([f"the file is not UTF-8 text (byte {exc.start + 1}): save it "
                              "as “CSV UTF-8” and send it again"]) from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise OfferFileError(["line 1: no header line"]) from None
    names = [" ".join(cell.split()).lower() for cell in header]
    unknown = [cell for cell, name in zip(header, names, strict=True)
               if name and name not in COLUMNS]
    if unknown:
        raise OfferFileError([f"line 1: unknown column {unknown[0].strip()!r}: use title, "
                              "creators, year, publisher, isbn, condition, quantity, note "
                              "(or judul, pengarang, tahun, penerbit, kondisi, jumlah, "
                              "catatan)"])
    fields = [COLUMNS.get(name) for name in names]
    if "title" not in fields:
        raise OfferFileError(["line 1: no title column (title or judul)"])
    return _checked(_csv_rows(reader, fields))


def _csv_rows(reader: Iterator[list[str]], fields: list[str | None]) -> Iterator[Row]:
    line = 1
    while True:
        start = line + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield f"line {start}", f"not readable as CSV ({exc})"
            return
        line = reader.line_num  # type: ignore[attr-defined]
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(fields):
            yield f"line {start}", (f"{len(row)} cells but {len(fields)} columns "
                                    "(a value holding the delimiter must be in quotes)")
            continue
        yield f"line {start}", {field: cell for field, cell in zip(fields, row, strict=False)
                                if field is not None}


def _marc(data: bytes) -> list[OfferItem]:
    reader = pymarc.MARCReader(data, to_unicode=True, force_utf8=True, permissive=True)
    return _checked(_marc_rows(reader))


def _marc_rows(reader: pymarc.MARCReader) -> Iterator[Row]:
    for number, record in enumerate(reader, start=1):
        if record is None:
            yield f"record {number}", f"not readable as MARC ({reader.current_exception})"
            return  # after a broken record the reader's position is a guess
        yield f"record {number}", _marc_values(record)


def _marcxml(data: bytes) -> list[OfferItem]:
    try:
        root = parse_bytes(data)  # refuses a DOCTYPE (and so any entity) outright
    except ForbiddenXML:
        raise OfferFileError(["MARCXML with a DOCTYPE (or entities) is refused: remove "
                              "the <!DOCTYPE …> declaration"]) from None
    except MalformedXML as exc:
        raise OfferFileError([f"not readable as MARCXML: {exc}"]) from None
    if root.tag not in (MARC_NS + "collection", MARC_NS + "record"):
        raise OfferFileError(["not MARCXML: the root element must be a MARC 21 slim "
                              "collection or record"])
    try:
        records = pymarc.parse_xml_to_array(  # type: ignore[no-untyped-call]
            io.BytesIO(data), strict=True)
    except Exception as exc:  # pymarc's SAX handler raises whatever it meets
        raise OfferFileError([f"not readable as MARCXML: {exc}"]) from None
    return _checked((f"record {n}", _marc_values(r)) for n, r in enumerate(records, start=1))


def _first(record: pymarc.Record, tags: tuple[str, ...], codes: str) -> str | None:
    for field in record.get_fields(*tags):
        values = [v for v in field.get_subfields(*codes) if v.strip()]
        if values:
            return _trim(" ".join(values))
    return None


def _trim(value: str) -> str:
    """A MARC value without ISBD's trailing punctuation (``Judul :`` → ``Judul``)."""
    return value.strip().rstrip(" /:;,=").strip()


def _marc_values(record: pymarc.Record) -> dict[str, str | None]:
    """The fields an offer keeps: 245 $a $b, 100/110/111 and 700/710 $a, 260/264 $b $c
    (else 008's date), 020 $a, 250 $a as the note."""
    creators = [_trim(v) for f in record.get_fields("100", "110", "111", "700", "710")
                for v in f.get_subfields("a") if v.strip()]
    year = _first(record, ("260", "264"), "c")
    if year is None:
        fixed = record.get_fields("008")
        data = fixed[0].data if fixed and fixed[0].data else ""
        year = data[7:11] if len(data) >= 11 and data[7:11].isdigit() else None
    isbn = _first(record, ("020",), "a")
    try:  # catalogues keep all sorts in 020 $a: a bad one is dropped, not the file
        isbn = isbn_value(isbn.split()[0]) if isbn else None
    except UserInputError:
        isbn = None
    return {"title": _first(record, ("245",), "ab"),
            "creators": "; ".join(dict.fromkeys(creators)) or None,
            "year": year, "publisher": _first(record, ("260", "264"), "b"),
            "isbn": isbn,
            "note": _first(record, ("250",), "a")}
