"""Configuration from the environment, with embedded defaults for a laptop."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def default_sqlite_url() -> str:
    path = Path(os.environ.get("HOST_DATA_DIR", Path.cwd() / "var")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path / 'host.db'}"


def database_url() -> str:
    url = os.environ.get("DATABASE_URL") or default_sqlite_url()
    # Heroku-style URLs and plain postgresql:// mean psycopg 3 here.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def from_env() -> dict:
    """Settings read from environment variables (see README, Configuration)."""
    env = os.environ.get("HOST_ENV", "development")
    cfg = {
        "ENV_NAME": env,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_hex(32),
        "SQLALCHEMY_DATABASE_URI": database_url(),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
    }
    if env != "development" and not os.environ.get("SECRET_KEY"):
        raise RuntimeError(f"SECRET_KEY must be set outside development (HOST_ENV={env}).")
    return cfg
