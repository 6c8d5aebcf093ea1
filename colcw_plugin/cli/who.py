"""Who a command acts for: "command line (deploy)", the operating-system user running it, as run messages,
the settings' "saved by" and the audit of a cancel name them (the pages name the signed-in person)."""

from __future__ import annotations

import getpass


def command_line_user() -> str:
    """"command line (deploy)" for the operating-system user running the command; just "command line" when it has
    no name (a container's user id without a passwd entry, say)."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no name to be found (OSError, or KeyError before Python 3.13)
        user = ""
    return f"command line ({user})" if user else "command line"
