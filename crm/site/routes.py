import re
from email import message_from_bytes, policy
from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, render_template
from flask_login import current_user

from crm.extensions import db
from crm.workspaces.service import home_url_for

bp = Blueprint("site", __name__)
dev_bp = Blueprint("dev", __name__, url_prefix="/dev")

URL_PATTERN = re.compile(r"(https?://[^\s<>\"]+)")


@bp.get("/")
def index():
    workspace_url = home_url_for(current_user) if current_user.is_authenticated else None
    return render_template("site/landing.html", workspace_url=workspace_url)


@bp.get("/healthz")
def healthz():
    """For load balancers: 200 when the database answers, 503 otherwise."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="unavailable", database="down"), 503
    return jsonify(status="ok", database="up")


@dev_bp.get("/outbox")
def outbox():
    """Development only: the mail that would have been sent, newest first."""
    folder = Path(current_app.config["OUTBOX_DIR"])
    files = sorted(folder.glob("*.eml"), reverse=True)[:50] if folder.exists() else []
    messages = []
    for path in files:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        body = message.get_body(preferencelist=("plain",)).get_content()
        messages.append(
            {
                "to": message["To"],
                "subject": message["Subject"],
                "date": message["Date"],
                "parts": URL_PATTERN.split(body),
            }
        )
    return render_template("dev/outbox.html", messages=messages)
