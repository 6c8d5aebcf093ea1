"""COLCW_CW_BACKOFF_SECONDS: the back-off before the client's first retry of a request ConnectWise failed, which the
clients colcw builds for its runs and pages get (Runtime.client; each later pause doubles it). Unset it is the
client's own default (0.5 s), so a real install waits as before; the tests shorten it (helpers.make_test_app)."""

from __future__ import annotations

from colcw_plugin.cw import ClientSettings
from colcw_plugin.sync.runtime import ColcwConfig
from helpers import tune_runtime
from host_stub.extensions import db


def test_unset_it_is_the_clients_own_back_off():
    assert ColcwConfig.from_mapping({}, env={}).cw_backoff_seconds == ClientSettings.backoff_base == 0.5
    assert ColcwConfig.from_mapping({"COLCW_CW_BACKOFF_SECONDS": ""}, env={}).cw_backoff_seconds == 0.5


def test_the_app_config_or_the_environment_sets_it():
    assert ColcwConfig.from_mapping({}, env={"COLCW_CW_BACKOFF_SECONDS": "0.2"}).cw_backoff_seconds == 0.2
    assert ColcwConfig.from_mapping({"COLCW_CW_BACKOFF_SECONDS": 0.1},
                                    env={"COLCW_CW_BACKOFF_SECONDS": "0.2"}).cw_backoff_seconds == 0.1


def test_the_runtimes_clients_back_off_by_it(app, connected, monkeypatch):
    rt = tune_runtime(monkeypatch, app, cw_backoff_seconds=0.3)
    with rt.client(db.session) as client:
        assert client.settings.backoff_base == 0.3
    with rt.interactive_client(db.session) as client:  # (a page's: fewer tries, the same back-off)
        assert client.settings.backoff_base == 0.3 and client.settings.max_attempts == 2
    with rt.client(db.session, backoff_base=1.0) as client:  # a caller's own still wins
        assert client.settings.backoff_base == 1.0
