"""A library joins the network in a real browser (Chromium via Playwright): it applies at
/register (first with an endpoint that has errors, then with one that works), the
coordinator signs in and approves, a scheduler harvests the new source, and the
library's manager sees it on their source page. Screenshots of the registration
report, the source page and the dashboard; axe-core's checks on every page met.

Skipped when Playwright or Debian's chromium is missing (``.ci/run`` installs chromium).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from aggregator.demo.oaiserver import OAIServer
from aggregator.demo.provider import Repository
from aggregator.scheduler.worker import Scheduler
from aggregator.store import users
from aggregator.store.db import init_schema, make_engine, session_scope
from aggregator.store.models import Application, Source
from harvesting import make_records
from httpfixture import LocalServer
from platform_pages import PLATFORMS, serve_platform
from portal import local_settings

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
from playwright.sync_api import Browser, Page, expect

from browsing import CHROMIUM, DESKTOP, artifacts_folder, axe_violations, launch, watch

if CHROMIUM is None:  # pragma: no cover - depends on the machine
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)

COORDINATOR = "koordinator@jaringan.example.org"
CONTACT = "pustakawan@unimaju.example.ac.id"
PASSWORD = "a long enough password"
RECORDS = 25


@dataclass
class Site:
    """The running portal, the endpoints a library may give, and the store."""

    url: str
    working: str  # a repository that can be harvested
    broken: str  # a SLiMS endpoint that leaves out datestamps (an error)
    engine: Engine
    artifacts: Path
    settings: object


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from aggregator.web import create_app
    from aggregator.web.serve import PortalServer

    settings = local_settings(tmp_path_factory.mktemp("joining"))
    engine = make_engine(settings)
    init_schema(engine)
    with session_scope(engine) as session:
        users.add_account(session, COORDINATOR, PASSWORD, "coordinator")
    repository = Repository(make_records(RECORDS, prefix="oai:unimaju.example.ac.id:"),
                            name="Repositori Universitas Maju",
                            repository_identifier="unimaju.example.ac.id")
    with OAIServer(repository) as working, LocalServer() as slims:
        broken = serve_platform(slims, PLATFORMS["slims"])
        server = PortalServer(create_app(settings, engine=engine), port=0)
        thread = threading.Thread(target=server.run, name="portal", daemon=True)
        thread.start()
        try:
            yield Site(server.url.rstrip("/"), working.base_url, broken, engine,
                       artifacts_folder(tmp_path_factory), settings)
        finally:
            server.stop()
            engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch() as chromium:
        yield chromium


class Checked:
    """axe-core's findings on each page visited, kept to be asserted once at the end."""

    def __init__(self) -> None:
        self.found: dict[str, list[object]] = {}

    def __call__(self, page: Page, label: str) -> None:
        self.found[label] = axe_violations(page)

    def problems(self) -> dict[str, list[object]]:
        return {label: found for label, found in self.found.items() if found}


def sign_in(page: Page, site: Site, email: str) -> None:
    page.goto(site.url + "/")
    page.get_by_role("contentinfo").get_by_role("link", name="Masuk").click()
    page.get_by_label("Surel").fill(email)
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(re.compile(r"/admin/$"))


