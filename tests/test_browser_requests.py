"""An interlibrary copy request end to end in a real browser (Chromium via Playwright): a
patron asks for a copy from a record page, the holding library's manager signs in,
accepts and fulfils it, the patron's status page follows each step, and a real SMTP
server on 127.0.0.1 (aiosmtpd) receives the emails. axe-core's checks on every page met.

Skipped when Playwright or Debian's chromium is missing (``.ci/run`` installs chromium).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from adminsite import Inbox, smtp_server
from aggregator.demo.provider import Repository
from aggregator.store import requests, users
from aggregator.store.db import init_schema, make_engine, session_scope
from aggregator.store.models import Member, Record, ServiceRequest, Source
from aggregator.web.queries import record_page
from harvesting import make_records
from portal import Library, harvest, local_settings

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
from playwright.sync_api import Browser, Page, expect

from browsing import CHROMIUM, DESKTOP, artifacts_folder, axe_violations, launch, watch

if CHROMIUM is None:  # pragma: no cover - depends on the machine
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)

HOLDER_MANAGER = "layanan@unimaju.example.ac.id"
HOME_MANAGER = "pustakawan@sman1.example.sch.id"
PATRON = "rina.patron@example.org"
PASSWORD = "a long enough password"


@dataclass
class Site:
    """The running portal, its store, the SMTP inbox and the record asked for."""

    url: str
    root: str  # public_root: what the emails link to
    engine: Engine
    inbox: Inbox
    record_id: int
    title: str
    artifacts: Path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from aggregator.web import create_app
    from aggregator.web.serve import PortalServer

    base = local_settings(tmp_path_factory.mktemp("requests"))
    engine = make_engine(base)
    init_schema(engine)
    holder = Library("unimaju", "Perpustakaan Universitas Maju", Repository(
        make_records(3, prefix="oai:unimaju.example.ac.id:"),
        name="Repositori Universitas Maju", repository_identifier="unimaju.example.ac.id"))
    home = Library("sman1", "Perpustakaan SMAN 1", Repository(
        make_records(2, prefix="oai:sman1.example.sch.id:"), name="Katalog SMAN 1",
        repository_identifier="sman1.example.sch.id"))
    harvest(engine, base, [holder, home])
    with session_scope(engine) as session:
        requests.set_request_settings(session, "unimaju", "copies",
                                      "Salinan dikirim lewat surel, gratis.")
        users.add_account(session, HOLDER_MANAGER, PASSWORD, "manager", ["unimaju"])
        users.add_account(session, HOME_MANAGER, PASSWORD, "manager", ["sman1"])
        record_id = session.scalars(
            select(Record.id).join(Source, Source.id == Record.source_id)
            .join(Member, Member.id == Source.member_id).where(Member.slug == "unimaju")
            .order_by(Record.id).limit(1)).one()
    shown = record_page(engine, record_id)
    title = shown.fields.title if shown else None
    with smtp_server() as (smtp_url, inbox):
        settings = replace(base, smtp_url=smtp_url, contact_email="katalog@example.org",
                           network_name="Jaringan Uji")
        server = PortalServer(create_app(settings, engine=engine), port=0)
        thread = threading.Thread(target=server.run, name="portal", daemon=True)
        thread.start()
        try:
            yield Site(server.url.rstrip("/"), settings.public_root, engine, inbox,
                       record_id, title or "", artifacts_folder(tmp_path_factory))
        finally:
            server.stop()
            engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch() as chromium:
        yield chromium


def sign_in(page: Page, site: Site, email: str) -> None:
    page.goto(site.url + "/")
    page.get_by_role("contentinfo").get_by_role("link", name="Masuk").click()
    page.get_by_label("Surel").fill(email)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(re.compile(r"/admin/$"))


def mails_to(inbox: Inbox, address: str) -> list[str]:
    with inbox.lock:
        return [m.get_content() for m in inbox.messages if str(m["To"]) == address]


def test_a_patron_requests_a_copy_and_follows_it_to_the_end(site: Site,
                                                            browser: Browser) -> None:
    found: dict[str, list[object]] = {}
    assert site.title

    # -- the patron asks -----------------------------------------------------------------
    patron = browser.new_context(locale="id-ID", viewport=DESKTOP)
    seen = watch(patron)
    page = seen.page
    page.goto(f"{site.url}/records/{site.record_id}")
    expect(page.locator(".request-links")).to_contain_text("Salinan dikirim lewat surel")
    page.get_by_role("link", name="Minta salinan dari Perpustakaan Universitas Maju").click()
    page.wait_for_url(re.compile(rf"/records/{site.record_id}/request/unimaju$"))
    found["form"] = axe_violations(page)
    expect(page.get_by_label("Salinan")).to_be_checked()  # the only kind it takes
    page.get_by_label("Nama Anda").fill("Rina Patron")
    page.get_by_label("Surel Anda").fill(PATRON)
    page.get_by_label("Perpustakaan asal Anda").select_option("sman1")
    page.get_by_label("Catatan untuk perpustakaan (boleh dikosongkan)").fill("Bab 2 saja.")
    page.screenshot(path=str(site.artifacts / "request-form-desktop.png"), full_page=True)
    page.get_by_role("button", name="Kirim permintaan").click()
    page.wait_for_url(re.compile(r"/requests/[A-Za-z0-9_-]{43}$"))
    status_url = page.url
    token = status_url.rsplit("/", 1)[1]
    expect(page.locator("#request-status")).to_contain_text("Menunggu jawaban")
    expect(page.locator("dd.title")).to_have_text(site.title)
    found["status"] = axe_violations(page)
    page.screenshot(path=str(site.artifacts / "request-status-new-desktop.png"),
                    full_page=True)
    link = f"{site.root}/requests/{token}"
    assert sorted(str(m["To"]) for m in site.inbox.messages) == sorted(
        [PATRON, HOLDER_MANAGER, HOME_MANAGER])
    assert link in mails_to(site.inbox, PATRON)[0]
    assert PATRON in mails_to(site.inbox, HOLDER_MANAGER)[0]
    assert "Rina Patron" in mails_to(site.inbox, HOME_MANAGER)[0]
    assert PATRON not in mails_to(site.inbox, HOME_MANAGER)[0]

    # -- the holder's manager accepts, then fulfils ---------------------------------------
    office = browser.new_context(locale="id-ID", viewport=DESKTOP)
    desk = watch(office).page
    sign_in(desk, site, HOLDER_MANAGER)
    desk.get_by_role("navigation", name="Administrasi").get_by_role(
        "link", name="Permintaan").click()
    desk.get_by_role("link", name=site.title).click()
    expect(desk.locator("#request-status")).to_have_text("Menunggu jawaban")
    expect(desk.locator("dd.patron")).to_contain_text(PATRON)
    found["admin request"] = axe_violations(desk)
    accept = desk.locator("form.accept")
    accept.get_by_label("Pesan untuk pemustaka (boleh dikosongkan)").fill(
        "Kami kirim hari Jumat.")
    accept.get_by_role("button", name="Terima").click()
    expect(desk.locator("#request-status")).to_have_text("Diterima")
    expect(desk.get_by_role("status").first).to_contain_text("Jawaban telah disimpan")

    page.reload()
    expect(page.locator("#request-status")).to_contain_text("Diterima")
    expect(page.locator("dd.reason")).to_have_text("Kami kirim hari Jumat.")
    expect(page.locator("ol.timeline li")).to_have_count(2)

    desk.locator("form.fulfil").get_by_role("button", name="Tandai sudah dipenuhi").click()
    expect(desk.locator("#request-status")).to_have_text("Dipenuhi")
    expect(desk.locator("form.answer")).to_have_count(0)  # closed: nothing to answer
    desk.screenshot(path=str(site.artifacts / "request-admin-desktop.png"), full_page=True)
    office.close()

    page.reload()
    expect(page.locator("#request-status")).to_contain_text("Dipenuhi")
    expect(page.locator("ol.timeline li")).to_have_count(3)
    page.screenshot(path=str(site.artifacts / "request-status-fulfilled-desktop.png"),
                    full_page=True)
    assert seen.failed == [] and seen.console_errors == [] and seen.dialogs == []
    patron.close()

    # -- the emails ----------------------------------------------------------------------
    to_patron = mails_to(site.inbox, PATRON)
    assert len(to_patron) == 3  # made, accepted, fulfilled
    assert all(link in body for body in to_patron)
    assert "diterima" in to_patron[1] and "Kami kirim hari Jumat." in to_patron[1]
    assert "dipenuhi" in to_patron[2]
    assert len(mails_to(site.inbox, HOLDER_MANAGER)) == 1
    assert len(mails_to(site.inbox, HOME_MANAGER)) == 1
    with session_scope(site.engine) as session:
        status = session.scalar(select(ServiceRequest.status).where(
            ServiceRequest.token == token))
    assert status == "fulfilled"
    assert {label: v for label, v in found.items() if v} == {}
