"""Keep when an admin asked a run to stop

Revision ID: colcw_0004
Revises: colcw_0003
Create Date: 2026-12-04

A stopping run's pages said when Cancel was pressed from a time written into its message in UTC, whatever zone the
page shows its other times in. The time is now a column (naive UTC, as every other time), and each page shows it in
its own zone; the message keeps who asked. Runs asked to stop before this revision keep the time their message says.

Plain ALTER TABLE on both databases (SQLite has added and dropped columns in place since 3.35): a batch rebuild of
colcw_sync_runs on SQLite would have to take the run items' foreign key off first, as colcw_0002 explains.
"""
from alembic import op
import sqlalchemy as sa


revision = 'colcw_0004'
down_revision = 'colcw_0003'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('colcw_sync_runs', sa.Column('stop_requested_at', sa.DateTime(), nullable=True))


def downgrade():
    op.drop_column('colcw_sync_runs', 'stop_requested_at')
