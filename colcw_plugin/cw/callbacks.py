"""ConnectWise callbacks as a receiver sees them: the message, its signature, the signing key.

Facts (shared/connectwise/CALLBACKS.md): ConnectWise POSTs JSON with ``Type``, ``ID``, ``Action``,
``MemberId``, ``MessageId``, ``Entity`` (the record as a JSON string) and ``Metadata.key_url``.
The header ``x-content-signature`` is base64(HMAC-SHA256(key = SHA-256(signing key), raw body)),
and a GET of ``key_url`` answers ``{"signing_key": "..."}``.

``key_url`` comes from the body, which anyone can send: the key is fetched only from the
configured ConnectWise site (its host or its API host, same port) over https (http only for a
local sandbox with the development allowance), and cached. A signature that does not match the
cached key makes one fresh fetch (the tenant may have rotated its key), at most every
``refetch_seconds`` per URL, so forged messages cannot make colcw hammer ConnectWise.
Signatures are compared in constant time. No Flask, no database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from .settings import ClientSettings

MAX_BODY_BYTES = 256 * 1024
CALLBACK_TYPES = ("company", "contact", "opportunity")
ACTIONS = ("added", "updated", "deleted")
SIGNATURE_HEADER = "x-content-signature"


class BadCallback(ValueError):
    """The body is not a ConnectWise callback message (answer 400)."""


class CallbackRefused(Exception):
    """The message is not provably from the configured ConnectWise (answer ``status``: 401, or 503
    when the signing key could not be fetched right now)."""

    def __init__(self, reason: str, status: int = 401):
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class CallbackMessage:
    """What a callback says: a hint that record ``type``/``id`` was ``action`` by ``member``."""

    type: str
    id: int
    action: str
    member: str
    key_url: str
    message_id: str
    # ``Entity``, the record as ConnectWise held it after the change, when it is a JSON object (else None). Only
    # ever compared with what colcw wrote, once the signature holds: never applied.
    entity: dict | None = None

    @classmethod
    def parse(cls, body: bytes) -> CallbackMessage:
        """Read a raw body (:class:`BadCallback` saying what is wrong)."""
        if len(body) > MAX_BODY_BYTES:
            raise BadCallback(f"the body is larger than {MAX_BODY_BYTES // 1024} KB")
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise BadCallback("the body is not JSON") from None
        if not isinstance(data, dict):
            raise BadCallback("the body is not a JSON object")
        ctype = str(data.get("Type") or "").strip().lower()
        if ctype not in CALLBACK_TYPES:
            raise BadCallback(f"Type must be one of {', '.join(CALLBACK_TYPES)}")
        rid = data.get("ID")
        if isinstance(rid, str) and rid.strip().isdigit():
            rid = int(rid)
        if isinstance(rid, bool) or not isinstance(rid, int) or rid <= 0:
            raise BadCallback("ID must be a record id")
        action = str(data.get("Action") or "").strip().lower()
        if action not in ACTIONS:
            raise BadCallback(f"Action must be one of {', '.join(ACTIONS)}")
        metadata = data.get("Metadata")
        key_url = metadata.get("key_url") if isinstance(metadata, dict) else None
        if not isinstance(key_url, str) or not key_url:
            raise BadCallback("Metadata.key_url is missing")
        return cls(ctype, rid, action, str(data.get("MemberId") or "")[:100], key_url,
                   str(data.get("MessageId") or "")[:100], _entity(data.get("Entity"), rid))


def _entity(value: object, rid: int) -> dict | None:
    """The ``Entity`` of a message about record ``rid``: a JSON object (sent as a string) with that id, or None."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) and value.get("id") == rid else None


def sign(body: bytes, signing_key: str) -> str:
    """``x-content-signature`` for ``body``: base64(HMAC-SHA256(SHA-256(signing key), body))."""
    key = hashlib.sha256(signing_key.encode("utf-8")).digest()
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode("ascii")


def _origin(url: str) -> tuple[str, str] | None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return parts.scheme, f"{parts.hostname.lower()}:{port}"


def trusted_origins(settings: ClientSettings) -> frozenset[tuple[str, str]]:
    """Where signing keys may come from: the site's host and its API host (scheme, host:port)."""
    return frozenset(o for o in (_origin(settings.site_root), _origin(settings.api_root)) if o)


class SigningKeys:
    """Signing keys by ``key_url``, fetched on first use and cached (one per process, thread-safe)."""

    def __init__(self, *, ttl_seconds: float = 3600, refetch_seconds: float = 30, timeout: tuple[float, float] = (3, 5),
                 session: requests.Session | None = None, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl_seconds
        self.refetch = refetch_seconds
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.trust_env = False  # no proxy or netrc lookups for a URL we chose to trust
        self.clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, tuple[str, float]] = {}
        self.fetches = 0

    def verify(self, body: bytes, signature: str | None, key_url: str, origins: Iterable[tuple[str, str]],
               *, allow_http: bool = False) -> None:
        """Return when ``signature`` signs ``body`` with the key behind ``key_url``; raise
        :class:`CallbackRefused` otherwise (see the module doc for which key_urls are trusted)."""
        origin = _origin(key_url)
        if origin is None or origin not in set(origins):
            raise CallbackRefused("Metadata.key_url is not on the configured ConnectWise site")
        if origin[0] != "https" and not allow_http:
            raise CallbackRefused("Metadata.key_url is not https")
        if not signature:
            raise CallbackRefused(f"the {SIGNATURE_HEADER} header is missing")
        key, fresh = self._key(key_url, force=False)
        if self._matches(body, signature, key):
            return
        if not fresh and self._may_refetch(key_url):
            key, _ = self._key(key_url, force=True)
            if self._matches(body, signature, key):
                return
        raise CallbackRefused("the signature does not match")

    @staticmethod
    def _matches(body: bytes, signature: str, key: str) -> bool:
        return hmac.compare_digest(sign(body, key).encode("ascii"), signature.strip().encode("ascii", "replace"))

    def _may_refetch(self, key_url: str) -> bool:
        with self._lock:
            cached = self._keys.get(key_url)
            return cached is None or self.clock() - cached[1] >= self.refetch

    def _key(self, key_url: str, *, force: bool) -> tuple[str, bool]:
        """(the signing key, whether it was fetched just now)."""
        with self._lock:
            cached = self._keys.get(key_url)
            if cached is not None and not force and self.clock() - cached[1] < self.ttl:
                return cached[0], False
        key = self._fetch(key_url)
        with self._lock:
            self._keys[key_url] = (key, self.clock())
        return key, True

    def _fetch(self, key_url: str) -> str:
        self.fetches += 1
        try:
            resp = self.session.get(key_url, timeout=self.timeout, allow_redirects=False,
                                    headers={"Accept": "application/json"})
        except requests.RequestException as e:
            raise CallbackRefused(f"the signing key could not be fetched ({type(e).__name__})", 503) from None
        if resp.status_code != 200:
            raise CallbackRefused(f"the signing key could not be fetched (HTTP {resp.status_code})",
                                  401 if resp.status_code == 404 else 503)
        try:
            key = resp.json().get("signing_key")
        except (ValueError, AttributeError):
            key = None
        if not isinstance(key, str) or not key:
            raise CallbackRefused("the key URL did not answer a signing key", 503)
        return key

    def forget(self) -> None:
        with self._lock:
            self._keys.clear()
