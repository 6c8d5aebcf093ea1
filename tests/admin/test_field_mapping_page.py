"""The Mapping page renders the same definitions the sync code uses (Appendix B, §5.2)."""

from __future__ import annotations

import html as html_lib

from colcw_plugin.setup import field_mapping as mapping


def test_mapping_page_renders_every_rule_and_document_type(admin_client):
    page = html_lib.unescape(admin_client.get("/admin/integration/connectwise/mapping").get_data(as_text=True))
    for table in mapping.TABLES:
        section = page[page.index(f'id="mapping-{table.key}"'):]
        section = section[:section.index("</section>")]
        rows = section.count("<tr>") - 1  # minus the header row
        assert rows == len(table.rules), table.key
        for rule in table.rules:
            assert f"<td>{rule.host}</td>" in section and f"<td>{rule.cw}</td>" in section
    for doc_type in mapping.DOCUMENT_TYPES:
        assert f"<tr><td>{doc_type.host}</td><td>{doc_type.cw}</td><td>{doc_type.action}</td></tr>" in page
    assert "<td>BC</td><td>British Columbia</td>" in page
