"""Take the README's screenshots (customer.png and the "first export" steps step1..step5.png) against a running `make demo`.

    make demo                      # in one terminal
    .venv/bin/python docs/screenshots/take.py http://127.0.0.1:5000 http://127.0.0.1:<sandbox port>

It also checks the point of the walkthrough: the exported quote is an opportunity in the sandbox.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import requests
from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parent
BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5000"
SANDBOX = sys.argv[2] if len(sys.argv) > 2 else ""
QUOTE = "Q1013"  # Bayview Law Group, Idaho: "Backup project 2026" in its Opportunity Name field
CHROMIUM = "/usr/bin/chromium"


def shot(page, n: int) -> None:
    page.screenshot(path=str(OUT / f"step{n}.png"), full_page=False)
    print(f"step{n}.png: {page.url}")


def main() -> int:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
        page.set_default_timeout(20_000)
        # 1. Sign in as the admin and open a quote.
        page.goto(f"{BASE}/login")
        page.fill("input[name=email]", "admin@demo.example")
        page.fill("input[name=password]", "demo")
        page.click("button[type=submit]")
        page.click("text=Quotes")
        page.fill("input[name=q]", QUOTE)
        page.keyboard.press("Enter")
        page.click(f"table.grid tbody a:text-is('{QUOTE}')")
        page.wait_for_url(re.compile(r".*/documents/\d+$"))
        number = re.search(r"[QO]\d+", page.locator("h1").inner_text()).group(0)
        shot(page, 1)
        # 2. Export to ConnectWise: the pre-flight check says the customer goes first; export it.
        page.click("#colcw-export-document")
        export_url = page.url
        shot(page, 2)
        if page.locator("#colcw-export-customer-now").count():
            page.click("#colcw-export-customer-now")
            for _ in range(60):  # the worker exports the company and its contacts
                page.goto(export_url)
                if not page.locator("#colcw-export-customer-now").count():
                    break
                page.wait_for_timeout(1000)
        # 3. Export now: the progress bar follows the job on the worker.
        page.click("#colcw-export-submit")
        page.wait_for_function("document.querySelector('#colcw-run') && "
                               "document.querySelector('#colcw-run').dataset.final === 'true'", timeout=60_000)
        page.wait_for_timeout(500)
        shot(page, 3)
        # The customer's page now shows colcw's link and its sync status (the README's top picture).
        page.goto(f"{BASE}/customers/?q=Bayview")
        page.click("table.grid tbody a:text-is('Bayview Law Group')")
        page.wait_for_url(re.compile(r".*/customers/\d+$"))
        page.screenshot(path=str(OUT / "customer.png"), full_page=False)
        print(f"customer.png: {page.url}")
        # 4. Admin → Integration → ConnectWise Synchronization Jobs: the run in the history.
        page.goto(f"{BASE}/admin/")
        page.click("#integration-menu >> text=ConnectWise Synchronization Jobs")
        page.locator("#history").scroll_into_view_if_needed()
        shot(page, 4)
        # 5. The run's status log: the opportunity ConnectWise created.
        page.locator("#history tbody tr").first.locator("a").click()
        page.wait_for_url(re.compile(r".*/jobs/runs/\d+$"))
        text = page.locator("#run-log").inner_text()
        shot(page, 5)
        browser.close()
    assert number in text, f"{number} is not in the run log"
    if SANDBOX:
        resp = requests.get(f"{SANDBOX}/v2025_1/apis/3.0/sales/opportunities", timeout=10,
                            params={"conditions": 'name="Backup project 2026"', "fields": "id,name,company/name"},
                            auth=("sandbox+sandbox-public", "sandbox-private"), headers={"clientId": "colcw-demo"})
        resp.raise_for_status()
        found = [o for o in resp.json() if o["company"]["name"] == "Bayview Law Group"]
        assert found, "the exported quote is not an opportunity in the sandbox"
        print(f"{number} is opportunity #{found[0]['id']} {found[0]['name']!r} of Bayview Law Group in the sandbox.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
