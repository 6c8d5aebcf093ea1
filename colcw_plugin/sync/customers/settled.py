"""Which companies of an import page neither side touched since the last sync (a helper of :mod:`.importer`).

A nightly import meets mostly companies nobody changed. Such a company needs no mapping and no
comparison: its link keeps the ``lastUpdated`` ConnectWise shows now, and the host's rows are no
newer than the links. One query for the page says so for every company at once; the importer passes
those companies over with one "unchanged" outcome each and reads and compares only the others.

A company counts as untouched only when everything below holds; anything unusual (a link that is
not "ok", a ConnectWise id linked twice, drift the customer page still shows, a contact added,
removed or moved, a ``lastUpdated`` not in ConnectWise's own format) sends it down the full path,
which decides as ever.

* **The company:** exactly one link holds its ConnectWise id, "ok", with its Company ID; the linked
  customer exists and shows no drift other than new contacts (a note about a contact the rep has since deleted in
  the host is settled for that contact: nothing of it is left to compare or to show); and the company is
  *settled* (below).
* **Its active contacts:** each is linked, by exactly one link, "ok", to a contact of that customer,
  and is settled; or, by exactly one link already marked missing_in_host, to a contact deleted in the host (a bulk
  import reported it once and leaves it out without a word since: it is not counted among the company's contacts).
* **The customer's linked contacts:** each is still among the company's contacts in ConnectWise
  (active or not), or is already reported missing there.

*Settled*: the link keeps the record's ``lastUpdated``, the record had it well before the link was
written (:data:`SETTLED`), and the host row has not changed since the link was written.

The page's records go to PostgreSQL as one JSON parameter, and the database does the comparing: a
page of a thousand companies and their contacts costs one round trip and no per-record Python. On
SQLite (the embedded default, for small tenants) every company takes the full path.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

import orjson
from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from host_stub.bulk import on_postgresql

from ...models import CONTACT, CUSTOMER
from ..shared import fields as M

# A record's lastUpdated must be this much older than the sync that wrote its link for the link to
# vouch for it: lastUpdated has whole seconds, and ConnectWise's clock is not ours (as the incremental
# import's look-back, importer.WATERMARK_OVERLAP). The difference its answers tell is taken off first (untouched).
SETTLED = dt.timedelta(minutes=2)

# ConnectWise's own lastUpdated format (UTC, "Z"): any other counts as not settled (checked before the query,
# which gets "" for it: a pattern match per record in the query cost a sixth of its time). In this format the
# text sorts as the time does, so it is compared as text with the link's time written alike (no cast that a
# malformed stamp could make fail, whatever order the database evaluates the conditions in).
_STAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z")
_TIME_AS_STAMP = 'YYYY-MM-DD"T"HH24:MI:SS.US'  # to_char: the same format, with microseconds


def _settled(stamp: str, link: str, host: str) -> str:
    """SQL: the record's lastUpdated ``stamp`` is the one its link keeps, well before the link was written,
    and the host row (``host``) has not changed since."""
    return (f"({stamp} <> '' AND {link}.cw_last_updated = {stamp} AND {link}.synced_at IS NOT NULL "
            f"AND {host}.updated_at IS NOT NULL AND {host}.updated_at <= {link}.synced_at "
            f"AND left({stamp}, -1) < to_char({link}.synced_at - CAST(:settled AS interval), :time_as_stamp))")


# The f-string joins fixed fragments of this module only: every value is a bound parameter.
_UNTOUCHED = text(f"""
WITH co AS (
    SELECT (e->>0)::int AS cw_id, e->>1 AS ident, e->>2 AS stamp FROM jsonb_array_elements(CAST(:companies AS jsonb)) AS e
), cc AS (
    SELECT (e->>0)::int AS cw_id, (e->>1)::int AS company, e->>2 AS stamp, (e->>3)::boolean AS active
    FROM jsonb_array_elements(CAST(:contacts AS jsonb)) AS e
), firm AS MATERIALIZED (  -- the companies whose own link vouches for them (n: the links holding the id)
    SELECT l.cw_id, l.host_id
    FROM (SELECT co.cw_id, co.ident, co.stamp, l.host_id, l.status, l.cw_identifier, l.cw_last_updated, l.synced_at,
                 count(*) OVER (PARTITION BY co.cw_id) AS n
          FROM co JOIN colcw_links l ON l.entity = :customer AND l.cw_id = co.cw_id) AS l
    JOIN customers hc ON hc.id = l.host_id
    WHERE l.n = 1 AND l.status = 'ok' AND l.cw_identifier = l.ident AND {_settled("l.stamp", "l", "hc")}
      -- a note (drift, conflict) still shown; one about a contact the rep since deleted in the host is settled
      AND NOT EXISTS (SELECT 1 FROM colcw_record_drift d WHERE d.customer_id = l.host_id AND d.kind <> 'new_contact'
                      AND (d.entity <> :contact OR EXISTS (SELECT 1 FROM contacts dc WHERE dc.id = d.host_id)))
), theirs AS MATERIALIZED (  -- their contacts in ConnectWise, each with every link holding its id (n of them)
    SELECT cc.company, cc.active, cc.stamp, k.host_id, k.status, k.synced_at, k.cw_last_updated,
           count(k.id) OVER (PARTITION BY cc.cw_id) AS n
    FROM cc
    JOIN firm ON firm.cw_id = cc.company
    LEFT JOIN colcw_links k ON k.entity = :contact AND k.cw_id = cc.cw_id
), mine AS MATERIALIZED (  -- their customers' contacts in the host
    SELECT firm.cw_id AS company, hc.id, hc.updated_at FROM firm JOIN contacts hc ON hc.customer_id = firm.host_id
), pairs AS (  -- by host contact: the ConnectWise contact linked to it, and whether it is this customer's
    SELECT company, host_id, bool_or(side = 1) AS theirs, bool_or(side = 2) AS mine, bool_or(active) AS active,
           max(stamp) AS stamp, max(n) AS n, max(status) AS status, max(synced_at) AS synced_at,
           max(cw_last_updated) AS cw_last_updated, max(updated_at) AS updated_at
    FROM (SELECT company, host_id, 1 AS side, active, stamp, n, status, synced_at, cw_last_updated,
                 NULL::timestamp AS updated_at
          FROM theirs WHERE host_id IS NOT NULL
          UNION ALL
          SELECT company, id, 2, NULL, NULL, NULL, NULL, NULL, NULL, updated_at FROM mine) AS both_sides
    GROUP BY company, host_id
), verdicts AS (
    SELECT company, (theirs AND active AND status <> 'missing_in_host')::int AS n, CASE
        -- linked to a contact deleted in the host, already reported (a bulk import leaves it out without a word):
        -- nothing of it to compare, whatever ConnectWise changed on it
        WHEN theirs AND active AND status = 'missing_in_host' THEN n = 1 AND NOT mine
            AND NOT EXISTS (SELECT 1 FROM contacts dc WHERE dc.id = pairs.host_id)
        WHEN theirs AND active THEN n = 1 AND status = 'ok' AND mine AND {_settled("stamp", "pairs", "pairs")}
        WHEN theirs THEN true
        -- a contact of the customer no contact of the company is linked to: its link (if any) says missing
        ELSE NOT EXISTS (SELECT 1 FROM colcw_links k WHERE k.entity = :contact AND k.host_id = pairs.host_id
                         AND k.status <> 'missing_in_cw')
    END AS ok
    FROM pairs
    UNION ALL
    SELECT company, 1, false FROM theirs WHERE host_id IS NULL AND active  -- an active contact not linked
)
SELECT cw_id, max(host_id), sum(n)
FROM (SELECT cw_id, host_id, 0 AS n, true AS ok FROM firm
      UNION ALL SELECT company, NULL, n, ok FROM verdicts) AS said
