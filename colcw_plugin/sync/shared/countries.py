"""What to type when ConnectWise refuses a customer's Country: the ConnectWise country it most likely is, or the
countries it accepts.

ConnectWise takes a company's country by its name in its Countries setup table ("United States"), not by its ISO code
("US") nor a common short form ("USA", "UK"); ChannelOnline's Country is free text. colcw reads the countries only when
ConnectWise has refused one (one paged read, on that failure alone), and names the country whose ISO code, name or
common short form the customer's value is ("did you mean United States?"); else a few countries it accepts.

The export still sends the customer's Country as it is: sending ConnectWise's name instead would leave ChannelOnline's
"US" beside ConnectWise's "United States", read as a difference by every later comparison (changed since export, and,
with ConnectWise the master, an import or live update writing "United States" into ChannelOnline: the host's data
changed without a person deciding it). The rep corrects it once, told exactly what to type.
"""

from __future__ import annotations

import difflib
import logging
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from ...cw import ConnectWiseClient, ConnectWiseError, Resource

log = logging.getLogger(__name__)

# Common short forms that are no ISO 3166 code (ISO: US, GB), folded: an exact match of one picks its country.
ALIASES = {"usa": "US", "u s a": "US", "u s": "US", "united states of america": "US", "america": "US",
           "uk": "GB", "u k": "GB", "great britain": "GB", "britain": "GB", "england": "GB",
           "holland": "NL", "the netherlands": "NL", "rsa": "ZA", "aus": "AU", "nz": "NZ"}
SHOWN = 8  # countries named when none matches


def folded(value: str) -> str:
    """``value`` as countries are compared: accents, case and punctuation aside ("U.S.A." is "u s a")."""
    text = "".join(c for c in unicodedata.normalize("NFKD", value or "") if not unicodedata.combining(c))
    return " ".join("".join(c if c.isalnum() else " " for c in text.casefold()).split())


def fetch_rows(client: ConnectWiseClient) -> list[dict]:
    """The tenant's countries (one paged read of ``company/countries``)."""
    return list(Resource(client, "company/countries").iterate(
        fields=["id", "name", "countryCode", "coreEntityCountryCode", "disabled"]))


def matching(value: str, rows: Iterable[Mapping[str, Any]]) -> str | None:
    """The name of the one enabled ConnectWise country ``value`` stands for: its ISO code (``countryCode`` or
    ``coreEntityCountryCode``), its name spelled otherwise (accents, case, punctuation), or a common short form
    (:data:`ALIASES`); None when none or more than one does."""
    key = folded(value)
    if not key:
        return None
    code = ALIASES.get(key, key.upper() if len(key) == 2 else "")
    found = {str(r["name"]) for r in rows if not r.get("disabled") and r.get("name") and (
        folded(str(r["name"])) == key or code and code in {str(r.get("countryCode") or "").upper(),
                                                           str(r.get("coreEntityCountryCode") or "").upper()})}
    return found.pop() if len(found) == 1 else None


def hint(value: str, rows: Iterable[Mapping[str, Any]]) -> tuple[str, str]:
    """``(said, fix)`` for a Country ConnectWise refused: "did you mean “United States”?" and "type United States, as
    ConnectWise names it"; or, when no country matches, a few it accepts (those closest to ``value`` first)."""
    rows = [r for r in rows if not r.get("disabled") and r.get("name")]
    name = matching(value, rows)
    if name is not None:
        return f"did you mean “{name}”?", f"type {name}, as ConnectWise names it"
    names = sorted({str(r["name"]) for r in rows}, key=str.casefold)
    if not names:
        return "", ""
    close = difflib.get_close_matches(value or "", names, n=3, cutoff=0.5)
    shown = close + [n for n in names if n not in close][:max(0, SHOWN - len(close))]
    more = f" and {len(names) - len(shown)} more" if len(names) > len(shown) else ""
    return (f"ConnectWise's countries include {', '.join(shown)}{more}",
            "type a country as ConnectWise names it")


def read_hint(client: ConnectWiseClient, value: str) -> tuple[str, str]:
    """:func:`hint` from the tenant's countries, read now; ("", "") when they cannot be read (the refusal is said
    without it)."""
    try:
        return hint(value, fetch_rows(client))
    except ConnectWiseError:
        log.warning("ConnectWise's countries not read for a refused Country", exc_info=True)
        return "", ""
