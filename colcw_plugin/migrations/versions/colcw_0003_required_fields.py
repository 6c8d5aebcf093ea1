"""Remember the opportunity fields ConnectWise refused an export for because the tenant makes them mandatory

Revision ID: colcw_0003
Revises: colcw_0002
Create Date: 2026-12-04

The pre-flight check, the New opportunities section and the rep's export checklist say "choose a type" from this
row, in every process, until a type is chosen or an opportunity is created without one.
"""
from alembic import op
import sqlalchemy as sa


revision = 'colcw_0003'
down_revision = 'colcw_0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('colcw_required_fields',
    sa.Column('field', sa.String(length=20), nullable=False),
    sa.Column('opportunity_name', sa.String(length=100), nullable=False),
    sa.Column('refused_to', sa.String(length=10), nullable=False),
    sa.Column('document_number', sa.String(length=50), nullable=False),
    sa.Column('refused_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('field', name=op.f('pk_colcw_required_fields'))
    )


def downgrade():
    op.drop_table('colcw_required_fields')
