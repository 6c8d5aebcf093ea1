"""Authentication, clientId, version header, codebase discovery and security roles."""

from __future__ import annotations

import requests


def test_company_info_gives_the_codebase_and_null_for_an_unknown_company(cw_sandbox):
    info = requests.get(f"{cw_sandbox.base_url}/login/companyinfo/sandbox", timeout=10)
    assert info.status_code == 200
    body = info.json()
    assert body["Codebase"] == "v2025_1/" and body["CompanyID"] == "sandbox" and body["IsCloud"] == "True"
    unknown = requests.get(f"{cw_sandbox.base_url}/login/companyinfo/nobody", timeout=10)
    assert unknown.status_code == 200 and unknown.json() is None


def test_wrong_keys_company_or_no_auth_are_401(cw_sandbox):
    for auth in [("sandbox+sandbox-public", "wrong"), ("other+sandbox-public", "sandbox-private"),
                 ("sandbox-public", "sandbox-private"), None]:
        resp = cw_sandbox.api("GET", "company/companies", auth=auth)
        assert resp.status_code == 401, auth
        assert set(resp.json()) == {"code", "message", "errors"}


def test_integrator_login_works_and_is_recorded_as_updated_by(cw_sandbox):
    auth = (f"{cw_sandbox.company_id}+{cw_sandbox.username}", cw_sandbox.password)
    resp = cw_sandbox.api("POST", "procurement/manufacturers", auth=auth, json={"name": "Integrator Made"})
    assert resp.status_code == 201
    assert resp.json()["_info"]["updatedBy"] == "integrator"


def test_missing_client_id_is_refused(cw_sandbox):
    resp = requests.get(cw_sandbox.api_url + "company/companies", auth=cw_sandbox.auth, timeout=10)
    assert resp.status_code == 401
    assert "clientId" in resp.json()["message"]


def test_documented_versions_are_accepted_and_nonsense_is_400(cw_sandbox):
    for accept in ["application/vnd.connectwise.com+json; version=2019.1",
                   "application/vnd.connectwise.com+json; version=2026.4",
                   "application/vnd.connectwise.com+json", "application/json", "*/*"]:
        assert cw_sandbox.api("GET", "company/states", headers={"Accept": accept}).status_code == 200, accept
    for accept in ["application/vnd.connectwise.com+json; version=banana",
                   "application/vnd.connectwise.com+json; version=2031.1"]:
        assert cw_sandbox.api("GET", "company/states", headers={"Accept": accept}).status_code == 400, accept


def test_codebase_change_makes_the_old_base_404_until_rediscovered(cw_sandbox):
    old = cw_sandbox.api_url
    cw_sandbox.set_codebase("v2026_1/")
    resp = requests.get(old + "company/states", auth=cw_sandbox.auth, headers={"clientId": "x"}, timeout=10)
    assert resp.status_code == 404
    info = requests.get(f"{cw_sandbox.base_url}/login/companyinfo/sandbox", timeout=10).json()
    assert info["Codebase"] == "v2026_1/"
    assert cw_sandbox.api("GET", "company/states").status_code == 200


def test_denied_resources_answer_403_with_the_security_code(cw_sandbox):
    cw_sandbox.deny(["procurement/catalog", "company/companies"])
    resp = cw_sandbox.api("GET", "procurement/catalog")
    assert resp.status_code == 403 and resp.json()["code"] == "Security"
    assert cw_sandbox.api("GET", "procurement/catalog/count").status_code == 403
    assert cw_sandbox.api("GET", "company/companies/1/sites").status_code == 403
    assert cw_sandbox.api("GET", "procurement/categories").status_code == 200
    cw_sandbox.deny([])
    assert cw_sandbox.api("GET", "procurement/catalog").status_code == 200


def test_system_info_answers(cw_sandbox):
    body = cw_sandbox.api("GET", "system/info").json()
    assert body["isCloud"] is True and body["version"]
