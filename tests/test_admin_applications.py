"""The coordinator's applications: the list, one application with its report, and the
decision (approve: member, source, first harvest due now; reject: a note), with the
applicant told over a real SMTP server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from admin import COORDINATOR, Network, network, token
from adminsite import smtp_server
from aggregator.errors import UserInputError
from aggregator.store import applications, catalog
from aggregator.store.db import session_scope
from aggregator.store.models import Application, Member, Source

REPORT_WITH_WARNING = {
    "base_url": "http://127.0.0.1:9/ojs/index.php/j/oai", "ok": True, "platform": "ojs",
    "errors": [], "warnings": ["identifiers use the stock OJS repository_id"],
    "findings": [{"severity": "warning", "code": "placeholder-identifier",
                  "message": "identifiers use the stock OJS repository_id",
                  "sample": "oai:ojs.pkp.sfu.ca:article/1", "platform": "ojs"}],
    "info": {"platform": "ojs", "estimated_size": 1234}}


def add_application(net: Network, name: str = "Jurnal Ilmu Contoh",
                    base_url: str = "http://127.0.0.1:9/ojs/index.php/j/oai") -> int:
    with session_scope(net.engine) as session:
        return applications.submit(
            session, name=name, homepage="https://jurnal.example.ac.id/",
            contact_email="editor@jurnal.example.ac.id", base_url=base_url,
            report={**REPORT_WITH_WARNING, "base_url": base_url}, platform="ojs").id


def decide(client: FlaskClient, application_id: int, decision: str, **form: str) -> Any:
    """Post a decision, in English (the language is the reader's, kept in a cookie)."""
    data = {"csrf_token": token(client, "/admin/?lang=en"), **form}
    return client.post(f"/admin/applications/{application_id}/{decision}", data=data)


def application_row(net: Network, application_id: int) -> Application:
    with Session(net.engine) as session:
        found = session.get(Application, application_id)
        assert found is not None
        session.expunge(found)
        return found


def test_the_list_shows_waiting_applications_first(tmp_path: Path) -> None:
    net = network(tmp_path)
    newer = add_application(net)
    coordinator = net.client(COORDINATOR)
    assert decide(coordinator, net.application_id, "reject").status_code == 302
    page = coordinator.get("/admin/applications?lang=en").text
    assert page.index(f'id="application-{newer}"') < page.index(
        f'id="application-{net.application_id}"')
    assert "Ready with warnings" in page and "OJS" in page
    overview = coordinator.get("/admin/?lang=en").text
    assert "1 applications to join are waiting" in overview
    assert 'href="/admin/applications"' in overview


def test_an_application_shows_its_report_with_the_platforms_advice(tmp_path: Path) -> None:
    net = network(tmp_path)
    application_id = add_application(net)
    coordinator = net.client(COORDINATOR)
    page = coordinator.get(f"/admin/applications/{application_id}").text
    assert "config.inc.php" in page and "Perkiraan jumlah cantuman: 1.234" in page
    assert 'value="jurnal-ilmu-contoh"' in page  # the slug offered
    english = coordinator.get(f"/admin/applications/{application_id}?lang=en").text
    assert "Estimated number of records: 1,234" in english
    assert coordinator.get("/admin/applications/99999").status_code == 404
    assert coordinator.post("/admin/applications/1/maybe", data={
        "csrf_token": token(coordinator, "/admin/")}).status_code == 404


def test_approval_creates_the_member_and_its_source_due_now_and_mails_the_applicant(
        tmp_path: Path) -> None:
    with smtp_server() as (url, inbox):
        net = network(tmp_path, smtp_url=url, contact_email="katalog@example.org")
        application_id = add_application(net)
        coordinator = net.client(COORDINATOR)
        response = decide(coordinator, application_id, "approve", slug="", every="12h",
                          note="Selamat bergabung!")
        assert response.status_code == 302
        page = coordinator.get(response.headers["Location"]).text
    assert "Approved: member jurnal-ilmu-contoh" in page
    assert "The applicant was told by email (editor@jurnal.example.ac.id)" in page
    assert "aggregator users add editor@jurnal.example.ac.id --role manager " \
           "--member jurnal-ilmu-contoh" in page
    assert inbox.to() == ["editor@jurnal.example.ac.id"]
    body = inbox.messages[0].get_content()
    assert "APPROVED" in body and "Selamat bergabung!" in body
    with Session(net.engine) as session:
        member = session.scalar(select(Member).where(Member.slug == "jurnal-ilmu-contoh"))
        assert member is not None and member.name == "Jurnal Ilmu Contoh"
        assert member.homepage == "https://jurnal.example.ac.id/"
        source = session.scalar(select(Source).where(Source.member_id == member.id))
        assert source is not None and source.base_url == REPORT_WITH_WARNING["base_url"]
        assert source.every_seconds == 12 * 3600 and source.status == "active"
        assert source.next_run_at is None  # due: the next scheduler to look harvests it
    row = application_row(net, application_id)
    assert (row.status, row.note, row.decided_by) == ("approved", "Selamat bergabung!",
                                                      COORDINATOR)
    again = decide(coordinator, application_id, "reject")
    assert again.status_code == 302
    assert application_row(net, application_id).status == "approved"
    assert "was approved already" in coordinator.get(again.headers["Location"]).text


def test_rejection_keeps_the_note_and_creates_nothing(tmp_path: Path) -> None:
    with smtp_server() as (url, inbox):
        net = network(tmp_path, smtp_url=url, contact_email="katalog@example.org")
        application_id = add_application(net)
        coordinator = net.client(COORDINATOR)
        with Session(net.engine) as session:
            members = len(session.scalars(select(Member)).all())
        decide(coordinator, application_id, "reject",
               note="Alamat OAI-PMH ini milik perpustakaan lain.")
    row = application_row(net, application_id)
    assert (row.status, row.member_id) == ("rejected", None)
    assert row.note == "Alamat OAI-PMH ini milik perpustakaan lain."
    with Session(net.engine) as session:
        assert len(session.scalars(select(Member)).all()) == members
    assert "Alamat OAI-PMH ini milik perpustakaan lain." in inbox.messages[0].get_content()


def test_approval_can_add_the_endpoint_to_an_existing_member(tmp_path: Path) -> None:
    net = network(tmp_path)
    application_id = add_application(net, base_url="http://127.0.0.1:9/a/second/oai")
    coordinator = net.client(COORDINATOR)
    decide(coordinator, application_id, "approve", slug="a", every="24h")
    with Session(net.engine) as session:
        member_a = session.scalar(select(Member).where(Member.slug == "a"))
        assert member_a is not None and member_a.name == "Perpustakaan A"  # unchanged
        urls = sorted(session.scalars(select(Source.base_url).where(
            Source.member_id == member_a.id)))
    assert urls == ["http://127.0.0.1:9/a/oai", "http://127.0.0.1:9/a/second/oai"]


@pytest.mark.parametrize(("form", "reason"), [
    ({"every": "sometimes"}, "interval"),
    ({"slug": "Bad Slug!"}, "slug"),
    ({"note": "x" * 2001}, "at most 2000 characters"),
])
def test_a_bad_approval_saves_nothing(tmp_path: Path, form: dict[str, str],
                                      reason: str) -> None:
    net = network(tmp_path)
    application_id = add_application(net)
    coordinator = net.client(COORDINATOR)
    response = decide(coordinator, application_id, "approve", **form)
    page = coordinator.get(response.headers["Location"]).text
    assert "Nothing was saved" in page and reason in page
    assert application_row(net, application_id).status == "pending"
    with Session(net.engine) as session:
        assert session.scalar(select(Member).where(
            Member.slug == "jurnal-ilmu-contoh")) is None


def test_approval_checks_the_url_again(tmp_path: Path) -> None:
    """The network was opened when the library applied, and closed since."""
    net = network(tmp_path, allow_networks=())
    application_id = add_application(net)
    coordinator = net.client(COORDINATOR)
    response = decide(coordinator, application_id, "approve")
    page = coordinator.get(response.headers["Location"]).text
    assert "Not approved: the endpoint" in page and "loopback" in page
    assert application_row(net, application_id).status == "pending"


def test_without_smtp_the_page_says_no_email_went_out(tmp_path: Path) -> None:
    net = network(tmp_path)
    coordinator = net.client(COORDINATOR)
    response = decide(coordinator, net.application_id, "reject")
    page = coordinator.get(response.headers["Location"]).text
    assert "No email was sent: tell the applicant yourself at calon@example.org." in page


def test_the_applications_store_on_each_database(engine: Engine) -> None:
    report = {**REPORT_WITH_WARNING}
    with session_scope(engine) as session:
        catalog.add_member(session, "perpustakaan-kota", "Perpustakaan Kota")
        first = applications.submit(
            session, name="Perpustakaan Kota", homepage=None, contact_email="A@Kota.example.id",
            base_url="http://repo.kota.example.id/oai", report=report, platform="ojs")
        second = applications.submit(
            session, name="Jurnal Desa", homepage="https://desa.example.id/",
            contact_email="b@desa.example.id", base_url="http://desa.example.id/oai",
            report=report, platform=None)
        assert first.contact_email == "a@kota.example.id"
        assert applications.endpoint_known(session, first.base_url) == "pending"
        with pytest.raises(UserInputError, match="waiting for the coordinator"):
            applications.submit(session, name="Lagi", homepage=None,
                                contact_email="c@kota.example.id",
                                base_url="http://repo.kota.example.id/oai", report=report,
                                platform=None)
        with pytest.raises(UserInputError, match="email"):
            applications.submit(session, name="X", homepage=None, contact_email="x",
                                base_url="http://x.example.id/oai", report=report,
                                platform=None)
        assert applications.count_pending(session) == 2
    with session_scope(engine) as session:
        approved = applications.approve(session, first.id, decided_by="k@example.org",
                                        note=None, every="6h")
        assert approved.member_slug == "perpustakaan-kota-2"  # the slug was taken
        rejected = applications.reject(session, second.id, decided_by="k@example.org",
                                       note="  Bukan perpustakaan.  ")
        assert rejected.note == "Bukan perpustakaan."
    with session_scope(engine) as session:
        assert applications.endpoint_known(session, first.base_url) == "source"
        assert applications.endpoint_known(session, second.base_url) is None
        assert applications.count_pending(session) == 0
        assert [a.status for a in applications.list_applications(session)] == [
            "rejected", "approved"]  # latest decision first
        with pytest.raises(UserInputError, match="approved already"):
            applications.reject(session, first.id, decided_by="k@example.org", note=None)
        source = session.scalars(select(Source).where(
            Source.base_url == first.base_url)).one()
        assert (source.every_seconds, source.next_run_at) == (6 * 3600, None)
