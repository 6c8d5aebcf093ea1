"""ConnectWise's state list, and the check every exported state goes through (Appendix A).

ConnectWise refuses a company or contact whose state is not in its States setup table, and a
new tenant holds only the US states: resellers with Canadian customers must add the provinces
first (user guide §4.1 step 7). colcw loads the list once per run and fails a record whose state
is missing before sending it, with a message that names that setup step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ...cw import ConnectWiseClient, places
from ...setup.field_mapping import CANADIAN_PROVINCES

_PROVINCE_BY_NAME = {name.casefold(): code for code, name in CANADIAN_PROVINCES.items()}

PROVINCES_RESOLUTION = (f"Add the Canadian provinces to ConnectWise's state list: {places.STATE} "
                        "(user guide §4.1 step 7; Appendix A lists the codes; a ConnectWise admin's task: ask an admin "
                        "if it is not yours), then export again.")


CACHE_KEY = "company/states"  # the key of the rows in a reference cache (sync/shared/reference_cache.py)


def fetch_rows(client: ConnectWiseClient) -> list[dict]:
    """The tenant's states, as :class:`StateList` reads them (one paged read)."""
    return list(client.states.iterate(fields=["id", "identifier", "name", "disabled"]))


class StateList:
    """The identifiers (and names) of the states a ConnectWise tenant holds."""

    def __init__(self, rows: Iterable[Mapping[str, Any]]):
        self._by_key: dict[str, str] = {}
        for row in rows:
            if row.get("disabled"):
                continue
            ident = str(row.get("identifier") or "").strip()
            if not ident:
                continue
            self._by_key[ident.casefold()] = ident
            name = str(row.get("name") or "").strip()
            if name:
                self._by_key.setdefault(name.casefold(), ident)

    @classmethod
    def load(cls, client: ConnectWiseClient) -> StateList:
        """One paged read of ``company/states``."""
        return cls(fetch_rows(client))

    @staticmethod
    def normalise(value: str) -> str:
        """A Canadian province written out ("British Columbia") becomes its Appendix A code ("BC")."""
        value = (value or "").strip()
        return _PROVINCE_BY_NAME.get(value.casefold(), value)

    def identifier(self, value: str) -> str | None:
        """ConnectWise's identifier for ``value`` (a code or a name), or None when it is missing."""
        value = self.normalise(value)
        return self._by_key.get(value.casefold()) if value else ""

    def problem(self, value: str, *, who: str) -> tuple[str, str] | None:
        """``(message, resolution)`` when ``value`` is not in the list; None when it is (or blank)."""
        value = self.normalise(value)
        if not value or self.identifier(value) is not None:
            return None
        if value.upper() in CANADIAN_PROVINCES:
            code = value.upper()
            return (f"{who}: state {code} ({CANADIAN_PROVINCES[code]}) is not in ConnectWise's state list.",
                    PROVINCES_RESOLUTION)
        return (f"{who}: state '{value}' is not in ConnectWise's state list.",
                "Correct the state in ChannelOnline (use its code, e.g. TX or ON), or add it in ConnectWise: "
                f"{places.STATE}, then export again.")
