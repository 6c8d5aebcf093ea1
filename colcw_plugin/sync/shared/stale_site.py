"""A Location Code a customer link agrees on that ConnectWise's company never had: a site step left unfinished.

Before 675be73 the customer export recorded the customer's Location Code ("HQ") as agreed before its site step (the
site POST, then the company PATCH onto it); a step cut short left the company on ConnectWise's default site "Main"
with the link saying "HQ". No migration repairs those links. Read as they are, the next reading took the difference
between the agreement ("HQ") and ConnectWise ("Main", a blank code) for a change made in ConnectWise: with ConnectWise
the master a live update, a safety net pass and an import blanked the customer's code and the export "kept
ConnectWise's Location Code"; with ChannelOnline the master they noted a change in ConnectWise nobody made.

The rule (:func:`healed`), one for the export, live updates, safety net passes and imports, under either master: when

* the agreement names a site other than "Main" (an agreed code, not ConnectWise's default site),
* the company is on ConnectWise's default site "Main" and so reads otherwise than the agreed code,
* the agreement remembers no site taken for that code under another name (``colcw:site``: the company's leaving that
  site is a real move), and
* the company has no site of the agreed name at all (active or not: read from ConnectWise, one request, only when
  the customer's code differs from ConnectWise's, which is the only case the agreement decides anything),

ConnectWise never had the agreed site: the agreement is read as the site the company is on ("Main"), as 675be73
records an unfinished step since. The customer's code is then a change of ChannelOnline's alone: no reading takes
"Main" into it nor notes it as ConnectWise's change (under either master), the link is rewritten agreeing on "Main"
(the next reading needs no request), and the next export finishes the site step by its ordinary rules for a linked
company (the code's site by name, else the one site at the customer's address taken for the code, else the site
created). A customer whose code was changed meanwhile (another code, or blank) is ChannelOnline's change as well.

A company ConnectWise did move, from a site "HQ" that still exists to "Main", is still ConnectWise's change (taken
under ConnectWise the master, noted under ChannelOnline the master); so is a move to any site but "Main". Not told
apart: a person who moved the company from "HQ" to "Main" and then deleted or renamed the site "HQ" since the last
sync; that reads as the unfinished step (the customer keeps "HQ", the next export gives the company a site "HQ"
again). Nor is a pre-675be73 link whose site POST went through and whose company PATCH failed (the site "HQ" exists,
the company on "Main"): that reads as a move made in ConnectWise, as it always has.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from ...cw import ConnectWiseClient, ConnectWiseError
from ...cw import conditions as C
from .fields import DEFAULT_SITE, same_site, site_choice

log = logging.getLogger(__name__)

CODE = "location_code"

HasSite = Callable[[int, str], bool]  # (company id, site name) -> whether the company has a site of that name


def has_site(client: ConnectWiseClient) -> HasSite:
    """Whether a company has a site of a name (ignoring case, active or not), read from ConnectWise. A transient
    failure stops the reading (its run tries again later, as for any read); ConnectWise refusing the read (the API
    member may not read sites) says it has: the agreement is taken as it is, as before this rule, rather than failing
    every pass that meets the link."""
    def read(company_id: int, name: str) -> bool:
        try:
            rows = client.company_sites(company_id).list(conditions=C.eq("name", name), fields=["id", "name"],
                                                         page_size=25)
        except ConnectWiseError as e:
            if e.transient:
                raise
            log.warning("The sites of ConnectWise company %s could not be read; its agreed Location Code %r is "
                        "taken as it is: %s", company_id, name, e)
            return True
        return any(str(s.get("name") or "").strip().casefold() == name.strip().casefold() for s in rows)
    return read


def healed(base: Mapping[str, Any] | None, cw: Mapping[str, Any], host: Mapping[str, Any], record: Mapping[str, Any],
           sites: HasSite | None) -> Any:
    """The agreement ``base`` (a link's, as compared with ConnectWise) with its Location Code read as ConnectWise's
    ``cw`` when ConnectWise never had the agreed site (the module's rule); else ``base`` as it is. ``host``: the
    customer's values, ``cw``: the company ``record``'s, both as compared; ``sites``: reads whether the company has a
    site of a name (None: not read, ``base`` as it is)."""
    if not base or sites is None or CODE not in base or CODE not in cw:
        return base
    agreed, theirs = str(base.get(CODE) or "").strip(), str(cw.get(CODE) or "")
    on = str((record.get("site") or {}).get("name") or "").strip()
    if not agreed or same_site(agreed, DEFAULT_SITE) or same_site(agreed, theirs) \
            or on.casefold() != DEFAULT_SITE.casefold() or site_choice(base) is not None:
        return base
    if same_site(host.get(CODE), theirs):
        return base  # the customer's code is ConnectWise's: the agreement decides nothing (no request)
    if record.get("id") is None or sites(int(record["id"]), agreed):
        return base
    return {**base, CODE: theirs}
