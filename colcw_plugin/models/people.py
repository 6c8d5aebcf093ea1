"""What a person chose for themselves on colcw's pages."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from host_stub.extensions import db
from host_stub.models import utcnow


class TimeZoneChoice(db.Model):
    """The time zone a signed-in person shows colcw's times in ("Show times in"), whichever colcw page and whichever
    browser they use: the jobs pages, a run's log, the lists' run panel, the customer and document panels. One row a
    person who chose (the host's user id; no foreign key, as colcw's other references to the host's users); UTC
    for those who did not."""

    __tablename__ = "colcw_time_zone_choices"
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    zone: Mapped[str] = mapped_column(String(64))  # an IANA name
    chosen_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
