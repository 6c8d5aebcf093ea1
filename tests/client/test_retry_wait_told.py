"""Which pauses between two tries of a request the client tells its listener of (``notify_retry_waits``: a run says
"trying the request again", a rep's export hands over to its run): one of a second or more, and a back-off from
twice ``backoff_base`` on, so a client with shorter back-offs (the tests' COLCW_CW_BACKOFF_SECONDS) tells of the same
tries of a request as the default one does, only sooner; a Retry-After ConnectWise timed is told from a second."""

from __future__ import annotations

import pytest
from cwtest_support import BASE, make_settings

from colcw_plugin.cw import ConnectWiseClient, ServerError

URL = BASE + "company/companies/5"


def _told(rsps, fake_time, rng: float, **settings) -> tuple[list[float], list[float]]:
    """Every try of one GET answered 503: (the pauses slept, the pauses told), the client's five tries spent."""
    for _ in range(5):
        rsps.get(URL, status=503, json={"code": "Unavailable", "message": "busy"})
    client = ConnectWiseClient(make_settings(**settings), sleep=fake_time.sleep, clock=fake_time.clock,
                               rng=lambda: rng)
    told: list[float] = []
    client.notify_retry_waits(lambda error, seconds: told.append(seconds))
    with pytest.raises(ServerError):
        client.companies.get(5)
    return fake_time.sleeps, told


@pytest.mark.parametrize("rng", [0.0, 0.5])
def test_the_default_back_off_tells_of_its_pauses_from_a_second(rsps, fake_time, rng):
    slept, told = _told(rsps, fake_time, rng)
    assert len(slept) == 4
    assert told == [s for s in slept if s >= 1.0] == slept[2:]  # the third try's pause and the fourth's


@pytest.mark.parametrize("rng", [0.0, 0.5])
def test_a_shorter_back_off_tells_of_the_same_tries_pauses(rsps, fake_time, rng):
    slept, told = _told(rsps, fake_time, rng, backoff_base=0.05)
    assert max(slept) < 0.5  # (all under a second: none would be told by the second alone)
    assert told == slept[2:]


def test_a_short_retry_after_is_not_told_whatever_the_back_off(rsps, fake_time):
    rsps.get(URL, status=429, headers={"Retry-After": "0.5"}, json={"error": "ConnectWiseAPI", "message": "slow"})
    rsps.get(URL, status=429, headers={"Retry-After": "2"}, json={"error": "ConnectWiseAPI", "message": "slow"})
    rsps.get(URL, json={"id": 5})
    client = ConnectWiseClient(make_settings(backoff_base=0.05), sleep=fake_time.sleep, clock=fake_time.clock,
                               rng=lambda: 0.5)
    told: list[float] = []
    client.notify_retry_waits(lambda error, seconds: told.append(seconds))
    assert client.companies.get(5) == {"id": 5}
    assert 0.5 in fake_time.sleeps and told and all(s >= 1.0 for s in told)