def test_a_library_joins_and_its_manager_sees_the_harvest(site: Site, browser: Browser) -> None:
    checked = Checked()
    shots = []

    # -- the library applies -----------------------------------------------------------
    applicant = browser.new_context(locale="id-ID", viewport=DESKTOP)
    seen = watch(applicant)
    page = seen.page
    page.goto(site.url + "/")
    page.get_by_role("contentinfo").get_by_role("link", name="Bergabung dengan jaringan").click()
    page.wait_for_url(re.compile(r"/register$"))
    checked(page, "register")
    page.get_by_label("Nama perpustakaan").fill("Perpustakaan Universitas Maju")
    page.get_by_label("Situs web (boleh dikosongkan)").fill("https://unimaju.example.ac.id/")
    page.get_by_label("Surel kontak").fill(CONTACT)
    page.get_by_label("Alamat OAI-PMH (URL dasar)").fill(site.broken)
    page.get_by_role("button", name="Periksa dan ajukan").click()
    expect(page.locator("#verdict")).to_contain_text("Belum siap dipanen")
    expect(page.locator(".finding.error").first).to_contain_text("harus", ignore_case=True)
    assert "lib/oai-pmh.inc.php" in page.locator(".findings").inner_text()
    checked(page, "register with errors")
    shots.append(_shot(page, site, "registration-errors"))
    page.get_by_label("Alamat OAI-PMH (URL dasar)").fill(site.working)
    page.get_by_role("button", name="Periksa dan ajukan").click()
    page.wait_for_url(re.compile(r"/register/sent$"))
    expect(page.locator("#verdict")).to_contain_text("Siap dipanen")
    expect(page.get_by_role("status")).to_contain_text("Perpustakaan Universitas Maju")
    checked(page, "registration report")
    shots.append(_shot(page, site, "registration-report"))
    # the form with errors came back as 422, which the console reports; nothing else
    assert seen.failed == [f"422 {site.url}/register"]
    assert [e for e in seen.console_errors if "status of 422" not in e] == []
    assert seen.dialogs == []
    applicant.close()

    # -- the coordinator approves ------------------------------------------------------
    office = browser.new_context(locale="id-ID", viewport=DESKTOP)
    page = watch(office).page
    sign_in(page, site, COORDINATOR)
    page.get_by_role("link", name="1 permohonan bergabung menunggu").click()
    checked(page, "applications")
    page.get_by_role("link", name="Perpustakaan Universitas Maju").click()
    expect(page.locator("#verdict")).to_contain_text("Siap dipanen")
    checked(page, "application")
    approve = page.locator("form.approve")
    assert approve.get_by_label(re.compile("Slug anggota")).input_value() == \
        "perpustakaan-universitas-maju"
    approve.get_by_label(re.compile("Catatan untuk pemohon")).fill("Selamat bergabung.")
    approve.get_by_role("button", name="Setujui").click()
    expect(page.get_by_role("status").first).to_contain_text("Disetujui")
    with Session(site.engine) as session:
        application = session.scalars(select(Application)).one()
        assert application.status == "approved"
        source = session.scalars(select(Source).where(
            Source.base_url == site.working)).one()
        assert source.next_run_at is None  # due now

    # -- a scheduler harvests it (as `aggregator serve` would) ---------------------------
    results = Scheduler(site.engine, site.settings).run_once()  # type: ignore[arg-type]
    assert [(r.source_id, r.status) for r in results] == [(source.id, "ok")]
    with session_scope(site.engine) as session:  # what `aggregator users add` does
        users.add_account(session, CONTACT, PASSWORD, "manager",
                          ["perpustakaan-universitas-maju"])

    page.goto(site.url + "/admin/")
    expect(page.locator(f"#source-{source.id} .failures")).to_have_text("0")
    checked(page, "dashboard")
    shots.append(_shot(page, site, "dashboard"))
    page.goto(site.url + "/admin/accounts")
    checked(page, "accounts")
    office.close()

    # -- the library's manager looks at the first harvest --------------------------------
    library = browser.new_context(locale="id-ID", viewport=DESKTOP)
    page = watch(library).page
    sign_in(page, site, CONTACT)
    page.get_by_role("link", name=site.working).click()
    page.wait_for_url(re.compile(rf"/admin/sources/{source.id}$"))
    expect(page.locator("dd.records")).to_have_text(str(RECORDS))
    expect(page.locator("tr.run-ok")).to_have_count(1)
    checked(page, "source")
    shots.append(_shot(page, site, "source"))
    page.get_by_role("button", name="Panen sekarang").click()
    expect(page.get_by_role("status").first).to_contain_text("Sumber kini dijadwalkan")
    page.get_by_role("link", name="Perpustakaan Universitas Maju").first.click()
    checked(page, "member")
    library.close()

    for target in shots:
        assert target.exists() and target.stat().st_size > 5_000, target
    assert checked.problems() == {}


def _shot(page: Page, site: Site, name: str) -> Path:
    target = site.artifacts / f"{name}-desktop.png"
    page.screenshot(path=str(target), full_page=True)
    return target


def test_the_sign_in_page_passes_axe(site: Site, browser: Browser) -> None:
    context = browser.new_context(locale="id-ID", viewport=DESKTOP)
    try:
        page = watch(context).page
        page.goto(site.url + "/login?lang=en")
        assert axe_violations(page) == []
    finally:
        context.close()
