"""Remember the callbacks refused since the last one accepted

Revision ID: colcw_0008
Revises: colcw_0007
Create Date: 2026-12-04

A callback refused after its URL's secret matched (a bad signature, a body that is not a callback, a signing key
that could not be fetched) was only logged, so the Connection page kept saying the callbacks were active. Four
nullable columns on colcw_live_settings keep the last refusal's reason and time, how many came and since when;
the next accepted callback clears them. Every process (each web worker) reads them from the database.

Plain ALTER TABLE on both databases (SQLite has added and dropped columns in place since 3.35), as colcw_0007.
"""
from alembic import op
import sqlalchemy as sa


revision = 'colcw_0008'
down_revision = 'colcw_0007'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('colcw_live_settings', sa.Column('refused_reason', sa.String(length=200), nullable=True))
    op.add_column('colcw_live_settings', sa.Column('refused_at', sa.DateTime(), nullable=True))
    op.add_column('colcw_live_settings', sa.Column('refused_count', sa.Integer(), nullable=True))
    op.add_column('colcw_live_settings', sa.Column('refused_since', sa.DateTime(), nullable=True))


def downgrade():
    op.drop_column('colcw_live_settings', 'refused_since')
    op.drop_column('colcw_live_settings', 'refused_count')
    op.drop_column('colcw_live_settings', 'refused_at')
    op.drop_column('colcw_live_settings', 'refused_reason')
