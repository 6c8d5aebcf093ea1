"""Helpers the admin pages share: who is acting, a client for the stored connection, the lists."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from flask_login import current_user

from host_stub.extensions import db

from ..cw import ConnectWiseError
from ..extension import secret_box
from ..setup.connection import NotConfigured, build_client
from ..setup.lookups import Lookups, load_lookups
from ..setup.secrets import SecretError

log = logging.getLogger(__name__)


def actor_name() -> str:
    """How the audit names the signed-in admin."""
    return f"{current_user.name} <{current_user.email}>"


def interactive_client():
    """A client for the stored connection that gives up quickly: a person is waiting on the page."""
    return build_client(db.session, secret_box(), max_attempts=2, max_retry_seconds=5.0, connect_timeout=3.0)


def lookups_or_reason(names: Iterable[str]) -> tuple[Lookups | None, str | None]:
    """The named ConnectWise lists, or None and a sentence saying why they could not be read."""
    try:
        client = interactive_client()
    except NotConfigured as e:
        return None, str(e)
    except SecretError as e:
        return None, str(e)
    try:
        with client:
            return load_lookups(client, names), None
    except ConnectWiseError as e:
        log.warning("Reading ConnectWise lists failed: %s", e)
        return None, f"ConnectWise could not be read: {e}"
