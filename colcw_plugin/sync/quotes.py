"""Quote and sales order export to ConnectWise opportunities."""
