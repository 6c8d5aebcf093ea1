"""Row locks on links, taken the one way every colcw writer of several links takes them: in one statement, by id.

A customer's link and its contacts' links are written together by a rep (Link to Company ID and Clear link:
sync/customers/links.py; dismissing notes: link_batch.dismiss_notes) and by a live-update pass applying the customer
(sync/inbound/reconcile.py). Locked in different orders (the customer's link first, written, then its contacts', while
the other side locks by id and a contact's link is older than its customer's), each side held a link the other wanted
next, and PostgreSQL aborted one of them after its deadlock timeout (the rep saw an error, or the pass failed). So each
locks all the links it will write up front, here: the rows come back locked in id order (``ORDER BY id FOR UPDATE``),
and one side simply waits for the other. Read again once locked (``populate_existing``): what the session held of
them may be older than the lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager

from sqlalchemy import and_, or_, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from host_stub.bulk import int_list_text

from ...models import CONTACT, CUSTOMER, Link
from .locks import Busy, advisory_locks, holds, lock_key


def export_lock_key(customer_id: int) -> int:
    """The key of a customer's export lock (customers/exclusive.py ``customers_locked``), which every export of it
    holds while it reads and writes its links: a live-update pass applying the customer tries it too."""
    return lock_key("colcw-customer", int(customer_id))


def import_lock_key(cw_id: int) -> int:
    """The key of a ConnectWise company's import lock (customers/exclusive.py ``companies_locked``), which every import
    of it holds while it reads and writes the links to it."""
    return lock_key("colcw-company", int(cw_id))


# Each key tried on its own, in one statement: those another holder has come back (the others are held until the
# transaction ends).
_TRY_EACH = text("SELECT k FROM unnest(CAST(CAST(:keys AS text) AS bigint[])) AS k "
                 "WHERE NOT pg_try_advisory_xact_lock(k)")


@contextmanager
def links_tried(session: Session) -> Iterator[Callable[[Mapping[int, int]], set[int]]]:
    """For a writer of many customer links that must not wait (Map customers' scan linking by Company ID): gives
    ``busy(pairs)``, which tries the export locks of the customers and the import locks of the companies of ``pairs``
    (customer id -> ConnectWise company id) in one statement, holds those it gets until the block ends (on PostgreSQL
    until ``session``'s transaction ends: commit inside the block), and answers the customers whose own lock or whose
    company's another holder has (an export of the customer, an import of the company, a relink of either)."""
    with ExitStack() as stack:
        engine = session.get_bind()

        def busy(pairs: Mapping[int, int]) -> set[int]:
            keys: dict[int, set[int]] = {}  # key -> the customers it stands for
            for host_id, cw_id in pairs.items():
                keys.setdefault(export_lock_key(host_id), set()).add(host_id)
                keys.setdefault(import_lock_key(cw_id), set()).add(host_id)
            wanted = sorted(k for k in keys if not holds(k))
            if not wanted:
                return set()
            if engine.dialect.name == "postgresql":
                held = session.execute(_TRY_EACH, {"keys": "{" + int_list_text(wanted) + "}"}).scalars().all()
            else:
                held = []
                for k in wanted:
                    try:
                        stack.enter_context(advisory_locks(engine, [k], "busy", wait_seconds=0))
                    except Busy:
                        held.append(k)
            return {host_id for k in held for host_id in keys[k]}
        yield busy


def lock_links(session: Session, *where: ColumnElement[bool]) -> list[Link]:
    """The links matching ``where``, locked until the transaction ends, in id order (one statement), read again."""
    return list(session.execute(select(Link).where(*where).order_by(Link.id).with_for_update()
                                .execution_options(populate_existing=True)).scalars())


def lock_link_ids(session: Session, ids: Iterable[int]) -> dict[int, Link]:
    """The links with these ids (those that still exist), locked as :func:`lock_links` does; by id."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {ln.id: ln for ln in lock_links(session, Link.id.in_(wanted))}


def lock_customer_links(session: Session, customer_id: int, contact_ids: Iterable[int], *,
                        also: Iterable[int] = ()) -> dict[tuple[str, int], Link]:
    """The customer's link and its contacts' (``contact_ids``: the contacts it has; ``also``: links by id, those a
    pass read for it), all locked in one statement in id order (:func:`lock_links`), before any of them is written:
    by (entity, host id)."""
    contacts, ids = sorted(set(contact_ids)), sorted(set(also))
    which = and_(Link.entity == CUSTOMER, Link.host_id == customer_id)
    if contacts:
        which = or_(which, and_(Link.entity == CONTACT, Link.host_id.in_(contacts)))
    if ids:
        which = or_(which, Link.id.in_(ids))
    return {(ln.entity, ln.host_id): ln for ln in lock_links(session, which)}
