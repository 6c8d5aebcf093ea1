"""The export checklist's sales rep row names the ConnectWise member the opportunity goes to and, when that is not the
document's own rep's, why (user guide §4.2 2e: the store's default rep by default; the user who exports it with the
logged-in option), what the document's rep is mapped to, and the page that changes it — for the rep, with the note
that it is an admin's page; and the export does what the row says."""

from __future__ import annotations

import html
import re

import pytest
from quote_support import line
from sqlalchemy import select

from colcw_plugin.models import RepMapping
from colcw_plugin.setup.connection import get_settings
from colcw_plugin.views.support import ADMIN_ONLY
from helpers import sign_in
from host_stub import services
from host_stub.extensions import db
from host_stub.models import User

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox]

OPTION = "“Assign to the logged-in sales rep instead of the store's default rep”"
OPTIONS = "Admin → Integration → ConnectWise → Options"
REPS = "Admin → Integration → ConnectWise → Sales rep mapping"


@pytest.fixture()
def rep(app):
    with app.app_context():  # (signed in, and asking, each in an app context of its own: see _rep_row)
        return sign_in(app.test_client(), "riley@demo.example")


@pytest.fixture()
def admin(app):
    with app.app_context():
        return sign_in(app.test_client(), "admin@demo.example")


def _user(email: str) -> User:
    return db.session.execute(select(User).where(User.email == email)).scalar_one()


def _rep_row(client, doc_id: int) -> tuple[str, str, str]:
    """The sales rep row of the checklist: its sign (ok ✓, warning ⚠, error ✗), its text, and its HTML."""
    with client.application.app_context():
        page = client.get(f"/colcw/documents/{doc_id}/export").get_data(as_text=True)
    row = next(r for r in re.findall(r"<tr class=\"(?:ok|warning|error)\".*?</tr>", page, re.S) if "Sales rep mapped" in r)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", cells[2])).split())
    return re.match(r'<tr class="(\w+)"', row).group(1), text, row


def _riley_quote(world, name: str):
    riley = _user("riley@demo.example")
    return services.save_document({"customer_id": world.customer_id, "contact_id": world.contact_id,
                                   "sales_rep_id": riley.id}, [line("OPT-7010")], custom_fields={world.field_id: name})


def _map(email: str, member: dict) -> None:
    db.session.add(RepMapping(user_id=_user(email).id, member_id=member["id"], member_identifier=member["identifier"],
                              location_id=member["defaultLocation"]["id"],
                              department_id=member["defaultDepartment"]["id"]))
    db.session.commit()


def _member(world, identifier: str) -> dict:
    return next(m for m in world.api("system/members") if m["identifier"] == identifier)


def test_a_reps_own_quote_says_it_goes_to_the_store_defaults_member_and_why(world, rep, admin):
    quote = _riley_quote(world, "Rep's own deal")
    sign, text, row = _rep_row(rep, quote.id)
    assert sign == "warning"
    assert text == (
        "The opportunity goes to ConnectWise member admin1, mapped to Dana Default, the store's default sales rep, not "
        "to the document's sales rep, Riley Rep, who has no ConnectWise member mapped. Exports use the store's default "
        f"sales rep unless {OPTION} is ticked on {OPTIONS} {ADMIN_ONLY}. To export under the member of the rep who "
        f"exports it, an admin ticks it there and maps Riley Rep on Sales rep mapping {ADMIN_ONLY}.")
    # Not the document's own rep: a warning (⚠, said in words), not a tick; yet nothing to confirm, nothing blocked.
    assert '<span aria-hidden="true">⚠</span>' in row and "Warning: nothing to confirm" in row and "✓" not in row
    with rep.application.app_context():
        page = rep.get(f"/colcw/documents/{quote.id}/export").get_data(as_text=True)
    assert 'data-confirm-check="Sales rep mapped"' not in page and 'name="confirm_check"' not in page
    assert re.search(r'<button type="submit" id="colcw-export-submit">', page), page
    # An admin gets the pages as links.
    sign, _, row = _rep_row(admin, quote.id)
    assert sign == "warning" and f"<a href=\"/admin/integration/connectwise/#options\">{OPTIONS}</a>" in html.unescape(row), row
    assert '<a href="/admin/integration/connectwise/reps">Sales rep mapping</a>' in row

    # Riley mapped to a member of her own: the row says so, and only the option is left to change.
    _map("riley@demo.example", _member(world, "APIMember"))
    sign, text, _ = _rep_row(rep, quote.id)
    assert sign == "warning" and ", not to the document's sales rep, Riley Rep, whose ConnectWise member is APIMember." in text
    assert text.endswith("an admin ticks it there.")

    # The export does what the row says: the opportunity's sales rep is the store's default rep's member.
    run = world.export(quote.id)
    assert run.status == "succeeded", run.message
    [opp] = world.opportunities()
    assert opp["primarySalesRep"]["id"] == world.member_id == _member(world, "admin1")["id"]


