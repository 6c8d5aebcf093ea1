"""The customer's default contact ↔ the company's primary contact (Appendix B: Default ← Primary), one definition for
the import (:mod:`..customers.company_import`) and live updates with the safety net (:mod:`..inbound.customers`).

ConnectWise's default contact is the company's ``defaultContact`` (a company without one leaves the customer's as it
is). It is a choice of the company's, so it is compared at the company, never as a field of one contact: one value on
each side (which ConnectWise contact is the default: on the host's side the one linked to the customer's default
contact), against what both sides last agreed on, by the live updates' three-way rule (:func:`.fields.compare`). The
agreement is the contact links' agreed ``is_default`` (what the last export or import recorded), or, once a rep kept
ChannelOnline's value on the customer page, ConnectWise's contact then (:data:`FIELD` in the company link's agreement,
the name the note showed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

FIELD = "default_contact"  # the company-level field (drift rows, the company link's agreement)
LABEL = "Default contact"
_UNKNOWN = object()


def cw_default(record: Mapping[str, Any]) -> int | None:
    """The ConnectWise contact id the company has as its default contact (None: it has none)."""
    return (record.get("defaultContact") or {}).get("id") or None


def person(first: Any, last: Any) -> str:
    return f"{first or ''} {last or ''}".strip() or "(no name)"


def moved_words(now: str, was: str | None) -> str:
    """What a run log says when the customer's default contact becomes ConnectWise's: "default contact now Nora Patel,
    was Ömer Müller"."""
    return f"default contact now {now}, was {was or 'none'}"


def agreed_default(company_agreement: Mapping[str, Any] | None,
                   contact_agreements: Iterable[tuple[int, Mapping[str, Any] | None]],
                   cw_now: int | None, cw_now_name: str) -> Any:
    """Which ConnectWise contact both sides last agreed was the default (an id, None for none), or ``UNKNOWN``.

    ``contact_agreements``: (ConnectWise contact id, its link's agreement) for the customer's linked contacts. A
    note a rep settled on ChannelOnline's value holds ConnectWise's contact then, by name: while ConnectWise still has
    that contact as its default, it is what was agreed."""
    kept = (company_agreement or {}).get(FIELD)
    if isinstance(kept, str) and kept == cw_now_name:
        return cw_now
    if isinstance(kept, int) and not isinstance(kept, bool):
        return kept
    flagged = [cw_id for cw_id, values in contact_agreements if values and "is_default" in values]
    if not flagged:
        return _UNKNOWN
    chosen = [cw_id for cw_id, values in contact_agreements if (values or {}).get("is_default")]
    return chosen[0] if len(chosen) == 1 else (None if not chosen else _UNKNOWN)


def known(value: Any) -> bool:
    return value is not _UNKNOWN
