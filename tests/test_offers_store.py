"""Exchange lists in the store: files read all or nothing (CSV in both languages, MARC
binary and XML, hostile XML refused), picking from a member's own records, marking
given, searching, and asking for an item; on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from aggregator.normalize.fields import Fields
from aggregator.offer_files import (
    MAX_FILE_BYTES,
    MAX_ITEMS,
    OfferFileError,
    OfferItem,
    parse_offer_file,
)
from aggregator.store import catalog, offers
from aggregator.store.db import session_scope
from aggregator.store.models import Member, Offer, Record, RequestEvent, ServiceRequest

FILES = Path(__file__).parent / "offer_files"


def read(name: str) -> bytes:
    return (FILES / name).read_bytes()


def problems(data: bytes) -> list[str]:
    with pytest.raises(OfferFileError) as caught:
        parse_offer_file(data)
    return caught.value.problems


# -- files ------------------------------------------------------------------------------


def test_an_english_csv_with_quotes_and_a_note_over_two_lines() -> None:
    items = parse_offer_file(read("items_en.csv"))
    assert [i.title for i in items] == ["Sejarah maritim Nusantara, jilid 1",
                                        "Kamus besar bahasa Indonesia",
                                        "Pengantar ilmu perpustakaan"]
    first, second, third = items
    assert (first.creators, first.year, first.publisher, first.isbn, first.condition,
            first.quantity) == ("Wijaya; Sari", 2015, "Balai Pustaka", "9789794071234",
                                "good", 2)
    assert second.note == "Sampul sobek, halaman lengkap" and second.condition == "fair"
    assert third.condition == "new" and third.quantity == 1 and third.note is None


def test_an_indonesian_csv_with_bom_semicolons_and_crlf() -> None:
    data = read("items_id.csv")
    assert data.startswith(b"\xef\xbb\xbf") and b";" in data and b"\r\n" in data
    items = parse_offer_file(data)
    assert [(i.title, i.condition, i.quantity) for i in items] == [
        ("Pendidikan karakter di sekolah dasar", "good", 3),
        ("Atlas Indonesia", "poor", 1),
        ("Études javanaises", "new", 1)]
    assert items[0].creators == "Santoso, Budi"  # a comma inside a semicolon file
    assert items[1].note == "Peta lepas" and items[1].creators is None


def test_csv_without_bom_and_with_english_conditions_in_capitals() -> None:
    data = b"Title;Quantity;Condition\nBuku A;2;POOR\n"
    assert parse_offer_file(data) == [OfferItem(title="Buku A", quantity=2, condition="poor")]


def test_one_bad_line_refuses_the_whole_file_and_every_problem_is_listed() -> None:
    data = (b"judul,tahun,kondisi,jumlah,isbn\n"
            b"Buku baik,2001,baik,1,\n"
            b",2002,baik,1,\n"  # line 3: no title
            b"Buku C,dua ribu,baik,1,\n"  # line 4: year
            b"Buku D,2003,hancur,1,\n"  # line 5: condition
            b"Buku E,2004,baik,0,\n"  # line 6: quantity
            b"Buku F,2005,baik,1,12345\n"  # line 7: ISBN
            b'"Buku G, jilid 2",2006,baik,1,,extra\n')  # line 8: too many cells
    found = problems(data)
    assert [p.split(":")[0] for p in found] == [
        "line 3", "line 4", "line 5", "line 6", "line 7", "line 8"]
    assert "title is missing" in found[0] and "hancur" in found[2]
    assert "quotes" in found[5]


def test_line_numbers_count_the_lines_of_quoted_values() -> None:
    data = b'title,note\n"A","one\ntwo"\n"",x\n'
    assert problems(data) == ["line 4: the title is missing"]


@pytest.mark.parametrize(("data", "expected"), [
    (b"", "empty"),
    (b"judul\n", "no items"),
    (b"judul,warna\nBuku,merah\n", "unknown column 'warna'"),
    (b"pengarang,tahun\nBudi,2001\n", "no title column"),
    ("judul\nBuku \xe9\n".encode("latin-1"), "not UTF-8"),
    (b'judul\n"Buku\n', "not readable as CSV"),
])
def test_unusable_files_are_refused_with_a_reason(data: bytes, expected: str) -> None:
    assert expected in " ".join(problems(data))


def test_size_and_item_limits() -> None:
    big = b"judul\n" + b"x" * MAX_FILE_BYTES
    assert "larger than" in problems(big)[0]
    many = ("judul\n" + "".join(f"Buku {n}\n" for n in range(MAX_ITEMS + 1))).encode()
    assert len(many) < MAX_FILE_BYTES
    assert f"more than {MAX_ITEMS}" in problems(many)[0]
    exactly = ("judul\n" + "".join(f"Buku {n}\n" for n in range(MAX_ITEMS))).encode()
    assert len(parse_offer_file(exactly)) == MAX_ITEMS


def test_marc_binary_and_marcxml_give_the_same_items() -> None:
    binary, xml = parse_offer_file(read("items.mrc")), parse_offer_file(read("items.xml"))
    assert binary == xml
    first = binary[0]
    assert first.title == "Sejarah maritim Nusantara : dari Sriwijaya sampai Majapahit"
    assert first.creators == "Wijaya, Sari; Santoso, Budi"
    assert (first.year, first.publisher, first.isbn, first.note) == (
        2015, "Balai Pustaka", "9789794071234", "Cet. 2.")
    assert [i.year for i in binary] == [2015, 2008, 1991]
    assert binary[1].isbn is None and binary[2].isbn == "9789796051234"


def test_marcxml_with_a_doctype_or_entity_is_refused() -> None:
    found = problems(read("doctype.xml"))
    assert "DOCTYPE" in found[0]


def test_xml_that_is_not_marc_or_not_well_formed_is_refused() -> None:
    assert "not MARCXML" in problems(b"<rss><channel/></rss>")[0]
    assert "not readable as MARCXML" in problems(
        b'<collection xmlns="http://www.loc.gov/MARC21/slim"><record>')[0]


def test_a_broken_marc_record_is_reported_by_number() -> None:
    data = read("items.mrc")
    first = int(data[:5])
    broken = data[:first] + b"00099" + data[first + 5:first + 60]  # record 2 cut short
    found = problems(broken)
    assert found[0].startswith("record 2:")


def test_a_marc_record_without_a_title_is_refused() -> None:
    import pymarc
    record = pymarc.Record(force_utf8=True)
    record.add_field(pymarc.Field(tag="100", indicators=pymarc.Indicators("1", " "),
                                  subfields=[pymarc.Subfield("a", "Budi")]))
    assert problems(record.as_marc()) == ["record 1: the title is missing"]


# -- the store --------------------------------------------------------------------------


def members(engine: Engine) -> tuple[int, int]:
    with session_scope(engine) as session:
        a = catalog.add_member(session, "a", "Perpustakaan A")
        b = catalog.add_member(session, "b", "Perpustakaan B")
        source = catalog.add_source(session, "a", "http://127.0.0.1:9/a/oai")
        for n, (title, creator, subject) in enumerate([
                ("Sejarah maritim Nusantara", "Wijaya, Sari", "Sejarah"),
                ("Pendidikan karakter", "Santoso, Budi", "Pendidikan"),
                ("Études javanaises", "Lombard, Denys", "Jawa")]):
            fields = Fields(title=title, creators=(creator,), subjects=(subject,), year=2000 + n,
                            publisher="Balai Pustaka", identifiers={"isbn": ("9789794071234",)})
            session.add(Record(source_id=source.id, identifier=f"oai:a:{n}",
                               metadata_prefix="oai_dc", content_hash="x", change_seq=n,
                               fields=fields.as_json()))
        return a.id, b.id


def record_id(engine: Engine, identifier: str) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(Record.id).where(Record.identifier == identifier)) or 0)


def test_upload_pick_edit_give_withdraw(engine: Engine) -> None:
    a, b = members(engine)
    with session_scope(engine) as session:
        assert offers.add_items(session, a, parse_offer_file(read("items_id.csv"))) == 3
        choices = offers.own_records(session, a, "sejarah WIJAYA")
        assert [c.title for c in choices] == ["Sejarah maritim Nusantara"]
        assert [c.title for c in offers.own_records(session, a, "études")] == [
            "Études javanaises"]
        assert offers.own_records(session, a, "title") == []  # JSON keys are no words
        assert offers.own_records(session, b, "sejarah") == []  # b's own records only
        picked = offers.pick(session, a, choices[0].record_id, condition="cukup",
                             quantity="2", note="Dua eksemplar")
        assert (picked.title, picked.creators, picked.year, picked.isbn, picked.record_id,
                picked.condition, picked.quantity) == (
            "Sejarah maritim Nusantara", "Wijaya, Sari", 2000, "9789794071234",
            choices[0].record_id, "fair", 2)
        with pytest.raises(Exception, match="not one of this member"):
            offers.pick(session, b, choices[0].record_id)
        offers.edit_offer(session, picked.id, condition="baik", quantity="5", note=" ok ")
        edited = offers.get_offer(session, picked.id)
        assert edited is not None and (edited.condition, edited.quantity, edited.note) == (
            "good", 5, "ok")
        assert offers.mark_given(session, picked.id, 2) == 3
        assert offers.mark_given(session, picked.id) == 0
        given = offers.get_offer(session, picked.id)
        assert given is not None and given.status == "given" and given.given_at is not None
        with pytest.raises(Exception, match="given already"):
            offers.withdraw(session, picked.id)
        listed = offers.member_offers(session, a)
        assert listed.total == 4 and listed.offers[-1].id == picked.id  # given ones last
        offers.withdraw(session, listed.offers[0].id)
        assert offers.count_available(session, "a") == 2
        assert offers.count_available(session, "b") == 0


def test_browse_and_search(engine: Engine) -> None:
    a, b = members(engine)
    with session_scope(engine) as session:
        offers.add_items(session, a, parse_offer_file(read("items_en.csv")))
        offers.add_items(session, b, parse_offer_file(read("items_id.csv")))
        assert offers.browse(session).total == 6
        assert [o.title for o in offers.browse(session, text="gramedia kamus").offers] == [
            "Kamus besar bahasa Indonesia"]
        assert offers.browse(session, text="9789794071234").total == 1
        assert offers.browse(session, text="100%").total == 0  # % is a letter here
        assert offers.browse(session, member="b").total == 3
        assert [o.title for o in offers.browse(session, member="b", condition="poor").offers
                ] == ["Atlas Indonesia"]
        page = offers.browse(session, page=2, per_page=4)
        assert len(page.offers) == 2 and page.pages == 2
        session.get(Member, b).status = "suspended"  # type: ignore[union-attr]
        session.flush()
        assert offers.browse(session).total == 3


def test_asking_for_an_offer_makes_a_request_and_its_first_step(engine: Engine) -> None:
    a, b = members(engine)
    with session_scope(engine) as session:
        offers.add_items(session, a, [OfferItem(title="Atlas", quantity=2)])
        offer_id = int(session.scalar(select(Offer.id)) or 0)
        for cause, kwargs in [("own", {"asking_member_id": a}),
                              ("quantity", {"asking_member_id": b, "quantity": 3}),
                              ("missing", {"asking_member_id": b, "offer": offer_id + 99})]:
            with pytest.raises(offers.OfferUnavailable) as caught:
                offers.ask_for_offer(session, int(kwargs.pop("offer", offer_id)),
                                     manager_email="b@example.org", **kwargs)
            assert caught.value.cause == cause
        request_id, token = offers.ask_for_offer(
            session, offer_id, asking_member_id=b, manager_email="b@example.org",
            quantity=2, note="Untuk  ruang baca")
    assert len(token) >= 40
    with session_scope(engine) as session:
        request = session.get(ServiceRequest, request_id)
        assert request is not None
        assert (request.kind, request.status, request.holder_member_id,
                request.home_member_id, request.offer_id, request.title, request.patron_name,
                request.patron_email, request.note, request.token) == (
            "exchange", "new", a, b, offer_id, "Atlas", "Perpustakaan B", "b@example.org",
            "Quantity wanted: 2. Untuk ruang baca", token)
        events = session.scalars(select(RequestEvent).where(
            RequestEvent.request_id == request_id)).all()
        assert [e.status for e in events] == ["new"]
        offers.mark_given(session, offer_id)
    with session_scope(engine) as session, pytest.raises(offers.OfferUnavailable) as gone:
        offers.ask_for_offer(session, offer_id, asking_member_id=b,
                             manager_email="b@example.org")
    assert gone.value.cause == "gone"
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ServiceRequest)) == 1
