"""Typed accessors for the ConnectWise resources colcw uses.

    client.companies.iterate(conditions=C.gt("lastUpdated", since), fields=["id", "name"])
    client.companies.get(250)
    client.company_sites(250).list()
    client.opportunities.patch(1234, {"status": {"id": 2}})

Paths are the official ones (API-NOTES §3), including the quirks: subcategories list
and create use a trailing slash, opportunity statuses and types are nested under
``sales/opportunities``, stages are ``sales/stages``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import conditions as C
from .paging import MAX_PAGE_SIZE

if TYPE_CHECKING:
    from .client import ConnectWiseClient, Record


def record_id(value: int | str) -> int:
    """An id for a URL path; refuses anything but an integer so ids cannot inject paths."""
    if isinstance(value, bool):
        raise ValueError("a record id must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise ValueError(f"a record id must be an integer, got {value!r}")


class Resource:
    """CRUD, listing and counting for one collection path."""

    def __init__(self, client: ConnectWiseClient, path: str, *, list_path: str | None = None) -> None:
        self._client = client
        self.path = path.strip("/")
        # Some collections are listed/created at a slightly different path (subcategories/).
        self.list_path = list_path or self.path

    def __repr__(self) -> str:
        return f"<Resource {self.path}>"

    def _item(self, value: int | str) -> str:
        return f"{self.path}/{record_id(value)}"

    def get(self, id: int | str, *, fields: Sequence[str] | None = None) -> Record:
        """One record by id (raises `NotFound`)."""
        return self._client.get(self._item(id), fields=fields)

    def list(
        self,
        *,
        conditions: C.Condition | None = None,
        fields: Sequence[str] | None = None,
        order_by: str | None = None,
        page: int = 1,
        page_size: int = 25,
        child_conditions: C.Condition | None = None,
        custom_field_conditions: C.Condition | None = None,
    ) -> list[Record]:
        """One page."""
        return self._client.list(
            self.list_path,
            conditions=conditions,
            fields=fields,
            order_by=order_by,
            page=page,
            page_size=page_size,
            child_conditions=child_conditions,
            custom_field_conditions=custom_field_conditions,
        )

    def iterate(
        self,
        *,
        conditions: C.Condition | None = None,
        fields: Sequence[str] | None = None,
        order_by: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        child_conditions: C.Condition | None = None,
        custom_field_conditions: C.Condition | None = None,
        forward_only: bool | None = None,
    ) -> Iterator[Record]:
        """Every matching record, page by page (forward-only unless ``order_by`` is given)."""
        return self._client.iterate(
            self.list_path,
            conditions=conditions,
            fields=fields,
            order_by=order_by,
            page_size=page_size,
            child_conditions=child_conditions,
            custom_field_conditions=custom_field_conditions,
            forward_only=forward_only,
        )

    def iterate_pages(self, **kwargs: Any) -> Iterator[list[Record]]:
        """Like `iterate` but yields whole pages (for per-page commits)."""
        return self._client.iterate_pages(self.list_path, **kwargs)

    def iterate_in(
        self, field_name: str, values: Iterable[Any], *, conditions: C.Condition | None = None, **kwargs: Any
    ) -> Iterator[Record]:
        """Records whose ``field_name`` is one of ``values``; long lists are split so
        each URL stays under the client's ``max_url_length``."""
        return self._client.iterate_in(self.list_path, field_name, values, conditions=conditions, **kwargs)

    def count(
        self,
        conditions: C.Condition | None = None,
        *,
        child_conditions: C.Condition | None = None,
        custom_field_conditions: C.Condition | None = None,
    ) -> int:
        """How many records match."""
        return self._client.count(
            self.path,
            conditions=conditions,
            child_conditions=child_conditions,
            custom_field_conditions=custom_field_conditions,
        )

    def create(self, body: Mapping[str, Any]) -> Record:
        """POST a new record; returns it with its id."""
        return self._client.create(self.list_path, body)

    def update(self, id: int | str, body: Mapping[str, Any]) -> Record:
        """PUT the whole record."""
        return self._client.update(self._item(id), body)

    def patch(self, id: int | str, changes: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Record:
        """Replace only the given fields (``{field: value}``) or apply a ready op list."""
        return self._client.patch(self._item(id), changes)

    def delete(self, id: int | str) -> None:
        """Delete one record."""
        self._client.delete(self._item(id))

    def default(self) -> Record:
        """``GET {path}/default``: a template with ConnectWise's defaults (companies,
        contacts, opportunities)."""
        return self._client.get(f"{self.path}/default")


class ForecastResource(Resource):
    """``sales/opportunities/{id}/forecast``.

    The spec says GET returns a list of ``Forecast`` containers (each with
    ``forecastItems``) while several integrations read one object; `items` accepts
    both (API-NOTES §3, INCONSISTENCY).
    """

    def items(self) -> list[Record]:
        """Every forecast item of the opportunity, whatever shape the server answers."""
        data = self._client.get(self.path)
        containers = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
        out: list[Record] = []
        for container in containers:
            if not isinstance(container, dict):
                continue
            if "forecastItems" in container:
                out.extend(i for i in container.get("forecastItems") or [] if isinstance(i, dict))
            elif "forecastType" in container:
                out.append(container)  # already a bare item list
        return out


def default_communication(contact: Mapping[str, Any], kind: str) -> str | None:
    """The contact's default ``Email``/``Phone``/``Fax`` value from ``communicationItems``
    (falling back to the first of that kind)."""
    items = [
        i
        for i in contact.get("communicationItems") or []
        if isinstance(i, dict) and str(i.get("communicationType", "")).lower() == kind.lower()
    ]
    chosen = next((i for i in items if i.get("defaultFlag")), items[0] if items else None)
    return chosen.get("value") if chosen else None
