"""A small page of the sandbox: ``/__sandbox__/ui`` (no auth; never part of ConnectWise).

It lists the opportunities with a form to set each one's status, as a sales manager would in
ConnectWise (the change goes through ``person.set_status`` and fires callbacks), the
registered callbacks, and the last deliveries. ``make demo`` points people here to mark an
opportunity Won or Lost and watch the quote page follow.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template_string, request, url_for

from cw_sandbox.errors import ApiError
from cw_sandbox.person import set_status

ui_bp = Blueprint("cw_sandbox_ui", __name__, url_prefix="/__sandbox__")

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ConnectWise sandbox</title>
<style>
 body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
 table { border-collapse: collapse; margin-bottom: 1.5em; } th, td { padding: .3em .6em; border-bottom: 1px solid #ddd; }
 th { text-align: left; background: #f4f4f4; } .note { padding: .5em .8em; margin: 1em 0; border-radius: 4px; }
 .ok { background: #e6f4ea; } .error { background: #fce8e6; } .muted { color: #777; }
</style></head><body>
<h1>ConnectWise sandbox <span class="muted">({{ company_id }})</span></h1>
{% if done %}<p class="note ok" role="status">{{ done }}</p>{% endif %}
{% if error %}<p class="note error" role="alert">{{ error }}</p>{% endif %}
<h2>Opportunities</h2>
{% if opportunities %}
<table><thead><tr><th>ID</th><th>Opportunity</th><th>Company</th><th>Status</th><th>Set status</th></tr></thead><tbody>
{% for opp in opportunities %}
<tr id="opportunity-{{ opp.id }}"><td>{{ opp.id }}</td><td>{{ opp.name }}</td><td>{{ opp.company.name }}</td>
<td class="status">{{ opp.status.name }}</td>
<td><form method="post" action="{{ url_for('cw_sandbox_ui.set_opportunity_status', rid=opp.id) }}">
<label>Status <select name="status">{% for s in statuses %}
<option value="{{ s.id }}"{% if s.id == opp.status.id %} selected{% endif %}>{{ s.name }}</option>{% endfor %}
</select></label>
<label>as <select name="member">{% for m in members %}
<option value="{{ m.identifier }}"{% if m.identifier == 'admin1' %} selected{% endif %}>{{ m.identifier }}</option>
{% endfor %}</select></label>
<button type="submit">Set status</button></form></td></tr>
{% endfor %}</tbody></table>
{% else %}<p class="muted">No opportunities yet.</p>{% endif %}
<h2>Registered callbacks</h2>
{% if callbacks %}
<table><thead><tr><th>ID</th><th>Type</th><th>Level</th><th>Object</th><th>URL</th><th>Active</th></tr></thead><tbody>
{% for cb in callbacks %}<tr><td>{{ cb.id }}</td><td>{{ cb.type }}</td><td>{{ cb.level }}</td><td>{{ cb.objectId }}</td>
<td>{{ cb.url }}</td><td>{{ 'no' if cb.inactiveFlag else 'yes' }}</td></tr>{% endfor %}
</tbody></table>
{% else %}<p class="muted">No callbacks registered (POST /system/callbacks).</p>{% endif %}
<h2>Last deliveries</h2>
{% if deliveries %}
<table><thead><tr><th>#</th><th>Change</th><th>To</th><th>State</th><th>Last answer</th></tr></thead><tbody>
{% for d in deliveries %}<tr><td>{{ d.seq }}</td><td>{{ d.type }} {{ d.id }} {{ d.action }} by {{ d.member_id }}</td>
<td>{{ d.url }}</td><td>{{ d.state }}{% if d.faults %} ({{ d.faults|join(', ') }}){% endif %}</td>
<td>{% if d.attempts %}{{ d.attempts[-1].status or d.attempts[-1].error }}{% endif %}</td></tr>{% endfor %}
</tbody></table>
{% else %}<p class="muted">Nothing delivered yet.</p>{% endif %}
</body></html>
"""


def _render(error: str | None = None, status: int = 200) -> Response:
    tenant: Any = current_app.extensions["cw_sandbox"]
    service: Any = current_app.extensions["cw_sandbox_callbacks"]
    opportunities = sorted(tenant.store.all("opportunities"), key=lambda o: o["id"], reverse=True)[:200]
    html = render_template_string(
        PAGE, company_id=tenant.company_id, opportunities=opportunities,
        statuses=tenant.store.all("opportunity_statuses"), members=tenant.store.all("members"),
        callbacks=tenant.store.all("callbacks"), deliveries=list(reversed(service.worker.log()))[:20],
        done=request.args.get("done"), error=error)
    return Response(html, status=status, mimetype="text/html")


@ui_bp.get("/ui")
def page() -> Response:
    """The page."""
    return _render()


@ui_bp.post("/ui/opportunities/<int:rid>/status")
def set_opportunity_status(rid: int) -> Response:
    """The form: set the status, then show the page again with what happened."""
    tenant: Any = current_app.extensions["cw_sandbox"]
    try:
        opp = set_status(tenant, rid, request.form.get("status", ""), request.form.get("member") or None)
    except ApiError as exc:
        return _render(error=f"Opportunity {rid}: {exc.body.get('message') if exc.body else exc.status}",
                       status=exc.status)
    done = f"Opportunity {opp['id']} ({opp['name']}) is now {opp['status']['name']}."
    return redirect(url_for("cw_sandbox_ui.page", done=done), code=303)  # type: ignore[return-value]
