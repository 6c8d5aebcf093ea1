"""Where a catalog item's description is cut (``colcw_plugin/text.py``, which the job history's long messages use too)."""

from __future__ import annotations

import pytest

from colcw_plugin.text import shorten


@pytest.mark.parametrize(("text", "cut"), [
    ("Consulting: network assessment & report (on-site, 3 days) – travel and expenses included",
     "Consulting: network assessment & report (on-site, 3 days)…"),
    ("Managed backup service, 24/7 monitoring and restores included for twelve months",
     "Managed backup service, 24/7 monitoring and restores…"),  # never inside "included"
    ("Dell OptiPlex 7010 desktop, Intel Core i7, 16 GB RAM, 512 GB SSD, Windows 11 Pro",
     "Dell OptiPlex 7010 desktop, Intel Core i7, 16 GB RAM, 512…"),
    ("Firewall appliance (rack mount, redundant power supplies, three-year support)",
     "Firewall appliance (rack mount, redundant power supplies…"),  # no dangling comma
    ("x" * 80, "x" * 59 + "…"),  # one word longer than the limit: cut inside it
    ("Fits exactly in sixty characters, so it is kept just as is!!", None),  # 60: kept
])
def test_cut_at_a_word_without_dangling_punctuation_with_an_ellipsis(text, cut):
    assert shorten(text, 60) == (cut if cut is not None else text)
    assert len(shorten(text, 60)) <= 60
