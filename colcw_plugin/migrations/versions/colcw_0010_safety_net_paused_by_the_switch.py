"""Which safety-net schedules switching Live updates off disabled

Revision ID: colcw_0010
Revises: colcw_0009
Create Date: 2026-12-06

Switching Live updates off disabled one safety-net schedule of each mode (changes, deletions): another enabled one of
that mode (an admin's own, at other minutes) kept running while they were off. Off now disables every one, and marks
each it disabled (colcw_schedules.paused_by_live_switch); switching on enables those again, and no other (not a copy
an admin disabled themselves). Schedules stored before are unmarked: switching on then enables one schedule of a mode
that has none enabled, as before. Enabling or disabling a schedule on the jobs page or the command line unmarks it.
The downgrade drops the column.
"""
import sqlalchemy as sa
from alembic import op

revision = 'colcw_0010'
down_revision = 'colcw_0009'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('colcw_schedules', sa.Column('paused_by_live_switch', sa.Boolean(), nullable=False,
                                               server_default=sa.false()))


def downgrade():
    # ALTER TABLE … DROP COLUMN on both (SQLite 3.35+): a batch copy of the table would lose the name's expression
    # index (colcw_0006).
    op.drop_column('colcw_schedules', 'paused_by_live_switch')
