"""The synchronisation services and their jobs: plain functions over a SQLAlchemy session and a
ConnectWise client (no Flask, no RQ outside :mod:`.jobs.queue`, no composition root)."""
