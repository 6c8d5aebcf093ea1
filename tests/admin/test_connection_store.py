"""colcw's core services: stored connection, encryption, run recording."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from colcw_plugin.errors import FieldErrors
from colcw_plugin.models import ConfigChange
from colcw_plugin.setup.connection import ConnectionInput, build_client, get_settings, save_connection
from colcw_plugin.setup.secrets import SecretBox, SecretError
from host_stub.extensions import db


def test_stored_connection_reaches_the_sandbox(cw_client, connected):
    info = cw_client.system_info()
    assert info.get("version")
    settings = get_settings(db.session)
    assert connected.private_key not in settings.secret_encrypted


def test_secret_encrypted_at_rest_and_audit_has_no_secret(connected, box):
    settings = get_settings(db.session)
    assert box.decrypt(settings.secret_encrypted) == connected.private_key
    changes = db.session.execute(select(ConfigChange)).scalars().all()
    assert changes and all(connected.private_key not in c.summary for c in changes)


def test_wrong_key_cannot_decrypt_and_says_what_to_do(connected, box):
    other = SecretBox.derived_from("different secret")
    with pytest.raises(SecretError, match="Enter the credentials again"):
        build_client(db.session, other)


def test_invalid_connection_saves_nothing(app, box):
    bad = ConnectionInput(site_url="http://cw.example.com", company_id="bad id!", auth_mode="api_keys",
                          user="", secret="", client_id="")
    with pytest.raises(FieldErrors) as e:
        save_connection(db.session, box, bad, actor="t", http_allowed_by_config=False)
    assert set(e.value.errors) == {"site_url", "company_id", "user", "secret", "client_id"}
    assert "https" in e.value.errors["site_url"]
    db.session.rollback()
    assert get_settings(db.session).site_url == ""
