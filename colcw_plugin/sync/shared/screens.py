"""Links to ConnectWise's own screens, for pages that name a ConnectWise record."""

from __future__ import annotations

from urllib.parse import quote


def opportunity_url(site_url: str, company_id: str, opportunity_id: int) -> str:
    """The ConnectWise screen of an opportunity (the "open record" router every tenant has)."""
    return (f"{site_url.rstrip('/')}/v4_6_release/services/system_io/router/openrecord.rails"
            f"?recordType=OpportunityFV&recid={int(opportunity_id)}&companyName={quote(company_id)}")
