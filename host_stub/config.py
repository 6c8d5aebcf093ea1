"""Configuration from the environment, with embedded defaults for a laptop."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret


def data_dir() -> Path:
    """Where the embedded defaults keep their files (``HOST_DATA_DIR``, default ``./var``)."""
    path = Path(os.environ.get("HOST_DATA_DIR", Path.cwd() / "var")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_sqlite_url() -> str:
    return f"sqlite:///{data_dir() / 'host.db'}"


def development_secret_key(directory: Path) -> str:
    """The development ``SECRET_KEY``: generated once and kept in ``directory`` (mode 0600), so every
    process and every command of this installation signs and derives keys alike (a key made per
    process would leave ``configure`` unable to read what it stored for ``test-connection``).

    Several processes starting at once agree: the first to link its file in place wins, the others
    read it.
    """
    path = directory / SECRET_KEY_FILE
    if not path.exists():
        tmp = directory / f".{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        tmp.write_text(secrets.token_hex(32) + "\n")
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = path.read_text().strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} does not hold a usable SECRET_KEY; delete it to make a new one.")
    return key


def database_url() -> str:
    url = os.environ.get("DATABASE_URL") or default_sqlite_url()
    # Heroku-style URLs and plain postgresql:// mean psycopg 3 here.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def from_env(overrides: dict | None = None) -> dict:
    """Settings read from environment variables (see README, Configuration); ``overrides`` are the
    settings the caller gives itself (then no development key file is read or made)."""
    env = os.environ.get("HOST_ENV", "development")
    overrides = overrides or {}
    secret_key = overrides.get("SECRET_KEY") or os.environ.get("SECRET_KEY")
    if not secret_key and env == "development":
        secret_key = development_secret_key(data_dir())
    cfg = {
        "ENV_NAME": env,
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": overrides.get("SQLALCHEMY_DATABASE_URI") or database_url(),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
    }
    if env != "development" and not secret_key:
        raise RuntimeError(f"SECRET_KEY must be set outside development (HOST_ENV={env}).")
    return cfg
