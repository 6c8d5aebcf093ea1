"""An import's start by ConnectWise's clock

Revision ID: colcw_0012
Revises: colcw_0011
Create Date: 2026-12-07

The import of the changed companies asked ConnectWise for what changed since the last import's start, taken by the
worker's clock less two minutes. A ConnectWise whose clock was more than that behind stamped a change made just after
an import had read its company before the next import's "since", and no import read it again. An import now keeps its
start by ConnectWise's clock as its answers' Date headers told it (colcw_sync_runs.cw_started_at), and the next one
asks from there. Runs stored before have none: their own start is taken, as before. The downgrade drops the column.
"""
import sqlalchemy as sa
from alembic import op

revision = 'colcw_0012'
down_revision = 'colcw_0011'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('colcw_sync_runs', sa.Column('cw_started_at', sa.DateTime(), nullable=True))


def downgrade():
    # ALTER TABLE … DROP COLUMN on both (SQLite 3.35+), as colcw_0010.
    op.drop_column('colcw_sync_runs', 'cw_started_at')
