"""A page as a browser shows it once htmx has loaded its parts (test client tests).

colcw's panels and the list pages' status cells load after the page (``hx-trigger="load"``): the
page itself carries a placeholder. :func:`loaded` fetches the page, then what each placeholder asks
for, with htmx's ``HX-Request`` header, and swaps it in as htmx would: the whole placeholder
(``hx-swap="outerHTML"``), or, for ``hx-swap="none"``, each out-of-band cell of the answer into its
row's cell. It knows only the shapes colcw writes; the browser tests check htmx itself does it.
"""

from __future__ import annotations

import html as html_lib
import re

LOAD = re.compile(r'<(section|div)\b[^>]*? hx-get="([^"]+)" hx-trigger="load(?:, every \d+s)?" '
                  r'hx-swap="(outerHTML|none)"[^>]*>')
CELL = re.compile(r"""^<span hx-swap-oob="innerHTML:tr\[data-row='(\d+)'\] > td\[data-column='(\w+)'\]">(.*)</span>$""",
                  re.M)


def part(client, url: str) -> str:
    """What a placeholder loads (as htmx asks for it)."""
    resp = client.get(url, headers={"HX-Request": "true"})
    assert resp.status_code == 200, (url, resp.status_code)
    return resp.get_data(as_text=True)


def loaded(client, path: str) -> str:
    """The page at ``path`` with what it loads after it is shown swapped in."""
    resp = client.get(path)
    assert resp.status_code == 200, (path, resp.status_code)
    page = resp.get_data(as_text=True)
    while (m := LOAD.search(page)) is not None:
        tag, url, swap = m.groups()
        answer = part(client, html_lib.unescape(url))
        end = page.index(f"</{tag}>", m.end()) + len(f"</{tag}>")
        if swap == "outerHTML":
            page = page[:m.start()] + answer + page[end:]
            continue
        page = page[:m.start()] + re.sub(r' hx-trigger="[^"]*"', "", m.group(0)) + page[m.end():]
        for row, column, cell in CELL.findall(answer):
            found = re.search(rf'<tr data-row="{row}">.*?<td data-column="{column}">(.*?)</td>', page, re.S)
            assert found, (row, column)
            page = page[:found.start(1)] + cell + page[found.end(1):]
    return page
