"""The connection's settings and the Live updates switch are one row each, however many processes write them first
at the same moment, and the callback URL's secret is made once."""

from __future__ import annotations

import pytest
from lock_support import waits_for
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from colcw_plugin.models import HOST_MASTER, LiveSettings, Settings
from colcw_plugin.setup.connection import get_settings
from colcw_plugin.setup.live_updates import LiveInput, get_live, read_live, save_live, url_secret
from helpers import runtime
from host_stub.extensions import db

pytestmark = pytest.mark.postgres

ON = LiveInput(enabled=True, public_base_url="https://quotes.example.com", customer_master=HOST_MASTER)


def _rows(model) -> int:
    db.session.rollback()
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.mark.parametrize("model, get", [(Settings, get_settings), (LiveSettings, get_live)], ids=["settings", "live"])
def test_two_first_writers_at_once_make_one_row_and_both_use_it(app, model, get):
    db.session.execute(delete(model))
    db.session.commit()
    with Session(bind=db.engine) as first, Session(bind=db.engine) as second:
        made = get(first)  # its transaction not committed yet, as another process's would not be
        made_id = made.id

        def other() -> int:
            row = get(second)
            second.commit()
            return row.id

        out = waits_for(first.commit, other)  # the second writer waits for the first
    assert out == [made_id]
    assert _rows(model) == 1


def test_two_saves_switching_live_updates_on_at_once_keep_one_url_secret(app):
    box = runtime().box
    get_live(db.session)  # the row exists, switched off, with no secret yet (the master saved earlier, say)
    db.session.commit()
    with Session(bind=db.engine) as first, Session(bind=db.engine) as second:
        row, _ = save_live(first, box, ON, actor="admin@demo.example")
        secret = url_secret(row, box)

        def other() -> str:
            # The row read before the save (as the switch reads the master first), and held: no secret yet.
            before = read_live(second)
            theirs, _ = save_live(second, box, ON, actor="other@demo.example")
            assert theirs is before
            second.commit()
            return url_secret(theirs, box)

        out = waits_for(first.commit, other)  # the second save waits for the first
    assert out == [secret]  # the second save found the first's secret and kept it
    db.session.rollback()
    assert url_secret(get_live(db.session), box) == secret
    assert _rows(LiveSettings) == 1


def test_the_settings_lock_gives_the_values_another_save_committed_while_it_waited(app):
    from colcw_plugin.setup.common import lock_settings

    get_settings(db.session).category_mode = "names"
    db.session.commit()
    with Session(bind=db.engine) as mine, Session(bind=db.engine) as theirs:
        held = get_settings(mine)  # loaded earlier in this request, and held
        get_settings(theirs).category_mode = "mapping"  # another admin's save, committed meanwhile
        theirs.commit()
        locked = lock_settings(mine)
        assert locked is held
        assert locked.category_mode == "mapping"
        mine.rollback()
