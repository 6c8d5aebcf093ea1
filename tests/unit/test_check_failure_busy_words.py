"""The Connection card's words for a busy ConnectWise (a rate-limited or failed company lookup) are text.CONNECTWISE_BUSY,
the one definition the callbacks' registration says too (sync/inbound/switch.py): setup.connection.check_failure wrote
the same phrases inline, so a change to one would leave the other behind."""

from __future__ import annotations

import pytest

from colcw_plugin import text
from colcw_plugin.cw.connection_check import CheckStep, ConnectionReport
from colcw_plugin.setup.connection import check_failure


def _failed(problem: str) -> ConnectionReport:
    return ConnectionReport(ok=False, steps=[CheckStep("Company lookup", False, "HTTP 429 too many requests",
                                                       fix="try again in a few minutes", problem=problem)])


@pytest.mark.parametrize("problem", ["rate_limited", "server_error"])
def test_the_card_says_a_busy_connectwise_in_the_one_definitions_words(monkeypatch, problem):
    assert check_failure(_failed(problem)).startswith(f"{text.CONNECTWISE_BUSY[problem]}: HTTP 429")
    monkeypatch.setitem(text.CONNECTWISE_BUSY, problem, "Reworded busy")
    assert check_failure(_failed(problem)) == "Reworded busy: HTTP 429 too many requests. Try again in a few minutes."


def test_other_problems_keep_their_own_leads():
    assert check_failure(_failed("unreachable")).startswith("ConnectWise could not be reached: ")
    assert check_failure(_failed("bad_credentials")).startswith("ConnectWise refused it: ")
