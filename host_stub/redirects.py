"""Where the host and its plugins may send a browser back to: a path on this site, nothing else.

Every redirect whose target comes from the request (sign-in's ``next``, a form's ``next``, a
Referer, a plugin's answer to a bulk action) goes through :func:`local_path`; pages use it through
:func:`host_stub.views.safe_redirect` and :func:`host_stub.views.referrer_path`. A target is local
when it is an absolute path (``/customers/?q=a``) that no browser can read as another site:

* not ``//evil.example`` (protocol-relative) nor ``https://evil.example`` or ``javascript:…``
  (a scheme);
* no backslash (browsers read ``/\\evil.example`` as ``//evil.example``) and no control character
  (they drop tabs and newlines, so ``/<TAB>/evil.example`` becomes ``//evil.example``);
* the same holds for its path percent-decoded, again and again (``/%09/evil.example/``,
  ``/%2F/evil.example``, ``/%5Cevil.example``): a proxy or a browser may decode once more.

No Flask here: the rule is a plain function, tested on its own.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

MAX_TARGET = 2048  # longer than any page of ours; a longer "next" is refused, not trimmed
_DECODE_ROUNDS = 4  # a path still percent-encoded after this many decodings is refused


def _unsafe_char(text: str) -> bool:
    return any(ch == "\\" or ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in text)


def _local_shape(path: str) -> bool:
    return path.startswith("/") and not path.startswith("//") and not _unsafe_char(path)


def is_local_path(target: object) -> bool:
    """Whether ``target`` is a path on this site that is safe to redirect to."""
    if not isinstance(target, str) or not target or len(target) > MAX_TARGET or _unsafe_char(target):
        return False
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return False
    path = target.split("?", 1)[0].split("#", 1)[0]
    for _ in range(_DECODE_ROUNDS):
        if not _local_shape(path):
            return False
        decoded = unquote(path)
        if decoded == path:
            return True
        path = decoded
    return False


def local_path(target: object, fallback: str) -> str:
    """``target`` when it is a local path (:func:`is_local_path`), else ``fallback``."""
    return target if is_local_path(target) else fallback  # type: ignore[return-value]


def same_site_path(url: str | None, site_root: str) -> str | None:
    """The local path of ``url`` when it is an absolute URL under ``site_root`` (``http://host/``,
    with its trailing slash), e.g. a Referer; ``None`` for any other URL or an unsafe path."""
    if not url or not site_root or not url.startswith(site_root):
        return None
    path = "/" + url[len(site_root):]
    return path if is_local_path(path) else None
