"""Words for people (colcw_plugin.text): counts read as people write them, and a reason put before the next
sentence ends as a sentence."""

from __future__ import annotations

from colcw_plugin.text import plural, sentence


def test_counts_take_thousands_separators_and_the_right_plural():
    assert plural(1, "company") == "1 company"
    assert plural(10_000, "company") == "10,000 companies"
    assert plural(25_000, "contact") == "25,000 contacts"
    assert plural(999, "line") == "999 lines"


def test_a_reason_ends_as_a_sentence_once():
    assert sentence("ConnectWise did not answer in time") == "ConnectWise did not answer in time."
    assert sentence("ConnectWise refused the key.") == "ConnectWise refused the key."
    assert sentence("Is the site right? ") == "Is the site right?"
    assert sentence(None) == "" and sentence("") == ""
