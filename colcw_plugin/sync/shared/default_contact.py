"""The customer's default contact ↔ the company's primary contact (Appendix B: Default ← Primary), one definition for
the import (:mod:`..customers.company_import`), the export (:mod:`..customers.exporter`: :func:`export_keeps`) and
live updates with the safety net (:mod:`..inbound.customers`).

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
from dataclasses import replace
from typing import Any

from .fields import Diff, compare

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


def differences(cw_id: int | None, contacts: Mapping[int, tuple[str, bool]],
                links: Mapping[int, tuple[int, str, Mapping[str, Any] | None]],
                company_agreement: Mapping[str, Any] | None) -> tuple[list[Diff], dict[str, str]]:
    """The company's default contact ``cw_id`` compared with the customer's, against what both sides last agreed on:
    at most one :class:`~.fields.Diff` (its values the people's names), and ConnectWise's value as a note holds it
    (``{FIELD: name}``; empty when not compared). ``contacts``: the customer's contacts (host id -> (name, is the
    default)); ``links``: their links (host id -> (ConnectWise contact id, status, agreement)). A company without a
    default contact, or whose default contact is linked to none of the customer's contacts, leaves the customer's as
    it is (nothing compared). Live updates' and the import's one rule."""
    diffs, cw_name, _ = _compared(cw_id, contacts, links, company_agreement)
    return diffs, ({FIELD: cw_name} if cw_name is not None else {})


def export_keeps(cw_id: int | None, contacts: Mapping[int, tuple[str, bool]],
                 links: Mapping[int, tuple[int, str, Mapping[str, Any] | None]],
                 company_agreement: Mapping[str, Any] | None) -> str | None:
    """An export with ConnectWise the master for customer data: the name of ConnectWise's default contact it keeps
    (ConnectWise changed it since what both sides last agreed on, and the customer's differs: only ConnectWise's
    change, or both sides'), or None when the customer's is sent. The same comparison as :func:`differences` (the
    arguments are its own), with :func:`.fields.keep_master_changes`' rule: nothing agreed, nothing is kept. With
    ChannelOnline the master the export sends the customer's default whenever it differs (no call)."""
    diffs, cw_name, base = _compared(cw_id, contacts, links, company_agreement)
    return cw_name if diffs and known(base) else None


def _compared(cw_id: int | None, contacts: Mapping[int, tuple[str, bool]],
              links: Mapping[int, tuple[int, str, Mapping[str, Any] | None]],
              company_agreement: Mapping[str, Any] | None) -> tuple[list[Diff], str | None, Any]:
    """(:func:`differences`' diffs, the name of ConnectWise's default contact or None when not compared, the agreed
    default or ``UNKNOWN``)."""
    by_cw = {ln[0]: host_id for host_id, ln in links.items() if ln[1] == "ok"}
    if cw_id is None or cw_id not in by_cw or by_cw[cw_id] not in contacts:
        return [], None, _UNKNOWN
    cw_name = contacts[by_cw[cw_id]][0]
    mine = next((host_id for host_id, (_, default) in contacts.items() if default), None)
    # The host's default as a ConnectWise contact (one not linked yet: no ConnectWise contact, never equal).
    host_value = None if mine is None else (links[mine][0] if mine in links else -mine)
    base = agreed_default(company_agreement, [(cw, agreement) for cw, _, agreement in links.values()], cw_id, cw_name)
    names = {cw_id: cw_name, host_value: contacts[mine][0] if mine is not None else ""}
    diffs = compare({FIELD: host_value}, {FIELD: cw_id}, {FIELD: base} if known(base) else None, {FIELD: LABEL})
    return [replace(d, host=names[d.host], cw=names[d.cw]) for d in diffs], cw_name, base
