"""Billing emails, sent after the change is committed: the first failed payment of a workspace
tells each member who may pay, in their language, by when to update the card."""

from zoneinfo import ZoneInfo

from flask import render_template, url_for
from flask_babel import force_locale, format_date
from flask_babel import gettext as _

from crm.billing import plans, service
from crm.mail import send_mail
from crm.workspaces.models import Workspace


def payment_failed(workspace: Workspace) -> None:
    """To the bound workspace's billing managers (Owners, and roles with ``billing.manage``)."""
    grace_end = plans.grace_ends_at(workspace)
    if grace_end is None:
        return
    # The date as the workspace's people read it: in the workspace's time zone.
    day = grace_end.astimezone(ZoneInfo(workspace.timezone or "UTC")).date()
    link = url_for("ws.billing.page", workspace_slug=workspace.slug, _external=True)
    for member in service.billing_managers():
        user = member.user
        with force_locale(user.locale or "en"):
            subject = _("Payment failed for %(workspace)s on Kehu", workspace=workspace.name)
            text = render_template("billing/email/payment_failed.txt", user=user, workspace=workspace,
                                   date=format_date(day, "long"), link=link)  # fmt: skip
        send_mail(user.email, subject, text)
