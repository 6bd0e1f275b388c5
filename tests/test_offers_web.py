"""Exchange lists on the web: a manager uploads and picks through the real forms (with
their CSRF tokens), the list is browsed and searched at /exchange, another member's
manager asks for an item (a request row), and nobody else can change a list."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from admin import COORDINATOR, MANAGER_A, MANAGER_B, Network, ids_of, network, token
from adminsite import smtp_server
from aggregator.normalize.fields import Fields
from aggregator.offer_files import MAX_FILE_BYTES
from aggregator.store.db import session_scope
from aggregator.store.models import Offer, Record, RequestEvent, ServiceRequest
from aggregator.web import MAX_REQUEST_BODY

FILES = Path(__file__).parent / "offer_files"
OFFERS = "/admin/members/a/offers"


@pytest.fixture
def net(tmp_path: Path) -> Network:
    return network(tmp_path)


def offer_count(net: Network, **where: object) -> int:
    with net.engine.connect() as conn:
        stmt = select(func.count()).select_from(Offer).filter_by(**where)
        return int(conn.scalar(stmt) or 0)


def upload(client: FlaskClient, data: bytes, name: str = "daftar.csv",
           csrf: str | None = None) -> TestResponse:
    form: dict[str, object] = {"file": (io.BytesIO(data), name)}
    form["csrf_token"] = csrf or token(client, OFFERS)
    return client.post(f"{OFFERS}/upload", data=form, content_type="multipart/form-data")


def member_a(net: Network) -> int:
    with session_scope(net.engine) as session:
        return ids_of(session, "a")


def test_a_manager_uploads_a_list_through_the_form(net: Network) -> None:
    client = net.client(MANAGER_A)
    page = client.get(OFFERS)
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    before = offer_count(net)
    response = upload(client, (FILES / "items_id.csv").read_bytes())
    assert response.status_code == 302 and response.headers["Location"] == OFFERS
    assert offer_count(net, member_id=member_a(net)) == before + 3
    listed = client.get(OFFERS + "?lang=en").text
    assert "3 bahan telah ditambahkan ke daftar pertukaran." in listed  # said when added
    assert "Études javanaises" in listed and "Poor" in listed
    for name in ("items.mrc", "items.xml"):
        assert upload(client, (FILES / name).read_bytes(), name).status_code == 302
    assert offer_count(net, member_id=member_a(net)) == before + 9


def test_an_upload_without_a_token_is_refused(net: Network) -> None:
    client = net.client(MANAGER_A)
    before = offer_count(net)
    response = client.post(f"{OFFERS}/upload", content_type="multipart/form-data", data={
        "file": (io.BytesIO(b"judul\nBuku\n"), "a.csv")})
    assert response.status_code == 400
    assert offer_count(net) == before


def test_a_bad_file_adds_nothing_and_lists_its_lines(net: Network) -> None:
    client = net.client(MANAGER_A)
    before = offer_count(net)
    response = upload(client, b"judul,tahun\nBuku A,2001\n,2002\nBuku C,kemarin\n")
    assert response.status_code == 400
    text = response.text
    assert "line 3: the title is missing" in text and "line 4: the year" in text
    assert "Tidak ada yang ditambahkan" in text  # Indonesian by default
    assert offer_count(net) == before
    doctype = upload(client, (FILES / "doctype.xml").read_bytes(), "x.xml")
    assert doctype.status_code == 400 and "DOCTYPE" in doctype.text
    assert offer_count(net) == before


def test_too_large_uploads_get_a_clear_413(net: Network) -> None:
    client = net.client(MANAGER_A)
    csrf = token(client, OFFERS)
    over_file = b"judul\n" + b"x" * MAX_FILE_BYTES  # over the file limit, under the body's
    response = upload(client, over_file, csrf=csrf)
    assert response.status_code == 413
    assert "200 KiB" in response.text
    over_body = b"judul\n" + b"x" * MAX_REQUEST_BODY  # refused before the view runs
    response = upload(client, over_body, csrf=csrf)
    assert response.status_code == 413
    assert "200 KiB" in response.text
    assert offer_count(net) == 1
    other = upload(net.client(MANAGER_B), over_body, csrf=csrf)
    assert other.status_code == 404
    anonymous = upload(net.client(), over_body, csrf=csrf)
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/login")


def add_records(net: Network) -> int:
    with session_scope(net.engine) as session:
        fields = Fields(title="Sejarah maritim Nusantara", creators=("Wijaya, Sari",),
                        year=2015, publisher="Balai Pustaka",
                        identifiers={"isbn": ("9789794071234",)})
        record = Record(source_id=net.source_a, identifier="oai:a:1", metadata_prefix="oai_dc",
                        content_hash="x", change_seq=1, fields=fields.as_json())
        session.add(record)
        session.flush()
        return record.id


def test_pick_edit_give_and_withdraw_through_the_forms(net: Network) -> None:
    record_id = add_records(net)
    client = net.client(MANAGER_A)
    found = client.get(f"{OFFERS}/pick?q=maritim+wijaya&lang=en")
    assert found.status_code == 200 and "Sejarah maritim Nusantara" in found.text
    assert f'value="{record_id}"' in found.text
    assert "None of your records" in client.get(f"{OFFERS}/pick?q=zzz&lang=en").text
    csrf = token(client, OFFERS)
    picked = client.post(f"{OFFERS}/pick", data={
        "csrf_token": csrf, "record_id": str(record_id), "condition": "fair",
        "quantity": "3", "note": "Tiga eksemplar"})
    assert picked.status_code == 302
    with net.engine.connect() as conn:
        offer = conn.execute(select(Offer).where(Offer.record_id == record_id)).one()
    assert (offer.title, offer.isbn, offer.condition, offer.quantity) == (
        "Sejarah maritim Nusantara", "9789794071234", "fair", 3)
    bad = client.post(f"{OFFERS}/pick", data={"csrf_token": csrf, "record_id": "99999"})
    assert bad.status_code == 400
    edit = f"/admin/offers/{offer.id}/edit"
    assert client.get(edit).status_code == 200
    assert client.post(edit, data={"csrf_token": csrf, "condition": "baik", "quantity": "0",
                                   "note": ""}).status_code == 400
    assert client.post(edit, data={"csrf_token": csrf, "condition": "new", "quantity": "4",
                                   "note": "Baru"}).status_code == 302
    given = f"/admin/offers/{offer.id}/given"
    assert client.post(given, data={"csrf_token": csrf, "count": "1"}).status_code == 302
    assert offer_count(net, id=offer.id, quantity=3, status="available", condition="new") == 1
    assert client.post(given, data={"csrf_token": csrf}).status_code == 302
    assert offer_count(net, id=offer.id, quantity=0, status="given") == 1
    assert client.post(f"/admin/offers/{net.offer_a}/withdraw",
                       data={"csrf_token": csrf}).status_code == 302
    assert offer_count(net, id=net.offer_a, status="withdrawn") == 1
    assert offer_count(net, status="available") == 0


def test_other_managers_cannot_change_a_list(net: Network) -> None:
    client = net.client(MANAGER_B)
    csrf = token(client, "/admin/")
    for url in (f"/admin/offers/{net.offer_a}/edit", f"/admin/offers/{net.offer_a}/given",
                f"/admin/offers/{net.offer_a}/withdraw", f"{OFFERS}/pick"):
        assert client.post(url, data={"csrf_token": csrf, "quantity": "9",
                                      "record_id": "1"}).status_code == 404, url
    assert client.get(OFFERS).status_code == 404
    assert offer_count(net, id=net.offer_a, status="available", quantity=1) == 1


def test_browse_and_search_the_lists(net: Network) -> None:
    upload(net.client(MANAGER_A), (FILES / "items_en.csv").read_bytes())
    client = net.client()
    page = client.get("/exchange?lang=en")
    assert page.status_code == 200 and "4 items offered" in page.text
    assert "Kamus besar bahasa Indonesia" in page.text
    found = client.get("/exchange?q=gramedia+kamus&lang=en").text
    assert "1 items offered" in found and "Kamus besar" in found
    assert "Pengantar" not in found
    assert "1 items offered" in client.get("/exchange?condition=new&lang=en").text
    assert "0 items offered" in client.get("/exchange?member=b&lang=en").text
    assert "0 items offered" in client.get("/exchange?member=zzz&lang=en").text
    assert "4 items offered" in client.get("/exchange?condition=zzz&page=x&lang=en").text
    one = client.get(f"/exchange/{net.offer_a}?lang=en")
    assert one.status_code == 200 and "Buku Tukar A" in one.text
    assert 'href="/login?next=/exchange/' in one.text  # how to ask: sign in
    assert client.get("/exchange/999999").status_code == 404
    home = client.get("/?lang=en").text
    assert 'href="/exchange"' in home
    member = client.get("/members/a?lang=en").text
    assert "4 items offered for exchange or donation" in member
    assert 'href="/exchange?member=a"' in member


def any_token(client: FlaskClient, *paths: str) -> str:
    """The session's CSRF token from the first of ``paths`` (or /admin/, /login) with a
    form."""
    for path in (*paths, "/admin/", "/login"):
        response = client.get(path)
        if response.status_code == 200 and 'name="csrf_token"' in response.text:
            return token(client, path)
    raise AssertionError("no page with a form")


def ask(client: FlaskClient, offer_id: int, **data: str) -> TestResponse:
    form = {"csrf_token": any_token(client, f"/exchange/{offer_id}"), "quantity": "1", **data}
    return client.post(f"/exchange/{offer_id}/ask", data=form)


def test_another_members_manager_asks_for_an_item(net: Network) -> None:
    client = net.client(MANAGER_B)
    form = client.get(f"/exchange/{net.offer_a}").text
    assert f'action="/exchange/{net.offer_a}/ask"' in form
    response = ask(client, net.offer_a, note="Untuk ruang baca")
    assert response.status_code == 302
    with session_scope(net.engine) as session:
        request = session.scalars(select(ServiceRequest).where(
            ServiceRequest.kind == "exchange")).one()
        a, b = ids_of(session, "a"), ids_of(session, "b")
        assert (request.kind, request.status, request.holder_member_id,
                request.home_member_id, request.offer_id, request.title,
                request.patron_email, request.patron_name) == (
            "exchange", "new", a, b, net.offer_a, "Buku Tukar A", MANAGER_B, "Perpustakaan B")
        assert request.note == "Quantity wanted: 1. Untuk ruang baca"
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", request.token)
        assert [e.status for e in session.scalars(select(RequestEvent).where(
            RequestEvent.request_id == request.id))] == ["new"]
        token_now = request.token
    # the asker follows the request at its status page, as a patron does
    assert response.headers["Location"] == f"/requests/{token_now}"
    shown = client.get(response.headers["Location"])
    assert shown.status_code == 200
    assert "Permintaan Anda telah dikirim ke Perpustakaan A." in shown.text
    assert "Buku Tukar A" in shown.text


def test_asking_for_an_item_emails_both_libraries(tmp_path: Path) -> None:
    with smtp_server() as (url, inbox):
        net = network(tmp_path, smtp_url=url, contact_email="katalog@example.org")
        response = ask(net.client(MANAGER_B), net.offer_a, note="Untuk ruang baca")
        assert response.status_code == 302
        # the asking manager once (with the status link), the offering library's manager
        assert inbox.to() == [MANAGER_A, MANAGER_B]
        by_to = {str(m["To"]): m.get_content() for m in inbox.messages}
        assert response.headers["Location"] in by_to[MANAGER_B]
        assert "Buku Tukar A" in by_to[MANAGER_A] and MANAGER_B in by_to[MANAGER_A]


def requests(net: Network) -> int:
    """How many exchange requests are stored."""
    with net.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(ServiceRequest).where(
            ServiceRequest.kind == "exchange")) or 0)


def test_who_may_not_ask_is_told_why(net: Network) -> None:
    own = ask(net.client(MANAGER_A), net.offer_a)
    assert own.status_code == 403
    assert "perpustakaan Anda sendiri" in own.text
    coordinator = ask(net.client(COORDINATOR), net.offer_a)
    assert coordinator.status_code == 403
    anonymous = ask(net.client(), net.offer_a)
    assert anonymous.status_code == 403
    assert "Masuk sebagai pengelola" in anonymous.text
    manager_b = net.client(MANAGER_B)
    assert ask(manager_b, net.offer_a, quantity="2").status_code == 400
    assert ask(manager_b, net.offer_a, member="1").status_code == 403
    no_token = manager_b.post(f"/exchange/{net.offer_a}/ask", data={"quantity": "1"})
    assert no_token.status_code == 400
    with session_scope(net.engine) as session:
        offer = session.get(Offer, net.offer_a)
        assert offer is not None
        offer.status = "given"
    gone = ask(manager_b, net.offer_a)
    assert gone.status_code == 409
    assert requests(net) == 0


def test_asks_are_limited_per_address(tmp_path: Path) -> None:
    net = network(tmp_path, request_rate_limit=2)
    client = net.client(MANAGER_B)
    assert [ask(client, net.offer_a).status_code for _ in range(3)] == [
        302, 302, 429]
    assert requests(net) == 2
