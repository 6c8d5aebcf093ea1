"""The export checklist asks ConnectWise about the document's lines beside where the export goes (issue 14): against
a real tenant each read is a round trip the rep waits for, on the export page and again on Export now. With a
second on every read, the catalog's look-up arrives while the opportunity's is still being answered, not after."""

from __future__ import annotations

from quote_support import line

LATENCY_MS = 1000


def _arrivals(world, rep_client, doc_id: int) -> dict[str, float]:
    world.sandbox.clear_requests()
    world.sandbox.add_fault(latency_ms=LATENCY_MS, path="apis/3.0/")
    try:
        page = rep_client.get(f"/colcw/documents/{doc_id}/export").get_data(as_text=True)
    finally:
        world.sandbox.clear_faults()
    assert "Its line can be exported." in page and "Creates a new opportunity “Side by side”" in page
    seen = [r for r in world.sandbox.requests() if "apis/3.0/" in r["path"]]
    return {path: min(r["time"] for r in seen if r["path"].endswith(path))
            for path in ("procurement/catalog", "sales/opportunities")}


def test_the_lines_are_looked_up_beside_the_opportunity(world, rep_client):
    doc = world.quote([line("OPT-7010")], name="Side by side")
    rep_client.get(f"/colcw/documents/{doc.id}/export")  # the reference lists read once (kept for a while)
    at = _arrivals(world, rep_client, doc.id)
    # One after another they would arrive a second apart at least (the first one's answer waited for).
    assert abs(at["procurement/catalog"] - at["sales/opportunities"]) < LATENCY_MS / 1000 / 2, at
