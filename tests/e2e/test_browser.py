"""The web page in a real browser (the system Chromium through playwright), served by a
real ``tracker serve`` loading a copy of the seeds."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.conftest import SEEDS_DIR
from tests.e2e.test_serve_api import serve
from tests.integration.test_crash_recovery import write_config
from tests.support.receiver import Receiver

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed (apt-get install chromium)"
    ),
]


def next_gsomia_notice_deadline(today: date) -> date:
    """24 August: expiry 22 November − 90 days (SPEC 1), this year or next."""
    this_year = date(today.year, 8, 24)
    return this_year if this_year >= today else date(today.year + 1, 8, 24)


def test_the_page_shows_gsomia_with_its_days_left_and_links_to_its_agreement(
    sqlite_url: str, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    with Receiver() as receiver:
        config = write_config(tmp_path, db_url=sqlite_url, hook_url=receiver.url, agreements={})
        folder = tmp_path / "agreements"
        for seed in SEEDS_DIR.glob("*.yaml"):
            shutil.copy(seed, folder / seed.name)
        with serve(config, tmp_path / "serve.log") as served:
            today = datetime.now(UTC).date()
            deadline = next_gsomia_notice_deadline(today)
            days_left = (deadline - today).days
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
                )
                try:
                    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
                    page.goto(f"{served.url}/", wait_until="domcontentloaded")
                    row = page.locator(
                        'li[data-agreement="kr-jp-gsomia"][data-kind="notice_deadline"]'
                    ).first
                    row.wait_for(timeout=10_000)
                    text = row.inner_text()
                    assert deadline.isoformat() in text
                    assert f"{days_left} days left" in text
                    assert "General Security of Military Information Agreement" in text
                    # Nothing wider than the phone's screen.
                    assert page.evaluate("document.documentElement.scrollWidth") <= 390
                    page.screenshot(path=str(tmp_path / "index.png"), full_page=True)

                    row.get_by_role("link").first.click()
                    page.wait_for_url(f"{served.url}/agreements/kr-jp-gsomia")
                    assert "GSOMIA" in page.locator("h1").inner_text()
                    body = page.locator("main").inner_text()
                    assert "Art. 21(3)" in body
                    assert "notice_given" in body and "notice_withdrawn" in body
                    assert deadline.isoformat() in body
                    page.screenshot(path=str(tmp_path / "agreement.png"), full_page=True)
                finally:
                    browser.close()
    assert (tmp_path / "index.png").stat().st_size > 10_000
    assert (tmp_path / "agreement.png").stat().st_size > 10_000
