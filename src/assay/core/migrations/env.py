"""Alembic environment: runs on the connection that ``assay.core.migrate`` hands it."""

from alembic import context

from assay.domains import load_models

config = context.config
target_metadata = load_models()
connection = config.attributes["connection"]

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
