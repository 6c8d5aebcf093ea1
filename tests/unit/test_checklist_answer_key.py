"""The export checklist's clear answer is remembered under a key made of everything colcw's own checks read: another
rep, another verdict of a check, a changed document, another tenant or settings saved since is another key (Export now
then asks ConnectWise again). A
Redis that does not answer means no answer remembered, never a failed page or click."""

from __future__ import annotations

import datetime as dt

from redis.exceptions import ConnectionError as RedisConnectionError

from colcw_plugin.models import Settings
from colcw_plugin.sync.quotes.answered import answer_key, clear_answer, connection_of, remember_clear
from colcw_plugin.sync.quotes.preflight import Check

RILEY, SAM = {"id": 3, "email": "riley@demo.example"}, {"id": 4, "email": "sam@demo.example"}
CHECKS = [Check(True, "ConnectWise connection"), Check(True, "Customer Acme in ConnectWise", "Company ACME")]
SNAPSHOT = {"id": 7, "number": "Q-1007", "lines": [{"item_number": "OPT-7010", "quantity": 1}]}
SAVED = dt.datetime(2026, 12, 7, 9, 30)
CONNECTION = connection_of(Settings(site_url="https://na.myconnectwise.net", company_id="acme", updated_at=SAVED))


def test_the_key_changes_with_the_rep_the_checks_the_document_and_the_connection():
    key = answer_key(7, RILEY, CHECKS, SNAPSHOT, CONNECTION)
    assert key == answer_key(7, dict(RILEY), list(CHECKS), {**SNAPSHOT}, tuple(CONNECTION))
    assert answer_key(7, SAM, CHECKS, SNAPSHOT, CONNECTION) != key
    assert answer_key(8, RILEY, CHECKS, SNAPSHOT, CONNECTION) != key
    assert answer_key(7, RILEY, [CHECKS[0], Check(False, "Customer Acme in ConnectWise", "Not exported yet")],
                      SNAPSHOT, CONNECTION) != key
    assert answer_key(7, RILEY, [*CHECKS, Check(True, "Amounts", confirm="amounts:1")], SNAPSHOT, CONNECTION) != key
    changed = {**SNAPSHOT, "lines": [{"item_number": "OPT-7010", "quantity": 2}]}
    assert answer_key(7, RILEY, CHECKS, changed, CONNECTION) != key
    for other in (Settings(site_url="https://eu.myconnectwise.net", company_id="acme", updated_at=SAVED),
                  Settings(site_url="https://na.myconnectwise.net", company_id="acme2", updated_at=SAVED),
                  Settings(site_url="https://na.myconnectwise.net", company_id="acme",
                           updated_at=SAVED + dt.timedelta(seconds=1))):  # (another tenant; settings saved since)
        assert answer_key(7, RILEY, CHECKS, SNAPSHOT, connection_of(other)) != key
    assert "Acme" not in key and "OPT-7010" not in key  # (a hash: no user text in Redis's key space)


class _Away:
    def set(self, *a, **kw):
        raise RedisConnectionError("Connection refused")

    get = set


class _Kept(dict):
    def set(self, key, value, ex=None):
        assert ex and ex > 0  # (an answer lapses)
        self[key] = value.encode()

    def get(self, key):
        return dict.get(self, key)


def test_an_answer_is_read_back_with_its_token_and_a_redis_away_means_none():
    kept = _Kept()
    remember_clear(kept, "k1", None)
    remember_clear(kept, "k2", "name:42")
    assert clear_answer(kept, "k1") == "" and clear_answer(kept, "k2") == "name:42"
    assert clear_answer(kept, "k3") is None
    remember_clear(_Away(), "k1", "name:42")  # (logged, not raised)
    assert clear_answer(_Away(), "k1") is None
