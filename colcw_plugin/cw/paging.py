"""Page loops over ConnectWise list endpoints (API-NOTES §4.3).

Two modes:
* navigable: ``page=1,2,...`` with ``pageSize``; stop on a short page, or when the
  ``Link`` header is present but has no ``next``;
* forward-only: header ``pagination-type: forward-only`` plus ``pageId`` (id > pageId,
  id ascending, no orderBy). Safer when rows change during a long sync.

Both loops check that they advance and raise `PagingStalled` otherwise (a server that
ignores ``page`` or ``pageId`` would otherwise make them spin forever).

A navigable listing's pages can also be asked for several at once (:class:`PagesAtOnce`): page
``n + k`` goes out as soon as page ``n`` is taken, so ``k`` requests are out while the caller works
on a page. Against a real tenant, where a page of 1,000 records takes a good part of a second, a
long listing takes about ``1/k`` of the time. Forward-only paging cannot: each page's cursor comes
from the one before.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import requests

from .errors import BadResponse, PagingStalled

MAX_PAGE_SIZE = 1000
FORWARD_ONLY_HEADER = {"pagination-type": "forward-only"}

# fetch(params, extra_headers) -> response
Fetch = Callable[[dict[str, Any], Mapping[str, str] | None], requests.Response]


def body(response: requests.Response) -> Any:
    """A response's JSON body, decoded with orjson: a page of 1,000 companies decodes in 4 ms where the
    standard library's decoder (``response.json()``) takes 10, and a bulk import decodes every page of
    its tenant. Not JSON (or not UTF-8, which ConnectWise always sends): ``ValueError``."""
    return orjson.loads(response.content)


def _rows(response: requests.Response, path: str) -> list[dict[str, Any]]:
    try:
        data = body(response)
    except ValueError:
        raise BadResponse("list response is not JSON", method="GET", path=path) from None
    if not isinstance(data, list):
        raise BadResponse("list response is not a JSON array", method="GET", path=path)
    return data


def _next_page_id(response: requests.Response) -> int | None:
    link = response.links.get("next", {}).get("url")
    if not link:
        return None
    values = parse_qs(urlsplit(link).query).get("pageId") or parse_qs(urlsplit(link).query).get("pageid")
    try:
        return int(values[0]) if values else None
    except ValueError:
        return None


def _has_link_without_next(response: requests.Response) -> bool:
    # ConnectWise omits rel="next" on the last page; in forward-only mode the header may
    # be present and empty there. No header at all says nothing, so fall back to page size.
    return "Link" in response.headers and "next" not in response.links


def _last_page(response: requests.Response) -> int | None:
    """The page number the ``Link`` header's ``last`` names (None: no such link, or no page number in it)."""
    link = response.links.get("last", {}).get("url")
    values = (parse_qs(urlsplit(link).query).get("page") or [None]) if link else [None]
    try:
        return int(values[0]) if values[0] is not None else None
    except ValueError:
        return None


def _row_id(row: dict[str, Any]) -> int | None:
    value = row.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _ask_page(fetch: Fetch, params: dict[str, Any], page: int, page_size: int) -> requests.Response:
    """The answer to page ``page`` of a navigable listing, not decoded yet (:func:`_navigable_page`)."""
    return fetch({**params, "page": page, "pageSize": page_size}, None)


def _navigable_page(response: requests.Response, page_size: int,
                    path: str) -> tuple[list[dict[str, Any]], bool, int | None]:
    """A navigable listing's page as ``response`` answered it: its rows, whether it is the last, and the last page's
    number as the ``Link`` header gave it (None: not given)."""
    rows = _rows(response, path)
    return rows, len(rows) < page_size or _has_link_without_next(response), _last_page(response)


def _check_advanced(rows: list[dict[str, Any]], previous: tuple[Any, ...] | None, page: int,
                    path: str) -> tuple[Any, ...]:
    """The page's signature (its ids); `PagingStalled` when it repeats the page before."""
    signature = tuple(_row_id(r) for r in rows)
    if rows and signature == previous:
        raise PagingStalled(f"page {page} repeated page {page - 1}", method="GET", path=path)
    return signature


def iterate_navigable(
    fetch: Fetch, params: dict[str, Any], *, page_size: int, path: str
) -> Iterator[list[dict[str, Any]]]:
    """Yield pages using ``page``/``pageSize``."""
    page = 1
    previous: tuple[Any, ...] | None = None
    while True:
        rows, last, _ = _navigable_page(_ask_page(fetch, params, page, page_size), page_size, path)
        previous = _check_advanced(rows, previous, page, path)
        if rows:
            yield rows
        if last:
            return
        page += 1


