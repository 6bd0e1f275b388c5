"""The request pages: the public form on a record (validation, CSRF, rate limit, 404s),
the patron's status page (headers, purged data), the managers' pages (who may see and
answer what), figures, member settings, and the emails (a real SMTP server)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from admin import COORDINATOR, MANAGER_A, MANAGER_B, Network, network, token
from adminsite import add_records, smtp_server
from aggregator.request_notices import request_answered, request_made
from aggregator.store import requests
from aggregator.store.db import session_scope
from aggregator.store.models import Member, Record, ServiceRequest, utcnow
from aggregator.web import create_app


def site(tmp_path: Path, **overrides: object) -> tuple[Network, int]:
    """The admin network (a takes loans and copies, b nothing yet) and a record of a."""
    net = network(tmp_path, **overrides)
    add_records(net.engine, net.source_a, 1)
    with net.engine.connect() as conn:
        record = conn.scalar(select(Record.id).where(Record.source_id == net.source_a))
    assert record is not None
    with session_scope(net.engine) as session:
        requests.set_request_settings(session, "a", "copies", "Rp 500 a page.")
    return net, record


def form(client: FlaskClient, url: str, **values: str) -> dict[str, str]:
    return {"csrf_token": token(client, url), "kind": "copy", "name": "Siti Aminah",
            "email": "siti@example.org", "home": "b", "home_other": "", "note": "pp. 3-9",
            **values}


def count(net: Network) -> int:
    with net.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(ServiceRequest)) or 0)


def test_the_record_page_offers_requests_of_members_that_take_them(tmp_path: Path) -> None:
    net, record = site(tmp_path)
    page = net.client().get(f"/records/{record}?lang=en")
    assert page.status_code == 200
    assert f'href="/records/{record}/request/a"' in page.text
    assert "Request a copy from Perpustakaan A" in page.text and "Rp 500 a page." in page.text
    with session_scope(net.engine) as session:
        requests.set_request_settings(session, "a", "none", None)
    assert "/request/a" not in net.client().get(f"/records/{record}").text


def test_the_form_is_404_where_no_request_can_be_made(tmp_path: Path) -> None:
    net, record = site(tmp_path)
    client = net.client()
    assert client.get(f"/records/{record}/request/a").status_code == 200
    assert client.get(f"/records/{record}/request/b").status_code == 404  # holds nothing
    assert client.get(f"/records/{record}/request/zz").status_code == 404
    assert client.get(f"/records/{record + 99}/request/a").status_code == 404
    with session_scope(net.engine) as session:
        requests.set_request_settings(session, "a", "none", None)
    assert client.get(f"/records/{record}/request/a").status_code == 404


def test_a_valid_request_leads_to_its_private_status_page(tmp_path: Path) -> None:
    net, record = site(tmp_path)
    client = net.client()
    url = f"/records/{record}/request/a"
    sent = client.post(url, data=form(client, url))
    assert sent.status_code == 302
    location = sent.headers["Location"]
    assert re.fullmatch(r"/requests/[A-Za-z0-9_-]{43}", location)
    status = net.client().get(location + "?lang=en")  # the link works without the session
    assert status.status_code == 200
    assert status.headers["Cache-Control"] == "no-store"
    assert status.headers["Referrer-Policy"] == "no-referrer"
    assert "noindex" in status.headers["X-Robots-Tag"]
    assert "Waiting for an answer" in status.text and "Perpustakaan B" in status.text
    assert "Siti Aminah" in status.text and "pp. 3-9" in status.text
    assert net.client().get(location[:-1] + "x").status_code == 404
    assert net.client().get("/requests/" + "a" * 200).status_code == 404
    with session_scope(net.engine) as session:
        made = requests.get_by_token(session, location.rsplit("/", 1)[1])
    assert made is not None and made.kind == "copy" and made.record_id == record
    assert made.home_slug == "b"


@pytest.mark.parametrize(("change", "message"), [
    ({"email": "siti"}, "This is not an email address."),
    ({"name": ""}, "Please fill in this field."),
    ({"name": "x" * 201}, "At most 200 characters."),
    ({"note": "x" * 2001}, "At most 2000 characters."),
    ({"home": "other", "home_other": ""}, "Name your library, or pick it from the list."),
    ({"kind": "loan"}, "Not a valid choice"),
    ({"home": "nobody"}, "Not a valid choice"),
    ({"home": ""}, "Choose your library, or &#34;Another library&#34;."),
])
def test_bad_input_comes_back_with_a_message(tmp_path: Path, change: dict[str, str],
                                             message: str) -> None:
    net, record = site(tmp_path)
    client = net.client()
    url = f"/records/{record}/request/a?lang=en"
    response = client.post(url, data=form(client, url, **change))
    assert response.status_code == 400 and message in response.text
    assert count(net) == 1  # the network's own request only


def test_a_request_without_a_token_is_refused(tmp_path: Path) -> None:
    net, record = site(tmp_path)
    client = net.client()
    url = f"/records/{record}/request/a"
    data = form(client, url)
    del data["csrf_token"]
    assert client.post(url, data=data).status_code == 400
    data["csrf_token"] = "forged"
    assert client.post(url, data=data).status_code == 400
    assert count(net) == 1


def test_requests_are_limited_per_client_address(tmp_path: Path) -> None:
    net, record = site(tmp_path, request_rate_limit=2)
    client = net.client()
    url = f"/records/{record}/request/a"
    for _ in range(2):
        assert client.post(url, data=form(client, url)).status_code == 302
    refused = client.post(url + "?lang=en", data=form(client, url))
    assert refused.status_code == 429 and "Too many requests from your address" in refused.text
    assert count(net) == 3
    other = net.client()  # another address is not held back
    assert other.post(url, data=form(other, url), environ_base={
        "REMOTE_ADDR": "192.0.2.7"}).status_code == 302


def test_a_purged_request_says_the_data_was_deleted(tmp_path: Path) -> None:
    net, _ = site(tmp_path)
    with session_scope(net.engine) as session:
        session.execute(update(ServiceRequest).values(
            created_at=utcnow() - timedelta(days=181)))
        found = requests.get_request(session, net.request_id)
    assert found is not None
    assert requests.purge_expired(net.engine, net.settings.request_retention_days) == 1
    page = net.client().get(f"/requests/{found.token}?lang=en")
    assert page.status_code == 200 and "were deleted after the retention period" in page.text
    assert "Siti" not in page.text and "siti@example.org" not in page.text
    admin = net.client(MANAGER_A).get(f"/admin/requests/{net.request_id}?lang=en")
    assert "siti@example.org" not in admin.text and "were deleted" in admin.text


def post(client: FlaskClient, url: str, **data: str) -> str:
    response = client.post(url + "?lang=en", data={"csrf_token": token(client, "/admin/"),
                                                   **data})
    assert response.status_code == 302, response.text
    return client.get(response.headers["Location"] + "?lang=en").text


def test_the_holders_manager_answers_and_the_patron_follows(tmp_path: Path) -> None:
    net, record = site(tmp_path)
    patron = net.client()
    url = f"/records/{record}/request/a"
    status_url = patron.post(url, data=form(patron, url)).headers["Location"]
    with session_scope(net.engine) as session:
        made = requests.get_by_token(session, status_url.rsplit("/", 1)[1])
    assert made is not None
    manager = net.client(MANAGER_A)
    listed = manager.get("/admin/requests?lang=en").text
    assert f'href="/admin/requests/{made.id}"' in listed
    base = f"/admin/requests/{made.id}"
    refused = post(manager, base + "/decline", reason="")
    assert "Nothing was saved: say why the request is declined" in refused
    accepted = post(manager, base + "/accept", reason="Sent by Friday.")
    assert "The answer is saved." in accepted
    page = patron.get(status_url + "?lang=en").text
    assert "Accepted" in page and "Sent by Friday." in page
    again = post(manager, base + "/accept")
    assert "Nothing was changed: the request is already accepted." in again
    again_id = manager.post(base + "/accept?lang=id", data={
        "csrf_token": token(manager, "/admin/")}).headers["Location"]
    assert "Tidak ada yang diubah: permintaan ini sudah diterima." in manager.get(
        again_id + "?lang=id").text
    post(manager, base + "/fulfil")
    assert "Fulfilled" in patron.get(status_url + "?lang=en").text
    assert f'href="/admin/requests/{made.id}"' in manager.get(
        "/admin/requests?status=fulfilled").text
    assert f'href="/admin/requests/{made.id}"' not in manager.get(
        "/admin/requests?status=new").text


def test_the_home_library_reads_and_cannot_answer(tmp_path: Path) -> None:
    net, record = site(tmp_path)
    patron = net.client()
    url = f"/records/{record}/request/a"
    patron.post(url, data=form(patron, url, home="b"))
    with net.engine.connect() as conn:
        rid = conn.scalar(select(func.max(ServiceRequest.id)))
    home = net.client(MANAGER_B)
    assert f'href="/admin/requests/{rid}"' in home.get("/admin/requests").text
    assert f'href="/admin/requests/{net.request_id}"' not in home.get("/admin/requests").text
    detail = home.get(f"/admin/requests/{rid}?lang=en")
    assert detail.status_code == 200 and "Siti Aminah" in detail.text
    assert "/accept" not in detail.text and "the library asked answers it" in detail.text
    answer = home.post(f"/admin/requests/{rid}/accept",
                       data={"csrf_token": token(home, "/admin/")})
    assert answer.status_code == 403
    # the other request (home: a library outside the network) is not b's to see
    assert home.get(f"/admin/requests/{net.request_id}").status_code == 404
    assert net.client().get(f"/admin/requests/{rid}").status_code == 302  # to /login
    coordinator = net.client(COORDINATOR)
    assert "accepted" in post(coordinator, f"/admin/requests/{rid}/accept").lower()


def test_figures_page_and_csv(tmp_path: Path) -> None:
    net, _ = site(tmp_path)
    manager = net.client(MANAGER_A)
    with session_scope(net.engine) as session:
        requests.answer(session, net.request_id, "decline", actor=MANAGER_A, reason="no")
    page = manager.get("/admin/requests/figures?lang=en")
    assert page.status_code == 200 and "The whole network" in page.text
    csv = manager.get("/admin/requests/figures.csv")
    assert csv.mimetype == "text/csv"
    lines = csv.text.strip().split("\r\n")
    assert lines[0].startswith("member,name,kind,made,open")
    assert lines[1].startswith("a,Perpustakaan A,all,1,0,0,0,0,1,1,")
    assert any(line.startswith(",,all,1,") for line in lines)
    future = manager.get("/admin/requests/figures.csv?since=2999-01-01").text
    assert future.strip().count("\r\n") == 0  # the header only
    assert manager.get("/admin/requests/figures?since=junk").status_code == 200
    # b's manager sees the network's rows but not a's
    other = net.client(MANAGER_B).get("/admin/requests/figures.csv").text
    assert "Perpustakaan A" not in other and ",,all,1," in other


def test_a_manager_sets_which_requests_the_member_takes(tmp_path: Path) -> None:
    net, _ = site(tmp_path)
    manager = net.client(MANAGER_A)
    page = post(manager, "/admin/members/a/requests", accepts_requests="loans",
                request_conditions="Members of the network only.")
    assert "request settings are saved" in page
    assert 'value="loans" selected' in page and "Members of the network only." in page
    bad = post(manager, "/admin/members/a/requests", accepts_requests="everything")
    assert "Nothing was saved" in bad
    with net.engine.connect() as conn:
        row = conn.execute(select(Member.accepts_requests, Member.request_conditions)
                           .where(Member.slug == "a")).one()
    assert tuple(row) == ("loans", "Members of the network only.")
    other = net.client(MANAGER_B)
    refused = other.post("/admin/members/a/requests", data={
        "csrf_token": token(other, "/admin/"), "accepts_requests": "none"})
    assert refused.status_code == 404


def test_emails_go_to_the_patron_and_both_libraries_managers(tmp_path: Path) -> None:
    net, record = site(tmp_path)
    assert request_made(net.settings, net.engine, net.request_id) == 0  # no SMTP: nothing
    with smtp_server() as (url, inbox):
        settings = replace(net.settings, smtp_url=url, contact_email="katalog@example.org",
                           network_name="Jaringan Uji")
        app = create_app(settings, engine=net.engine)
        patron = app.test_client()
        form_url = f"/records/{record}/request/a"
        status_url = patron.post(form_url, data=form(
            patron, form_url, email="budi@example.org", name="Budi")).headers["Location"]
        assert inbox.to() == ["budi@example.org", MANAGER_A, MANAGER_B]
        by_to = {str(m["To"]): m.get_content() for m in inbox.messages}
        assert status_url in by_to["budi@example.org"]
        assert "budi@example.org" in by_to[MANAGER_A]  # the holder answers the patron
        assert "budi@example.org" not in by_to[MANAGER_B]
        for body in by_to.values():  # the network's other request is nobody's business
            assert "siti@example.org" not in body and "Siti" not in body
        with session_scope(net.engine) as session:
            made = requests.get_by_token(session, status_url.rsplit("/", 1)[1])
            assert made is not None
            requests.answer(session, made.id, "decline", actor=MANAGER_A, reason="Lost.")
        assert request_answered(settings, net.engine, made.id) == 1
        last = inbox.messages[-1]
        assert str(last["To"]) == "budi@example.org" and "Lost." in last.get_content()
        assert status_url in last.get_content()
