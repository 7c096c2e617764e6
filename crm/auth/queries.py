"""Read queries of accounts."""

import sqlalchemy as sa

from crm.auth.models import SignIn


def recent_sign_ins(user_id: int, limit: int = 10) -> sa.Select:
    """The user's latest sign-in attempts, newest first (served by ix_sign_ins_user_id_created_at)."""
    return (
        sa.select(SignIn)
        .where(SignIn.user_id == user_id)
        .order_by(SignIn.created_at.desc(), SignIn.id.desc())
        .limit(limit)
    )
