"""A catalog description holding a character outside the Basic Multilingual Plane (an emoji) is measured as
ConnectWise measures it, in UTF-16 code units (two for an emoji): a 60-character description with an emoji is 61
long there, and ConnectWise refuses the new catalog item (400 MaxLengthField), so the quote's export failed."""

from __future__ import annotations

from quote_support import line

from cw_sandbox.validation import cw_length

FIRE = "\N{FIRE}"
# 60 Python characters (61 UTF-16 code units): fits by len(), not in ConnectWise's 60.
SIXTY = FIRE + " Hot deal: Catalyst 9200L 24-port PoE+ switch, 3-yr support"


def test_an_emoji_description_is_shortened_to_what_connectwise_counts(world):
    assert len(SIXTY) == 60
    doc = world.quote([line("HOT-9200L", description=SIXTY)], name="Emoji")

    run = world.export(doc.id)

    assert run.status == "succeeded", run.message
    [item] = world.api("procurement/catalog", conditions='identifier="HOT-9200L"')
    assert cw_length(item["description"]) <= 60
    assert item["description"].startswith(FIRE + " Hot deal") and item["description"].endswith("…")
    assert item["customerDescription"] == SIXTY
