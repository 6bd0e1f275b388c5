"""What the browser tests share: Debian's chromium driven by Playwright, a page that
records what it tried behind the test's back, the screenshot folder, and axe-core.

Import it after ``pytest.importorskip("playwright.sync_api")``; a test module skips
itself when :data:`CHROMIUM` is None (``.ci/run`` installs chromium with apt-get).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Page,
    ViewportSize,
    sync_playwright,
)

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium")) if p and
                 Path(p).exists()), None)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 375, "height": 740}
TIMEOUT_MS = 10_000


def artifacts_folder(factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``$AGGREGATOR_TEST_ARTIFACTS``, else under pytest's basetemp."""
    chosen = os.environ.get("AGGREGATOR_TEST_ARTIFACTS")
    folder = Path(chosen) if chosen else factory.getbasetemp() / "browser-artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def launch() -> Iterator[Browser]:
    """Debian's chromium, headless."""
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Watched:
    """A page and what it tried to do behind our back."""

    page: Page
    dialogs: list[str]
    console_errors: list[str]
    failed: list[str]


def watch(context: BrowserContext) -> Watched:
    """A new page of ``context`` recording dialogs, console errors and failed responses."""
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    seen = Watched(page, [], [], [])

    def on_dialog(dialog: Dialog) -> None:
        seen.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.console_errors.append(message.text)

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    page.on("pageerror", lambda exc: seen.console_errors.append(f"page error: {exc}"))
    page.on("response", lambda r: seen.failed.append(f"{r.status} {r.url}")
            if r.status >= 400 else None)
    return seen


def axe_violations(page: Page) -> list[tuple[str, Any, list[Any]]]:
    """What axe-core's WCAG 2 A/AA rules find on the page as it is (id, impact, the first
    three elements); skips the test when axe-playwright-python is not installed."""
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright",
                                     reason="axe-playwright-python is not installed")
    violations = axe_module.Axe().run(page).response["violations"]
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
