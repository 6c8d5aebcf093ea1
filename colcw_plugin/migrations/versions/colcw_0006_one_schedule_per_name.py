"""One schedule per name

Revision ID: colcw_0006
Revises: colcw_0005
Create Date: 2026-12-04

Two schedules could share a name ("Nightly import" twice, or "Nightly import" and "nightly import"), and the
Scheduled jobs list, the job history and `colcw schedules list` could not tell them apart. A unique index on the
lowered name now refuses a second one, even when two admins save the same name at once in two processes (the forms
and the command line check first and say which schedule has the name; the index settles a race between them).

Names already shared when this revision runs are made different first, so the index can be built: the schedule
made first (lowest id) keeps its name, each later one gets " (2)", " (3)"… after its name (the first number that
makes it unique; the name is cut short to fit 100 characters). Nothing else about them changes: they run as before,
and their past runs keep their history. The downgrade drops the index and leaves the names as they are.
"""
from alembic import op
import sqlalchemy as sa


revision = 'colcw_0006'
down_revision = 'colcw_0005'
branch_labels = None
depends_on = None

INDEX = 'uq_colcw_schedules_name_lower'
NAME_MAX = 100


def _key(name):
    return (name or '').strip().lower()


def upgrade():
    conn = op.get_bind()
    schedules = sa.table('colcw_schedules', sa.column('id', sa.Integer), sa.column('name', sa.String))
    rows = conn.execute(sa.select(schedules.c.id, schedules.c.name).order_by(schedules.c.id)).all()
    taken = {_key(name) for _id, name in rows}
    seen = set()
    for id_, name in rows:
        key = _key(name)
        if key not in seen:
            seen.add(key)
            continue
        base, n = (name or '').strip(), 2
        while True:
            candidate = f"{base[:NAME_MAX - len(f' ({n})')]} ({n})"
            if _key(candidate) not in taken:
                break
            n += 1
        taken.add(_key(candidate))
        seen.add(_key(candidate))
        conn.execute(schedules.update().where(schedules.c.id == id_).values(name=candidate))
    op.create_index(INDEX, 'colcw_schedules', [sa.text('lower(name)')], unique=True)


def downgrade():
    op.drop_index(INDEX, table_name='colcw_schedules')
