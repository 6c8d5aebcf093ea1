"""What a command prints when the service refuses its input: each message after the option that carries the value
(``--site: The site URL must…``), not the form field's name the pages use (``site_url``)."""

from __future__ import annotations

from collections.abc import Mapping

import click


def echo_field_errors(errors: Mapping[str, str], options: Mapping[str, str]) -> None:
    """Print each of ``errors`` (field → message) on stderr after its command-line option (``options``: field →
    option); a field with no option of its own prints its message alone."""
    for field, message in errors.items():
        option = options.get(field)
        click.echo(f"{option}: {message}" if option else message, err=True)
