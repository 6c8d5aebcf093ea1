"""``flask --app host_stub colcw live-updates``: the Connection page's Live updates section for scripts.

    flask --app host_stub colcw live-updates --on --public-url https://quotes.example.com --master connectwise
    flask --app host_stub colcw live-updates           # show the state
    flask --app host_stub colcw live-updates --off     # remove the callbacks, pause the safety net

Same service as the page (:func:`~colcw_plugin.sync.inbound.switch.apply_live`), and the state in the page's
words (:class:`~colcw_plugin.sync.inbound.status.LivePanel`: the callbacks, refused callbacks); the URL's secret
is never printed. Exits 1 when the callbacks could not be registered or removed.
"""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from host_stub.extensions import db

from ..errors import FieldErrors
from ..models import CUSTOMER_MASTERS, CW_MASTER, HOST_MASTER
from ..setup.live_updates import LiveInput, read_live
from ..sync.inbound.status import live_panel
from ..sync.inbound.switch import apply_live
from ..sync.runtime import Runtime
from .output import echo_field_errors
from .who import command_line_user

MASTERS = {"connectwise": CW_MASTER, "channelonline": HOST_MASTER, "host": HOST_MASTER}


@click.command("live-updates")
@click.option("--on/--off", "enabled", default=None, help="Switch live updates on (register callbacks) or off.")
@click.option("--public-url", help="The address ConnectWise reaches this host at, e.g. https://quotes.example.com.")
@click.option("--master", type=click.Choice(sorted(MASTERS)), help="The master for customer data.")
@with_appcontext
def live_updates_command(enabled, public_url, master):
    """Show or change Live updates (callbacks from ConnectWise, the safety net, the customer master)."""
    live = read_live(db.session)
    if enabled is not None or public_url is not None or master is not None:
        data = LiveInput(enabled=live.enabled if enabled is None else enabled,
                         public_base_url=live.public_base_url if public_url is None else public_url,
                         customer_master=live.customer_master if master is None else MASTERS[master])
        rt = Runtime.of(current_app)
        try:
            messages = apply_live(db.session, rt.box, rt.client, data, command_line_user(), queue=rt.queue,
                                  kinds=rt.kinds)
        except FieldErrors as e:
            db.session.rollback()
            echo_field_errors(e.errors, {"public_base_url": "--public-url", "enabled": "--on/--off",
                                         "customer_master": "--master"})
            sys.exit(2)
        for category, text in messages:
            click.echo(("Warning: " if category == "warning" else "") + text, err=category == "warning")
    panel = live_panel(db.session)
    live = panel.live
    click.echo(f"Live updates: {'on' if live.enabled else 'off'}; public URL {live.public_base_url or '(none)'}; "
               f"master for customer data: {CUSTOMER_MASTERS[live.customer_master]}.")
    for c in panel.callbacks:
        click.echo(f"  callback {c.type}: id {c.cw_id}, {panel.state(c)}")
    refused = panel.refused()  # the page's words, times in UTC
    if refused:
        click.echo(refused)
    db.session.rollback()
    if live.last_error:
        click.echo(live.last_error, err=True)
        sys.exit(1)
