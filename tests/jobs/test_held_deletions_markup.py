"""The mass-delete guard's alert is one markup (colcw/jobs/_held_deletions.html) for the Connection page and the
jobs page: its words are written once, so the two pages cannot drift apart."""

from __future__ import annotations

from pathlib import Path

import colcw_plugin

TEMPLATES = Path(colcw_plugin.__file__).parent / "templates"


def test_the_held_deletions_alert_is_written_once():
    writing = sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html")
                     if "Deletions held back" in p.read_text())
    assert writing == ["colcw/jobs/_held_deletions.html"]
    users = sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html")
                   if "import held_deletions" in p.read_text())
    assert users == ["colcw/connection/index.html", "colcw/jobs/_live_alert.html"]
