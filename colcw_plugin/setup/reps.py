"""Sales reps → ConnectWise members: which member a sync acts for (user guide §4.2 2e and Appendix C),
and saving the Sales rep mapping page.

By default every export uses the store's default sales rep; with the connection option
"assign to the logged-in sales rep" it uses the user who started the export. A run with no
signed-in user (a schedule) falls back to the document's own rep, then the store's default.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from host_stub.bulk import plain_connection
from host_stub.models import StoreSite, User

from ..cw import places
from ..models import LiveSettings, RepMapping, Settings
from . import pages
from .common import audit, changed_since, lock_settings, raise_errors, unknown_name
from .lookups import Lookups


class UnmappedRep(Exception):
    """The sales rep has no ConnectWise member: Appendix C's "Customer export did not occur". ``reason`` says why,
    without "Export did not occur: " (``str()`` leads with it): a run log's "Q1001 was not exported: …" and a
    checklist's "… cannot be exported yet: …" say that part themselves."""

    def __init__(self, rep: User | None, unverified: str = "", api_member: str = ""):
        self.rep = rep
        who = rep.name if rep else "No sales rep"
        if api_member and rep is not None:  # mapped to colcw's own API member (saved so by an older version)
            self.resolution = (f"Map {rep.name} to their own ConnectWise member, a person's, on {pages.REPS_PATH} (add "
                               f"one in ConnectWise, {places.MEMBERS}, if they have none).")
            self.reason = (f"{rep.name} is mapped to {api_member}, colcw's own API member, not a person, so colcw "
                           "treats them as not mapped: their opportunities would carry the integration's account, and "
                           "what they do there as it would read as done by colcw.")
        elif unverified:  # mapped by a name saved while ConnectWise could not be reached
            self.resolution = (f"Save {pages.REPS_PATH} again while ConnectWise answers: that checks the member and "
                               "keeps its id.")
            self.reason = (f"{who} is mapped to ConnectWise member {unverified}, but the mapping was saved without "
                           "checking it in ConnectWise (not verified).")
        else:
            self.resolution = (f"Make sure that the Sales Rep is mapped: {pages.REPS_PATH}" +
                               (f" (map {rep.name} to a ConnectWise member)." if rep else "."))
            self.reason = f"{who} is not mapped to a ConnectWise member."
        super().__init__(f"Export did not occur: {self.reason}")


SIGNED_IN, DOCUMENT_REP, STORE_DEFAULT = "signed_in", "document_rep", "store_default"  # why a rep acts


@dataclass(frozen=True)
class Acting:
    """Who an export acts for and why (``because``: :data:`SIGNED_IN` with "assign to the logged-in sales rep",
    :data:`DOCUMENT_REP`, :data:`STORE_DEFAULT`), with the document's own rep, so a page can say why an export of
    one rep's document goes to another rep's member."""

    rep: User | None
    mapping: RepMapping | None
    because: str
    document_rep: User | None = None
    document_mapping: RepMapping | None = None
    own_member: str = ""  # colcw's own API member (``LiveSettings.own_member``), "" while unknown


def _users_who_may_act(*columns):
    """The statement behind :func:`who_acts` and :func:`member_for`: ``columns`` of every user the rule may pick (the
    actor, ``:actor``, the document's rep, ``:document_rep``, and the store's default rep) with their mappings, the
    store's default rep id and colcw's own API member. Built once: building it costs more than running it."""
    store_rep = select(StoreSite.default_rep_id).order_by(StoreSite.id).limit(1).scalar_subquery()
    own = select(LiveSettings.own_member).order_by(LiveSettings.id).limit(1).scalar_subquery()
    return (select(*columns, store_rep.label("store_rep"), own.label("own_member"))
            .outerjoin(RepMapping, RepMapping.user_id == User.id)
            .where(or_(User.id == bindparam("actor"), User.id == bindparam("document_rep"), User.id == store_rep)))


