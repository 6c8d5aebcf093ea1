"""Remember the last check of the saved connection

Revision ID: colcw_0007
Revises: colcw_0006
Create Date: 2026-12-04

Saving the connection now runs Test Connection's check on it, and the Connection card says what it found on every
visit: "Connected to <site> as company <id>" with when it was checked, or what ConnectWise refused and what to do.
Three nullable columns on colcw_settings: when it was checked, whether ConnectWise accepted it, and the failure's
text (never a key). A connection saved before this revision shows as not checked until it is saved or tested again.

Plain ALTER TABLE on both databases (SQLite has added and dropped columns in place since 3.35), as colcw_0004.
"""
from alembic import op
import sqlalchemy as sa


revision = 'colcw_0007'
down_revision = 'colcw_0006'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('colcw_settings', sa.Column('checked_at', sa.DateTime(), nullable=True))
    op.add_column('colcw_settings', sa.Column('check_ok', sa.Boolean(), nullable=True))
    op.add_column('colcw_settings', sa.Column('check_message', sa.Text(), nullable=True))


def downgrade():
    op.drop_column('colcw_settings', 'check_message')
    op.drop_column('colcw_settings', 'check_ok')
    op.drop_column('colcw_settings', 'checked_at')
