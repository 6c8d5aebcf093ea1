"""An import's Retry finds the company of a failed contact by the name its result gives, the case aside, for names
beyond ASCII too ("ÉCOLE" is "école"), on SQLite (whose lower() and LIKE fold ASCII only) and on PostgreSQL, still
reading only the company results that name could be."""

from __future__ import annotations

from sqlalchemy import insert, select

from colcw_plugin.models import SyncItem, SyncRun
from colcw_plugin.sync.customers.kinds import retry_import
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db

COMPANIES = [(1, "ÉCOLE DU NORD (EDN1)"), (2, "École du Sud (EDS1)"), (3, "STRASSE GMBH (STR1)"),
             (4, "Ölwerke Åkesson (OWA1)"), (5, "Acme Ltd (ACME1)"), (6, "ECOLE DU NORD (EDN2)"),
             (7, "Großhandel Nord (GHN1)")]


def _import_with_failed_contacts(contacts: list[str]) -> SyncRun:
    run = create_run(db.session, runtime().kinds, "customer_import", {"mode": "all"})
    db.session.flush()
    rows = [{"run_id": run.id, "entity": "customer", "direction": "import", "cw_id": cw_id, "label": label,
             "action": "created"} for cw_id, label in COMPANIES]
    rows += [{"run_id": run.id, "entity": "contact", "direction": "import", "label": label, "action": "failed"}
             for label in contacts]
    db.session.execute(insert(SyncItem), rows)
    db.session.commit()
    return run


def _retried(run: SyncRun) -> dict | None:
    failed = list(db.session.execute(select(SyncItem).where(SyncItem.run_id == run.id, SyncItem.action == "failed"))
                  .scalars())
    return retry_import(db.session, run, failed)


def test_retry_names_the_company_of_a_contact_whose_company_name_differs_in_case_beyond_ascii(any_app):
    run = _import_with_failed_contacts([
        "Ada Lovelace (école du nord)",  # ÉCOLE DU NORD, not ECOLE DU NORD (another name)
        "Grace Hopper (ÉCOLE DU SUD)",
        "Alan Turing (Straße GmbH)",  # ß is SS
        "Kurt Gödel (ÖLWERKE ÅKESSON)",
        "Emmy Noether (GROSSHANDEL NORD)",  # SS is ß
    ])
    assert _retried(run) == {"company_ids": [1, 2, 3, 4, 7]}


def test_a_name_beyond_ascii_differing_in_letters_is_no_match(any_app):
    run = _import_with_failed_contacts(["Ada Lovelace (Écolé du Nord)", "Bob (Acme_Ltd)", "Carl (Acme%)"])
    assert _retried(run) is None  # nothing to retry by name: no company is named so
