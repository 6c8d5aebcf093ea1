"""ConnectWise's state list, and the check every exported state goes through (Appendix A).

ConnectWise refuses a company or contact whose state is not in its States setup table, and a
new tenant holds only the US states: resellers with Canadian customers must add the provinces
first (user guide §4.1 step 7). colcw loads the list once per run and fails a record whose state
is missing before sending it, with a message that names that setup step.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from ...cw import ConnectWiseClient, places
from ...setup.field_mapping import CANADIAN_PROVINCES


def folded(value: str) -> str:
    """``value`` compared as a state name is: accents and case aside, spaces collapsed ("Québec" is "quebec"), as
    look-alike company names take accents off (``setup/customer_matching.py`` ``normalize_name``)."""
    text = " ".join((value or "").split())
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return text.casefold()


_PROVINCE_BY_NAME = {folded(name): code for code, name in CANADIAN_PROVINCES.items()}

PROVINCES_RESOLUTION = (f"Add the Canadian provinces to ConnectWise's state list: {places.STATE} "
                        "(user guide §4.1 step 7; Appendix A lists the codes; a ConnectWise admin's task: ask an admin "
                        "if it is not yours), then export again.")


CACHE_KEY = "company/states"  # the key of the rows in a reference cache (sync/shared/reference_cache.py)


def fetch_rows(client: ConnectWiseClient) -> list[dict]:
    """The tenant's states, as :class:`StateList` reads them (one paged read)."""
    return list(client.states.iterate(fields=["id", "identifier", "name", "disabled"]))


class StateList:
    """The identifiers (and names) of the states a ConnectWise tenant holds.

    A value is its identifier or its name as ConnectWise spells them, whatever the case; else a name whatever its
    accents ("Québec" or "QUEBEC" for QC "Quebec", "Quebec" for a tenant's "Québec"), when only one state's name
    reads so: two states whose names differ only by accents are told apart by their exact spelling alone."""

    def __init__(self, rows: Iterable[Mapping[str, Any]]):
        self._by_key: dict[str, str] = {}
        self._by_folded: dict[str, set[str]] = {}  # a name without accents -> the identifiers named so
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
                self._by_folded.setdefault(folded(name), set()).add(ident)

    @classmethod
    def load(cls, client: ConnectWiseClient) -> StateList:
        """One paged read of ``company/states``."""
        return cls(fetch_rows(client))

    @staticmethod
    def normalise(value: str) -> str:
        """A Canadian province written out ("British Columbia", "Québec") becomes its Appendix A code ("BC", "QC")."""
        value = (value or "").strip()
        return _PROVINCE_BY_NAME.get(folded(value), value)

    def identifier(self, value: str) -> str | None:
        """ConnectWise's identifier for ``value`` (a code or a name), or None when it is missing or ambiguous."""
        value = self.normalise(value)
        if not value:
            return ""
        exact = self._by_key.get(value.casefold())
        if exact is not None:
            return exact
        named = self._by_folded.get(folded(value), set())
        return next(iter(named)) if len(named) == 1 else None

    def _ambiguous(self, value: str) -> list[str]:
        """The identifiers of the states whose names read as ``value`` without accents, when several do."""
        named = self._by_folded.get(folded(value), set())
        return sorted(named) if len(named) > 1 else []

    def problem(self, value: str, *, who: str) -> tuple[str, str] | None:
        """``(message, resolution)`` when ``value`` is not in the list; None when it is (or blank)."""
        value = self.normalise(value)
        if not value or self.identifier(value) is not None:
            return None
        several = self._ambiguous(value)
        if several:
            return (f"{who}: state '{value}' could be any of {', '.join(several)} in ConnectWise's state list (their "
                    "names differ only by accents).",
                    f"Correct the state in ChannelOnline to one of the codes {', '.join(several)}, then export again.")
        if value.upper() in CANADIAN_PROVINCES:
            code = value.upper()
            return (f"{who}: state {code} ({CANADIAN_PROVINCES[code]}) is not in ConnectWise's state list.",
                    PROVINCES_RESOLUTION)
        return (f"{who}: state '{value}' is not in ConnectWise's state list.",
                "Correct the state in ChannelOnline (use its code, e.g. TX or ON), or add it in ConnectWise: "
                f"{places.STATE}, then export again.")
