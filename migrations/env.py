"""Alembic environment: runs against the URL set by geo.db.alembic_config."""

from alembic import context
from sqlalchemy import create_engine, pool

config = context.config


def include_object(obj, name, type_, reflected, compare_to):
    # PostGIS images ship tiger/topology tables we have no model for: never drop them.
    return not (type_ == "table" and reflected and compare_to is None)


def run_migrations_online() -> None:
    connectable = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, include_object=include_object)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
