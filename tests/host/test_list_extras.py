"""What plugins add to a list page, made by host_stub/views/lists.py ListExtras: the cells of its rows, rendered as
the plugin gave them, escaped, and the same empty cells for every row when a column's cells all load after the page;
and the filters of its search form."""

from __future__ import annotations

from host_stub.views.lists import ListExtras


def test_a_column_with_cells_shows_each_rows_tag_escaped_and_an_empty_cell_for_the_others():
    extras = ListExtras("customers", columns=[
        {"key": "crm", "label": "CRM", "cells": {1: {"label": "Linked <ok>", "tone": "good", "href": "/x?a=1&b=2",
                                                       "title": 'said "yes"'}}},
        {"key": "w<", "label": "Other", "cells": {2: {"label": "plain"}}},
    ])

    assert str(extras.column_cells(1)) == (
        '<td data-column="crm"><a href="/x?a=1&amp;b=2" class="tag tone-good" title="said &#34;yes&#34;">'
        'Linked &lt;ok&gt;</a></td><td data-column="w&lt;"></td>')
    assert str(extras.column_cells(2)) == (
        '<td data-column="crm"></td><td data-column="w&lt;"><span class="tag tone-muted">plain</span></td>')
    assert str(extras.column_cells(3)) == '<td data-column="crm"></td><td data-column="w&lt;"></td>'


def test_columns_whose_cells_load_after_the_page_give_every_row_the_same_empty_cells():
    extras = ListExtras("quotes", columns=[{"key": "colcw", "label": "ConnectWise", "cells": {}}])

    first, second = extras.column_cells(1), extras.column_cells(99)
    assert str(first) == str(second) == '<td data-column="colcw"></td>'
    assert ListExtras("orders").column_cells(5) == ""  # no plugin column: nothing added to the row


def test_a_plugins_filter_is_a_labelled_select_with_its_chosen_option_selected_and_every_text_escaped():
    extras = ListExtras("customers", filters=[
        {"name": "cw", "label": "Connect<Wise>", "value": "a&b",
         "options": [{"value": "", "label": "Any status"}, {"value": "a&b", "label": 'Linked "ok"'},
                     {"value": "x", "label": "Missing"}]},
    ])

    assert str(extras.filters_html()) == (
        '<label class="inline-label">Connect&lt;Wise&gt;\n  <select name="cw" data-list-filter>\n    '
        '<option value="">Any status</option><option value="a&amp;b" selected>Linked &#34;ok&#34;</option>'
        '<option value="x">Missing</option>\n  </select></label>')
    none_chosen = ListExtras("quotes", filters=[{"name": "cw", "label": "CW", "value": "",
                                                  "options": [{"value": "", "label": "Any"}, {"value": "x", "label": "X"}]}])
    assert '<option value="" selected>Any</option><option value="x">X</option>' in str(none_chosen.filters_html())
    assert ListExtras("orders").filters_html() == ""  # no plugin filter: nothing in the search form
