"""Deals: the default pipeline, the board (columns, totals, rotting, a fixed number of queries),
the reorder post and the move buttons, create and edit with bad input, won (with a purchase that
reclassifies the customer), lost with a reason, reopen, delete, permissions and isolation."""

import re
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.contacts.models import Company, Contact
from crm.db import utcnow
from crm.deals.models import Deal, DealStageChange, LostReason, Pipeline, Stage
from crm.extensions import db
from crm.purchases.models import Purchase
from crm.tenancy import workspace_scope
from tests.conftest import Auth, post, sent_by_browser
from tests.factories import (
    assign_role,
    default_pipeline,
    lost_reason_id,
    make_company,
    make_contact,
    make_deal,
    make_member,
    make_pipeline,
    make_role,
    make_user,
)
from tests.query_counter import count_queries
from tests.test_pages import assert_valid_page

BOARD = {"HX-Request": "true", "HX-Target": "deal-board"}
DETAILS = {"HX-Request": "true", "HX-Target": "deal-details"}


def deals_url(ws, rest: str = "") -> str:
    return f"/w/{ws.slug}/deals/{rest}"


def stored(app, ws, deal_id: int) -> Deal:
    with app.app_context(), workspace_scope(ws.id):
        deal = db.session.get(Deal, deal_id)
        db.session.expunge(deal)
        return deal


def placed(app, ws, *deal_ids: int) -> list[tuple[int, int]]:
    """(stage id, position) of each deal."""
    with app.app_context(), workspace_scope(ws.id):
        return [(deal.stage_id, deal.position) for deal in (db.session.get(Deal, i) for i in deal_ids)]


def history(app, ws, deal_id: int) -> list[tuple[int | None, int]]:
    with app.app_context(), workspace_scope(ws.id):
        changes = db.session.scalars(
            sa.select(DealStageChange).where(DealStageChange.deal_id == deal_id).order_by(DealStageChange.id)
        )
        return [(change.from_stage_id, change.to_stage_id) for change in changes]


def audit_actions(app, ws, deal_id: int) -> list[str]:
    with app.app_context(), workspace_scope(ws.id):
        return list(
            db.session.scalars(
                sa.select(AuditEntry.action)
                .where(AuditEntry.record_type == "deal", AuditEntry.record_id == deal_id)
                .order_by(AuditEntry.id)
            )
        )


def test_every_workspace_starts_with_the_sales_pipeline(app, ws_a):
    with app.app_context(), workspace_scope(ws_a.id):
        pipelines = list(db.session.scalars(sa.select(Pipeline.name)))
        stages = db.session.execute(sa.select(Stage.name, Stage.probability, Stage.kind).order_by(Stage.position)).all()
    assert pipelines == ["Sales"]
    assert stages == [("Lead in", 10, "open"), ("Qualified", 30, "open"), ("Proposal", 60, "open"),
                      ("Negotiation", 80, "open"), ("Won", 100, "won"), ("Lost", 0, "lost")]  # fmt: skip


def test_board_shows_columns_totals_weighted_values_and_cards(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    make_deal(app, ws_a, "Tea for Acme", sales.stages["Qualified"], 1000, contact_id=ann, company_id=acme,
              owner_id=ws_a.membership_id)  # fmt: skip
    make_deal(app, ws_a, "Cups", sales.stages["Qualified"], 500)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(deals_url(ws_a)).get_data(as_text=True)
    for name in ("Lead in", "Qualified", "Proposal", "Negotiation"):
        assert name in page
    assert ">Won<" not in page  # outcome stages are not columns
    assert "Tea for Acme" in page and "Ann Lee · Acme Ltd" in page and "Alice" in page
    assert "$1,500.00" in page  # Qualified's total
    assert "$450.00" in page  # weighted at 30%
    assert f'name="stage-{sales.stages["Qualified"]}" value=' in page
    assert "sortable-1.15.7.min.js" in page
    partial = client.get(deals_url(ws_a, f"pipelines/{sales.id}"), headers=BOARD).get_data(as_text=True)
    assert partial.startswith('<div id="deal-board"') and "<html" not in partial


def test_a_deal_untouched_past_the_stage_limit_is_flagged(app, client, auth, ws_a):
    deal_id = make_deal(app, ws_a, "Old lead")
    make_deal(app, ws_a, "Fresh lead")
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Deal, deal_id).stage_entered_at = utcnow() - timedelta(days=45)
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    page = client.get(deals_url(ws_a)).get_data(as_text=True)
    assert page.count("Stuck for 45 days in this stage") == 1
    assert page.count("deal-card rotting") == 1


