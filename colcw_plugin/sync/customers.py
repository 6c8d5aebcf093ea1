"""Customer and contact synchronisation (export to and import from ConnectWise)."""
