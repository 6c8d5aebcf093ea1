"""An opportunity name of 99 letters and an emoji is 101 long as ConnectWise counts (UTF-16 code units), over its 100:
the export refuses it before asking ConnectWise, saying the length ConnectWise counts and why, as a customer's field
too long is said. colcw counted 100 characters, sent it, and ConnectWise answered 400 MaxLengthField. Against the
sandbox, which counts as ConnectWise does."""

from __future__ import annotations

import pytest
from quote_support import items, line

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]

NAME = "a" * 99 + "\N{FIRE}"  # 100 characters, 101 UTF-16 units


def test_a_name_over_100_units_is_refused_before_asking_connectwise(world):
    doc = world.quote([line("OPT-7010")], name=NAME)
    run = world.export(doc.id)
    [result] = items(run)
    assert result.action == "failed", result.message
    assert "is 101 characters long as ConnectWise counts them (it counts some characters, such as emoji, as two); " \
           "ConnectWise allows at most 100." in result.message, result.message
    assert world.opportunities() == []