def test_board_queries_do_not_grow_with_the_cards(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    contact = make_contact(app, ws_a, "Ann Lee")
    for number in range(60):
        make_deal(app, ws_a, f"Deal {number}", sales.open[number % 4], number, contact_id=contact,
                  owner_id=ws_a.membership_id)  # fmt: skip
    auth.login(ws_a.email, ws_a.password)
    client.get(f"/w/{ws_a.slug}/")  # the workspace's slug is remembered from now on
    with count_queries(app) as queries:
        page = client.get(deals_url(ws_a)).get_data(as_text=True)
    assert page.count('class="deal-card') == 60
    assert len(queries) == 5, queries  # member, pipelines with stages, cards (with customers), totals, members
    with count_queries(app) as queries:
        client.get(deals_url(ws_a, f"pipelines/{sales.id}"), headers=BOARD)
    assert len(queries) == 5, queries  # the same for the board alone (the members name the owners)


def test_a_long_column_shows_its_first_cards_and_all_on_demand(app, client, auth, ws_a, monkeypatch):
    from crm.deals import queries as deal_queries

    monkeypatch.setattr(deal_queries, "CARDS_PER_COLUMN", 3)  # 25 in use; 3 keeps the test small
    sales = default_pipeline(app, ws_a)
    lead, qualified = sales.stages["Lead in"], sales.stages["Qualified"]
    made = [make_deal(app, ws_a, f"Lead {number}", lead, 100) for number in range(5)]
    make_deal(app, ws_a, "Qualified one", qualified, 7)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(deals_url(ws_a)).get_data(as_text=True)
    assert [f"Lead {number}" in page for number in range(5)] == [True, True, True, False, False]
    assert "2 more deals" in page and "$500.00" in page  # the count and totals cover every deal
    whole = client.get(deals_url(ws_a, f"pipelines/{sales.id}"), query_string={"all": lead}).get_data(as_text=True)
    assert all(f"Lead {number}" in whole for number in range(5)) and "more deal" not in whole
    # Dragging among the shown cards keeps the hidden ones after them, in their order.
    post(client, deals_url(ws_a, f"pipelines/{sales.id}/order"), {f"stage-{lead}": [made[1], made[0], made[2]]})
    with app.app_context(), workspace_scope(ws_a.id):
        order = list(db.session.scalars(sa.select(Deal.id).where(Deal.stage_id == lead).order_by(Deal.position)))
    assert order == [made[1], made[0], made[2], made[3], made[4]]
    # A deal dragged into the shown part lands there, before the hidden ones.
    other = make_deal(app, ws_a, "From qualified", qualified, 1)
    post(client, deals_url(ws_a, f"pipelines/{sales.id}/order"),
         {f"stage-{lead}": [made[1], other, made[0], made[2]], f"stage-{qualified}": []})  # fmt: skip
    with app.app_context(), workspace_scope(ws_a.id):
        order = list(db.session.scalars(sa.select(Deal.id).where(Deal.stage_id == lead).order_by(Deal.position)))
    assert order == [made[1], other, made[0], made[2], made[3], made[4]]


def test_reorder_moves_between_and_within_columns_and_records_history(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    lead, qualified = sales.stages["Lead in"], sales.stages["Qualified"]
    a, b, c = (make_deal(app, ws_a, title, lead) for title in ("A", "B", "C"))
    d = make_deal(app, ws_a, "D", qualified)
    auth.login(ws_a.email, ws_a.password)
    order = {f"stage-{lead}": [str(c), str(a)], f"stage-{qualified}": [str(d), str(b)]}
    response = post(client, deals_url(ws_a, f"pipelines/{sales.id}/order"), order, headers=BOARD)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.startswith('<div id="deal-board"')
    assert placed(app, ws_a, c, a, d, b) == [(lead, 0), (lead, 1), (qualified, 0), (qualified, 1)]
    assert history(app, ws_a, b) == [(None, lead), (lead, qualified)]
    assert history(app, ws_a, a) == [(None, lead)]  # reordered within its column: no stage change
    assert audit_actions(app, ws_a, b) == ["deal.created", "deal.moved"]
    assert html.index(">C<") < html.index(">A<") < html.index(">D<") < html.index(">B<")


def test_reorder_refuses_other_pipelines_stages_and_ignores_foreign_deals(app, client, auth, ws_a, ws_b):
    sales = default_pipeline(app, ws_a)
    partners = make_pipeline(app, ws_a)
    lead = sales.stages["Lead in"]
    mine = make_deal(app, ws_a, "Mine", lead)
    other_pipeline_deal = make_deal(app, ws_a, "Partner deal", partners.open[0])
    theirs = make_deal(app, ws_b, "Theirs")
    b_stage = default_pipeline(app, ws_b).stages["Qualified"]
    auth.login(ws_a.email, ws_a.password)
    url = deals_url(ws_a, f"pipelines/{sales.id}/order")
    before = placed(app, ws_a, mine, other_pipeline_deal)
    for foreign in (partners.open[1], b_stage, sales.stages["Won"]):
        response = post(client, url, {f"stage-{lead}": [str(mine)], f"stage-{foreign}": [str(mine)]}, headers=BOARD)
        assert response.status_code == 404
        assert placed(app, ws_a, mine, other_pipeline_deal) == before
    qualified = sales.stages["Qualified"]
    response = post(client, url, {f"stage-{qualified}": [str(other_pipeline_deal), str(theirs), str(mine), "x"]})
    assert response.status_code == 303  # a plain post is sent back to the board
    assert placed(app, ws_a, mine, other_pipeline_deal) == [(qualified, 0), before[1]]
    assert placed(app, ws_b, theirs) == [(default_pipeline(app, ws_b).stages["Lead in"], 0)]
    assert post(client, deals_url(ws_a, f"pipelines/{default_pipeline(app, ws_b).id}/order"), {}).status_code == 404


def test_cards_escape_titles_and_names(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    ann = make_contact(app, ws_a, "Ann <i>Lee</i>")
    make_deal(app, ws_a, '<img src=x onerror="alert(1)">', sales.stages["Proposal"], contact_id=ann)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(deals_url(ws_a)).get_data(as_text=True)
    title = "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;"
    assert f">{title}</a>" in page and "<img src=x" not in page
    assert f"Move {title} to </span>" in page  # both move buttons' hidden words
    assert "Ann &lt;i&gt;Lee&lt;/i&gt;" in page and "<i>Lee" not in page
    assert_valid_page(page, "board")


def test_cards_name_their_owner_even_one_who_left(app, client, auth, ws_a):
    # Owners are named from the workspace's members, not joined in the card query (crm/deals/queries.py).
    from crm.auth.models import User
    from crm.workspaces.models import Membership

    sales = default_pipeline(app, ws_a)
    sam = make_member(app, ws_a, "sam@alpha.example.com", role="sales")
    make_deal(app, ws_a, "Kept deal", sales.stages["Proposal"], owner_id=sam.membership_id)
    make_deal(app, ws_a, "Nobody's deal", sales.stages["Proposal"])
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Membership, sam.membership_id).status = "disabled"
        db.session.scalar(sa.select(User).where(User.email == sam.email)).name = "Sam <b>"
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    page = client.get(deals_url(ws_a)).get_data(as_text=True)
    cards = page.split('class="deal-card')
    kept = next(card for card in cards if "Kept deal" in card)
    assert '<p class="deal-meta">Sam &lt;b&gt;' in kept and "<b>" not in kept
    assert '<p class="deal-meta">Nobody' in next(card for card in cards if "Nobody&#39;s deal" in card)
    assert f'<option value="{sam.membership_id}">' not in page  # disabled: not offered in the owner filter


def test_move_buttons_go_to_the_next_and_previous_open_stage(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    deal_id = make_deal(app, ws_a, "Cups", sales.stages["Negotiation"])
    auth.login(ws_a.email, ws_a.password)
    page = client.get(deals_url(ws_a)).get_data(as_text=True)
    assert 'Move Cups to </span><span aria-hidden="true">←</span> Proposal' in page
    assert "move?direction=next" not in page.split(f'id="deal-{deal_id}"')[1].split("</li>")[0]  # last open stage
    response = post(client, deals_url(ws_a, f"{deal_id}/move?direction=previous"), {})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/deals/pipelines/{sales.id}")
    assert placed(app, ws_a, deal_id)[0][0] == sales.stages["Proposal"]
    response = post(client, deals_url(ws_a, f"{deal_id}/move?direction=next"), {}, headers=BOARD)
    assert response.status_code == 200 and 'id="move-next-' not in response.get_data(as_text=True)
    assert placed(app, ws_a, deal_id)[0][0] == sales.stages["Negotiation"]
    beyond = post(client, deals_url(ws_a, f"{deal_id}/move?direction=next"), {}, headers=BOARD)
    assert beyond.status_code == 200 and "This deal cannot move that way." in beyond.headers["HX-Trigger"]
    assert post(client, deals_url(ws_a, f"{deal_id}/move?direction=sideways"), {}).status_code == 303
    assert placed(app, ws_a, deal_id)[0][0] == sales.stages["Negotiation"]


def test_a_board_loaded_before_a_colleague_moved_a_deal_does_not_move_it_back(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    lead, qualified, proposal = sales.stages["Lead in"], sales.stages["Qualified"], sales.stages["Proposal"]
    cups, tea = make_deal(app, ws_a, "Cups", lead), make_deal(app, ws_a, "Tea", lead)
    bo = make_member(app, ws_a, "bo@alpha.example.com", role="manager")
    auth.login(ws_a.email, ws_a.password)
    stale = client.get(deals_url(ws_a)).get_data(as_text=True)  # Alice's board: both deals in "Lead in"
    sent = re.findall(rf'name="stage-{lead}" value="([^"]+)"', stale)
    assert len(sent) == 2
    with app.test_client() as bos:  # meanwhile Bo moves Cups on to Proposal
        Auth(bos).login(bo.email, bo.password)
        for _step in range(2):
            assert post(bos, deals_url(ws_a, f"{cups}/move?direction=next"), {}).status_code == 303
    assert placed(app, ws_a, cups)[0][0] == proposal
    # Alice drags Tea above Cups on her stale board: Tea moves, Cups stays where Bo put it.
    response = post(client, deals_url(ws_a, f"pipelines/{sales.id}/order"), {f"stage-{lead}": sent[::-1]},
                    headers=BOARD)  # fmt: skip
    assert response.status_code == 200
    assert placed(app, ws_a, cups, tea) == [(proposal, 0), (lead, 0)]
    assert "1 deal had been moved by someone else since the board was loaded" in response.headers["HX-Trigger"]
    assert history(app, ws_a, cups) == [(None, lead), (lead, qualified), (qualified, proposal)]
    # Her stale keyboard button ("Cups → Qualified") does not move it on from Proposal either.
    move = re.search(rf'id="move-next-{cups}" formaction="([^"]+)"', stale).group(1).replace("&amp;", "&")
    response = post(client, move, {}, headers=BOARD)  # the board as it is now comes back, and says why
    assert response.status_code == 200 and "moved by someone else" in response.headers["HX-Trigger"]
    assert placed(app, ws_a, cups)[0][0] == proposal
    now = response.get_data(as_text=True)  # Cups shown in Proposal, its buttons from there
    assert f'name="stage-{proposal}" value="{cups}:{proposal}"' in now
    # From the board as it is now, both work.
    board = client.get(deals_url(ws_a)).get_data(as_text=True)
    move = re.search(rf'id="move-next-{cups}" formaction="([^"]+)"', board).group(1).replace("&amp;", "&")
    assert post(client, move, {}, headers=BOARD).status_code == 200
    assert placed(app, ws_a, cups)[0][0] == sales.stages["Negotiation"]


def test_an_edit_form_opened_before_a_move_saves_without_moving_the_deal_back(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    lead, qualified = sales.stages["Lead in"], sales.stages["Qualified"]
    deal_id = make_deal(app, ws_a, "Cups", lead)
    auth.login(ws_a.email, ws_a.password)
    sent = sent_by_browser(client.get(deals_url(ws_a, f"{deal_id}/edit"), headers=DETAILS).get_data(as_text=True))
    assert sent["stage_id"] == str(lead)
    assert post(client, deals_url(ws_a, f"{deal_id}/move?direction=next"), {}).status_code == 303  # the board
    response = post(client, deals_url(ws_a, str(deal_id)), {**sent, "title": "Cups, more"}, headers=DETAILS)
    assert response.status_code == 200
    assert (stored(app, ws_a, deal_id).title, placed(app, ws_a, deal_id)[0][0]) == ("Cups, more", qualified)
    assert history(app, ws_a, deal_id) == [(None, lead), (lead, qualified)]
    # A stage chosen in the form still moves it.
    response = post(client, deals_url(ws_a, str(deal_id)), {**sent, "stage_id": str(sales.stages["Proposal"])},
                    headers=DETAILS)  # fmt: skip
    assert response.status_code == 200 and placed(app, ws_a, deal_id)[0][0] == sales.stages["Proposal"]


def test_create_a_deal_from_a_contact_page(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    sales = default_pipeline(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    contact_page = client.get(f"/w/{ws_a.slug}/contacts/{ann}").get_data(as_text=True)
    assert f"/deals/new?contact={ann}" in contact_page
    company_page = client.get(f"/w/{ws_a.slug}/companies/{acme}").get_data(as_text=True)
    assert f"/deals/new?company={acme}" in company_page
    from_company = client.get(deals_url(ws_a, f"new?company={acme}")).get_data(as_text=True)
    assert f'name="company_id" id="company_id" value="{acme}"' in from_company and 'value="Acme Ltd"' in from_company
    form = client.get(deals_url(ws_a, f"new?contact={ann}")).get_data(as_text=True)  # pickers (test_deals_list.py)
    assert f'name="contact_id" id="contact_id" value="{ann}"' in form and 'value="Ann Lee"' in form
    assert f'name="company_id" id="company_id" value="{acme}"' in form and 'value="Acme Ltd"' in form
    response = post(client, deals_url(ws_a), {
        "title": "  Tea chests ", "value": "1200.50", "currency": "USD", "stage_id": sales.stages["Qualified"],
        "contact_id": ann, "company_id": acme, "owner_id": ws_a.membership_id, "expected_close_on": "2030-01-31",
        "notes": "Wants a sample first",
    })  # fmt: skip
    assert response.status_code == 303
    deal_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    deal = stored(app, ws_a, deal_id)
    assert (deal.title, deal.value, deal.contact_id, deal.company_id, deal.stage_id, deal.status) == (
        "Tea chests",
        Decimal("1200.50"),
        ann,
        acme,
        sales.stages["Qualified"],
        "open",
    )
    assert history(app, ws_a, deal_id) == [(None, sales.stages["Qualified"])]
    page = client.get(deals_url(ws_a, str(deal_id))).get_data(as_text=True)
    assert "Tea chests" in page and "Wants a sample first" in page and "Entered Qualified" in page


SELECTED = re.compile(r'<option selected value="(\d+)"|<option value="(\d+)" selected')


def test_add_deal_on_a_board_starts_in_that_pipelines_first_stage(app, client, auth, ws_a, ws_b):
    partners = make_pipeline(app, ws_a, "Partners")
    other = make_pipeline(app, ws_b, "Theirs")
    auth.login(ws_a.email, ws_a.password)
    board = client.get(deals_url(ws_a, f"pipelines/{partners.id}")).get_data(as_text=True)
    assert f"/deals/new?pipeline={partners.id}" in board  # the board's "Add deal"

    def selected_stage(query: str) -> int | None:
        response = client.get(deals_url(ws_a, f"new?{query}"))
        assert response.status_code == 200, query
        found = SELECTED.search(response.get_data(as_text=True))
        return int(found.group(1) or found.group(2)) if found else None

    assert selected_stage(f"pipeline={partners.id}") == partners.stages["Talk"]
    assert selected_stage(f"stage={partners.stages['Sign']}") == partners.stages["Sign"]
    for foreign in (f"pipeline={other.id}", f"stage={other.stages['Sign']}", "pipeline=abc"):
        assert selected_stage(foreign) not in other.stages.values(), foreign  # never another workspace's


def test_bad_input_is_422_and_saves_nothing(app, client, auth, ws_a, ws_b):
    sales = default_pipeline(app, ws_a)
    their_contact = make_contact(app, ws_b, "Not yours")
    auth.login(ws_a.email, ws_a.password)
    good = {"title": "Tea", "value": "10", "currency": "USD", "stage_id": sales.stages["Lead in"], "contact_id": "",
            "company_id": "", "owner_id": ""}  # fmt: skip
    for bad, message in (
        ({"title": " "}, "Give the deal a title."),
        ({"value": "-1"}, "Enter an amount of 0 or more."),
        ({"value": "lots"}, "Enter a number."),
        ({"contact_id": their_contact}, "Choose a contact from the search results."),
        ({"stage_id": sales.stages["Won"]}, "Not a valid choice."),
        ({"stage_id": default_pipeline(app, ws_b).stages["Lead in"]}, "Not a valid choice."),
        ({"currency": "XXX"}, "Not a valid choice."),
    ):
        response = post(client, deals_url(ws_a), {**good, **bad})
        assert response.status_code == 422, bad
        assert message in response.get_data(as_text=True), bad
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count(Deal.id))) == 0


def test_edit_inline_and_change_stage(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    deal_id = make_deal(app, ws_a, "Tea")
    auth.login(ws_a.email, ws_a.password)
    form = client.get(deals_url(ws_a, f"{deal_id}/edit"), headers=DETAILS).get_data(as_text=True)
    assert form.startswith('<section id="deal-details"') and 'value="Tea"' in form
    data = {"title": "", "value": "5", "currency": "USD", "stage_id": sales.stages["Proposal"], "contact_id": "",
            "company_id": "", "owner_id": ""}  # fmt: skip
    response = post(client, deals_url(ws_a, str(deal_id)), data, headers=DETAILS)
    assert response.status_code == 422 and "Give the deal a title." in response.get_data(as_text=True)
    assert stored(app, ws_a, deal_id).title == "Tea"
    response = post(client, deals_url(ws_a, str(deal_id)), {**data, "title": "Tea, more"}, headers=DETAILS)
    assert response.status_code == 200 and "Tea, more" in response.get_data(as_text=True)
    assert placed(app, ws_a, deal_id)[0][0] == sales.stages["Proposal"]
    assert history(app, ws_a, deal_id)[-1] == (sales.stages["Lead in"], sales.stages["Proposal"])
    assert audit_actions(app, ws_a, deal_id) == ["deal.created", "deal.updated"]


def test_won_with_a_purchase_raises_the_customers_value(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    ann = make_contact(app, ws_a, "Ann Lee")
    deal_id = make_deal(app, ws_a, "Tea chests", sales.stages["Negotiation"], 12000, contact_id=ann)
    auth.login(ws_a.email, ws_a.password)
    response = post(client, deals_url(ws_a, f"{deal_id}/won"), {"purchase": "y"})
    assert response.status_code == 303
    deal = stored(app, ws_a, deal_id)
    assert (deal.status, deal.stage_id, deal.closed_on is not None) == ("won", sales.stages["Won"], True)
    with app.app_context(), workspace_scope(ws_a.id):
        contact = db.session.get(Contact, ann)
        assert contact.lifetime_value == Decimal("12000.00")
        assert contact.tier == "A"
        assert db.session.scalar(sa.select(Purchase.product)) == "Tea chests"
    page = client.get(deals_url(ws_a, str(deal_id))).get_data(as_text=True)
    assert "Reopen the deal" in page and "Entered Won" in page
    assert "Tea chests" not in client.get(deals_url(ws_a)).get_data(as_text=True)  # off the board
    assert audit_actions(app, ws_a, deal_id) == ["deal.created", "deal.won"]


def test_won_with_a_purchase_needs_a_customer_in_the_workspace_currency(app, client, auth, ws_a):
    no_customer = make_deal(app, ws_a, "Nobody's")
    euros = make_deal(app, ws_a, "In euros", contact_id=make_contact(app, ws_a, "Eve"), currency="EUR")
    auth.login(ws_a.email, ws_a.password)
    response = post(client, deals_url(ws_a, f"{no_customer}/won"), {"purchase": "y"})
    assert response.status_code == 422 and "Add a contact or a company" in response.get_data(as_text=True)
    response = post(client, deals_url(ws_a, f"{euros}/won"), {"purchase": "y"})
    assert response.status_code == 422 and "Purchases are kept in USD" in response.get_data(as_text=True)
    assert stored(app, ws_a, euros).status == "open"
    assert post(client, deals_url(ws_a, f"{euros}/won"), {}).status_code == 303
    assert stored(app, ws_a, euros).status == "won"


def test_won_with_a_purchase_refuses_a_customer_in_the_trash(app, client, auth, ws_a):
    ann, acme = make_contact(app, ws_a, "Ann Lee"), make_company(app, ws_a, "Acme Ltd")
    for_ann = make_deal(app, ws_a, "Tea", contact_id=ann, company_id=acme)
    for_acme = make_deal(app, ws_a, "Cups", company_id=acme)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Contact, ann).deleted_at = db.session.get(Company, acme).deleted_at = utcnow()
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    for deal_id, message in ((for_ann, "This contact is in the trash. Restore it first."),
                             (for_acme, "This company is in the trash. Restore it first.")):  # fmt: skip
        response = post(client, deals_url(ws_a, f"{deal_id}/won"), {"purchase": "y"})
        assert response.status_code == 422 and message in response.get_data(as_text=True)
        assert stored(app, ws_a, deal_id).status == "open"
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Purchase)) == 0
    assert post(client, deals_url(ws_a, f"{for_ann}/won"), {}).status_code == 303  # without a purchase
    assert stored(app, ws_a, for_ann).status == "won"


def test_lost_needs_a_reason_of_the_list_and_reopen_puts_it_back_first(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    deal_id = make_deal(app, ws_a, "Cups", sales.stages["Proposal"])
    competitor = lost_reason_id(app, ws_a, "Went with a competitor")
    auth.login(ws_a.email, ws_a.password)
    page = client.get(deals_url(ws_a, str(deal_id))).get_data(as_text=True)
    offered = re.search(r'<select[^>]*name="reason_id".*?</select>', page, re.S).group(0)
    assert re.findall(r"<option[^>]*>([^<]+)</option>", offered) == [
        "Choose a reason",
        "Too expensive",
        "Went with a competitor",
        "No budget",
        "No response",
        "Bad timing",
        "Other",
    ]
    response = post(client, deals_url(ws_a, f"{deal_id}/lost"), {"reason_id": "", "details": "Cheaper elsewhere"})
    assert response.status_code == 422 and "Choose why the deal was lost." in response.get_data(as_text=True)
    assert stored(app, ws_a, deal_id).status == "open"
    response = post(client, deals_url(ws_a, f"{deal_id}/lost"), {"reason_id": competitor, "details": " Cheaper "})
    assert response.status_code == 303
    deal = stored(app, ws_a, deal_id)
    assert (deal.status, deal.stage_id, deal.lost_reason_id, deal.lost_reason) == (
        "lost", sales.stages["Lost"], competitor, "Cheaper")  # fmt: skip
    details = client.get(deals_url(ws_a, str(deal_id)), headers=DETAILS).get_data(as_text=True)
    assert "Went with a competitor" in details and "Cheaper" in details
    assert post(client, deals_url(ws_a, f"{deal_id}/reopen"), {}).status_code == 303
    deal = stored(app, ws_a, deal_id)
    assert (deal.status, deal.stage_id, deal.lost_reason_id, deal.lost_reason, deal.closed_on) == (
        "open", sales.stages["Lead in"], None, None, None)  # fmt: skip
    assert audit_actions(app, ws_a, deal_id) == ["deal.created", "deal.lost", "deal.reopened"]


def test_lost_refuses_a_retired_reason_and_another_workspaces_reason(app, client, auth, ws_a, ws_b):
    deal_id = make_deal(app, ws_a, "Cups")
    retired = lost_reason_id(app, ws_a, "No budget")
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(LostReason, retired).active = False
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    page = client.get(deals_url(ws_a, str(deal_id))).get_data(as_text=True)
    assert "No budget" not in page
    for reason in (retired, lost_reason_id(app, ws_b, "Other")):
        response = post(client, deals_url(ws_a, f"{deal_id}/lost"), {"reason_id": reason})
        assert response.status_code == 422
        assert stored(app, ws_a, deal_id).status == "open"


def test_delete_needs_deals_delete_and_hides_the_deal(app, client, auth, ws_a):
    deal_id = make_deal(app, ws_a, "Cups")
    seller = make_member(app, ws_a, "sam@alpha.example.com", role="sales")
    auth.login(seller.email, seller.password)
    assert post(client, deals_url(ws_a, f"{deal_id}/delete"), {}).status_code == 403
    auth.logout()
    auth.login(ws_a.email, ws_a.password)
    assert post(client, deals_url(ws_a, f"{deal_id}/delete"), {}).status_code == 303
    assert stored(app, ws_a, deal_id).deleted_at is not None
    assert client.get(deals_url(ws_a, str(deal_id))).status_code == 404
    assert "Cups" not in client.get(deals_url(ws_a)).get_data(as_text=True)
    assert audit_actions(app, ws_a, deal_id)[-1] == "deal.deleted"


def test_viewer_reads_the_board_but_cannot_move(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    deal_id = make_deal(app, ws_a, "Cups")
    viewer = make_member(app, ws_a, "vic@alpha.example.com", role="viewer")
    auth.login(viewer.email, viewer.password)
    page = client.get(deals_url(ws_a)).get_data(as_text=True)
    assert "Cups" in page and "data-board" not in page and "move?direction" not in page and "Add deal" not in page
    assert client.get(deals_url(ws_a, str(deal_id))).status_code == 200
    assert post(client, deals_url(ws_a, f"{deal_id}/move?direction=next"), {}).status_code == 403
    order = {f"stage-{sales.stages['Qualified']}": [str(deal_id)]}
    assert post(client, deals_url(ws_a, f"pipelines/{sales.id}/order"), order).status_code == 403
    assert post(client, deals_url(ws_a, f"{deal_id}/won"), {}).status_code == 403
    assert placed(app, ws_a, deal_id)[0][0] == sales.stages["Lead in"]


def test_support_role_without_deals_read_gets_403(app, client, auth, ws_a):
    agent = make_member(app, ws_a, "sue@alpha.example.com", role="support")
    auth.login(agent.email, agent.password)
    assert client.get(deals_url(ws_a)).status_code == 403
    assert "/deals/" not in client.get(f"/w/{ws_a.slug}/").get_data(as_text=True)


def test_own_scope_sees_moves_and_totals_only_own_deals(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    lead, qualified = sales.stages["Lead in"], sales.stages["Qualified"]
    seller = make_member(app, ws_a, "sam@alpha.example.com", role="sales")
    assign_role(app, ws_a, seller.membership_id,
                make_role(app, ws_a, "Own deals", ("deals.read", "deals.write"), record_scope="own"))  # fmt: skip
    other_1 = make_deal(app, ws_a, "Alice one", lead, 700, owner_id=ws_a.membership_id)
    mine_1 = make_deal(app, ws_a, "Sam one", lead, 100, owner_id=seller.membership_id)
    other_2 = make_deal(app, ws_a, "Alice two", lead, 900, owner_id=ws_a.membership_id)
    mine_2 = make_deal(app, ws_a, "Sam two", lead, 200, owner_id=seller.membership_id)
    auth.login(seller.email, seller.password)
    page = client.get(deals_url(ws_a)).get_data(as_text=True)
    assert "Sam one" in page and "Sam two" in page and "Alice" not in page.split('id="deal-board"')[1]
    assert "$300.00" in page and "$1,900.00" not in page
    assert client.get(deals_url(ws_a, str(other_1))).status_code == 404
    assert post(client, deals_url(ws_a, f"{other_1}/move?direction=next"), {}).status_code == 404
    # Swapping their two cards keeps the others' places; another's id in the post is ignored.
    response = post(client, deals_url(ws_a, f"pipelines/{sales.id}/order"),
                    {f"stage-{lead}": [str(mine_2), str(mine_1)], f"stage-{qualified}": [str(other_2)]})  # fmt: skip
    assert response.status_code == 303
    assert placed(app, ws_a, other_1, mine_2, other_2, mine_1) == [(lead, 0), (lead, 1), (lead, 2), (lead, 3)]


def test_the_board_follows_a_members_new_record_scope(app, client, auth, ws_a):
    # The board's statements are kept per member (crm/deals/queries.py): a new scope must not reuse one.
    sales = default_pipeline(app, ws_a)
    seller = make_member(app, ws_a, "sam@alpha.example.com", role="sales")
    make_deal(app, ws_a, "Alice one", sales.stages["Lead in"], 700, owner_id=ws_a.membership_id)
    make_deal(app, ws_a, "Sam one", sales.stages["Lead in"], 100, owner_id=seller.membership_id)
    auth.login(seller.email, seller.password)
    board = client.get(deals_url(ws_a)).get_data(as_text=True).split('id="deal-board"')[1]
    assert "Alice one" in board and "$800.00" in board
    assign_role(app, ws_a, seller.membership_id,
                make_role(app, ws_a, "Own deals", ("deals.read",), record_scope="own"))  # fmt: skip
    board = client.get(deals_url(ws_a)).get_data(as_text=True).split('id="deal-board"')[1]
    assert "Sam one" in board and "Alice one" not in board and "$800.00" not in board and "$100.00" in board


def test_another_workspaces_deals_and_pipelines_are_404(app, client, auth, ws_a, ws_b):
    theirs = make_deal(app, ws_b, "Secret deal")
    their_pipeline = default_pipeline(app, ws_b).id
    auth.login(ws_a.email, ws_a.password)
    for url in (f"{theirs}", f"{theirs}/edit", f"pipelines/{their_pipeline}"):
        response = client.get(deals_url(ws_a, url))
        assert response.status_code == 404 and "Secret deal" not in response.get_data(as_text=True)
    for url in (f"{theirs}", f"{theirs}/won", f"{theirs}/lost", f"{theirs}/reopen", f"{theirs}/delete",
                f"{theirs}/move?direction=next"):  # fmt: skip
        assert post(client, deals_url(ws_a, url), {"title": "x", "reason": "x"}).status_code == 404
    assert stored(app, ws_b, theirs).title == "Secret deal"
    assert stored(app, ws_b, theirs).status == "open"


def test_migration_gives_existing_workspaces_the_sales_pipeline(app, ws_a):
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        downgrade(revision="0016")
        upgrade()
    with app.app_context(), workspace_scope(ws_a.id):
        pipelines = list(db.session.scalars(sa.select(Pipeline.name)))
        stages = list(db.session.scalars(sa.select(Stage.name).order_by(Stage.position)))
    assert pipelines == ["Sales"]
    assert stages == ["Lead in", "Qualified", "Proposal", "Negotiation", "Won", "Lost"]


def test_board_filters_in_the_url_apply_to_cards_and_totals_and_survive_a_move(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    lead = sales.stages["Lead in"]
    acme = make_company(app, ws_a, "Acme Ltd")
    ann = make_contact(app, ws_a, "Ann Lee", company_id=acme)
    colleague = make_member(app, ws_a, "colleague@alpha.example.com")
    today = utcnow().date()
    make_deal(app, ws_a, "Tea for Acme", lead, 500, contact_id=ann, company_id=acme, owner_id=ws_a.membership_id,
              expected_close_on=today + timedelta(days=10))  # fmt: skip
    make_deal(app, ws_a, "Small cups", lead, 20, owner_id=ws_a.membership_id, expected_close_on=today)
    make_deal(app, ws_a, "Their chairs", lead, 900, owner_id=colleague.membership_id)
    auth.login(ws_a.email, ws_a.password)
    board = deals_url(ws_a, f"pipelines/{sales.id}")
    mine = client.get(board, query_string={"owner": "me", "min_value": "100"}).get_data(as_text=True)
    assert "Tea for Acme" in mine and "Small cups" not in mine and "Their chairs" not in mine
    assert "$500.00" in mine and "$1,420.00" not in mine  # the totals follow the filters
    by_customer = client.get(board, query_string={"q": "acme"}, headers=BOARD).get_data(as_text=True)
    assert "Tea for Acme" in by_customer and "Small cups" not in by_customer
    closing = client.get(board, query_string={"close_until": today.isoformat()}).get_data(as_text=True)
    assert "Small cups" in closing and "Tea for Acme" not in closing
    odd = client.get(board, query_string={"close_from": "soon", "min_value": "-5", "owner": "x"})
    assert odd.status_code == 200 and "Their chairs" in odd.get_data(as_text=True)  # ignored, not an error
    assert f'<option value="{colleague.membership_id}">' in mine  # owners to choose from
    move_url = re.search(r'data-hx-post="([^"]+/move\?[^"]+)"', mine).group(1).replace("&amp;", "&")
    assert "owner=me" in move_url and "min_value=100" in move_url
    after = post(client, move_url, {}, headers=BOARD).get_data(as_text=True)
    assert "Tea for Acme" in after and "Their chairs" not in after  # the re-rendered board keeps its filters


def test_editing_a_deal_of_a_disabled_owner_keeps_its_owner(app, client, auth, ws_a):
    from crm.workspaces.models import Membership

    make_user(app, "sam@alpha.example.com", name="Sam Lee")
    sam = make_member(app, ws_a, "sam@alpha.example.com")
    deal_id = make_deal(app, ws_a, "Tea", owner_id=sam.membership_id)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Membership, sam.membership_id).status = "disabled"
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    page = client.get(deals_url(ws_a, f"{deal_id}/edit"), headers=DETAILS).get_data(as_text=True)
    assert f'<option selected value="{sam.membership_id}">Sam Lee (disabled)</option>' in page
    response = post(client, deals_url(ws_a, str(deal_id)), {**sent_by_browser(page), "title": "Tea, more"},
                    headers=DETAILS)  # fmt: skip
    assert response.status_code == 200
    assert (stored(app, ws_a, deal_id).title, stored(app, ws_a, deal_id).owner_id) == ("Tea, more", sam.membership_id)
    assert "Sam Lee" not in client.get(deals_url(ws_a, "new")).get_data(as_text=True)


def test_a_seller_who_hands_a_deal_over_is_told_and_taken_to_the_deals(app, client, auth, ws_a):
    rid = make_role(app, ws_a, "Own deals", permissions=["deals.read", "deals.write"], record_scope="own")
    sam = make_member(app, ws_a, "sam@alpha.example.com")
    assign_role(app, ws_a, sam.membership_id, rid)
    deal_id = make_deal(app, ws_a, "Tea", owner_id=sam.membership_id)
    auth.login(sam.email, sam.password)
    sent = sent_by_browser(client.get(deals_url(ws_a, f"{deal_id}/edit"), headers=DETAILS).get_data(as_text=True))
    response = post(client, deals_url(ws_a, str(deal_id)), {**sent, "owner_id": str(ws_a.membership_id)},
                    headers=DETAILS)  # fmt: skip
    assert response.status_code == 204 and response.headers["HX-Redirect"] == deals_url(ws_a)
    page = client.get(response.headers["HX-Redirect"]).get_data(as_text=True)
    assert "Deal Tea saved and handed over to Alice." in page
    assert stored(app, ws_a, deal_id).owner_id == ws_a.membership_id


def test_a_deal_title_with_spaces_around_is_measured_as_saved_trimmed(app, client, auth, ws_a):
    deal_id = make_deal(app, ws_a, "Tea")
    auth.login(ws_a.email, ws_a.password)
    sent = sent_by_browser(client.get(deals_url(ws_a, f"{deal_id}/edit"), headers=DETAILS).get_data(as_text=True))
    title = "T" * 200
    response = post(client, deals_url(ws_a, str(deal_id)), {**sent, "title": f" {title} "}, headers=DETAILS)
    assert response.status_code == 200
    assert stored(app, ws_a, deal_id).title == title


def test_editing_a_deal_keeps_its_contact_in_the_trash_or_out_of_the_sellers_scope(app, client, auth, ws_a):
    rid = make_role(app, ws_a, "Own deals", ("contacts.read", "deals.read", "deals.write"), record_scope="own")
    sam = make_member(app, ws_a, "sam@alpha.example.com")
    assign_role(app, ws_a, sam.membership_id, rid)
    ann = make_contact(app, ws_a, "Ann Lee", owner_id=ws_a.membership_id)  # a colleague's contact
    bo = make_contact(app, ws_a, "Bo Chen", owner_id=ws_a.membership_id)
    acme = make_company(app, ws_a, "Acme Ltd", owner_id=sam.membership_id)
    deal_id = make_deal(app, ws_a, "Tea", contact_id=ann, company_id=acme, owner_id=sam.membership_id)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Company, acme).deleted_at = utcnow()
        db.session.commit()
    auth.login(sam.email, sam.password)
    page = client.get(deals_url(ws_a, f"{deal_id}/edit"), headers=DETAILS).get_data(as_text=True)
    assert 'value="Ann Lee"' in page and 'value="Acme Ltd (in the trash)"' in page
    response = post(client, deals_url(ws_a, str(deal_id)), {**sent_by_browser(page), "title": "Tea, more"},
                    headers=DETAILS)  # fmt: skip
    assert response.status_code == 200
    deal = stored(app, ws_a, deal_id)
    assert (deal.title, deal.contact_id, deal.company_id) == ("Tea, more", ann, acme)
    # Only the deal's own contact is kept: another colleague's is still refused.
    response = post(client, deals_url(ws_a, str(deal_id)), {**sent_by_browser(page), "contact_id": str(bo)},
                    headers=DETAILS)  # fmt: skip
    assert response.status_code == 422
    assert "Choose a contact from the search results." in response.get_data(as_text=True)
    assert stored(app, ws_a, deal_id).contact_id == ann


def test_of_two_members_closing_a_deal_at_once_only_the_first_closes_it(app, ws_a):
    """Won with a purchase and lost at the same moment, each in its own transaction: the loss waits
    for the win's row and is refused, rather than both reading the deal open and the deal ending up
    lost with the won deal's purchase recorded."""
    import threading
    import time

    from crm.deals import service
    from crm.deals.service import DealError
    from crm.workspaces.models import Workspace

    ann = make_contact(app, ws_a, "Ann Lee")
    deal_id = make_deal(app, ws_a, "Tea", value=500, contact_id=ann)
    reason = lost_reason_id(app, ws_a)
    start, outcomes = threading.Barrier(2), {}

    def close(kind: str, delay: float, hold: float):
        try:
            with app.app_context(), workspace_scope(ws_a.id):
                deal = db.session.get(Deal, deal_id)
                start.wait()
                time.sleep(delay)
                if kind == "won":
                    service.win_deal(deal, db.session.get(Workspace, ws_a.id), utcnow().date(), None, True)
                else:
                    service.lose_deal(deal, db.session.get(LostReason, reason), None, utcnow().date(), None)
                time.sleep(hold)  # the other closes meanwhile
                db.session.commit()
                outcomes[kind] = "done"
        except DealError as error:
            outcomes[kind] = str(error)

    threads = [
        threading.Thread(target=close, args=("won", 0, 0.5)),
        threading.Thread(target=close, args=("lost", 0.2, 0)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes == {"won": "done", "lost": "The deal is closed already."}
    assert stored(app, ws_a, deal_id).status == "won"
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Purchase)) == 1
