"""The HTML report opens in headless Chromium without errors and loads nothing from the network."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from clearsight.core.assessment import Assessment
from clearsight.report.html import render

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def chromium() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required in CI (apt-get install chromium)")
        pytest.skip("Chromium is not installed")
    return CHROMIUM


def test_report_opens_cleanly_and_offline(chromium: str, example_assessment: Assessment, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    report = tmp_path / "report.html"
    report.write_text(render(example_assessment), encoding="utf-8")
    requests: list[str] = []
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in (
                "error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.goto(report.as_uri(), wait_until="load")
            page.wait_for_timeout(200)
            assert page.title().startswith("AI security assessment")
            assert page.locator("svg").count() >= 5
            assert page.get_by_text("Card payment fraud detection").first.is_visible()
            shot = page.screenshot(full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert requests == [report.as_uri()], "the report must load nothing but itself"
    assert len(shot) > 10_000
