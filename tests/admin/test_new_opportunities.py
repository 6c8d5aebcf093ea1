"""Admin → Integration → ConnectWise → New opportunities: the type, stage and open status picked from
ConnectWise's lists, checked when saved, kept while ConnectWise is unreachable, and the same from the command
line and in the pre-flight check."""

from __future__ import annotations

import re

from htmx_loads import loaded

from colcw_plugin.setup.connection import get_settings
from helpers import connection_unreachable, csrf_from
from host_stub.extensions import db

BASE = "/admin/integration/connectwise"
SECTION = BASE + "/new-opportunities"


def _id(sandbox, path: str, name: str, key: str = "name") -> int:
    return next(r["id"] for r in sandbox.api("GET", path, params={"pageSize": 1000}).json() if r[key] == name)


def _post(client, **data):
    token = csrf_from(client.get(BASE + "/").get_data(as_text=True))
    fields = {"type_id": "", "stage_id": "", "status_id": "", **{k: str(v) for k, v in data.items()}}
    return client.post(SECTION, data={"csrf_token": token, **fields})


def _options(html: str, field: str) -> list[str]:
    select = re.search(rf'<select[^>]*name="{field}".*?</select>', html, re.S).group(0)
    return [re.sub(r"\s+", " ", o).strip() for o in re.findall(r"<option[^>]*>(.*?)</option>", select, re.S)]


def _chosen() -> tuple:
    db.session.expire_all()
    s = get_settings(db.session)
    return (s.opportunity_type_id, s.opportunity_type_name, s.opportunity_stage_id, s.opportunity_stage_name,
            s.open_status_id, s.open_status_name)


def test_the_connection_page_offers_connectwises_usable_types_stages_and_open_statuses(admin_client, connected):
    connected.api("POST", "sales/opportunities/types", json={"description": "Retired", "inactiveFlag": True})
    page = admin_client.get(BASE + "/").get_data(as_text=True)
    assert "Type: ConnectWise&#39;s default; Stage: ConnectWise&#39;s default; Open status: ConnectWise&#39;s " \
           "default." in page  # what is saved, shown before the section loads ConnectWise's lists
    html = loaded(admin_client, BASE + "/")
    assert _options(html, "type_id") == ["ConnectWise&#39;s default", "Existing Business", "New Business", "Renewal"]
    assert _options(html, "stage_id") == ["ConnectWise&#39;s default", "1.Prospect", "2.Qualification", "3.Proposal",
                                          "4.Negotiation", "5.Closing"]
    assert _options(html, "status_id") == ["ConnectWise&#39;s default", "Open"]  # not Won, Lost or No Decision


