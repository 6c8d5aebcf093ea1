"""What colcw's parts of the host's pages answer when loaded after the page (its panels, the lists' status cells):
the fragment htmx asked for (``HX-Request``), or the same as a page of its own for a browser without JavaScript."""

from __future__ import annotations

from flask import make_response, render_template, request
from markupsafe import Markup


def fragment_or_page(fragment: str, page_template: str, **context):
    """``fragment`` for htmx, else ``page_template`` rendered with it as ``panel``; caches keep the two apart."""
    if request.headers.get("HX-Request"):
        resp = make_response(fragment)
    else:
        resp = make_response(render_template(page_template, panel=Markup(fragment), **context))  # noqa: S704
    resp.vary.add("HX-Request")
    return resp
