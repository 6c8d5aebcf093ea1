"""The URL ConnectWise POSTs its callbacks to: ``/colcw/cw-callback/<secret>``.

Thin: read the raw body (refusing more than the service accepts before reading it), hand it to
:func:`~colcw_plugin.sync.inbound.receive.receive`, answer its status. No sign-in and no CSRF
token (ConnectWise is the caller); the URL's secret and ConnectWise's signature stand in for them.
A GET with the right secret answers the reachability check of the Connection page.

The secret is part of the path, so a server's access log would write it down: :class:`RedactSecret`
hides it in the ``werkzeug`` logger's lines (attached when the blueprint is registered); a production
server's access log (gunicorn's ``--access-logfile``) takes the same filter (README, Deployment).
"""

from __future__ import annotations

import logging
import re

from flask import Response, jsonify, request

from host_stub.extensions import csrf, db

from ..cw.callbacks import MAX_BODY_BYTES, SIGNATURE_HEADER
from ..setup.live_updates import CALLBACK_PATH, PING_ANSWER, read_live, secret_matches
from ..setup.secrets import SecretError
from ..sync.inbound.receive import receive
from . import rep_bp
from .support import runtime

ROUTE = CALLBACK_PATH.removeprefix(rep_bp.url_prefix or "") + "<secret>"
_SECRET_IN_PATH = re.compile(re.escape(CALLBACK_PATH) + r"[^\s?\"']+")


class RedactSecret(logging.Filter):
    """Replaces the callback URL's secret in a log line by ``[secret]`` (the line is kept)."""

    def filter(self, record: logging.LogRecord) -> bool:
        line = record.getMessage()
        if CALLBACK_PATH in line:
            record.msg, record.args = _SECRET_IN_PATH.sub(CALLBACK_PATH + "[secret]", line), None
        return True


@rep_bp.record_once
def _redact_access_log(state) -> None:
    access_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactSecret) for f in access_log.filters):
        access_log.addFilter(RedactSecret())


@rep_bp.route(ROUTE, methods=["POST"])
@csrf.exempt
def cw_callback(secret: str) -> Response:
    body = request.stream.read(MAX_BODY_BYTES + 1)  # never more, whatever Content-Length says
    if (request.content_length or 0) > MAX_BODY_BYTES or len(body) > MAX_BODY_BYTES:
        return _text(400, "Not a ConnectWise callback: the body is too large.")
    rt = runtime()
    answer = receive(db.session, rt.box, rt.callback_keys, rt.queue, rt.kinds, secret=secret, body=body,
                     signature=request.headers.get(SIGNATURE_HEADER), http_allowed_by_config=rt.config.allow_http)
    db.session.remove()
    return _text(answer.status, answer.text)


@rep_bp.route(ROUTE, methods=["GET"])
def cw_callback_ping(secret: str) -> Response:
    """The Connection page's check that this URL reaches colcw (the right secret only)."""
    try:
        known = secret_matches(read_live(db.session), runtime().box, secret)
    except SecretError:
        known = False
    db.session.rollback()
    return jsonify(PING_ANSWER) if known else _text(404, "Not found.")


def _text(status: int, text: str) -> Response:
    return Response(text + "\n", status=status, mimetype="text/plain")
