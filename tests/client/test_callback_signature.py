"""Checking a callback's signature: the key comes only from the configured site, cached, refetched once."""

from __future__ import annotations

import json

import pytest
import responses

from colcw_plugin.cw import ClientSettings
from colcw_plugin.cw.callbacks import (
    BadCallback,
    CallbackMessage,
    CallbackRefused,
    SigningKeys,
    sign,
    trusted_origins,
)

SITE = ClientSettings(site_url="https://na.myconnectwise.net", company_id="acme", client_id="x", public_key="p",
                      private_key="k")
KEY_URL = "https://api-na.myconnectwise.net/v4_6_release/apis/3.0/system/callbackkeys/abc"
BODY = json.dumps({"Type": "opportunity", "ID": 7, "Action": "updated", "MemberId": "sam", "MessageId": "m1",
                   "Entity": "{}", "Metadata": {"key_url": KEY_URL}}).encode()


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_signature_is_hmac_sha256_keyed_by_the_sha256_of_the_signing_key():
    # Computed independently with openssl: key = SHA-256("secret") bytes, HMAC-SHA256(key, b"{}"), base64:
    #   printf '{}' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$(printf secret | sha256sum | cut -c1-64) \
    #     -binary | base64
    assert sign(b"{}", "secret") == "fGnuGotLGWkkskt80D4DgutYipf9wPqs/p/q1anSbSY="


def test_a_message_is_read_from_its_body_and_a_bad_body_says_what_is_wrong():
    message = CallbackMessage.parse(BODY)
    assert (message.type, message.id, message.action, message.member, message.key_url) == (
        "opportunity", 7, "updated", "sam", KEY_URL)
    for body, says in ((b"[]", "JSON object"), (b"nope", "not JSON"), (b'{"Type": "ticket"}', "Type"),
                       (json.dumps({"Type": "company", "ID": "x"}).encode(), "ID"),
                       (json.dumps({"Type": "company", "ID": 1, "Action": "merged"}).encode(), "Action"),
                       (json.dumps({"Type": "company", "ID": 1, "Action": "added"}).encode(), "key_url"),
                       (b" " * 300_000, "larger")):
        with pytest.raises(BadCallback, match=says):
            CallbackMessage.parse(body)


@responses.activate
def test_the_key_is_fetched_once_from_the_sites_api_host_and_cached():
    responses.get(KEY_URL, json={"signing_key": "k1"})
    keys = SigningKeys(clock=Clock())
    origins = trusted_origins(SITE)
    for _ in range(3):
        keys.verify(BODY, sign(BODY, "k1"), KEY_URL, origins)
    assert keys.fetches == 1


@responses.activate
def test_a_rotated_key_is_fetched_again_once_but_forgeries_do_not_make_colcw_hammer_connectwise():
    responses.get(KEY_URL, json={"signing_key": "k1"})
    clock = Clock()
    keys = SigningKeys(clock=clock, refetch_seconds=30)
    origins = trusted_origins(SITE)
    keys.verify(BODY, sign(BODY, "k1"), KEY_URL, origins)
    responses.replace(responses.GET, KEY_URL, json={"signing_key": "k2"})
    clock.now += 60
    keys.verify(BODY, sign(BODY, "k2"), KEY_URL, origins)  # the old key failed: one fresh fetch
    assert keys.fetches == 2
    for _ in range(5):
        with pytest.raises(CallbackRefused, match="does not match") as e:
            keys.verify(BODY, sign(BODY, "forged"), KEY_URL, origins)
        assert e.value.status == 401
    assert keys.fetches == 2  # within 30 s of the last fetch: no more


@pytest.mark.parametrize("key_url", [
    "https://evil.example/v4_6_release/apis/3.0/system/callbackkeys/abc",
    "https://na.myconnectwise.net.evil.example/x",
    "https://na.myconnectwise.net:8443/x",
    "http://na.myconnectwise.net/x",
    "https://user:pw@na.myconnectwise.net/x",
    "ftp://na.myconnectwise.net/x",
])
@responses.activate
def test_a_key_url_off_the_configured_site_or_not_https_is_refused_without_a_request(key_url):
    keys = SigningKeys()
    with pytest.raises(CallbackRefused, match="key_url") as e:
        keys.verify(BODY, sign(BODY, "k"), key_url, trusted_origins(SITE))
    assert e.value.status == 401 and keys.fetches == 0 and len(responses.calls) == 0


@responses.activate
def test_a_key_url_that_does_not_answer_is_a_503_not_a_401():
    responses.get(KEY_URL, status=500)
    with pytest.raises(CallbackRefused) as e:
        SigningKeys().verify(BODY, sign(BODY, "k"), KEY_URL, trusted_origins(SITE))
    assert e.value.status == 503


def test_a_missing_signature_is_refused():
    with pytest.raises(CallbackRefused, match="header is missing"):
        SigningKeys().verify(BODY, None, KEY_URL, trusted_origins(SITE))
