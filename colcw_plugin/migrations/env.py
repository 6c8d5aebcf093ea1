from alembic import context

from host_stub.migrate import run_env

run_env(context)
