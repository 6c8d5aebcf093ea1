"""Static files are kept by browsers for a year under URLs that change with their content (host_stub/static_cache.py,
issue 14): a page no longer costs a request per stylesheet and script to ask whether each changed (Flask serves them
``no-cache``), and a changed file is fetched at once because its URL changed."""

from __future__ import annotations

import re

from host_stub.static_cache import digest

ASSET = re.compile(r'(?:href|src)="(/(?:colcw/)?static/[^"?]+)\?v=([0-9a-f]{12})"')


def test_every_asset_a_page_links_is_versioned_and_kept_for_a_year(rep_client):
    page = rep_client.get("/customers/").get_data(as_text=True)
    assets = dict(ASSET.findall(page))
    # The host's own and colcw's (a plugin's blueprint), each once, none without its version.
    assert {"/static/host.css", "/static/host.js", "/colcw/static/colcw.js", "/colcw/static/htmx.min.js"} <= set(assets)
    assert not re.search(r'(?:href|src)="/(?:colcw/)?static/[^"?]+"', page)
    for path, version in assets.items():
        kept = rep_client.get(f"{path}?v={version}")
        assert kept.status_code == 200, path
        assert kept.headers["Cache-Control"] == "public, max-age=31536000, immutable", path
        again = rep_client.get(f"{path}?v={version}", headers={"If-None-Match": kept.headers["ETag"]})
        assert again.status_code == 304 and "max-age=31536000" in again.headers["Cache-Control"]


def test_a_url_without_the_files_version_is_served_as_flask_serves_it(client):
    plain = client.get("/static/host.css")
    assert plain.status_code == 200 and plain.headers["Cache-Control"] == "no-cache"
    stale = client.get("/static/host.css?v=000000000000")  # an old page's link: the file changed since
    assert stale.status_code == 200 and "max-age" not in stale.headers["Cache-Control"]
    assert client.get("/static/nope.css?v=000000000000").status_code == 404


def test_the_version_follows_the_files_content(tmp_path):
    f = tmp_path / "app.js"
    f.write_text("one")
    first = digest(str(tmp_path), "app.js")
    assert first is not None and digest(str(tmp_path), "app.js") == first
    f.write_text("two, longer")
    assert digest(str(tmp_path), "app.js") not in (None, first)
    assert digest(str(tmp_path), "missing.js") is None and digest(str(tmp_path), "../etc/passwd") is None
