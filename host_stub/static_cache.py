"""Static files kept by browsers for a year, under URLs that change with their content.

Flask serves a static file with ``Cache-Control: no-cache``: every page a person opens asked again for each
stylesheet and script it links (the host's and every plugin's: five on colcw's pages), and waited for each answer
(304) before using it. Every URL the app builds for a static file (``url_for("static", …)``, and a blueprint's
``"<name>.static"``: a plugin's assets) now carries ``v``, a digest of the file's content; a request carrying the
file's current digest is answered as immutable for a year, so a browser asks no more until the file changes, and
then its URL does. A request without it (or with another file's digest) is served as Flask serves it.
"""

from __future__ import annotations

import hashlib
import os

from flask import Flask, Response, request
from werkzeug.security import safe_join

YEAR = 365 * 24 * 3600
_digests: dict[tuple[str, int, int], str] = {}  # (path, mtime, size) -> digest: read again when the file changes


def digest(folder: str | None, filename: str) -> str | None:
    """The version of ``filename`` under ``folder`` (12 hex digits of its content's SHA-256); None when there is
    no such file."""
    path = safe_join(folder, filename) if folder else None
    if path is None:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    key = (path, stat.st_mtime_ns, stat.st_size)
    found = _digests.get(key)
    if found is None:
        with open(path, "rb") as f:
            found = _digests[key] = hashlib.sha256(f.read()).hexdigest()[:12]
    return found


def _is_static(endpoint: str | None) -> bool:
    return endpoint is not None and (endpoint == "static" or endpoint.endswith(".static"))


def install(app: Flask) -> None:
    """Version the app's static URLs and cache what they serve (see the module doc)."""

    def folder(endpoint: str) -> str | None:
        if endpoint == "static":
            return app.static_folder
        blueprint = app.blueprints.get(endpoint.rpartition(".")[0])
        return blueprint.static_folder if blueprint is not None else None

    @app.url_defaults
    def _versioned(endpoint: str, values: dict) -> None:
        if _is_static(endpoint) and "filename" in values and "v" not in values:
            version = digest(folder(endpoint), values["filename"])
            if version is not None:
                values["v"] = version

    @app.after_request
    def _kept(response: Response) -> Response:
        if not _is_static(request.endpoint) or response.status_code not in (200, 304):
            return response
        asked, filename = request.args.get("v"), (request.view_args or {}).get("filename")
        if asked and filename and asked == digest(folder(request.endpoint), filename):
            response.cache_control.no_cache = None
            response.cache_control.public = True
            response.cache_control.max_age = YEAR
            response.cache_control.immutable = True
        return response
