"""Alembic environment. Migrations run as the table owner: MIGRATION_DATABASE_URL when set
(PostgreSQL with separate owner and app roles), otherwise the app's own DATABASE_URL (SQLite)."""

import logging
from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context
from flask import current_app

from crm import sqlite_connections
from crm.search import is_search_index

config = context.config
fileConfig(config.config_file_name, disable_existing_loggers=False)  # keep the app's loggers
logger = logging.getLogger("alembic.env")

target_metadata = current_app.extensions["migrate"].db.metadata


def _engine() -> sa.Engine:
    url = current_app.config.get("MIGRATION_DATABASE_URL")
    if url:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        if engine.dialect.name == "sqlite":
            sqlite_connections(engine)
        return engine
    return current_app.extensions["migrate"].db.engine


def include_name(name, type_, parent_names) -> bool:
    return not is_search_index(name, type_)


def _options(connection) -> dict:
    return {
        "connection": connection,
        "target_metadata": target_metadata,
        "compare_type": True,
        "include_name": include_name,
        # SQLite cannot ALTER most things; batch mode recreates the table instead.
        "render_as_batch": connection.dialect.name == "sqlite",
        **current_app.extensions["migrate"].configure_args,
    }


def run_migrations_offline() -> None:
    context.configure(url=str(_engine().url), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def skip_empty(ctx, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    with _engine().connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode drops and recreates tables; with foreign keys enforced, dropping "users"
            # would cascade-delete every membership. The pragma only changes outside a transaction.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            context.configure(process_revision_directives=skip_empty, **_options(connection))
            with context.begin_transaction():
                context.run_migrations()
            if sqlite:
                problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                connection.commit()
                if problems:
                    raise RuntimeError(f"migration left broken foreign keys: {problems[:5]}")
        finally:
            if sqlite:
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