_USERS_WHO_MAY_ACT = _users_who_may_act(User, RepMapping)
_MEMBERS_WHO_MAY_ACT = _users_who_may_act(
    User.id, User.email, User.first_name, User.last_name, RepMapping.id.label("mapping_id"), RepMapping.member_id,
    RepMapping.member_identifier, RepMapping.location_id, RepMapping.department_id)


def _who_may_act(settings: Settings, actor: dict | None, document_rep_id: int | None) -> tuple[int | None, dict]:
    """The actor's id as the rule takes it, and the statement's values."""
    actor_id = (actor or {}).get("id") if settings.use_logged_in_rep else None
    return actor_id, {"actor": actor_id or None, "document_rep": document_rep_id or None}


def _pick(found: set, rows: list, settings: Settings, actor_id: int | None, document_rep_id: int | None
          ) -> tuple[int | None, str]:
    """Which of the users found acts (None: no rep) and why: the rule of :func:`who_acts`."""
    if actor_id and actor_id in found:
        return actor_id, SIGNED_IN
    document = document_rep_id if document_rep_id in found else None
    if settings.use_logged_in_rep and document_rep_id:
        return document, DOCUMENT_REP
    default_rep_id = rows[0].store_rep if rows else None
    if default_rep_id:
        return (default_rep_id if default_rep_id in found else None), STORE_DEFAULT
    return document, DOCUMENT_REP


def who_acts(session: Session, settings: Settings, actor: dict | None, document_rep_id: int | None = None) -> Acting:
    """The acting rep and their mapping, in one statement: every user the rule may pick (the actor, the
    document's rep, the store's default rep) with their mappings, the store's default rep id and colcw's own API
    member (:func:`member_of` treats a rep mapped to it as not mapped)."""
    actor_id, values = _who_may_act(settings, actor, document_rep_id)
    rows = session.execute(_USERS_WHO_MAY_ACT, values).all()
    # No row: none of those users exists, and whichever the rule picks, there is no rep.
    found = {user.id: (user, mapping) for user, mapping, _, _ in rows}
    nobody = (None, None)
    document = found.get(document_rep_id, nobody) if document_rep_id else nobody
    own_member = (rows[0].own_member or "") if rows else ""
    acts, because = _pick(found.keys(), rows, settings, actor_id, document_rep_id)
    return Acting(*found.get(acts, nobody), because, *document, own_member)


def acting_rep(session: Session, settings: Settings, actor: dict | None, document_rep_id: int | None = None) -> User | None:
    """The host user whose ConnectWise member the export uses: with "assign to the logged-in sales rep",
    the user who started it, else the document's rep; otherwise the store's default rep, else the
    document's rep."""
    return who_acts(session, settings, actor, document_rep_id).rep


@dataclass(frozen=True)
class MemberIds:
    """The ConnectWise member an export acts as: its id, location and business unit (department)."""

    member_id: int
    location_id: int | None
    department_id: int | None


def member_for(session: Session, settings: Settings, actor: dict | None,
               document_rep_id: int | None = None) -> MemberIds:
    """The acting rep's member, or :class:`UnmappedRep` with Appendix C's message and resolution (one statement).

    It reads only the columns the rule, the member and a refusal's message need, as plain rows: a run's export asks
    it once per rep, and the two ORM objects :func:`who_acts` builds for a page cost more than the statement. Whether
    the member is accepted is :func:`_refusal`'s rule, the one :func:`member_of` applies. A refusal names the rep by a
    :class:`User` made of the row (not in the session). Like :func:`who_acts` it sees the session's pending changes
    (a mapping saved and not yet committed): the session is flushed first unless autoflush is off."""
    actor_id, values = _who_may_act(settings, actor, document_rep_id)
    rows = plain_connection(session).execute(_MEMBERS_WHO_MAY_ACT, values).all()
    by_user = {row.id: row for row in rows}
    acts, _ = _pick(by_user.keys(), rows, settings, actor_id, document_rep_id)
    row = by_user.get(acts)
    own_member = (rows[0].own_member or "") if rows else ""
    mapped = row is not None and row.mapping_id is not None
    why = _refusal(row is not None, mapped, row.member_id if mapped else None,
                   row.member_identifier if mapped else None, own_member)
    if why is None:
        return MemberIds(row.member_id, row.location_id, row.department_id)
    rep = None if row is None else User(id=row.id, email=row.email, first_name=row.first_name,
                                        last_name=row.last_name)
    raise UnmappedRep(rep, **why)


