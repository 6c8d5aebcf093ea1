"""Encryption at rest for ConnectWise credentials (Fernet; several keys allow rotation)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretError(RuntimeError):
    """A stored secret cannot be decrypted (the encryption key changed or is wrong)."""


class SecretBox:
    """Encrypts and decrypts short secrets. ``keys`` is a comma-separated list of Fernet keys;
    the first encrypts, all decrypt (put the new key first to rotate)."""

    def __init__(self, keys: str):
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise ValueError("an encryption key is required")
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])
        except (ValueError, TypeError) as e:
            raise ValueError("COLCW_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64 bytes); "
                             "make one with: python -c 'from cryptography.fernet import Fernet; "
                             "print(Fernet.generate_key().decode())'") from e

    def __repr__(self) -> str:
        return "SecretBox(<keys hidden>)"

    @classmethod
    def derived_from(cls, secret: str) -> SecretBox:
        """A key derived from another secret (development only, when no key is configured)."""
        digest = hashlib.sha256(b"colcw-credentials:" + secret.encode()).digest()
        return cls(base64.urlsafe_b64encode(digest).decode())

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode() if plaintext else ""

    def decrypt(self, token: str) -> str:
        if not token:
            return ""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as e:
            raise SecretError("The stored ConnectWise credentials cannot be decrypted: the encryption key "
                              "(COLCW_ENCRYPTION_KEY) changed. Enter the credentials again on the connection page.") from e
