"""crm.db.plans_kept: bulk INSERTs on PostgreSQL let the foreign-key checks keep their plans, and
only inside the block: the rest of the transaction plans every statement for its parameters again."""

import pytest
import sqlalchemy as sa

from crm.db import plans_kept
from crm.extensions import db


def _mode(connection: sa.Connection) -> str:
    return connection.exec_driver_sql("SHOW plan_cache_mode").scalar()


@pytest.mark.postgres
def test_plans_are_kept_inside_the_block_only(app):
    with app.app_context(), db.engine.connect() as connection, connection.begin():
        assert _mode(connection) == "force_custom_plan"
        with plans_kept(connection):
            assert _mode(connection) == "auto"
        assert _mode(connection) == "force_custom_plan"


@pytest.mark.postgres
def test_a_failed_block_leaves_the_next_transaction_planning_per_parameters(app):
    with app.app_context(), db.engine.connect() as connection:
        transaction = connection.begin()
        with pytest.raises(sa.exc.DBAPIError), plans_kept(connection):
            connection.exec_driver_sql("SELECT 1 / 0")
        transaction.rollback()
        assert _mode(connection) == "force_custom_plan"
