"""The versions a callback naming colcw's own member carried, kept on its hint

Revision ID: colcw_0011
Revises: colcw_0010
Create Date: 2026-12-06

A callback naming colcw's API member whose record colcw had not linked yet waited in the web request (up to 1.5 s,
polling the link) for the export that wrote it to commit, so colcw's own write coming back was not read back. Now the
callback is recorded at once with the version of the record it carries (colcw_inbound_hints.own_versions, while every
callback pending for the record is such a one), and the live-update run tells colcw's own writes from others' when it
takes the hint. Hints stored before have none: they are read, as before. The downgrade drops the column.
"""
import sqlalchemy as sa
from alembic import op

revision = 'colcw_0011'
down_revision = 'colcw_0010'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('colcw_inbound_hints', sa.Column('own_versions', sa.Text(), nullable=True))


def downgrade():
    # ALTER TABLE … DROP COLUMN on both (SQLite 3.35+), as colcw_0010.
    op.drop_column('colcw_inbound_hints', 'own_versions')