class PagesAtOnce(Iterator[list[dict[str, Any]]]):
    """The pages of a navigable listing, in order, ``at_once`` of them requested side by side.

    Page 1 goes out alone: a listing of one page costs one request, as in :func:`iterate_navigable`.
    Once it comes back and is not the last, ``at_once`` pages are on their way or waiting at a time,
    beside the one the caller holds: taking one sends the next. No page past the one the ``Link`` header's
    ``last`` names is sent ahead (the latest answer's: a listing that grows while it is read moves it on;
    the page after the one taken always goes out). The last page (short, or a ``Link`` header without
    ``next``) ends the listing; without a ``last`` link, the requests already sent past it are answered
    with nothing and dropped, at most ``at_once - 1`` of them. A request's error is raised where its page is
    taken, in order, as in :func:`iterate_navigable`. :meth:`close` (from any thread) stops it: no more
    requests go out, and the caller gets at most the page whose answer it is already waiting for.
    """

    def __init__(self, fetch: Fetch, params: dict[str, Any], *, page_size: int, path: str, at_once: int) -> None:
        self._fetch, self._params, self._page_size, self._path = fetch, params, page_size, path
        self._lock = threading.Lock()
        self._closed = False
        self._page = 1  # the page the caller takes next
        self._previous: tuple[Any, ...] | None = None
        self._last_page: int | None = None  # what the latest answer's Link header named as the last page
        self._at_once = max(1, at_once)
        self._pool = ThreadPoolExecutor(max_workers=self._at_once, thread_name_prefix="colcw-pages")
        self._pending: deque[Future] = deque([self._send(1)])
        self._next_to_send = 2

    def _send(self, page: int) -> Future:
        return self._pool.submit(_ask_page, self._fetch, self._params, page, self._page_size)

    def __iter__(self) -> PagesAtOnce:
        return self

    def __next__(self) -> list[dict[str, Any]]:
        while True:
            with self._lock:
                if self._closed or not self._pending:
                    raise StopIteration
                future = self._pending.popleft()
            try:
                # Decoded here, where it is taken, not in the thread that asked for it: the pages on their way wait as
                # their answers' bytes (a page of 1,000 contacts: about 1 MB, three or four decoded), and only the
                # taking thread's allocator keeps the decoder's working memory (orjson's, many times a body's size).
                rows, last, last_page = _navigable_page(future.result(), self._page_size, self._path)
                self._previous = _check_advanced(rows, self._previous, self._page, self._path)
            except CancelledError:
                raise StopIteration from None
            except BaseException:
                self.close()
                raise
            self._page += 1
            if last_page is not None:
                self._last_page = last_page
            if last:
                self.close()
            else:
                with self._lock:
                    while not self._closed and len(self._pending) < self._at_once and self._worth_sending():
                        self._pending.append(self._send(self._next_to_send))
                        self._next_to_send += 1
            if rows:
                return rows

    def _worth_sending(self) -> bool:
        """Whether the next page to send may hold rows: the one after the page taken always may (a ``last``
        link named before the listing grew can be behind); past it, only up to the ``last`` link's page."""
        return (self._next_to_send <= self._page or self._last_page is None
                or self._next_to_send <= self._last_page)

    def close(self) -> None:
        """Send no more requests; those on their way are dropped when they are answered."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for future in self._pending:
                future.cancel()
            self._pending.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __del__(self) -> None:  # dropped unclosed: its threads end all the same
        if hasattr(self, "_pending"):
            self.close()


def iterate_forward_only(
    fetch: Fetch, params: dict[str, Any], *, page_size: int, path: str
) -> Iterator[list[dict[str, Any]]]:
    """Yield pages using forward-only paging (``pageId`` cursor)."""
    page_id: int | None = None
    while True:
        query = {**params, "pageSize": page_size}
        if page_id is not None:
            query["pageId"] = page_id
        response = fetch(query, FORWARD_ONLY_HEADER)
        rows = _rows(response, path)
        last = len(rows) < page_size or _has_link_without_next(response)
        next_id = None if last else _next_page_id(response)
        # Its body (about 1 MB for a page of 1,000 companies) is not kept while the page is used: a reader ahead
        # holds this generator at its yield while the page waits in its queue.
        del response
        if rows and page_id is not None:
            first = _row_id(rows[0])
            if first is None or first <= page_id:
                raise PagingStalled(
                    f"forward-only page after id {page_id} started at id {first}", method="GET", path=path
                )
        if rows:
            yield rows
        if last:
            return
        if next_id is None:
            next_id = _row_id(rows[-1])
        if next_id is None or (page_id is not None and next_id <= page_id):
            raise PagingStalled(
                f"forward-only cursor did not advance past {page_id}", method="GET", path=path
            )
        page_id = next_id
