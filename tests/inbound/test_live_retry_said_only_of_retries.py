"""A live-update run that reads given records says "(retry …)" on the jobs pages only when it is a Retry: its
description took "(retry)" from the params' shape ({"records": …}), so a run queued for given records by the command
line or a script read 'Read company ACME7 changed in ConnectWise again (retry)', as if it redid another run. A true
retry still says which run it retries, from its retry_of_id (as a customer export's since c2407b7)."""

from __future__ import annotations

from colcw_plugin.models import CUSTOMER, Link
from colcw_plugin.sync.inbound import LIVE_KIND
from colcw_plugin.sync.jobs.runs import create_run
from helpers import runtime
from host_stub.extensions import db


def test_a_run_reading_given_records_says_retry_only_when_it_is_one(app):
    db.session.add(Link(entity=CUSTOMER, host_id=1, cw_id=257, cw_identifier="ACME7"))
    db.session.flush()
    kinds = runtime().kinds
    records = {"records": {"company": [257]}}

    plain = create_run(db.session, kinds, LIVE_KIND, records)
    assert plain.description == "Read company ACME7 changed in ConnectWise again", plain.description
    many = create_run(db.session, kinds, LIVE_KIND, {"records": {"company": list(range(300, 320))}})
    assert many.description == "Read 20 records changed in ConnectWise again", many.description

    retry = create_run(db.session, kinds, LIVE_KIND, records, trigger="retry", retry_of_id=plain.id)
    assert retry.description == f"Read company ACME7 changed in ConnectWise again (retry of #{plain.id})", \
        retry.description
    db.session.rollback()
