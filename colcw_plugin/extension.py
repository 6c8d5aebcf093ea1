"""colcw's Flask extension: blueprints, CLI group, configuration defaults, the secret box."""

from __future__ import annotations

import logging
import os

from flask import Flask, current_app

from .setup.secrets import SecretBox

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    from . import models  # noqa: F401 - register colcw's tables on the host's metadata
    from .cli import colcw_cli
    from .views import admin_bp, rep_bp

    app.config.setdefault("COLCW_ENCRYPTION_KEY", os.environ.get("COLCW_ENCRYPTION_KEY", ""))
    app.config.setdefault("COLCW_QUEUE", os.environ.get("COLCW_QUEUE", "colcw"))
    app.config.setdefault("COLCW_RATE_LIMIT_PER_MINUTE", float(os.environ.get("COLCW_RATE_LIMIT_PER_MINUTE", "1000")))
    app.config.setdefault("COLCW_CONCURRENCY", int(os.environ.get("COLCW_CONCURRENCY", "4")))
    app.config.setdefault("COLCW_ALLOW_HTTP", os.environ.get("COLCW_ALLOW_HTTP", "") in ("1", "true", "yes"))
    app.config.setdefault("COLCW_HISTORY_DAYS", int(os.environ.get("COLCW_HISTORY_DAYS", "90")))

    app.extensions["colcw"] = {"box": _secret_box(app)}
    app.register_blueprint(admin_bp)
    app.register_blueprint(rep_bp)
    app.cli.add_command(colcw_cli)


def _secret_box(app: Flask) -> SecretBox:
    key = app.config["COLCW_ENCRYPTION_KEY"]
    if key:
        return SecretBox(key)
    if app.config.get("ENV_NAME", "development") != "development":
        raise RuntimeError("COLCW_ENCRYPTION_KEY is not set: colcw will not store ConnectWise credentials "
                           "without an encryption key outside development. See README, Configuration.")
    log.warning("COLCW_ENCRYPTION_KEY is not set; deriving a development key from SECRET_KEY.")
    return SecretBox.derived_from(app.config["SECRET_KEY"])


def secret_box() -> SecretBox:
    """The current app's secret box (credentials encryption)."""
    return current_app.extensions["colcw"]["box"]


def shared_rate_limiter(session):
    """The tenant-wide ConnectWise rate limit (``COLCW_RATE_LIMIT_PER_MINUTE``), shared through Redis
    by every web process, worker and command talking to the configured tenant."""
    from .setup.connection import get_settings
    from .sync.jobs.queue import redis_connection
    from .sync.ratelimit import RedisRateLimiter, tenant_key

    settings = get_settings(session)
    return RedisRateLimiter(redis_connection(), float(current_app.config["COLCW_RATE_LIMIT_PER_MINUTE"]),
                            key=tenant_key(settings.site_url, settings.company_id))