def test_saving_stores_the_ids_and_names_and_the_page_shows_them(admin_client, connected):
    renewal = _id(connected, "sales/opportunities/types", "Renewal", "description")
    proposal = _id(connected, "sales/stages", "3.Proposal")
    resp = _post(admin_client, type_id=renewal, stage_id=proposal)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(BASE + "/#new-opportunities")
    assert _chosen() == (renewal, "Renewal", proposal, "3.Proposal", None, "")
    page = admin_client.get(BASE + "/").get_data(as_text=True)
    assert "Type: Renewal; Stage: 3.Proposal; Open status: ConnectWise&#39;s default." in page
    section = admin_client.get(SECTION, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'<option selected value="{renewal}">Renewal</option>' in section


def test_a_saved_type_connectwise_made_inactive_stays_shown_marked_and_cannot_be_saved_again(admin_client, connected):
    renewal = _id(connected, "sales/opportunities/types", "Renewal", "description")
    assert _post(admin_client, type_id=renewal).status_code == 302
    connected.api("PATCH", f"sales/opportunities/types/{renewal}",
                  json=[{"op": "replace", "path": "inactiveFlag", "value": True}])
    section = admin_client.get(SECTION, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'<option selected value="{renewal}">Renewal (inactive)</option>' in section
    resp = _post(admin_client, type_id=renewal)
    assert resp.status_code == 400
    assert ("The opportunity type “Renewal” chosen for new opportunities is inactive in ConnectWise. Choose another "
            "type, or ConnectWise&#39;s default.") in resp.get_data(as_text=True)


def test_a_status_that_is_not_open_or_an_unknown_id_is_refused_and_nothing_is_saved(admin_client, connected):
    won = _id(connected, "sales/opportunities/statuses", "Won")
    renewal = _id(connected, "sales/opportunities/types", "Renewal", "description")
    resp = _post(admin_client, type_id=renewal, status_id=won)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "Nothing was saved" in html
    assert "The opportunity open status “Won” chosen for new opportunities is marked Won and closed, not open" in html
    resp = _post(admin_client, stage_id=987654)
    assert resp.status_code == 400 and "stage id 987654 chosen for new opportunities no longer exists" in \
        resp.get_data(as_text=True)
    assert _chosen() == (None, "", None, "", None, "")
    assert _post(admin_client, type_id="Renewal").status_code == 400  # not an id: a forged post


def test_unchanged_choices_are_kept_while_connectwise_is_unreachable_and_new_ones_refused(admin_client, connected):
    renewal = _id(connected, "sales/opportunities/types", "Renewal", "description")
    proposal = _id(connected, "sales/stages", "3.Proposal")
    closing = _id(connected, "sales/stages", "5.Closing")
    assert _post(admin_client, type_id=renewal, stage_id=proposal).status_code == 302
    connection_unreachable()
    section = admin_client.get(SECTION, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="new-opportunities-unavailable"' in section
    unavailable = section.split('id="new-opportunities-unavailable">')[1].split("</p>")[0]
    assert ". Only the saved choices are offered" in unavailable  # two sentences, a full stop between
    assert _options(section, "type_id") == ["ConnectWise&#39;s default",
                                            "Renewal (saved; ConnectWise&#39;s list could not be read)"]
    refused = _post(admin_client, type_id=renewal, stage_id=closing)
    assert refused.status_code == 400 and "ConnectWise cannot be reached to check this stage" in \
        refused.get_data(as_text=True)
    assert _chosen()[:4] == (renewal, "Renewal", proposal, "3.Proposal")
    kept = _post(admin_client, type_id=renewal)  # the type unchanged, the stage back to ConnectWise's default
    assert kept.status_code == 302
    assert _chosen() == (renewal, "Renewal", None, "", None, "")
    warning = re.search(r"Saved without checking in ConnectWise\.[^<]*",
                        admin_client.get(BASE + "/").get_data(as_text=True)).group(0)
    # the reason is a sentence of its own between two others: no "(… .);" and no doubled full stop
    assert re.fullmatch(r"Saved without checking in ConnectWise\. ConnectWise(&#39;|')s lists could not be read: "
                        r".+[^.]\. The unchanged choices keep their ids\.", warning), warning
    assert ".)" not in warning and ".." not in warning


def test_the_section_is_for_admins_with_a_csrf_token(client, rep_client, connected):
    assert rep_client.get(SECTION).status_code == 403
    assert rep_client.post(SECTION, data={"type_id": ""}).status_code in (400, 403)


def test_a_post_without_the_csrf_token_is_refused(admin_client, connected):
    renewal = _id(connected, "sales/opportunities/types", "Renewal", "description")
    assert admin_client.post(SECTION, data={"type_id": str(renewal)}).status_code == 400
    assert _chosen()[0] is None


def test_the_command_line_sets_them_by_name_as_the_page_checks_them(app, connected):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["colcw", "options", "--opportunity-type", "Renewal", "--open-status", "Open"])
    assert result.exit_code == 0, result.output
    assert "New opportunities get type: Renewal; stage: ConnectWise's default; open status: Open." in result.output
    renewal = _id(connected, "sales/opportunities/types", "Renewal", "description")
    assert _chosen()[:2] == (renewal, "Renewal")
    wrong = runner.invoke(args=["colcw", "options", "--opportunity-type", "renewal", "--opportunity-stage", "9.Nope"])
    assert wrong.exit_code == 2
    assert 'ConnectWise has no usable opportunity type named "renewal"' in wrong.output
    assert 'Did you mean "Renewal"?' in wrong.output and '"9.Nope"' in wrong.output
    closed = runner.invoke(args=["colcw", "options", "--open-status", "Won"])
    assert closed.exit_code == 2 and 'no usable opportunity open status named "Won"' in closed.output
    cleared = runner.invoke(args=["colcw", "options", "--opportunity-type", ""])
    assert cleared.exit_code == 0 and "type: ConnectWise's default" in cleared.output
    assert _chosen()[0] is None and _chosen()[4] is not None  # the status was kept


def test_the_preflight_check_reports_a_chosen_value_connectwise_no_longer_accepts(app, admin_client, connected):
    renewal = _id(connected, "sales/opportunities/types", "Renewal", "description")
    assert _post(admin_client, type_id=renewal).status_code == 302
    ok = admin_client.get(BASE + "/preflight").get_data(as_text=True)
    assert 'data-area="New opportunities" data-ok="yes"' in ok
    assert "New opportunities get type Renewal, stage ConnectWise&#39;s default" in ok
    assert connected.api("DELETE", f"sales/opportunities/types/{renewal}").status_code == 204
    html = admin_client.get(BASE + "/preflight").get_data(as_text=True)
    assert 'data-area="New opportunities" data-ok="no"' in html
    assert "The opportunity type “Renewal” chosen for new opportunities no longer exists in ConnectWise." in html
    result = app.test_cli_runner().invoke(args=["colcw", "check"])
    assert result.exit_code == 1
    assert "FAIL New opportunities:" in result.output
    assert "- The opportunity type “Renewal” chosen for new opportunities no longer exists in ConnectWise." in \
        result.output
    assert ("What to do: Choose another type, or ConnectWise's default, under Admin → Integration → ConnectWise → "
            "New opportunities; then export again.") in result.output


def test_the_command_line_says_why_the_lists_could_not_be_read_as_a_sentence(app, connected):
    connection_unreachable()
    result = app.test_cli_runner().invoke(args=["colcw", "options", "--opportunity-type", ""])
    said = re.search(r"ConnectWise's lists could not be read: .*", result.output).group(0)
    assert re.fullmatch(r"ConnectWise's lists could not be read: .+[^.]\. Unchanged choices were kept\.", said), said
    assert ".)" not in said and ".." not in said
