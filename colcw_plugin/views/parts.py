"""colcw's parts of the host's pages: the slots it puts on them (:func:`filled`, :func:`constant`), and what those
parts answer when loaded after the page (its panels, the lists' status cells): the fragment htmx asked for
(``HX-Request``), or the same as a page of its own for a browser without JavaScript."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app, make_response, render_template, request, url_for
from markupsafe import Markup, escape

T = TypeVar("T")


def filled(html: str, url: str) -> Markup:
    """A slot's fixed ``html`` with its ``{url}`` placeholders filled with ``url``, escaped. Every host page colcw
    adds to renders one: one replace, where ``Markup.format`` escapes through a formatter at four times the cost."""
    return Markup(html.replace("{url}", escape(url)))  # noqa: S704 - the html is colcw's own, the url escaped


def constant(key: object, build: Callable[[], T]) -> T:
    """What ``build()`` returns for this app and script root, built once: a URL, or a slot holding one, that is the
    same on every request (the list pages and every page's assets ask for theirs on every GET)."""
    cache = current_app.extensions.setdefault("colcw_constants", {})
    key = (key, request.script_root)
    value = cache.get(key)
    if value is None:
        value = cache[key] = build()
    return value


def fixed_url(endpoint: str, **values) -> str:
    """``url_for(endpoint, **values)`` for a URL that is the same on every request of this app (and script root),
    built once (:func:`constant`)."""
    return constant((endpoint, tuple(sorted(values.items()))), lambda: url_for(endpoint, **values))


def arg(name: str) -> str:
    """The query's ``name`` parameter, "" without it. ``request.args.get`` raises and catches an exception inside
    for a parameter that is absent, and the list pages ask on every GET for parameters that mostly are."""
    args = request.args
    return args[name] if name in args else ""  # noqa: SIM401 - get() is the cost this avoids


def fragment_or_page(fragment: str, page_template: str, **context):
    """``fragment`` for htmx, else ``page_template`` rendered with it as ``panel``; caches keep the two apart."""
    if request.headers.get("HX-Request"):
        resp = make_response(fragment)
    else:
        resp = make_response(render_template(page_template, panel=Markup(fragment), **context))  # noqa: S704
    resp.vary.add("HX-Request")
    return resp
