"""The portal in a real browser (Chromium via Playwright): search, facets, record and
member pages, languages, keyboard, phone width, hostile harvested text, screenshots.

Skipped when Playwright or Debian's chromium is missing (``.ci/run`` installs chromium).
Screenshots go to ``$AGGREGATOR_TEST_ARTIFACTS`` or a folder under pytest's basetemp.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy.orm import Session

from aggregator.config import load_settings
from aggregator.demo.network import start_network
from aggregator.demo.oaiserver import OAIServer
from aggregator.demo.provider import Repository
from aggregator.demo.run import demo_settings, prepare_folder
from aggregator.demo.samples import SampleRecord
from aggregator.index.sync import open_index
from aggregator.pipeline import sync_source
from aggregator.store import catalog
from aggregator.store.db import init_schema, make_engine

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
from playwright.sync_api import Browser, Locator, Page

from browsing import (
    CHROMIUM,
    DESKTOP,
    PHONE,
    TIMEOUT_MS,
    Watched,
    artifacts_folder,
    axe_violations,
    launch,
    watch,
)

if CHROMIUM is None:  # pragma: no cover - depends on the machine
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)

SCRIPT_TITLE = "<script>alert(1)</script> Katalog berbahaya"
IMG_TITLE = '<img src=x onerror=alert(1)> Gambar berbahaya'
EVIL_LINK = "javascript:alert(1)"


@dataclass
class Portal:
    """The running portal and what the tests need to know about it."""

    url: str
    artifacts: Path


def _hostile_repository() -> Repository:
    """A member whose records try to run script through every harvested field we show."""
    when = datetime(2024, 3, 1, tzinfo=UTC)
    records = [
        SampleRecord(identifier="oai:evil.example.org:1", datestamp=when, metadata={
            "title": [SCRIPT_TITLE], "creator": ['"><script>alert(1)</script>'],
            "identifier": [EVIL_LINK], "subject": ["<b onmouseover=alert(1)>xss</b>"],
            "description": ["zzxssprobe <iframe src=javascript:alert(1)></iframe>"],
            "date": ["2024"], "type": ["Text"], "language": ["ind"]}),
        SampleRecord(identifier="oai:evil.example.org:2", datestamp=when, metadata={
            "title": [IMG_TITLE], "creator": ["Penyusup, Iseng"],
            "identifier": [EVIL_LINK], "rights": [EVIL_LINK],
            "description": ["zzxssprobe"], "date": ["2023"], "type": ["Text"]}),
    ]
    return Repository(records, name="Perpustakaan Iseng", repository_identifier="evil.example.org")


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """The demo network plus a hostile member, harvested, served by waitress on a free port."""
    from aggregator.web import create_app
    from aggregator.web.serve import PortalServer

    data_dir = tmp_path_factory.mktemp("browser") / "demo"
    prepare_folder(data_dir)
    settings = demo_settings(load_settings(environ={}, search_rate_limit=0), data_dir)
    engine = make_engine(settings)
    init_schema(engine)
    servers = start_network()
    evil = OAIServer(_hostile_repository()).start()
    index = open_index(settings)
    server = None
    try:
        with Session(engine) as session, session.begin():
            for member, oai in servers:
                catalog.add_member(session, member.slug, member.name, homepage=member.homepage,
                                   city=member.city, province=member.province, kind=member.kind)
                catalog.add_source(session, member.slug, oai.base_url)
            catalog.add_member(session, "iseng", "Perpustakaan <i>Iseng</i>",
                               homepage="https://iseng.example.org/", city="Kota",
                               province="Jawa Barat", kind="special")
            catalog.add_source(session, "iseng", evil.base_url)
        with Session(engine) as session:
            source_ids = catalog.sources_for(session, None, True)
        for source_id in source_ids:
            result = sync_source(engine, settings, source_id, index=index)
            assert result.status == "ok", result.errors
        server = PortalServer(create_app(settings, engine=engine, index=index), port=0)
        thread = threading.Thread(target=server.run, name="portal", daemon=True)
        thread.start()
        yield Portal(server.url, artifacts_folder(tmp_path_factory))
    finally:
        if server is not None:
            server.stop()
        index.close()
        evil.stop()
        for _, oai in servers:
            oai.stop()
        engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch() as chromium:
        yield chromium


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    """A fresh desktop page (own cookies) recording dialogs and console errors."""
    context = browser.new_context(locale="id-ID", viewport=DESKTOP)
    try:
        yield watch(context)
    finally:
        context.close()


def _total(page: Page) -> int:
    """The number in the results heading ("1.234 karya ditemukan" / "1,234 works found")."""
    heading = page.locator("#results-heading").inner_text()
    match = re.match(r"[\d.,]+", heading.strip())
    return int(re.sub(r"\D", "", match.group(0))) if match else 0


def _search(page: Page, base: str, text: str) -> None:
    page.goto(base)
    page.locator("#q").fill(text)
    page.locator("#q").press("Enter")
    page.wait_for_url(re.compile(r"/search\?"))


def test_search_from_home_keeps_the_query(portal: Portal, watched: Watched) -> None:
    page = watched.page
    _search(page, portal.url, "pendidikan")
    assert parse_qs(urlsplit(page.url).query)["q"] == ["pendidikan"]
    assert page.locator("li.hit").count() > 0
    assert _total(page) >= page.locator("li.hit").count()
    assert page.locator("#q").input_value() == "pendidikan"
    assert page.locator("html").get_attribute("lang") == "id"
    assert not watched.console_errors and not watched.dialogs


def test_facet_narrows_and_chip_removes_the_filter(portal: Portal, watched: Watched) -> None:
    page = watched.page
    page.goto(portal.url + "search")
    before = _total(page)
    assert before > 1
    facet = _narrowing_facet(page, before)
    facet.click()
    page.wait_for_load_state()
    after = _total(page)
    assert 0 < after < before
    chip = page.locator("section.selected a.chip")
    assert chip.count() == 1
    chip.click()
    page.wait_for_load_state()
    assert page.locator("section.selected a.chip").count() == 0
    assert _total(page) == before
    assert not watched.console_errors


def _narrowing_facet(page: Page, total: int) -> Locator:
    """The first facet link (not a year) whose count is below the total."""
    links = page.locator("aside.facets section.facet a:not(.on)")
    for i in range(links.count()):
        link = links.nth(i)
        if "year=" in (link.get_attribute("href") or ""):
            continue
        count = int(re.sub(r"\D", "", link.locator(".count").inner_text()))
        if 0 < count < total:
            return link
    raise AssertionError("no facet value narrows the results")


def test_record_page_and_its_holder(portal: Portal, watched: Watched) -> None:
    page = watched.page
    _search(page, portal.url, "pendidikan")
    first = page.locator("li.hit h2 a").first
    title = first.inner_text().strip()
    first.click()
    page.wait_for_url(re.compile(r"/records/\d+$"))
    assert page.locator("h1#record-title").inner_text().strip() == title
    assert title in page.title()
    holders = page.locator("section.holders")
    assert "Dimiliki oleh" in holders.locator("h2").inner_text()
    member_link = holders.locator("a[href^='/members/']").first
    name = member_link.inner_text().strip()
    member_link.click()
    page.wait_for_url(re.compile(r"/members/[\w-]+$"))
    assert name in page.locator("main h1").inner_text()
    assert not watched.console_errors and not watched.dialogs


def test_held_by_on_results_links_to_the_member(portal: Portal, watched: Watched) -> None:
    page = watched.page
    _search(page, portal.url, "pendidikan")
    held = page.locator("li.hit p.held").first
    assert "Dimiliki oleh" in held.inner_text()
    link = held.locator("a").first
    name = link.inner_text().strip()
    link.click()
    page.wait_for_url(re.compile(r"/members/[\w-]+$"))
    assert name in page.locator("main h1").inner_text()


def test_language_switch_is_remembered(portal: Portal, watched: Watched) -> None:
    page = watched.page
    page.goto(portal.url + "search?q=pendidikan")
    assert page.locator("html").get_attribute("lang") == "id"
    assert "karya ditemukan" in page.locator("#results-heading").inner_text()
    page.locator("#lang-en").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "works found" in page.locator("#results-heading").inner_text()
    assert page.locator("#q").input_value() == "pendidikan"  # the search is kept
    page.goto(portal.url + "members")  # a new load without ?lang=: the cookie decides
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#lang-id").count() == 1
    page.locator("#lang-id").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "id"
    page.goto(portal.url + "about")
    assert page.locator("html").get_attribute("lang") == "id"
    assert page.locator("#lang-en").count() == 1


def test_an_english_browser_gets_english_first(portal: Portal, browser: Browser) -> None:
    context = browser.new_context(locale="en-GB", viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(portal.url + "search?q=pendidikan")
        assert page.locator("html").get_attribute("lang") == "en"
        assert "works found" in page.locator("#results-heading").inner_text()
        page.locator("#lang-id").click()  # a choice beats the browser's languages
        page.wait_for_load_state()
        page.goto(portal.url + "members")
        assert page.locator("html").get_attribute("lang") == "id"
    finally:
        context.close()


def test_skip_link_is_first_and_moves_focus_to_main(portal: Portal, watched: Watched) -> None:
    page = watched.page
    page.goto(portal.url)
    page.keyboard.press("Tab")
    focused = page.evaluate("() => [document.activeElement.className,"
                            " document.activeElement.getAttribute('href')]")
    assert focused == ["skip", "#main"]
    assert page.locator("a.skip").is_visible()  # shown when focused
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"


def _record_path(page: Page, base: str) -> str:
    page.goto(base + "search?q=pendidikan")
    href = page.locator("li.hit h2 a").first.get_attribute("href")
    assert href
    return href.lstrip("/")


def test_phone_width_has_no_horizontal_scroll(portal: Portal, browser: Browser) -> None:
    context = browser.new_context(locale="id-ID", viewport=PHONE, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        record = _record_path(page, portal.url)
        wide = {}
        for path in ("", "search?q=pendidikan", record, "members", "search/facets/subject",
                     "search?year_from=2010&year_to=2015"):
            page.goto(portal.url + path)
            width = page.evaluate("() => document.scrollingElement.scrollWidth")
            if width > PHONE["width"] + 1:
                wide[path or "/"] = width
        assert not wide, f"pages wider than {PHONE['width']}px: {wide}"
        # the filters are one tap from the top of the results, however long the list
        page.goto(portal.url + "search?per_page=100")
        top = "(s) => document.querySelector(s).getBoundingClientRect().top + window.scrollY"
        heading = page.evaluate(top, "#results-heading")
        facets = page.evaluate(top, "#filters")
        assert facets - heading > 3 * PHONE["height"]  # without the link: many screens down
        jump = page.get_by_role("link", name=re.compile(r"^Filter"))
        box = jump.bounding_box()
        assert box is not None and 0 < box["y"] - heading < 120  # right under the heading
        assert box["y"] + box["height"] < PHONE["height"]  # on the first screen
        jump.tap()
        page.wait_for_function("() => location.hash === '#filters'")
        landed = page.evaluate("() => document.querySelector('#filters')"
                               ".getBoundingClientRect().top")
        assert -2 <= landed <= 2, landed
        assert page.locator("#year-from").is_visible()
        page.get_by_role("link", name=re.compile("Kembali ke hasil")).tap()
        page.wait_for_function("() => location.hash === '#results-heading'")
        assert abs(page.evaluate("() => document.querySelector('#results-heading')"
                                 ".getBoundingClientRect().top")) <= 2
    finally:
        context.close()


def test_year_range_and_full_facet_lists_work_without_javascript(portal: Portal,
                                                                 browser: Browser) -> None:
    context = browser.new_context(locale="id-ID", viewport=DESKTOP,
                                  java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(portal.url + "search?q=desa")
        before = _total(page)
        page.fill("#year-from", "2010")
        page.fill("#year-to", "2015")
        page.get_by_role("button", name="Terapkan").click()
        page.wait_for_load_state()
        assert "q=desa" in page.url and "year_from=2010" in page.url
        assert page.locator("section.selected a.chip").inner_text().startswith(
            "Tahun: 2010..2015")
        assert 0 < _total(page) < before
        bar = page.locator("figure.histogram svg a").first
        label = bar.get_attribute("aria-label") or ""
        assert re.fullmatch(r"20(1[0-5]): \d+ karya", label), label
        page.goto(portal.url + "search?q=desa")
        page.locator("section.facet", has_text="Subjek").get_by_role(
            "link", name=re.compile("Tampilkan semua")).click()
        page.wait_for_load_state()
        assert "/search/facets/subject" in page.url
        rarest = page.locator("ol.facet-list li a").last
        count = int(re.sub(r"\D", "", rarest.locator(".count").inner_text()))
        rarest.click()
        page.wait_for_load_state()
        assert _total(page) == count
    finally:
        context.close()


def test_hostile_titles_stay_text(portal: Portal, watched: Watched) -> None:
    page = watched.page
    _search(page, portal.url, "zzxssprobe")
    titles = [t.strip() for t in page.locator("li.hit h2 a").all_inner_texts()]
    assert sorted(titles) == sorted([SCRIPT_TITLE, IMG_TITLE])
    assert page.locator("main script, main img[src='x'], main iframe").count() == 0
    for title in (SCRIPT_TITLE, IMG_TITLE):
        page.goto(portal.url + "search?q=zzxssprobe")
        page.get_by_role("link", name=title).click()
        page.wait_for_url(re.compile(r"/records/\d+$"))
        assert page.locator("h1#record-title").inner_text().strip() == title
        assert page.locator("main script, main img, main iframe, main [onerror]").count() == 0
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        assert not [h for h in hrefs if h.lower().startswith("javascript:")], hrefs
        assert EVIL_LINK in page.locator("main").inner_text()  # shown, not linked
        member = page.locator("section.holders a[href='/members/iseng']")
        member.click()
        page.wait_for_url(re.compile(r"/members/iseng$"))
        assert "Perpustakaan <i>Iseng</i>" in page.locator("main h1").inner_text()
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        assert not [h for h in hrefs if h.lower().startswith("javascript:")], hrefs
    assert not watched.console_errors, watched.failed
    page.goto(portal.url + "api/search?q=zzxssprobe")
    assert page.evaluate("() => document.contentType") == "application/json"
    assert watched.dialogs == []


def test_no_csp_violations_on_normal_pages(portal: Portal, watched: Watched) -> None:
    page = watched.page
    record = _record_path(page, portal.url)
    for path in ("", "search?q=buku", record, "members", "members/unira", "about",
                 "search?q=zzzzqqqq"):
        page.goto(portal.url + path)
        page.wait_for_load_state("load")
    csp = [m for m in watched.console_errors if "Content Security Policy" in m]
    assert not csp
    assert not watched.console_errors, watched.failed


def test_screenshots(portal: Portal, browser: Browser,
                     capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print(f"\nbrowser screenshots: {portal.artifacts}")
    saved = []
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = browser.new_context(locale="id-ID", viewport=viewport)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        try:
            record = _record_path(page, portal.url)
            for name, path in (("home", ""), ("results", "search?q=pendidikan"),
                               ("record", record), ("members", "members")):
                page.goto(portal.url + path)
                target = portal.artifacts / f"{name}-{label}.png"
                page.screenshot(path=str(target), full_page=True)
                saved.append(target)
        finally:
            context.close()
    for target in saved:
        assert target.exists() and target.stat().st_size > 5_000, target


ACCESSIBILITY_PAGES = ("/", "/search?q=pendidikan", "/search?q=pendidikan&lang=en",
                       "/search?q=zzzzqqq", "/members", "/members/ipk", "/about",
                       "/no-such-page", "/search/facets/subject?q=desa",
                       "/search?year_from=2010&year_to=2015&lang=en", "/api")


def test_pages_pass_the_axe_accessibility_rules(portal: Portal, watched: Watched) -> None:
    """axe-core's WCAG 2 A/AA rules (labels, landmarks, headings, contrast, names of
    links and controls) find nothing on the main pages, in both languages."""
    page = watched.page
    record = _first_record_path(page, portal.url)
    for path in (*ACCESSIBILITY_PAGES, record):
        page.goto(portal.url.rstrip("/") + path)
        found = axe_violations(page)
        assert found == [], f"{path}: {found}"


def _first_record_path(page: Page, base: str) -> str:
    page.goto(base.rstrip("/") + "/search?q=pendidikan")
    href = page.locator("li.hit h2 a").first.get_attribute("href")
    assert href and href.startswith("/records/")
    return href
