"""Who closed a ConnectWise opportunity, named as colcw names members everywhere (the Won/Lost label on documents,
the renamed / reopened notes, a converted quote's note on its sales order): one definition for inbound
(inbound/opportunities.py: the rules are in its module doc) and for the export (quotes/won.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ...cw import conditions as C
from ...cw.client import ConnectWiseClient
from ...cw.errors import ConnectWiseError
from .statuses import CLOSED, LOST, WON

VERBS = {WON: "Won", LOST: "Lost", CLOSED: "Closed"}
MemberNames = Callable[[set[str]], dict[str, str]]  # member identifiers → their names (firstName lastName)


def member_names(client: ConnectWiseClient, identifiers: Iterable[str]) -> dict[str, str]:
    """The names ConnectWise gives these members (as its member references name them: first and last name), by
    identifier, in one request; {} when ConnectWise does not answer (the notes then name the login)."""
    wanted = sorted({i for i in identifiers if i})
    if not wanted:
        return {}
    try:
        rows = client.members.iterate(conditions=C.in_("identifier", wanted),
                                      fields=["identifier", "firstName", "lastName"])
        return {str(r.get("identifier")): name for r in rows
                if (name := f"{r.get('firstName') or ''} {r.get('lastName') or ''}".strip())}
    except ConnectWiseError:
        return {}


def member_name(identifier: str, record: dict, own_member: str, names: Callable[[str], str] | None = None) -> str:
    """A member who changed an opportunity (its renamed / reopened notes, a status moved since a close), named as the
    Won/Lost label names a closer: the name ConnectWise gives the member (the record's closedBy reference when it is
    that member, else ``names``: its member record's), else its identifier; colcw's own API member as
    :func:`keys_member`, never "colcw": colcw never renames or reopens an opportunity, so such a change made with
    its keys is someone else's (a script, a person), and only colcw's own close, told by its records (a
    conversion, :func:`closer`), says "colcw"."""
    if not identifier:
        return ""
    if own_member and identifier == own_member:
        return keys_member(identifier, record, names)
    return _shown(identifier, record, names) or identifier


def _shown(identifier: str, record: dict, names: Callable[[str], str] | None) -> str:
    """The member's name in ConnectWise: the record's closedBy reference's when it is that member, else ``names``'."""
    ref = record.get("closedBy") or {}
    if ref.get("identifier") == identifier and ref.get("name"):
        return str(ref["name"])
    return (names(identifier) if names is not None else "") or ""


def keys_member(identifier: str, record: dict, names: Callable[[str], str] | None = None) -> str:
    """colcw's API member, named when a change made with its keys was not colcw's own (not a conversion): "the API
    member API Member (colcw's keys)", by the name ConnectWise gives it (on the record, else ``names``), else its
    identifier."""
    return f"the API member {_shown(identifier, record, names) or identifier} (colcw's keys)"


def close_read(record: dict) -> dict:
    """The opportunity's close as read now, to keep on its documents' links (see inbound/opportunities.py)."""
    return {"status": (record.get("status") or {}).get("id"), "by": (record.get("closedBy") or {}).get("identifier")
            or "", "date": str(record.get("closedDate") or "")}


def closer(record: dict, kind: str, own_member: str, order: str | None,
            seen: dict | None = None, name: Callable[[str], str] | None = None) -> tuple[str, str]:
    """Who closed the opportunity as it stands, as the label says it, and the day (``YYYY-MM-DD``, or ""). ``seen``:
    its close as colcw last read it (:func:`close_read`), None when it never did. ``name``: a member's name in
    ConnectWise from its identifier (the login ``_info.updatedBy`` gives), as the notes name members; without it,
    the identifier."""
    name = name or (lambda ident: ident)
    info = record.get("_info") or {}
    ref = record.get("closedBy") or {}
    closer, updater = ref.get("identifier") or "", info.get("updatedBy") or ""
    ident = closer or updater
    day = str(record.get("closedDate") or info.get("lastUpdated") or "")[:10]
    # colcw's own close: the member ConnectWise names as the author of colcw's writes closed it; while that member
    # is unknown, colcw's records say whether one of its exports made it Won (and, closed otherwise now, whether
    # the close ConnectWise names is another member's than the one who changed it last: see below).
    if own_member:
        # colcw closes an opportunity only by a conversion (``order``): a close by its API member with none is
        # someone else's using colcw's keys (a script, a person), which comes back like a person's.
        ours = ident == own_member and order is not None
        if ident == own_member and not ours:
            return keys_member(ident, record), day
    else:
        ours = order is not None and (kind == WON or bool(closer and closer != updater))
    if not ours:
        if closer and updater and closer != updater:
            now = close_read(record)
            if seen is None:
                # A close and, since, another member's change, none of which colcw read: the close may be the one
                # that set this status (and the change another edit), or an earlier one ConnectWise kept.
                return "someone", ""
            if now["status"] != seen.get("status") and (now["by"], now["date"]) == (seen.get("by"), seen.get("date")):
                # The status moved since colcw last read it and ConnectWise kept the earlier close on it: the one
                # who moved it changed it last, on that day.
                return name(updater), str(info.get("lastUpdated") or "")[:10] or day
        return ref.get("name") or (name(ident) if ident else "") or "someone", day
    if kind == WON:
        return "colcw" + (f" for sales order {order}" if order else ""), day
    # colcw closes an opportunity only as Won (a quote converted into a sales order): closed otherwise, someone
    # changed its status since, and ConnectWise kept colcw's close on it (closedBy and closedDate, unverified: the
    # sandbox's ``reclose: "keep"``). That person is the one who updated it last, on that day.
    person = name(updater) if updater and updater != own_member else "someone"
    return person, str(info.get("lastUpdated") or "")[:10] or day
