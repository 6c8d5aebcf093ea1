"""A contact's first link to the host contact that is the same person: one definition of what ConnectWise's blanks do
there, for the import (:mod:`..customers.company_import`, ``keep_host_values``) and live updates
(:mod:`..inbound.customers`, ``CustomerPlanner._same_person``).

With no earlier agreement, a field ConnectWise holds blank (or that maps to blank, as the site "Main" does to the
location code) that the host fills (a contact typed in ConnectWise without an e-mail) is no value to take: it erases
none of the host's values. The host keeps its value, the link agrees on ConnectWise's blank, and the next export fills
it in (so the host's kept values are changes of its own still to export).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

BLANK = ("", None)


def blanks_kept(cw: Mapping[str, Any], host: Mapping[str, Any]) -> list[str]:
    """The fields of ``cw`` (ConnectWise's mapped values) that are blank where ``host`` holds a value: the host keeps
    those, in ``cw``'s order."""
    return [k for k, v in cw.items() if v in BLANK and host.get(k) not in BLANK]
