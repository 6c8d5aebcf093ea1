"""The host pages' writes: each one a unit of work on the request's session, committed at once.

The rules live in :mod:`host_stub.gateway`; this module binds them to the app (its session and
its plugin manager) for the host's own views and tests. Plugins build their own
:class:`~host_stub.gateway.UnitOfWork` on the session they work with and commit when they choose.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app

from .extensions import db
from .gateway import CONTACT_EDITABLE, CUSTOMER_EDITABLE, LINE_EDITABLE, UnitOfWork, ValidationError
from .models import Customer, CustomField, Document

__all__ = ["CONTACT_EDITABLE", "CUSTOMER_EDITABLE", "LINE_EDITABLE", "ValidationError", "add_custom_field",
           "convert_quote", "save_customer", "save_document", "set_locked", "unit_of_work"]

T = TypeVar("T")


def unit_of_work() -> UnitOfWork:
    """A unit of work on the current request's session that fires events through the app's plugins."""
    return UnitOfWork(db.session, current_app.extensions["host_stub"]["pm"])


def _committed(write: Callable[[UnitOfWork], T]) -> T:
    uow = unit_of_work()
    try:
        result = write(uow)
    except Exception:
        uow.rollback()
        raise
    uow.commit()
    return result


def save_customer(*args, **kwargs) -> Customer:
    """:meth:`UnitOfWork.save_customer`, committed; ``customer_saved`` fires after the commit."""
    return _committed(lambda uow: uow.save_customer(*args, **kwargs))


def save_document(*args, **kwargs) -> Document:
    """:meth:`UnitOfWork.save_document`, committed; ``quote_saved`` fires after the commit."""
    return _committed(lambda uow: uow.save_document(*args, **kwargs))


def set_locked(document_id: int, locked: bool) -> Document:
    """:meth:`UnitOfWork.set_locked`, committed."""
    return _committed(lambda uow: uow.set_locked(document_id, locked))


def convert_quote(quote_id: int, *, actor: dict | None = None) -> Document:
    """:meth:`UnitOfWork.convert_quote`, committed; ``quote_converted`` fires after the commit."""
    return _committed(lambda uow: uow.convert_quote(quote_id, actor=actor))


def add_custom_field(name: str) -> CustomField:
    """:meth:`UnitOfWork.add_custom_field`, committed."""
    return _committed(lambda uow: uow.add_custom_field(name))