def _refusal(has_rep: bool, has_mapping: bool, member_id: int | None, identifier: str | None,
             own_member: str) -> dict | None:
    """The one rule of which acting rep has a member an export may act as (:func:`member_of`, :func:`member_for`):
    None when accepted, else :class:`UnmappedRep`'s arguments after the rep, saying why (``{}``: no rep, or no
    mapping)."""
    if not has_rep:
        return {}
    if not has_mapping or not member_id:
        return {"unverified": identifier or ""} if has_mapping else {}
    if api_member_kind(identifier or "", None, own_member) == "own":
        return {"api_member": identifier}
    return None


def member_of(acting: Acting) -> RepMapping:
    """The acting rep's mapping, or :class:`UnmappedRep` with Appendix C's message and resolution. A rep mapped to
    colcw's own API member (saved so by an older version; the mapping page refuses it now) is treated as not mapped,
    saying so: exporting as it would put the rep's opportunities under the integration's account, and what the rep did
    there as it would read as colcw's own. A member ConnectWise's list gives the API licence class, not known to be
    colcw's own, cannot be told without asking ConnectWise: the mapping page and the pre-flight check mark it."""
    m = acting.mapping
    why = _refusal(acting.rep is not None, m is not None, m.member_id if m is not None else None,
                   m.member_identifier if m is not None else None, acting.own_member)
    if why is not None:
        raise UnmappedRep(acting.rep, **why)
    return acting.mapping


# --- the Sales rep mapping page ------------------------------------------------------------------


@dataclass(frozen=True)
class RepChoice:
    """What the form sent for one host user ("" member = not mapped); ``shown`` is the (member, location,
    business unit) the page showed for the user when it was loaded, None when unknown (the row is then saved
    as sent)."""

    user_id: int
    member: str
    location: str = ""
    department: str = ""
    shown: tuple[str, str, str] | None = None


def held(mapping: RepMapping | None) -> tuple[str, str, str]:
    """What a user's mapping holds, as the page shows it: (member, location, business unit), blanks when none."""
    if mapping is None:
        return ("", "", "")
    return (mapping.member_identifier or "", mapping.location_name or "", mapping.department_name or "")


def _described(values: tuple[str, str, str]) -> str:
    member, location, department = values
    if not member:
        return "not mapped"
    if not location and not department:
        return f"mapped to {member}"
    return f"mapped to {member} ({' / '.join(x or 'default' for x in (location, department))})"


def own_api_member(session: Session) -> str:
    """The member colcw's own writes carry in ConnectWise (``LiveSettings.own_member``, learnt when live updates
    register their callbacks: the member ConnectWise names as the author of colcw's writes); "" while unknown."""
    return session.execute(select(LiveSettings.own_member).order_by(LiveSettings.id).limit(1)).scalar() or ""


def api_member_kind(member: str, lookups: Lookups | None, own_member: str) -> str:
    """Why ``member`` is no sales rep's member, "" when nothing says so: "own" when it is the member colcw writes as
    (known once live updates registered), "api" when ConnectWise's member list (already read by the page) gives it
    the API licence class, the kind of member colcw's keys belong to. No request of its own."""
    if not member:
        return ""
    if own_member and member.casefold() == own_member.casefold():
        return "own"
    found = lookups.member(member) if lookups is not None else None
    return "api" if found is not None and found.api_member else ""


