"""Migrations and models agree (autogenerate finds nothing to do), and the chain goes down to
an empty database and back up, on whichever database the suite runs against."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from crm.extensions import db
from tests.conftest import owner_engine


def test_models_and_migrations_agree(app):
    with app.app_context():
        engine = owner_engine(app)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_downgrade_to_base_and_upgrade_again(app):
    with app.app_context():
        downgrade(revision="base")
        engine = owner_engine(app)
        with engine.connect() as connection:
            remaining = set(engine.dialect.get_table_names(connection)) - {"alembic_version"}
        upgrade()
    assert remaining == set()
