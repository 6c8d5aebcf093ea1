"""Secrets stay out of reprs, logs and exceptions; error bodies become useful exceptions."""

from __future__ import annotations

import base64
import logging
import traceback

import pytest
import requests
from cwtest_support import BASE, PASSWORD, PRIVATE, PUBLIC, make_settings

from colcw_plugin.cw import (
    AuthenticationFailed,
    ClientSettings,
    ConnectWiseError,
    NetworkError,
    PermissionDenied,
    ValidationFailed,
)

URL = BASE + "company/companies"


def _secrets(settings: ClientSettings) -> list[str]:
    token = settings.authorization_header().split(" ", 1)[1]
    return [s for s in (settings.private_key, settings.password, token) if s]


@pytest.mark.parametrize(
    "settings",
    [
        make_settings(),
        make_settings(public_key=None, private_key=None, username="integrator", password=PASSWORD),
    ],
    ids=["api-keys", "integrator"],
)
def test_reprs_hold_no_secrets(settings, make_client):
    client = make_client(
        **{k: getattr(settings, k) for k in ("public_key", "private_key", "username", "password")}
    )
    for text in (repr(settings), str(settings), repr(client), repr(client.companies), repr(client.stats)):
        for secret in _secrets(settings):
            assert secret not in text
    assert PUBLIC not in repr(make_settings())


def test_logs_and_exceptions_hold_no_secrets(rsps, make_client, caplog):
    settings = make_settings()
    rsps.get(URL, status=503)
    rsps.get(URL, status=401, json={"code": "Unauthorized", "message": "bad"})
    rsps.post(URL, body=requests.exceptions.ReadTimeout("read timed out"))
    client = make_client()
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []
    with pytest.raises(AuthenticationFailed) as auth_info:
        client.companies.list()
    errors.append(auth_info.value)
    # The client sends nothing more after a refused login (7c87c54): its refusal names no secret either.
    with pytest.raises(AuthenticationFailed) as again_info:
        client.companies.create({"name": "x"})
    errors.append(again_info.value)
    with pytest.raises(NetworkError) as net_info:  # a client not refused yet meets the timeout
        make_client().companies.create({"name": "x"})
    errors.append(net_info.value)
    texts = [caplog.text]
    for exc in errors:
        texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc)), repr(vars(exc))]
    for text in texts:
        for secret in _secrets(settings):
            assert secret not in text
    assert "retry 1" in caplog.text  # the retry was logged, without the header


def test_both_auth_modes_send_basic_company_plus_user(rsps, make_client):
    rsps.get(BASE + "system/info", json={"version": "v2025.1"})
    make_client().system_info()
    make_client(public_key=None, private_key=None, username="integrator", password=PASSWORD).system_info()
    sent = [c.request.headers["Authorization"] for c in rsps.calls if c.request.url.endswith("system/info")]
    assert [base64.b64decode(h.split()[1]).decode() for h in sent] == [
        f"acme+{PUBLIC}:{PRIVATE}",
        f"acme+integrator:{PASSWORD}",
    ]
    call = next(c for c in rsps.calls if c.request.url.endswith("system/info"))
    assert call.request.headers["clientId"] == make_settings().client_id
    assert call.request.headers["Accept"] == "application/vnd.connectwise.com+json; version=2025.16"
    companyinfo = rsps.calls[0].request
    assert "Authorization" not in companyinfo.headers  # discovery is unauthenticated


def test_validation_errors_carry_message_fields_method_and_path(rsps, make_client):
    rsps.post(
        URL,
        status=400,
        json={
            "code": "InvalidObject",
            "message": "company object is invalid",
            "errors": [
                {
                    "code": "OutOfRange",
                    "message": "The field yearEstablished must be between 1900 and 9999.",
                    "resource": "company",
                    "field": "yearEstablished",
                },
            ],
        },
    )
    with pytest.raises(ValidationFailed) as info:
        make_client().companies.create({"name": "x", "yearEstablished": 1})
    exc = info.value
    assert (exc.status, exc.code, exc.method, exc.path) == (400, "InvalidObject", "POST", "company/companies")
    assert exc.fields == ["yearEstablished"]
    assert exc.field_errors[0].code == "OutOfRange"
    assert "company object is invalid" in str(exc) and "yearEstablished" in str(exc)
    assert exc.hint and exc.hint in str(exc)


def test_permission_denied_names_the_resource(rsps, make_client):
    rsps.get(BASE + "procurement/catalog/count", status=403, json={"code": "Forbidden", "message": "denied"})
    with pytest.raises(PermissionDenied) as info:
        make_client().catalog_items.count()
    assert info.value.resource == "procurement/catalog"
    assert "procurement/catalog" in str(info.value)


def test_non_json_error_bodies_still_make_an_exception(rsps, make_client):
    rsps.get(URL, status=500, body="<html>oops</html>")
    with pytest.raises(ConnectWiseError) as info:
        make_client(max_attempts=1).companies.list()
    assert info.value.status == 500 and info.value.transient


@pytest.mark.parametrize(
    ("site", "root", "api"),
    [
        ("https://na.myconnectwise.net", "https://na.myconnectwise.net", "https://api-na.myconnectwise.net"),
        ("eu.myconnectwise.net", "https://eu.myconnectwise.net", "https://api-eu.myconnectwise.net"),
        ("https://cw.example.com/v4_6_release/", "https://cw.example.com", "https://cw.example.com"),
        ("cw.example.com:8443", "https://cw.example.com:8443", "https://cw.example.com:8443"),
    ],
)
def test_site_urls_map_to_api_hosts(site, root, api):
    settings = make_settings(site_url=site)
    assert (settings.site_root, settings.api_root) == (root, api)


def test_http_needs_allow_http():
    with pytest.raises(ValueError, match="https"):
        make_settings(site_url="http://127.0.0.1:8000")
    assert (
        make_settings(site_url="http://127.0.0.1:8000", allow_http=True).site_root == "http://127.0.0.1:8000"
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"public_key": None, "private_key": None},
        {"private_key": None},
        {"username": "u", "password": "p"},
        {"public_key": None, "private_key": None, "username": "u"},
        {"company_id": ""},
        {"client_id": ""},
        {"site_url": "ftp://x"},
        {"max_attempts": 0},
    ],
)
def test_bad_settings_are_refused(overrides):
    with pytest.raises(ValueError):
        make_settings(**overrides)