def api_member_refusal(rep: str, member: str, kind: str) -> str:
    """The save's refusal of a rep mapped to an API member: what it is, why it is refused, what to do."""
    if kind == "own":
        what = "colcw's own API member, the account colcw signs in to ConnectWise with, not a person"
        echo = "what they do in ConnectWise as that member reads as done by colcw (an opportunity they close, say)"
    else:
        what = "an API member, an integration's account (colcw signs in with one), not a person"
        echo = "if it is colcw's own, what they do in ConnectWise as that member reads as done by colcw"
    return (f"{rep} cannot be mapped to {member}: it is {what}. {rep}'s opportunities would carry that account "
            f"instead of a sales rep's, and {echo}. Map {rep} to their own ConnectWise member, a person's (add one in "
            f"ConnectWise, {places.MEMBERS}, if they have none), or leave the row not mapped.")


def api_member_words(kind: str) -> str:
    """An API member of :func:`api_member_kind`'s ``kind``, as a list of what is left says it."""
    return "colcw's own API member" if kind == "own" else "an API member"


def api_member_status(kind: str) -> str:
    """What is said of a rep already mapped to an API member of :func:`api_member_kind`'s ``kind`` (mapped, but not
    to a person): the mapping page's Status column, the pre-flight check and Auto-map say it in these words. Exports
    treat a rep mapped to colcw's own as not mapped (:func:`member_of`)."""
    if kind == "own":
        return ("Mapped to colcw's own API member, not a person: exports acting for this rep are refused as if not "
                "mapped (their opportunities would carry the integration's account, and what they do there as it would "
                "read as done by colcw). Choose the rep's own member and save.")
    return ("Mapped to an API member, not a person: this rep's opportunities carry an integration's account. Choose "
            "the rep's own member and save.")


def api_member_statuses(mappings: dict[int, RepMapping], lookups: Lookups | None, own_member: str) -> dict[int, str]:
    """The rows already mapped to an API member (saved so by an older version, or before ConnectWise said what the
    member is), by user id: what the Status column says (:func:`api_member_status`)."""
    out = {}
    for user_id, m in mappings.items():
        if kind := api_member_kind(m.member_identifier or "", lookups, own_member):
            out[user_id] = api_member_status(kind)
    return out


def rep_mappings(session: Session) -> dict[int, RepMapping]:
    """The mappings as the database holds them now: read again over any the session loaded before (a save reads
    them after taking the settings lock, and another process may have changed them since the page was built)."""
    fresh = select(RepMapping).execution_options(populate_existing=True)
    return {m.user_id: m for m in session.execute(fresh).scalars()}


def _own_defaults(c: RepChoice, member: str, location: str, department: str,
                  lookups: Lookups) -> tuple[str, str]:
    """The location and business unit a rep mapped to another member keeps: a blank mapping takes its member's
    defaults and stores them, so when the page showed the previous member's defaults and the admin changed only
    the member, they were not chosen: the new member takes its own (blanks here). A location or business unit
    the admin changed too, or one that was not the previous member's default, stays as chosen."""
    if c.shown is None or not c.shown[0] or c.shown[0] == member:
        return location, department
    before = lookups.member(c.shown[0])
    if before is None:  # gone from ConnectWise: whether they were its defaults cannot be told
        return location, department
    if location == c.shown[1] and location == (before.location_name or ""):
        location = ""
    if department == c.shown[2] and department == (before.department_name or ""):
        department = ""
    return location, department


