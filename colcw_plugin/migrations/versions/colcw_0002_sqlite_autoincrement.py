"""Run and schedule ids are never reused on SQLite (AUTOINCREMENT)

Revision ID: colcw_0002
Revises: colcw_0001
Create Date: 2026-12-04

A run's id is what people and open pages go by ("run #12", its progress, its RQ job) and a schedule's is in the
addresses of its Edit, Pause and Delete buttons. Without AUTOINCREMENT, SQLite hands out max(id) + 1, so after Reset
deleted every run the next run was "run #1" again. SQLite cannot add AUTOINCREMENT to a table: both are rebuilt,
rows kept. The run items' foreign key to the runs is taken off while the runs table is rebuilt and put back
after: with foreign keys on (the host turns them on for every connection, and that cannot change inside the
migration's transaction), dropping the old runs table would otherwise cascade and delete every run's items.

PostgreSQL: nothing to do (a sequence never hands out an id twice).
"""
from alembic import op


revision = 'colcw_0002'
down_revision = 'colcw_0001'
branch_labels = None
depends_on = None

ITEMS_FK = 'fk_colcw_sync_items_run_id_colcw_sync_runs'


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    with op.batch_alter_table('colcw_sync_items', recreate='always') as batch_op:
        batch_op.drop_constraint(ITEMS_FK, type_='foreignkey')
    for table in ('colcw_sync_runs', 'colcw_schedules'):
        with op.batch_alter_table(table, recreate='always',
                                  table_kwargs={'sqlite_autoincrement': autoincrement}):
            pass
    with op.batch_alter_table('colcw_sync_items', recreate='always') as batch_op:
        batch_op.create_foreign_key(ITEMS_FK, 'colcw_sync_runs', ['run_id'], ['id'], ondelete='CASCADE')


def upgrade():
    _rebuild(True)


def downgrade():
    _rebuild(False)
