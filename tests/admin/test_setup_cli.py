"""``flask colcw configure`` and ``flask colcw test-connection`` for operators and scripts."""

from __future__ import annotations

import pytest

from colcw_plugin.setup.connection import get_settings
from helpers import tune_runtime
from host_stub.extensions import db


def _configure(app, sandbox, *extra, private_key=None):
    args = ["colcw", "configure", "--site", sandbox.base_url, "--company-id", sandbox.company_id, "--public-key",
            sandbox.public_key, "--private-key", private_key or sandbox.private_key, "--client-id", "colcw-cli",
            "--allow-http", *extra]
    return app.test_cli_runner().invoke(args=args, env={"LOGNAME": "deploy"})  # the operating-system user


def test_configure_saves_the_connection_like_the_page(app, cw_sandbox, box):
    result = _configure(app, cw_sandbox)
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    settings = get_settings(db.session)
    assert (settings.site_url, settings.client_id, settings.updated_by) == (cw_sandbox.base_url, "colcw-cli",
                                                                            "command line (deploy)")
    assert box.decrypt(settings.secret_encrypted) == cw_sandbox.private_key


def test_configure_if_unset_leaves_an_existing_connection_alone(app, connected, box):
    result = _configure(app, connected, "--if-unset", private_key="another-key")
    assert result.exit_code == 0 and "left unchanged" in result.output
    db.session.expire_all()
    assert box.decrypt(get_settings(db.session).secret_encrypted) == connected.private_key


def test_configure_with_invalid_values_says_why_and_saves_nothing(app, cw_sandbox):
    result = app.test_cli_runner().invoke(args=["colcw", "configure", "--site", "ftp://x", "--company-id", "a b",
                                                "--username", "u", "--password", "p", "--client-id", "c"])
    assert result.exit_code == 2
    assert "--site: The site URL must start with https://." in result.output
    assert "--company-id: Enter the company ID" in result.output and "company_id:" not in result.output
    assert get_settings(db.session).site_url == ""


def test_configure_refuses_http_without_the_development_setting(app, cw_sandbox, monkeypatch):
    tune_runtime(monkeypatch, app, allow_http=False)
    result = _configure(app, cw_sandbox)
    assert result.exit_code == 2 and "must use https://" in result.output


def test_configure_needs_one_kind_of_credentials(app, cw_sandbox):
    result = _configure(app, cw_sandbox, "--username", "u", "--password", "p")
    assert result.exit_code == 2 and "either --public-key and --private-key" in result.output


def test_test_connection_command_succeeds(app, connected):
    result = app.test_cli_runner().invoke(args=["colcw", "test-connection"])
    assert result.exit_code == 0, result.output
    assert "Connected: ConnectWise version" in result.output and "APIMember" in result.output


def test_test_connection_command_fails_with_the_step_and_the_fix(app, connected):
    connected.deny(["sales/opportunities"])
    result = app.test_cli_runner().invoke(args=["colcw", "test-connection"])
    assert result.exit_code == 1
    assert "FAIL Read opportunities: ConnectWise denied access to sales/opportunities (403)." in result.output
    assert "What to do: In ConnectWise, give the API member's security role Inquire access" in result.output


def test_test_connection_command_without_a_connection(app):
    result = app.test_cli_runner().invoke(args=["colcw", "test-connection"])
    assert result.exit_code == 1 and "not configured" in result.output


def test_options_command_sets_the_opportunity_field_and_flags(app):
    from sqlalchemy import select

    from host_stub.models import CustomField

    field = db.session.execute(select(CustomField).where(CustomField.name == "Opportunity Name")).scalar_one()
    result = app.test_cli_runner().invoke(args=["colcw", "options", "--opportunity-field", "Opportunity Name",
                                                "--allow-empty-names", "--logged-in-rep"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    settings = get_settings(db.session)
    assert (settings.opportunity_field_id, settings.allow_empty_opportunity_name, settings.use_logged_in_rep) == (
        field.id, True, True)
    # --if-unset keeps a field an admin already chose; flags not given stay as they are.
    other = CustomField(name="CW Opp. Name", position=1)
    db.session.add(other)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["colcw", "options", "--opportunity-field", "CW Opp. Name",
                                                "--if-unset"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    settings = get_settings(db.session)
    assert (settings.opportunity_field_id, settings.allow_empty_opportunity_name) == (field.id, True)


def test_options_command_names_an_unknown_field_and_saves_nothing(app):
    result = app.test_cli_runner().invoke(args=["colcw", "options", "--opportunity-field", "Nope"])
    assert result.exit_code == 2
    assert "No custom header field is named 'Nope'" in result.output
    assert get_settings(db.session).opportunity_field_id is None


def test_configure_names_http_when_the_development_setting_allows_it(app, cw_sandbox):
    result = app.test_cli_runner().invoke(args=["colcw", "configure", "--site", "ftp://x", "--company-id", "a",
                                                "--username", "u", "--password", "p", "--client-id", "c",
                                                "--allow-http"])
    assert result.exit_code == 2
    assert "must start with https:// (or http:// for the local sandbox)." in result.output


@pytest.mark.processes
def test_configure_then_test_connection_as_separate_commands_without_a_secret_key(cw_sandbox, tmp_path):
    """Development defaults: without SECRET_KEY the first command makes one in the data directory and the
    next command reads it, so it can decrypt the credentials the first one stored."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    flask = [str(Path(sys.executable).parent / "flask"), "--app", "host_stub"]
    env = {k: v for k, v in os.environ.items()
           if k not in ("SECRET_KEY", "COLCW_ENCRYPTION_KEY", "DATABASE_URL", "HOST_ENV")}
    env.update(HOST_DATA_DIR=str(tmp_path), COLCW_ALLOW_HTTP="1", REDIS_URL="redis://127.0.0.1:1/0")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*flask, *args], env=env, capture_output=True, text=True, timeout=120)

    assert run("upgrade-db").returncode == 0
    configured = run("colcw", "configure", "--site", cw_sandbox.base_url, "--company-id", cw_sandbox.company_id,
                     "--public-key", cw_sandbox.public_key, "--private-key", cw_sandbox.private_key,
                     "--client-id", "colcw-cli", "--allow-http")
    assert configured.returncode == 0, configured.stderr
    key_file = tmp_path / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    key = key_file.read_text()
    tested = run("colcw", "test-connection")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "Connected: ConnectWise version" in tested.stdout
    assert key_file.read_text() == key  # made once, then kept