GROUP BY cw_id
HAVING bool_and(ok) AND max(host_id) IS NOT NULL
""").bindparams(  # noqa: S608
    bindparam("time_as_stamp", _TIME_AS_STAMP),
    bindparam("settled", f"{int(SETTLED.total_seconds())} seconds"),
    bindparam("customer", CUSTOMER), bindparam("contact", CONTACT))


@dataclass(frozen=True)
class Untouched:
    """A company of the page that neither side touched: its customer and how many contacts it has."""

    host_id: int
    contacts: int


def _stamp(record: dict) -> str:
    """The record's lastUpdated when it is in ConnectWise's own format, else "" (not settled)."""
    stamp = M.last_updated(record)
    return stamp if _STAMP.fullmatch(stamp) else ""


def untouched(session: Session, records: Iterable[dict], contacts: dict[int, list[dict]], *,
              cw_ahead: float = 0.0) -> dict[int, Untouched]:
    """The companies of ``records`` (with their ConnectWise ``contacts``, by company id) that neither side
    changed since the last sync wrote their links, by ConnectWise id (one query; none on SQLite). ``cw_ahead``:
    the seconds ConnectWise's clock is ahead of colcw's (negative: behind; ``ServerClock.ahead``), by which a
    record's ``lastUpdated`` is set against the link's time: a ConnectWise ten minutes behind stamps a change made
    after the link as if ten minutes earlier, and the record must be that much older still to vouch for it."""
    records = [r for r in records if not r.get("deletedFlag")]
    if not records or not on_postgresql(session):
        return {}
    companies = [(r["id"], str(r.get("identifier") or ""), _stamp(r)) for r in records]
    theirs = [(c["id"], r["id"], _stamp(c), not c.get("inactiveFlag"))
              for r in records for c in contacts.get(r["id"], ())]
    params = {"companies": orjson.dumps(companies).decode(), "contacts": orjson.dumps(theirs).decode()}
    if cw_ahead:
        params["settled"] = f"{SETTLED.total_seconds() - cw_ahead:.6f} seconds"
    rows = session.execute(_UNTOUCHED, params)
    return {cw_id: Untouched(host_id, n) for cw_id, host_id, n in rows}
