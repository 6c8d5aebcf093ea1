"""``flask --app host_stub colcw configure | options | test-connection | automap | check`` for operators and scripts.

Same services and validation as the admin pages; secrets are never printed. Commands that
check something exit non-zero when it fails, so scripts can stop on them (``configure`` too when the connection it
saved fails its check, or, with Live updates on, the callbacks it registers again could not be registered: the
connection is saved all the same, as the Connection page saves it).
"""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from host_stub.extensions import db
from host_stub.models import CustomField

from ..cw import ConnectWiseError, check_connection
from ..errors import FieldErrors
from ..setup.automap import automap
from ..setup.connection import (
    ConnectionInput,
    NotConfigured,
    check_saved,
    connected_to,
    get_settings,
    is_configured,
    remember_check,
    save_connection,
)
from ..setup.lookups import load_lookups
from ..setup.opportunity_defaults import (
    DEFAULT_LABEL,
    KINDS,
    NewOpportunityValues,
    input_by_names,
    load,
    save_new_opportunity_values,
    shown,
)
from ..setup.options import OptionsInput, save_options
from ..setup.preflight import read_companies, recent_scan, run_preflight
from ..setup.secrets import SecretError
from ..sync.inbound.switch import recheck_callbacks
from ..sync.quotes.opportunities import OpportunitySetup
from ..sync.runtime import Runtime
from ..text import plural, sentence
from .output import echo_field_errors
from .who import command_line_user


@click.command("configure")
@click.option("--site", "site_url", required=True, help="ConnectWise site URL, e.g. https://na.myconnectwise.net")
@click.option("--company-id", required=True, help="The company ID typed on the ConnectWise login screen.")
@click.option("--public-key", help="API member public key (with --private-key).")
@click.option("--private-key", envvar="COLCW_PRIVATE_KEY", help="API member private key (or env COLCW_PRIVATE_KEY).")
@click.option("--username", help="Integrator login username (with --password).")
@click.option("--password", envvar="COLCW_PASSWORD", help="Integrator login password (or env COLCW_PASSWORD).")
@click.option("--client-id", required=True, help="Your clientId from developer.connectwise.com.")
@click.option("--allow-http", is_flag=True, help="Allow http:// (only with the COLCW_ALLOW_HTTP development setting).")
@click.option("--if-unset", is_flag=True, help="Leave an existing connection alone (for scripts run on every start).")
@with_appcontext
def configure_command(site_url, company_id, public_key, private_key, username, password, client_id, allow_http,
                      if_unset):
    """Save the ConnectWise connection (validated like the connection page)."""
    if if_unset and is_configured(get_settings(db.session)):
        db.session.rollback()
        click.echo("A ConnectWise connection is already configured; left unchanged (--if-unset).")
        return
    if bool(public_key or private_key) == bool(username or password):
        raise click.UsageError("Give either --public-key and --private-key, or --username and --password.")
    keys = bool(public_key or private_key)
    data = ConnectionInput(site_url=site_url, company_id=company_id, auth_mode="api_keys" if keys else "integrator",
                           user=(public_key if keys else username) or "", secret=(private_key if keys else password) or None,
                           client_id=client_id, allow_http=allow_http)
    try:
        rt = runtime()
        save_connection(db.session, rt.box, data, command_line_user(), rt.config.allow_http)
    except FieldErrors as e:
        db.session.rollback()
        echo_field_errors(e.errors, {"site_url": "--site", "company_id": "--company-id", "client_id": "--client-id",
                                     "user": "--public-key" if keys else "--username",
                                     "secret": "--private-key" if keys else "--password"})
        sys.exit(2)
    db.session.commit()
    click.echo(f"Saved the ConnectWise connection to {data.site_url.strip()} (company {data.company_id.strip()}).")
    # As the connection page: checked as Test Connection checks it, the result kept for the Connection card.
    report = check_saved(db.session, rt.box, rt.codebases, backoff_base=rt.config.cw_backoff_seconds)
    settings = get_settings(db.session)
    db.session.commit()
    if report.ok:
        click.echo(f"ConnectWise accepted it: {connected_to(settings)}.")
    else:
        click.echo(f"Warning: saved, but {settings.check_message}", err=True)
    # The callbacks belong to the tenant the connection names, and are registered again.
    done = recheck_callbacks(db.session, rt.box, rt.client, queue=rt.queue, kinds=rt.kinds)
    if not done.live:
        click.echo("Live updates are off: no callbacks to register.")
    for category, text in done.messages:
        if category == "warning" and done.connection_fails and not report.ok:
            continue  # (the check said already that it does not work)
        click.echo(("Warning: " if category == "warning" else "") + text, err=category == "warning")
    if done.failed or not report.ok:  # saved all the same, as the page saves it; a script stops on it
        sys.exit(1)


def runtime() -> Runtime:
    return Runtime.of(current_app)


def _client_or_exit():
    try:
        return runtime().client(db.session)
    except (NotConfigured, SecretError) as e:
        click.echo(str(e), err=True)
        sys.exit(1)


@click.command("test-connection")
@with_appcontext
def test_connection_command():
    """Run Test Connection against the stored connection; exit 1 on failure."""
    with _client_or_exit() as client:
        report = check_connection(client)
    remember_check(get_settings(db.session), report)  # the Connection card shows what the last check found
    db.session.commit()
    for step in report.steps:
        click.echo(f"{'ok  ' if step.ok else 'FAIL'} {step.name}: {step.detail}")
        if not step.ok and step.fix:
            click.echo(f"     What to do: {step.fix}")
    if not report.ok:
        click.echo("Test Connection failed.", err=True)
        sys.exit(1)
    click.echo(f"Connected: ConnectWise version {report.version or 'unknown'}; API member: "
               f"{report.member or 'not identified'}.")


