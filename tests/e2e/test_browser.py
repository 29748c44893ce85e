"""The web page in a real browser (the system Chromium through playwright), served by a
real ``tracker serve`` loading a copy of the seeds."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
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


# Run before any page script: records every CSP violation the page reports.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


def test_pages_and_api_docs_render_under_the_csp_with_no_violation_and_nothing_fetched_elsewhere(
    sqlite_url: str, tmp_path: Path
) -> None:
    from playwright.sync_api import ConsoleMessage, Request, sync_playwright

    with Receiver() as receiver:
        config = write_config(tmp_path, db_url=sqlite_url, hook_url=receiver.url, agreements={})
        shutil.copy(SEEDS_DIR / "kr-jp-gsomia.yaml", tmp_path / "agreements")
        with serve(config, tmp_path / "serve.log") as served:
            console: list[str] = []
            elsewhere: list[str] = []

            def on_console(message: ConsoleMessage) -> None:
                if message.type in ("error", "warning"):
                    console.append(f"{message.type}: {message.text}")

            def on_request(request: Request) -> None:
                if not request.url.startswith((served.url, "data:", "blob:")):
                    elsewhere.append(request.url)

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
                )
                try:
                    page = browser.new_page()
                    page.add_init_script(RECORD_VIOLATIONS)
                    page.on("console", on_console)
                    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
                    page.on("request", on_request)
                    violations: dict[str, list[str]] = {}

                    page.goto(f"{served.url}/", wait_until="load")
                    page.locator('li[data-agreement="kr-jp-gsomia"]').first.wait_for()
                    # The style sheet applies: the page is styled, not bare HTML.
                    assert (
                        page.evaluate(
                            "getComputedStyle(document.querySelector('header')).borderBottomStyle"
                        )
                        == "solid"
                    )
                    violations["/"] = page.evaluate("window.__violations")

                    page.goto(f"{served.url}/agreements/kr-jp-gsomia", wait_until="load")
                    gsomia_text = "https://en.wikisource.org/wiki/Page:Japan-Korea_GSOMIA_(English_Text).pdf/10"
                    assert page.locator(f'a[href="{gsomia_text}"]').count() == 1
                    violations["/agreements/kr-jp-gsomia"] = page.evaluate("window.__violations")

                    page.goto(f"{served.url}/docs", wait_until="load")
                    page.locator(
                        ".opblock-summary-path", has_text="/api/v1/deadlines"
                    ).first.wait_for(timeout=20_000)
                    violations["/docs"] = page.evaluate("window.__violations")

                finally:
                    browser.close()

    assert violations == {"/": [], "/agreements/kr-jp-gsomia": [], "/docs": []}
    assert console == []
    assert elsewhere == []


def renewing_pact(today: date) -> str:
    """A treaty renewed every 365 days whose term expired, and renewed, seven days before
    ``today`` (its second term: the first began a term earlier)."""
    first = today - timedelta(days=7 + 365)
    return f"""\
version: 1
id: renewing-pact
title: Renewing Pact
parties: [AA, BB]
rules:
  - kind: auto_renewal
    first_expiry: {first.isoformat()}
    renewal_term: 365 days
    notice: 90 days
"""


def test_a_renewal_a_week_ago_is_no_alarm_and_a_broken_file_is_named_in_a_banner(
    sqlite_url: str, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    today = datetime.now(UTC).date()
    with Receiver() as receiver:
        config = write_config(
            tmp_path,
            db_url=sqlite_url,
            hook_url=receiver.url,
            agreements={
                "renewing-pact": renewing_pact(today),
                "broken": "version: 1\nid: broken\n",
            },
        )
        broken = tmp_path / "agreements" / "broken.yaml"
        with serve(config, tmp_path / "serve.log") as served, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.goto(f"{served.url}/", wait_until="domcontentloaded")
                banner = page.get_by_role("alert")
                assert "1 invalid file in the agreements folder" in banner.inner_text()
                assert str(broken) in banner.inner_text()
                row = page.locator('li[data-agreement="renewing-pact"][data-kind="expiry"]').first
                text = row.inner_text()
                assert (today - timedelta(days=7)).isoformat() in text
                assert "Renewed" in text and "passed 7 days ago" in text
                assert "Renewing Pact renews for 365 days" in text
                assert "verdue" not in page.locator("main").inner_text()
            finally:
                browser.close()
