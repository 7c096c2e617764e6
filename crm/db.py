"""Declarative base, constraint naming and the column types every model shares."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments an "INTEGER PRIMARY KEY"; PostgreSQL gets 64-bit ids.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset otherwise)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(so.DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class Timestamps:
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow)
    updated_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


@contextmanager
def plans_kept(connection: sa.Connection) -> Iterator[None]:
    """For bulk INSERTs on PostgreSQL: the foreign-key checks run for each row keep their plan.

    The app's connections plan every prepared statement for its parameters (``force_custom_plan``,
    crm/config.py), and PostgreSQL's foreign-key checks are prepared statements too, so each row
    written planned its checks again: ~20 µs a check against a table of many indexes, half of an
    import's time in the database. A key lookup on a unique index has one plan whatever the
    workspace. The setting is local to the transaction and put back after the block; a failure in
    the block rolls the transaction, and the setting with it, back."""
    if connection.dialect.name != "postgresql":
        yield
        return
    connection.exec_driver_sql("SET LOCAL plan_cache_mode = auto")
    yield
    connection.exec_driver_sql("SET LOCAL plan_cache_mode TO DEFAULT")