@click.command("automap")
@with_appcontext
def automap_command():
    """Map reps (by e-mail), product types, categories and manufacturers (by exact name); idempotent."""
    with _client_or_exit() as client:
        try:
            lookups = load_lookups(client, ("members", "product_types", "categories", "subcategories",
                                            "manufacturers"))
        except ConnectWiseError as e:
            db.session.rollback()
            click.echo(f"ConnectWise's lists could not be read: {e}", err=True)
            sys.exit(1)
    report = automap(db.session, lookups, command_line_user())
    db.session.commit()
    for line in report.lines():
        click.echo(line)


@click.command("check")
@with_appcontext
def check_command():
    """The pre-flight check: list what would make an export fail; exit 1 if anything would."""
    lookups, reason, opportunity_lists, companies = None, None, None, None
    if is_configured(get_settings(db.session)):
        try:
            with runtime().client(db.session) as client:
                lookups = load_lookups(client, ("members", "product_types", "categories", "subcategories",
                                                "manufacturers", "states"))
                opportunity_lists = load(OpportunitySetup(client))
                companies = recent_scan(db.session) or read_companies(client)  # the Customers area
        except (SecretError, ConnectWiseError) as e:
            reason = str(e)
    report = run_preflight(db.session, lookups, reason, opportunity_lists, companies)
    db.session.rollback()
    for check in report.checks:
        click.echo(f"{'ok  ' if check.ok and check.checked else '--  ' if check.ok else 'FAIL'} {check.area}: "
                   f"{check.summary}")
        if not check.ok:
            for item in check.items:
                click.echo(f"     - {item}")
            if check.fix:
                click.echo(f"     What to do: {check.fix}")
    if not report.ok:
        click.echo(f"{plural(len(report.problems), 'area')} would make exports fail.", err=True)
        sys.exit(1)
    click.echo("Nothing found that would make an export fail.")


@click.command("options")
@click.option("--opportunity-field", metavar="NAME", help="The quote header custom field holding the opportunity name.")
@click.option("--allow-empty-names/--no-allow-empty-names", default=None,
              help="Export documents with a blank opportunity name under their document number.")
@click.option("--logged-in-rep/--store-rep", default=None,
              help="Assign to the logged-in sales rep instead of the store's default rep.")
@click.option("--if-unset", is_flag=True, help="Only set the opportunity name field when none is chosen yet.")
@click.option("--opportunity-type", metavar="NAME",
              help=f"The type new opportunities get, as ConnectWise names it (\"\" for {DEFAULT_LABEL}).")
@click.option("--opportunity-stage", metavar="NAME",
              help=f"The stage new opportunities get (\"\" for {DEFAULT_LABEL}).")
@click.option("--open-status", metavar="NAME",
              help=f"The open status new quote opportunities get (\"\" for {DEFAULT_LABEL}).")
@with_appcontext
def options_command(opportunity_field, allow_empty_names, logged_in_rep, if_unset, opportunity_type,
                    opportunity_stage, open_status):
    """Set the connection options and what new opportunities get (the Options and New opportunities sections of
    the connection page)."""
    row = get_settings(db.session)
    field_id = row.opportunity_field_id
    if opportunity_field and not (if_unset and field_id is not None):
        field = db.session.execute(select(CustomField).where(CustomField.name == opportunity_field)).scalar()
        if field is None:
            names = ", ".join(db.session.execute(select(CustomField.name)).scalars()) or "none yet"
            click.echo(f"No custom header field is named {opportunity_field!r} (fields: {names}). "
                       "Add it under Admin → Custom fields first.", err=True)
            sys.exit(2)
        field_id = field.id
    data = OptionsInput(
        opportunity_field_id=field_id,
        allow_empty_opportunity_name=row.allow_empty_opportunity_name if allow_empty_names is None else allow_empty_names,
        use_logged_in_rep=row.use_logged_in_rep if logged_in_rep is None else logged_in_rep)
    names = {"type": opportunity_type, "stage": opportunity_stage, "status": open_status}
    new_values = any(name is not None for name in names.values())
    try:
        if not new_values or any(v is not None for v in (opportunity_field, allow_empty_names, logged_in_rep)):
            save_options(db.session, data, actor=command_line_user())
        if new_values:
            _save_new_opportunity_values(names)
    except FieldErrors as e:
        db.session.rollback()
        click.echo("; ".join(e.errors.values()), err=True)
        sys.exit(2)
    db.session.commit()
    click.echo("Options saved.")
    values = NewOpportunityValues.of(get_settings(db.session))
    click.echo("New opportunities get " + "; ".join(f"{kind.label}: {shown(values, kind)}" for kind in KINDS) + ".")


def _save_new_opportunity_values(names: dict[str, str | None]) -> None:
    """The type, stage and open status by name, checked in ConnectWise's lists as the page checks them."""
    lists, reason = None, None
    try:
        with runtime().client(db.session) as client:
            lists = load(OpportunitySetup(client))
    except (NotConfigured, SecretError, ConnectWiseError) as e:
        reason = str(e)
    current = NewOpportunityValues.of(get_settings(db.session))
    save_new_opportunity_values(db.session, input_by_names(names, current, lists), lists, command_line_user())
    if lists is None:
        click.echo(f"ConnectWise's lists could not be read: {sentence(reason)} Unchanged choices were kept.", err=True)


def register(group: click.Group) -> None:
    """Add the setup commands to the ``colcw`` group."""
    for command in (configure_command, options_command, test_connection_command, automap_command, check_command):
        group.add_command(command)
