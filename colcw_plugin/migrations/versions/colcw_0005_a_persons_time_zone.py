"""Keep the time zone each person shows colcw's times in

Revision ID: colcw_0005
Revises: colcw_0004
Create Date: 2026-12-04

"Show times in" was a cookie of the admin pages' path: reps' pages (a run's log, the lists' run panel, the customer
and document panels) always showed UTC, and the choice stayed in one browser. It is now a row per person who chose,
read on every colcw page. An admin's earlier cookie still applies on the admin pages until they choose again.
"""
from alembic import op
import sqlalchemy as sa


revision = 'colcw_0005'
down_revision = 'colcw_0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('colcw_time_zone_choices',
    sa.Column('user_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('zone', sa.String(length=64), nullable=False),
    sa.Column('chosen_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_colcw_time_zone_choices'))
    )


def downgrade():
    op.drop_table('colcw_time_zone_choices')
