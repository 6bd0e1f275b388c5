"""The collection overlap page in a real browser (Chromium via Playwright): a manager
signs in, filters by type, reads the heatmap and downloads a CSV; axe-core's checks on
the page in both languages and on a phone's width.

Skipped when Playwright or Debian's chromium is missing (``.ci/run`` installs chromium).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from admin import MANAGER_A, PASSWORD, Network, network
from browsing import DESKTOP, PHONE, artifacts_folder, axe_violations, launch, watch
from test_overlap import harvest


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Network, Path]]:
    from aggregator.web.serve import PortalServer

    built = network(tmp_path_factory.mktemp("overlap-browser"))
    harvest(built.engine)
    server = PortalServer(built.app, port=0)
    thread = threading.Thread(target=server.run, name="portal", daemon=True)
    thread.start()
    try:
        yield server.url.rstrip("/"), built, artifacts_folder(tmp_path_factory)
    finally:
        server.stop()


def test_a_manager_reads_the_overlap_in_the_browser(
        served: tuple[str, Network, Path]) -> None:
    url, _, artifacts = served
    with launch() as chromium:
        context = chromium.new_context(locale="en-GB", viewport=DESKTOP,
                                       accept_downloads=True)
        seen = watch(context)
        page = seen.page
        page.goto(url + "/login?lang=en")
        page.get_by_label("Email").fill(MANAGER_A)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/admin/")
        page.get_by_role("link", name="Collection overlap").click()
        page.wait_for_url("**/admin/overlap")
        matrix = page.get_by_role("table", name="Works shared by two members")
        assert matrix.locator("tbody tr").count() == 3
        assert matrix.locator("td.heat-7").count() == 3
        problems = {"desktop, en": axe_violations(page)}
        page.screenshot(path=str(artifacts / "overlap-desktop.png"), full_page=True)
        page.get_by_label("Type").select_option("Book")
        page.get_by_role("button", name="Show").click()
        page.wait_for_url("**/admin/overlap?type=Book**")
        assert page.locator("#member-c td").first.inner_text() == "3"
        with page.expect_download() as download:
            page.locator("p.downloads").get_by_role("link", name="members").click()
        saved = download.value.path()
        assert saved is not None and Path(saved).read_text().splitlines()[3] == (
            "c,Perpustakaan C,3,1,33.3")
        page.goto(url + "/admin/overlap?lang=id")
        problems["desktop, id"] = axe_violations(page)
        page.set_viewport_size(PHONE)
        problems["phone, id"] = axe_violations(page)
        page.screenshot(path=str(artifacts / "overlap-phone.png"), full_page=True)
        assert seen.console_errors == [] and seen.dialogs == []
        assert {label: found for label, found in problems.items() if found} == {}
        context.close()
