"""Constants and fakes shared by the ConnectWise client unit tests."""

from __future__ import annotations

from colcw_plugin.cw import ClientSettings

SITE = "https://na.myconnectwise.net"
BASE = "https://api-na.myconnectwise.net/v2025_1/apis/3.0/"
COMPANYINFO = SITE + "/login/companyinfo/acme"
PUBLIC = "PUBKEY-1234"
PRIVATE = "PRIVATE-s3cr3t-VALUE"
PASSWORD = "integrator-P4ssw0rd"
COMPANY_INFO_BODY = {
    "CompanyName": "Acme",
    "Codebase": "v2025_1/",
    "VersionCode": "v2025.1",
    "VersionNumber": "v4.6.1",
    "CompanyID": "acme",
    "IsCloud": "True",
}


class FakeTime:
    """A clock that only moves when the client sleeps, recording each sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_settings(**overrides) -> ClientSettings:
    values = {
        "site_url": SITE,
        "company_id": "acme",
        "client_id": "00000000-1111-2222-3333-444444444444",
        "public_key": PUBLIC,
        "private_key": PRIVATE,
        "rate_limit_per_minute": None,
        "backoff_base": 0.5,
        "backoff_cap": 30.0,
        "max_attempts": 5,
        "max_retry_seconds": 120.0,
    }
    values.update(overrides)
    return ClientSettings(**values)
