"""Fields an admin adds to contacts, companies or deals. Values live in the record's ``custom`` JSON
column (JSONB with a GIN index on PostgreSQL, so equality filters stay indexed), keyed by the
field's ``key``, which never changes once made."""

import sqlalchemy as sa
import sqlalchemy.orm as so

from crm.db import BigId, Timestamps
from crm.extensions import db
from crm.i18n import lazy_gettext as _l
from crm.tenancy import TenantScoped

ENTITIES = {"contact": _l("Contacts"), "company": _l("Companies"), "deal": _l("Deals")}
KINDS = {
    "text": _l("Text"),
    "long_text": _l("Long text"),
    "number": _l("Number"),
    "date": _l("Date"),
    "select": _l("One of a list"),
    "multi_select": _l("Several of a list"),
    "checkbox": _l("Yes or no"),
    "url": _l("Web address"),
}
WITH_OPTIONS = ("select", "multi_select")
FILTERABLE = ("text", "select", "multi_select", "checkbox", "url")
RANGED = ("number", "date")  # filtered by a range: cf_<key>_from and cf_<key>_to


class CustomField(TenantScoped, Timestamps, db.Model):
    __tablename__ = "custom_fields"
    __scoped_table_args__ = (
        sa.UniqueConstraint("workspace_id", "entity", "key"),
        sa.Index("ix_custom_fields_workspace_id_entity_position", "workspace_id", "entity", "position"),
    )

    id: so.Mapped[int] = so.mapped_column(BigId, primary_key=True)
    entity: so.Mapped[str] = so.mapped_column(sa.String(10))
    key: so.Mapped[str] = so.mapped_column(sa.String(40))
    label: so.Mapped[str] = so.mapped_column(sa.String(80))
    kind: so.Mapped[str] = so.mapped_column(sa.String(15))
    options: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    required: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    sensitive: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    position: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)

    @property
    def filterable(self) -> bool:
        return self.kind in FILTERABLE and not self.sensitive
