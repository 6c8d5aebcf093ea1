"""Which ConnectWise member a sync acts for (user guide §4.2 2e and Appendix C).

By default every export uses the store's default sales rep; with the connection option
"assign to the logged-in sales rep" it uses the user who started the export. A run with no
signed-in user (a schedule) falls back to the document's own rep, then the store's default.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from host_stub.models import StoreSite, User

from ..models import RepMapping, Settings


class UnmappedRep(Exception):
    """The sales rep has no ConnectWise member: Appendix C's "Customer export did not occur"."""

    def __init__(self, rep: User | None):
        self.rep = rep
        who = rep.name if rep else "No sales rep"
        self.resolution = ("Make sure that the Sales Rep is mapped: Admin → Integration → ConnectWise → "
                           "Sales rep mapping" + (f" (map {rep.name} to a ConnectWise member)." if rep else "."))
        super().__init__(f"Export did not occur: {who} is not mapped to a ConnectWise member.")


def acting_rep(session: Session, settings: Settings, actor: dict | None, document_rep_id: int | None = None) -> User | None:
    """The host user whose ConnectWise member the export uses."""
    if settings.use_logged_in_rep and actor and actor.get("id"):
        user = session.get(User, actor["id"])
        if user is not None:
            return user
    if settings.use_logged_in_rep and document_rep_id:
        return session.get(User, document_rep_id)
    store = session.execute(select(StoreSite).order_by(StoreSite.id).limit(1)).scalar_one_or_none()
    if store and store.default_rep_id:
        return session.get(User, store.default_rep_id)
    return session.get(User, document_rep_id) if document_rep_id else None


def member_for(session: Session, settings: Settings, actor: dict | None,
               document_rep_id: int | None = None) -> RepMapping:
    """The rep mapping to use, or :class:`UnmappedRep` with Appendix C's message and resolution."""
    rep = acting_rep(session, settings, actor, document_rep_id)
    if rep is None:
        raise UnmappedRep(None)
    mapping = session.execute(select(RepMapping).where(RepMapping.user_id == rep.id)).scalar_one_or_none()
    if mapping is None or not mapping.member_id:
        raise UnmappedRep(rep)
    return mapping
