"""The host's Flask CLI: schema upgrade, demo data, users, migrations."""

from __future__ import annotations

import time

import click
from flask import Flask, current_app

from .extensions import db


def register_cli(app: Flask) -> None:
    @app.cli.command("upgrade-db")
    def upgrade_db():
        """Create or upgrade the host's schema and every plugin's schema."""
        from .migrate import upgrade

        upgrade(current_app)
        click.echo("Database is up to date.")

    @app.cli.command("seed-demo")
    @click.option("--customers", default=60, show_default=True, help="How many customers to create.")
    @click.option("--quotes", type=int, default=None, help="How many quotes (default: about 2/3 of customers, at least 40).")
    def seed_demo_cmd(customers: int, quotes: int | None):
        """Create demo users, customers with contacts, quotes and sales orders."""
        from .migrate import upgrade
        from .seed import seed_demo

        upgrade(current_app)
        started = time.monotonic()
        with click.progressbar(length=customers, label="Customers") as bar:
            last = [0]

            def progress(done, total):
                bar.update(done - last[0])
                last[0] = done

            result = seed_demo(db.session, customers=customers, quotes=quotes, progress=progress)
        if result.get("skipped"):
            click.echo("The database already has customers; demo data not added again.")
        else:
            click.echo(f"Seeded {result['customers']} customers, {result['contacts']} contacts, "
                       f"{result['quotes']} quotes and {result['orders']} sales orders "
                       f"in {time.monotonic() - started:.1f}s.")

    @app.cli.command("create-user")
    @click.option("--email", required=True)
    @click.option("--first-name", required=True)
    @click.option("--last-name", required=True)
    @click.option("--role", type=click.Choice(["rep", "admin"]), default="rep")
    @click.password_option()
    def create_user(email, first_name, last_name, role, password):
        """Add a sales rep or an admin."""
        from .models import User

        user = User(email=email.lower(), first_name=first_name, last_name=last_name, role=role)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        click.echo(f"Created {role} {email}.")

    @app.cli.command("make-migration")
    @click.argument("history")
    @click.argument("message")
    @click.option("--rev-id", default=None, help="Revision id (default: random).")
    def make_migration(history: str, message: str, rev_id: str | None):
        """Autogenerate a revision for HISTORY (host_stub or a plugin's name) against an upgraded database."""
        from .migrate import autogenerate, upgrade

        upgrade(current_app)
        autogenerate(current_app, history, message, rev_id=rev_id)