def test_with_the_logged_in_option_the_row_names_whoever_exports_it(world, rep, admin):
    get_settings(db.session).use_logged_in_rep = True
    db.session.commit()
    quote = _riley_quote(world, "Logged-in deal")
    # The admin looking at Riley's quote would export it as himself, and he is not mapped.
    sign, text, _ = _rep_row(admin, quote.id)
    assert sign == "error"
    assert text == (f"{quote.number} cannot be exported yet: Alex Admin is not mapped to a ConnectWise member. Exports "
                    "act for the user who starts them, here Alex Admin, not for the document's sales rep, Riley Rep, who "
                    f"has no ConnectWise member mapped: {OPTION} is ticked on {OPTIONS}. Make sure that the Sales Rep is "
                    f"mapped: an admin maps Alex Admin to a ConnectWise member on {REPS}.")
    _map("admin@demo.example", _member(world, "admin1"))
    sign, text, _ = _rep_row(admin, quote.id)
    assert sign == "warning" and text == ("The opportunity goes to ConnectWise member admin1, mapped to Alex Admin, who exports it, "
                           "not to the document's sales rep, Riley Rep, who has no ConnectWise member mapped: "
                           f"{OPTION} is ticked on {OPTIONS}.")
    # Riley, mapped, exporting her own quote: her member, and nothing to explain.
    _map("riley@demo.example", _member(world, "APIMember"))
    sign, text, _ = _rep_row(rep, quote.id)
    assert sign == "ok" and text == "ConnectWise member APIMember, mapped to Riley Rep, the document's sales rep."


def test_a_document_without_a_rep_names_the_store_default_rep(world, rep):
    quote = world.quote([line("OPT-7010")], name="Nobody's deal")
    assert quote.sales_rep_id is None
    sign, text, _ = _rep_row(rep, quote.id)
    assert sign == "ok" and text == "ConnectWise member admin1, mapped to Dana Default, the store's default sales rep."


def _sams_quote(world, name: str):
    sam = _user("sam@demo.example")
    return services.save_document({"customer_id": world.customer_id, "contact_id": world.contact_id,
                                   "sales_rep_id": sam.id}, [line("OPT-7010")], custom_fields={world.field_id: name})


def test_anothers_quote_names_the_rep_who_exports_it_as_the_one_to_map(world, rep):
    """Riley looking at Sam Sales' quote: with the option ticked it would go to Riley's member, so Riley is the one an
    admin maps, not Sam (the document's rep)."""
    quote = _sams_quote(world, "Sam's deal")
    sign, text, _ = _rep_row(rep, quote.id)
    assert sign == "warning"
    assert text.endswith(f"unless {OPTION} is ticked on {OPTIONS} {ADMIN_ONLY}. To export under the member of the rep "
                         f"who exports it, an admin ticks it there and maps Riley Rep on Sales rep mapping {ADMIN_ONLY}."), text
    assert "maps Sam Sales" not in text
    # Riley mapped: only the option is left to change, whatever Sam's mapping.
    _map("riley@demo.example", _member(world, "APIMember"))
    sign, text, _ = _rep_row(rep, quote.id)
    assert sign == "warning" and text.endswith("To export under the member of the rep who exports it, an admin ticks it there."), text


def test_an_unmapped_rep_who_would_export_it_is_told_it_cannot_be_exported_yet_with_the_whole_path(world, rep):
    get_settings(db.session).use_logged_in_rep = True
    db.session.commit()
    quote = _sams_quote(world, "Unmapped deal")
    sign, text, row = _rep_row(rep, quote.id)
    assert sign == "error"
    assert text.startswith(f"{quote.number} cannot be exported yet: Riley Rep is not mapped to a ConnectWise member. ")
    assert "did not occur" not in text
    # The paths are written whole; that they are admin pages is said at each (after the whole path, not within it).
    assert f"is ticked on {OPTIONS} {ADMIN_ONLY}. " in text
    assert text.endswith(f"Make sure that the Sales Rep is mapped: an admin maps Riley Rep to a ConnectWise member on "
                         f"{REPS} {ADMIN_ONLY}."), text
    assert text.count(ADMIN_ONLY) == 2 and "ConnectWise —" not in text


def test_a_reps_mapping_path_in_any_message_is_kept_whole(app, rep):
    """The same path in the message a mapping saved unverified gives (setup/reps.py): whole, then the aside."""
    from colcw_plugin.views.support import page_links

    with app.test_request_context():
        from flask_login import login_user

        login_user(_user("riley@demo.example"))
        shown = str(page_links("Save Admin → Integration → ConnectWise → Sales rep mapping again while ConnectWise "
                               "answers."))
    assert html.unescape(shown) == ("Save Admin → Integration → ConnectWise → Sales rep mapping (an admin's page: ask an admin) "
                     "again while ConnectWise answers.")


def test_the_admin_aside_follows_the_first_admin_page_a_message_names(app, rep):
    """Two admin pages in one fix: a rep reads that each is an admin's where it is named (the first too, not only at
    the longest name)."""
    from colcw_plugin.views.support import page_links

    message = ("Map Riley Rep on Sales rep mapping, then add an alias on Product integration mapping → Manufacturers.")
    with app.test_request_context():
        from flask_login import login_user

        login_user(_user("riley@demo.example"))
        shown = html.unescape(str(page_links(message)))
        login_user(_user("admin@demo.example"))
        for_admin = html.unescape(str(page_links(message)))
    assert shown == ("Map Riley Rep on Sales rep mapping (an admin's page: ask an admin), then add an alias on Product "
                     "integration mapping → Manufacturers (an admin's page: ask an admin).")
    assert ADMIN_ONLY not in for_admin and for_admin.count("<a href=") == 2