def save_rep_mappings(session: Session, choices: list[RepChoice], lookups: Lookups | None, actor: str) -> None:
    """Store the rep mappings. A blank location or department takes the member's default.

    A choice with ``shown`` is saved only when the admin changed it on the page (one equal to what the page
    showed keeps what the database holds now, unchecked: a member ConnectWise lost since is reported, not a
    reason to refuse the other rows), and is refused (:class:`~.common.ChangedSince`) when another save changed
    the row after the page was loaded. The settings lock makes the check hold across web processes. A row changed to
    an API member (:func:`api_member_kind`: colcw's own, or one ConnectWise's list marks so) is refused: a rep's
    member is a person's."""
    lock_settings(session)
    errors: dict[str, str] = {}
    now: dict[int, tuple[str, str, str]] = {}
    users = {u.id: u for u in session.execute(select(User)).scalars()}
    current = rep_mappings(session)
    own = own_api_member(session)
    resolved: dict[int, dict | None] = {}
    for c in choices:
        user = users.get(c.user_id)
        if user is None:
            errors[f"member-{c.user_id}"] = "That user no longer exists; reload the page."
            continue
        member, location, department = c.member.strip(), c.location.strip(), c.department.strip()
        if c.shown is not None:
            if (member, location, department) == tuple(c.shown):
                continue  # not changed on the page
            theirs = held(current.get(c.user_id))
            if theirs != tuple(c.shown) and theirs != (member, location, department):
                errors[f"member-{c.user_id}"] = changed_since(user.name, _described(theirs),
                                                              _described((member, location, department)))
                now[c.user_id] = theirs
                continue
        if not member:
            resolved[c.user_id] = None
            continue
        if kind := api_member_kind(member, lookups, own):
            errors[f"member-{c.user_id}"] = api_member_refusal(user.name, member, kind)
            continue
        row = {"member_identifier": member, "member_id": None, "location_name": location, "location_id": None,
               "department_name": department, "department_id": None}
        kept = current.get(c.user_id)
        if lookups is None and kept is not None and kept.member_identifier == member \
                and location in ("", kept.location_name) and department in ("", kept.department_name):
            # Unchanged while ConnectWise cannot be reached: it keeps the ids it was verified with (were they
            # dropped, every export of this rep would stop until the page was saved again).
            resolved[c.user_id] = {k: getattr(kept, k) for k in row}
            continue
        if lookups is not None:
            m = lookups.member(member)
            if m is None:
                errors[f"member-{c.user_id}"] = unknown_name("active member", member, (x.identifier for x in lookups.members))
                continue
            row["member_id"] = m.id
            location, department = _own_defaults(c, member, location, department, lookups)
            location = location or m.location_name
            department = department or m.department_name
            loc, dept = lookups.named("locations", location), lookups.named("departments", department)
            if loc is None:
                errors[f"location-{c.user_id}"] = (unknown_name("location", location, (x.name for x in lookups.locations))
                                                   if location else f"Choose the location for {user.name}.")
            if dept is None:
                errors[f"department-{c.user_id}"] = (
                    unknown_name("business unit (department)", department, (x.name for x in lookups.departments))
                    if department else f"Choose the business unit for {user.name}.")
            if loc is None or dept is None:
                continue
            row.update(location_name=loc.name, location_id=loc.id, department_name=dept.name, department_id=dept.id)
        elif not location or not department:
            errors[f"member-{c.user_id}"] = (f"Type the location and business unit for {user.name} too: ConnectWise "
                                             "cannot be reached to look up the member's defaults.")
            continue
        resolved[c.user_id] = row
    raise_errors(errors, now)
    changes = []
    for user_id, row in resolved.items():
        existing = current.get(user_id)
        name = users[user_id].name
        if row is None:
            if existing is not None:
                session.delete(existing)
                changes.append(f"{name} unmapped")
            continue
        if existing is None:
            existing = RepMapping(user_id=user_id)
            session.add(existing)
        before = (existing.member_identifier, existing.location_name, existing.department_name, existing.member_id)
        for key, value in row.items():
            setattr(existing, key, value)
        if before != (row["member_identifier"], row["location_name"], row["department_name"], row["member_id"]):
            changes.append(f"{name} → {row['member_identifier']} ({row['location_name']} / {row['department_name']})"
                           + ("" if row["member_id"] else ", not verified"))
    audit(session, actor, "rep mapping", changes)
    session.flush()
