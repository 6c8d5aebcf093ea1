"""The one error for bad input from a form or a command: ``errors`` maps each field to a message
saying what to enter. Services raise it; pages show each message beside its field, commands print them."""

from __future__ import annotations


class FieldErrors(ValueError):
    """Invalid input; nothing was written. ``errors`` maps field names to what to do."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors
