"""Connection settings for the ConnectWise Manage REST client.

`ClientSettings` is a frozen value object: it is validated once when built, can be
shared between threads, and never prints a secret (its repr omits keys and passwords).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# UI host -> API host for ConnectWise cloud regions (API-NOTES §2). Cloud API calls must
# go to the "api-" host; companyinfo works on the UI host.
CLOUD_API_HOSTS: dict[str, str] = {
    "na.myconnectwise.net": "api-na.myconnectwise.net",
    "eu.myconnectwise.net": "api-eu.myconnectwise.net",
    "au.myconnectwise.net": "api-au.myconnectwise.net",
    "aus.myconnectwise.net": "api-aus.myconnectwise.net",
    "za.myconnectwise.net": "api-za.myconnectwise.net",
    "staging.connectwisedev.com": "api-staging.connectwisedev.com",
}

DEFAULT_API_VERSION = "2025.16"


@dataclass(frozen=True)
class ClientSettings:
    """Everything the client needs to reach one ConnectWise Manage tenant.

    Give either ``public_key``/``private_key`` (an API member's keys, recommended) or
    ``username``/``password`` (a legacy integrator login). Both are sent as HTTP Basic
    ``companyId+user:secret``.

    ``site_url`` may be a cloud UI URL (``https://na.myconnectwise.net``), an on-premise
    host, or a bare host name (https is assumed). Plain http is refused unless
    ``allow_http`` is set (the local sandbox).
    """

    site_url: str
    company_id: str
    client_id: str
    public_key: str | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    api_version: str = DEFAULT_API_VERSION
    allow_http: bool = False
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    # None disables the client-side limiter (benchmarks); ConnectWise starts answering 429
    # above roughly 1,000 requests a minute (API-NOTES §6.3).
    rate_limit_per_minute: float | None = 1000
    max_retry_seconds: float = 120.0
    # The longest Retry-After a request sleeps out in this process (None: up to max_retry_seconds); one longer fails
    # the request at once, unsent, as rate-limited: a queued run's client, whose run then waits without holding its
    # worker and is queued again for when ConnectWise asked (colcw_plugin.sync.runtime).
    max_hold_seconds: float | None = None
    max_attempts: int = 5
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    # Path to a CA bundle for on-premise servers with a private CA; None = system store.
    ca_bundle: str | None = None
    pool_size: int = 10
    # At most this many requests of the client answered at once, whatever its threads (None: no bound).
    # ConnectWise asks integrations to keep parallel requests low (API-NOTES §6.3: 1-4 in flight).
    max_in_flight: int | None = None

    def __post_init__(self) -> None:
        if not self.company_id or not self.company_id.strip():
            raise ValueError("company_id is required (the company id typed on the ConnectWise login screen)")
        if not self.client_id or not self.client_id.strip():
            raise ValueError("client_id is required (a GUID from https://developer.connectwise.com/ClientID)")
        has_keys = bool(self.public_key or self.private_key)
        has_login = bool(self.username or self.password)
        if has_keys and has_login:
            raise ValueError("give either API keys or an integrator login, not both")
        if has_keys and not (self.public_key and self.private_key):
            raise ValueError("both public_key and private_key are required")
        if has_login and not (self.username and self.password):
            raise ValueError("both username and password are required for an integrator login")
        if not has_keys and not has_login:
            raise ValueError("credentials are required: public_key/private_key or username/password")
        if "+" in self.company_id or ":" in self.company_id:
            raise ValueError("company_id must not contain '+' or ':'")
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_retry_seconds < 0:
            raise ValueError("max_retry_seconds must not be negative")
        if self.rate_limit_per_minute is not None and self.rate_limit_per_minute <= 0:
            raise ValueError("rate_limit_per_minute must be positive (or None to disable)")
        if self.max_in_flight is not None and self.max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1 (or None for no bound)")
        # Parsing validates the URL and the scheme rule now, not at the first request.
        self._split_site()

    # -- derived values -------------------------------------------------------------

    @property
    def auth_mode(self) -> str:
        """``"api_key"`` or ``"integrator"``."""
        return "api_key" if self.public_key else "integrator"

    @property
    def login_name(self) -> str:
        """The user part of the Basic credentials, ``companyId+publicKey|username``."""
        return f"{self.company_id}+{self.public_key or self.username}"

    def authorization_header(self) -> str:
        """The ``Authorization`` header value. Never log it."""
        secret = self.private_key if self.public_key else self.password
        token = base64.b64encode(f"{self.login_name}:{secret}".encode()).decode("ascii")
        return f"Basic {token}"

    @property
    def accept_header(self) -> str:
        """The Accept header that pins the API model version."""
        return f"application/vnd.connectwise.com+json; version={self.api_version}"

    @property
    def timeout(self) -> tuple[float, float]:
        """``(connect, read)`` timeouts for requests."""
        return (self.connect_timeout, self.read_timeout)

    @property
    def scheme_given(self) -> bool:
        """Whether ``site_url`` says http:// or https:// (without, https is assumed)."""
        return "://" in (self.site_url or "")

    @property
    def site_root(self) -> str:
        """``scheme://host[:port]`` of the site (where companyinfo lives)."""
        scheme, netloc = self._split_site()
        return f"{scheme}://{netloc}"

    @property
    def api_root(self) -> str:
        """``scheme://api-host[:port]``: cloud UI hosts are mapped to their api- host."""
        scheme, netloc = self._split_site()
        host, sep, port = netloc.partition(":")
        api_host = CLOUD_API_HOSTS.get(host.lower(), host)
        return f"{scheme}://{api_host}{sep}{port}"

    def _split_site(self) -> tuple[str, str]:
        raw = (self.site_url or "").strip()
        if not raw:
            raise ValueError("site_url is required")
        if "://" not in raw:
            raw = "https://" + raw
        parts = urlsplit(raw)
        scheme = parts.scheme.lower()
        if scheme not in ("https", "http"):
            raise ValueError(f"site_url must be an http(s) URL, got scheme {parts.scheme!r}")
        if scheme == "http" and not self.allow_http:
            raise ValueError(
                "site_url must use https (ConnectWise requires SSL); set allow_http only for a local sandbox"
            )
        if not parts.hostname:
            raise ValueError("site_url has no host name")
        if parts.username or parts.password:
            raise ValueError("site_url must not contain credentials")
        # Any path (e.g. "/v4_6_release/...") is dropped: discovery decides the codebase.
        return scheme, parts.netloc.lower()
