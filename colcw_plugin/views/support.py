"""What colcw's pages share: the runtime, who is acting, and the ConnectWise lists for a page."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from flask import current_app
from flask_login import current_user

from host_stub.extensions import db

from ..cw import ConnectWiseError
from ..setup.connection import NotConfigured
from ..setup.lookups import Lookups, load_lookups
from ..setup.secrets import SecretError
from ..sync.runtime import Runtime

log = logging.getLogger(__name__)


def runtime() -> Runtime:
    """The app's colcw runtime (built by the composition root)."""
    return Runtime.of(current_app)


def actor_name() -> str:
    """How the audit names the signed-in admin."""
    return f"{current_user.name} <{current_user.email}>"


def lookups_or_reason(names: Iterable[str]) -> tuple[Lookups | None, str | None]:
    """The named ConnectWise lists, or None and a sentence saying why they could not be read."""
    try:
        client = runtime().interactive_client(db.session)
    except (NotConfigured, SecretError) as e:
        return None, str(e)
    try:
        with client:
            return load_lookups(client, names), None
    except ConnectWiseError as e:
        log.warning("Reading ConnectWise lists failed: %s", e)
        return None, f"ConnectWise could not be read: {e}"
