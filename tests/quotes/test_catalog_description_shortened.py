"""A new catalog item's description, which ConnectWise holds to 60 characters, is cut at a word's end without dangling
punctuation, with an ellipsis; the whole text is its customer description, and the run log says it was shortened."""

from __future__ import annotations

from quote_support import items, line

LONG = "Consulting: network assessment & report (on-site, 3 days) – travel and expenses included"


def test_a_long_description_is_cut_at_a_word_with_an_ellipsis_and_the_run_log_says_so(world):
    doc = world.quote([line("CONS-NET-3D", description=LONG), line("OPT-7010")], name="Assessment")

    run = world.export(doc.id)

    assert run.status == "succeeded", run.message
    [item] = world.api("procurement/catalog", conditions='identifier="CONS-NET-3D"')
    assert item["description"] == "Consulting: network assessment & report (on-site, 3 days)…"
    assert item["customerDescription"] == LONG
    [product] = [p for p in world.products(world.opportunities()[0]["id"])
                 if p["catalogItem"]["identifier"] == "CONS-NET-3D"]
    assert product["description"] == LONG  # an opportunity product holds it whole
    message = items(run)[0].message
    assert ("The description of the new catalog item was shortened to the 60 characters ConnectWise's catalog holds "
            "(CONS-NET-3D: “Consulting: network assessment & report (on-site, 3 days)…”); the full text is in its "
            "customer description.") in message, message


def test_a_description_that_fits_is_sent_whole_and_nothing_is_said(world):
    short = "Consulting: network assessment & report (on-site, 3 days)"
    doc = world.quote([line("CONS-NET-1D", description=short)], name="Assessment")

    run = world.export(doc.id)

    [item] = world.api("procurement/catalog", conditions='identifier="CONS-NET-1D"')
    assert item["description"] == short
    assert "shortened" not in items(run)[0].message
