"""The demo workspace `make run` loads (`flask crm seed-demo`): someone trying Kehu signs in and
finds customers, follow-ups, deals and complaints on every page, classified as Kehu classifies."""

import sqlalchemy as sa

from crm.cli import DEMO_EMAIL, DEMO_PASSWORD, crm_cli
from crm.contacts.models import Contact
from crm.deals.models import Deal
from crm.extensions import db
from crm.tenancy import workspace_scope
from crm.tickets.models import Ticket
from crm.workspaces.models import Workspace


def seed(app) -> str:
    result = app.test_cli_runner().invoke(crm_cli, ["seed-demo"])
    assert result.exception is None, repr(result.exception)
    return result.output


def test_the_demo_has_customers_follow_ups_deals_and_complaints(app, client, auth):
    assert "Demo data loaded." in seed(app)
    assert auth.login(DEMO_EMAIL, DEMO_PASSWORD).status_code == 303
    home = client.get("/w/demo-co/care/").get_data(as_text=True)  # the home page's care lists
    assert "Call 张伟 before he goes quiet for good" in home  # an overdue follow-up of the owner's
    assert "Birthdays today and in the next 7 days" in home and "Chen Jing" in home.split("Birthdays")[1]
    assert "张伟" in home.split("gone quiet")[1]  # a potential customer turned dormant
    contacts = client.get("/w/demo-co/contacts/").get_data(as_text=True)
    assert "15 contacts" in contacts and "Oliver Smith" in contacts and "王芳" in contacts
    views = client.get("/w/demo-co/contacts/views/").get_data(as_text=True)
    assert "VIP customers" in views and "Potential customers" in views  # the team's saved views
    assert "Blue Harbor: new hotel tea menu" in client.get("/w/demo-co/deals/").get_data(as_text=True)
    assert "Broken teapot lid in the last delivery" in client.get("/w/demo-co/tickets/").get_data(as_text=True)
    with app.app_context():
        workspace = db.session.scalar(sa.select(Workspace).where(Workspace.slug == "demo-co"))
        with workspace_scope(workspace.id):
            contacts = db.session.scalars(sa.select(Contact)).all()
            classes = {c.name: (c.tier, c.level, c.lifecycle) for c in contacts}
            ids = {c.name: c.id for c in contacts}
            won = db.session.scalars(sa.select(Deal).where(Deal.status == "won")).all()
            rated = db.session.scalars(sa.select(Ticket.rating).where(Ticket.rating.isnot(None))).all()
    assert classes["Chen Jing"] == ("A", "vip", "active")
    assert classes["王芳"] == ("B", "potential", "active")
    assert classes["Sophie Martin"][2] == "new" and classes["刘洋"][2] == "churned"
    assert classes["James Taylor"] == (None, "ordinary", "lead")
    assert [deal.title for deal in won] == ["Jade Garden: winter pu-erh"] and rated == [5]
    chen = client.get(f"/w/demo-co/contacts/{ids['Chen Jing']}").get_data(as_text=True)
    history = chen.split('id="history-title"')[1]
    assert "Demo Owner · Added a contact" in history and "Someone" not in history  # by the owner, not by nobody
    assert history.count("Customer class changed") == 1  # classified once, after the purchases loaded


def test_the_demo_loads_once_and_its_team_signs_in(app, client, auth):
    seed(app)
    assert "Demo data already present." in seed(app)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Workspace)) == 1
    assert auth.login("li.wei@demo-co.example.com", DEMO_PASSWORD).status_code == 303
    tasks = client.get("/w/demo-co/tasks/").get_data(as_text=True)
    assert "Send Chen Jing the tasting samples" in tasks  # the sales rep's own overdue task
