"""The host's own lists run a constant number of SQL statements whatever their page size."""

from __future__ import annotations

import pytest
from budget_support import statements

from helpers import make_test_app
from host_stub import services


@pytest.mark.parametrize("path", ["/quotes/", "/orders/", "/customers/"])
def test_the_hosts_lists_run_a_constant_number_of_statements_whatever_the_page_size(app, pg_url, redis_url, path):
    customer = services.save_customer({"account_number": "PAGE1", "name": "Paging Co"}, [{"first_name": "Al"}])
    bare = make_test_app(pg_url, redis_url, plugins=[])
    counts = []
    for _ in range(2):
        for _ in range(12):
            quote = services.save_document({"customer_id": customer.id, "sales_rep_id": 1},
                                           [{"item_number": "L1", "price": 3}, {"item_number": "L2", "price": 4}])
            if path == "/orders/":
                services.convert_quote(quote.id)
            if path == "/customers/":
                services.save_customer({"account_number": f"C{quote.id}", "name": f"Customer {quote.id}"})
        counts.append((len(statements(bare, path)[0]), len(statements(app, path)[0])))
    assert counts[0] == counts[1], counts  # 12 rows and 24 rows cost the same
