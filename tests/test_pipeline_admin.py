"""Settings → Pipelines: add, rename and delete pipelines; add, change, reorder and remove stages
(a removed stage's deals move, with history); bad input, refusals, permissions and isolation."""

import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.deals.models import Deal, DealStageChange, Pipeline, Stage
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.conftest import post, sent_by_browser
from tests.factories import default_pipeline, make_deal, make_member, make_pipeline

STAGE_LIST = {"HX-Request": "true", "HX-Target": "stage-list"}


def url(ws, rest: str = "") -> str:
    return f"/w/{ws.slug}/settings/pipelines/{rest}"


def pipelines_of(app, ws) -> list[str]:
    with app.app_context(), workspace_scope(ws.id):
        return list(db.session.scalars(sa.select(Pipeline.name).order_by(Pipeline.position, Pipeline.id)))


def stages_of(app, ws, pipeline_id: int) -> list[tuple]:
    """(name, kind, probability, rotting days) in board order."""
    with app.app_context(), workspace_scope(ws.id):
        rows = db.session.execute(
            sa.select(Stage.name, Stage.kind, Stage.probability, Stage.rotting_days)
            .where(Stage.pipeline_id == pipeline_id)
            .order_by(Stage.position, Stage.id)
        )
        return [tuple(row) for row in rows]


def names(app, ws, pipeline_id: int) -> list[str]:
    return [row[0] for row in stages_of(app, ws, pipeline_id)]


def actions(app, ws) -> list[str]:
    with app.app_context(), workspace_scope(ws.id):
        return list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


def stage_data(name="Demo", probability="50", rotting_days="") -> dict:
    return {"name": name, "probability": probability, "rotting_days": rotting_days}


def test_settings_nav_links_the_pipelines_page(client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/settings").get_data(as_text=True)
    assert f'href="/w/{ws_a.slug}/settings/pipelines/"' in page
    listing = client.get(url(ws_a)).get_data(as_text=True)
    assert "Sales" in listing and 'aria-current="page">Pipelines' in listing


def test_add_a_pipeline_with_the_default_stages(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    response = post(client, url(ws_a), {"name": "  Partners  "})
    assert response.status_code == 303
    assert pipelines_of(app, ws_a) == ["Sales", "Partners"]
    with app.app_context(), workspace_scope(ws_a.id):
        partners = db.session.scalar(sa.select(Pipeline).where(Pipeline.name == "Partners"))
        assert response.headers["Location"].endswith(url(ws_a, str(partners.id)))
        partners_id = partners.id
    assert stages_of(app, ws_a, partners_id) == stages_of(app, ws_a, default_pipeline(app, ws_a).id)
    assert "pipeline.created" in actions(app, ws_a)
    assert "Partners" in client.get(f"/w/{ws_a.slug}/deals/pipelines/{partners_id}").get_data(as_text=True)


def test_bad_pipeline_names_are_422_and_save_nothing(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    for name, message in (("   ", "Enter a name."), ("x" * 81, "Field cannot be longer than 80 characters."),
                          ("sales", "Another pipeline has this name.")):  # fmt: skip
        response = post(client, url(ws_a), {"name": name})
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert 'id="name-error"' in html and message in html
    assert pipelines_of(app, ws_a) == ["Sales"]


def test_rename_a_pipeline(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(url(ws_a, str(sales.id))).get_data(as_text=True)
    assert 'value="Sales"' in page
    assert post(client, url(ws_a, str(sales.id)), {"pipeline-name": "Retail"}).status_code == 303
    assert pipelines_of(app, ws_a) == ["Retail"]
    response = post(client, url(ws_a, str(sales.id)), {"pipeline-name": ""})
    assert response.status_code == 422 and 'id="pipeline-name-error"' in response.get_data(as_text=True)
    assert pipelines_of(app, ws_a) == ["Retail"]
    assert actions(app, ws_a).count("pipeline.updated") == 1


def test_delete_a_pipeline_only_without_deals(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    partners = make_pipeline(app, ws_a, "Partners")
    deal_id = make_deal(app, ws_a, "Tea chests", partners.open[0])
    auth.login(ws_a.email, ws_a.password)
    response = post(client, url(ws_a, f"{partners.id}/delete"), {})
    assert response.status_code == 409
    assert "The pipeline still has 1 deal: move or delete it first." in response.get_data(as_text=True)
    response = post(client, url(ws_a, f"{partners.id}/delete"), {}, headers={"HX-Request": "true"})
    assert response.status_code == 409 and "still has 1 deal" in response.headers["HX-Trigger"]
    assert pipelines_of(app, ws_a) == ["Sales", "Partners"]
    # A deal in the trash does not keep the pipeline alive.
    assert post(client, f"/w/{ws_a.slug}/deals/{deal_id}/delete", {}).status_code == 303
    assert post(client, url(ws_a, f"{partners.id}/delete"), {}).status_code == 303
    assert pipelines_of(app, ws_a) == ["Sales"]
    with app.app_context(), workspace_scope(ws_a.id):
        assert not db.session.scalars(sa.select(Stage).where(Stage.pipeline_id == partners.id)).all()
        assert db.session.get(Deal, deal_id) is None
    assert "pipeline.deleted" in actions(app, ws_a)
    # The last pipeline stays.
    response = post(client, url(ws_a, f"{sales.id}/delete"), {})
    assert response.status_code == 409 and "at least one pipeline" in response.get_data(as_text=True)
    assert pipelines_of(app, ws_a) == ["Sales"]


def test_delete_a_pipeline_its_deals_have_left(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    partners = make_pipeline(app, ws_a, "Partners")
    deal_id = make_deal(app, ws_a, "Tea chests", partners.open[0])
    auth.login(ws_a.email, ws_a.password)
    # The deal moves to the Sales pipeline through its form: its history names Partners' stages.
    edit = client.get(f"/w/{ws_a.slug}/deals/{deal_id}/edit").get_data(as_text=True)
    response = post(client, f"/w/{ws_a.slug}/deals/{deal_id}", {**sent_by_browser(edit), "stage_id": sales.open[1]})
    assert response.status_code == 303
    response = post(client, url(ws_a, f"{partners.id}/delete"), {})
    assert response.status_code == 303 and pipelines_of(app, ws_a) == ["Sales"]
    with app.app_context(), workspace_scope(ws_a.id):
        changes = db.session.execute(
            sa.select(DealStageChange.from_stage_id, DealStageChange.to_stage_id).where(
                DealStageChange.deal_id == deal_id
            )
        ).all()
    assert [tuple(change) for change in changes] == [(None, sales.open[1])]  # what still exists of it
    page = client.get(f"/w/{ws_a.slug}/deals/{deal_id}")
    assert page.status_code == 200 and "Qualified" in page.get_data(as_text=True)


def test_add_an_open_stage_before_won_and_lost(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    data = {f"stage-{k}": v for k, v in stage_data("Demo", "70", "10").items()}
    assert post(client, url(ws_a, f"{sales.id}/stages/"), data).status_code == 303
    assert stages_of(app, ws_a, sales.id)[4:] == [("Demo", "open", 70, 10), ("Won", "won", 100, None),
                                                  ("Lost", "lost", 0, None)]  # fmt: skip
    assert "stage.created" in actions(app, ws_a)
    board = client.get(f"/w/{ws_a.slug}/deals/pipelines/{sales.id}").get_data(as_text=True)
    assert ">Demo <span" in board


def test_bad_stage_input_is_422_next_to_the_field_and_saves_nothing(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    lead = sales.stages["Lead in"]
    before = stages_of(app, ws_a, sales.id)
    auth.login(ws_a.email, ws_a.password)
    cases = (
        (stage_data(name=""), "name", "Enter a name."),
        (stage_data(probability="120"), "probability", "Enter a whole number from 0 to 100."),
        (stage_data(probability=""), "probability", "Enter a whole number from 0 to 100."),
        (stage_data(rotting_days="-1"), "rotting_days", "Enter a number of days from 1 to 3650"),
        (stage_data(name="qualified"), "name", "Another stage of this pipeline has this name."),
    )
    for data, field, message in cases:
        response = post(client, url(ws_a, f"{sales.id}/stages/"), {f"stage-{k}": v for k, v in data.items()})
        html = response.get_data(as_text=True)
        assert response.status_code == 422, data
        assert f'id="stage-{field}-error"' in html and message in html, data
        response = post(client, url(ws_a, f"{sales.id}/stages/{lead}"), data)
        html = response.get_data(as_text=True)
        assert response.status_code == 422, data
        assert f'id="{field}-error"' in html and message in html, data
    assert stages_of(app, ws_a, sales.id) == before
    assert not {"stage.created", "stage.updated"} & set(actions(app, ws_a))


def test_edit_an_open_stage_and_rename_won(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    page = client.get(url(ws_a, f"{sales.id}/stages/{sales.stages['Proposal']}")).get_data(as_text=True)
    assert 'value="Proposal"' in page and 'value="60"' in page and 'value="21"' in page
    data = stage_data("Offer sent", "65", "")
    assert post(client, url(ws_a, f"{sales.id}/stages/{sales.stages['Proposal']}"), data).status_code == 303
    assert stages_of(app, ws_a, sales.id)[2] == ("Offer sent", "open", 65, None)
    # Won keeps 100% whatever is posted; only its name changes.
    won = sales.stages["Won"]
    assert 'name="probability"' not in client.get(url(ws_a, f"{sales.id}/stages/{won}")).get_data(as_text=True)
    assert post(client, url(ws_a, f"{sales.id}/stages/{won}"), stage_data("Signed", "5")).status_code == 303
    assert stages_of(app, ws_a, sales.id)[4] == ("Signed", "won", 100, None)
    assert actions(app, ws_a).count("stage.updated") == 2


def test_saving_the_shown_default_name_keeps_it_translatable(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    qualified = url(ws_a, f"{sales.id}/stages/{sales.stages['Qualified']}")
    auth.login(ws_a.email, ws_a.password)
    zh = {"Accept-Language": "zh-CN,zh;q=0.9"}
    assert 'value="已确认需求"' in client.get(qualified, headers=zh).get_data(as_text=True)
    assert post(client, qualified, stage_data("已确认需求", "35", "30"), headers=zh).status_code == 303
    assert stages_of(app, ws_a, sales.id)[1] == ("Qualified", "open", 35, 30)


def test_move_open_stages_up_and_down(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    move = url(ws_a, f"{sales.id}/stages/{sales.stages['Proposal']}/move")
    assert post(client, move, {"direction": "up"}).status_code == 303
    assert names(app, ws_a, sales.id) == ["Lead in", "Proposal", "Qualified", "Negotiation", "Won", "Lost"]
    response = post(client, move, {"direction": "up"}, headers=STAGE_LIST)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="stage-list"') and "<h1" not in html
    assert names(app, ws_a, sales.id) == ["Proposal", "Lead in", "Qualified", "Negotiation", "Won", "Lost"]
    # At the top already; and Won does not move among the open stages.
    assert post(client, move, {"direction": "up"}).status_code == 303
    assert post(client, url(ws_a, f"{sales.id}/stages/{sales.stages['Negotiation']}/move"),
                {"direction": "down"}).status_code == 303  # fmt: skip
    assert post(client, url(ws_a, f"{sales.id}/stages/{sales.stages['Won']}/move"),
                {"direction": "up"}).status_code == 303  # fmt: skip
    assert names(app, ws_a, sales.id) == ["Proposal", "Lead in", "Qualified", "Negotiation", "Won", "Lost"]
    assert post(client, move, {"direction": "sideways"}).status_code == 400
    assert actions(app, ws_a).count("stage.moved") == 2
    page = client.get(url(ws_a, str(sales.id))).get_data(as_text=True)
    assert f'id="move-up-{sales.stages["Proposal"]}"' not in page
    assert f'id="move-down-{sales.stages["Proposal"]}"' in page


def test_drag_puts_the_open_stages_in_the_posted_order(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    order = url(ws_a, f"{sales.id}/stages/order")
    posted = [sales.stages[name] for name in ("Negotiation", "Lead in", "Proposal", "Qualified")]
    response = post(client, order, {"order": posted}, headers=STAGE_LIST)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="stage-list"')
    assert html.index("Negotiation") < html.index("Lead in") < html.index("Proposal") < html.index("Qualified")
    assert names(app, ws_a, sales.id) == ["Negotiation", "Lead in", "Proposal", "Qualified", "Won", "Lost"]
    assert actions(app, ws_a).count("stage.moved") == 3  # Proposal kept its place
    # A stage left out keeps its place after the posted ones.
    assert post(client, order, {"order": [sales.stages["Qualified"]]}).status_code == 303
    assert names(app, ws_a, sales.id) == ["Qualified", "Negotiation", "Lead in", "Proposal", "Won", "Lost"]


def test_the_stage_order_post_refuses_closed_and_foreign_stages(app, client, auth, ws_a, ws_b):
    sales = default_pipeline(app, ws_a)
    partners = make_pipeline(app, ws_a, "Partners")
    theirs = default_pipeline(app, ws_b)
    auth.login(ws_a.email, ws_a.password)
    order = url(ws_a, f"{sales.id}/stages/order")
    before = names(app, ws_a, sales.id)
    for intruder in (sales.stages["Won"], partners.open[0], theirs.open[0]):
        response = post(client, order, {"order": [sales.stages["Proposal"], intruder]})
        assert response.status_code == 404, intruder
    assert names(app, ws_a, sales.id) == before
    assert post(client, url(ws_a, f"{theirs.id}/stages/order"), {"order": theirs.open}).status_code == 404
    assert names(app, ws_b, theirs.id) == before


def test_remove_an_empty_stage(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    assert post(client, url(ws_a, f"{sales.id}/stages/{sales.stages['Qualified']}/delete"), {}).status_code == 303
    assert names(app, ws_a, sales.id) == ["Lead in", "Proposal", "Negotiation", "Won", "Lost"]
    assert "stage.deleted" in actions(app, ws_a)


def test_remove_a_stage_with_deals_moves_them_with_history(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    lead, qualified, proposal = sales.stages["Lead in"], sales.stages["Qualified"], sales.stages["Proposal"]
    waiting = make_deal(app, ws_a, "Already there", proposal)
    moved = [make_deal(app, ws_a, "Tea chests", lead), make_deal(app, ws_a, "Cups", qualified)]
    auth.login(ws_a.email, ws_a.password)
    assert post(client, f"/w/{ws_a.slug}/deals/{moved[0]}/move?direction=next", {}).status_code == 303
    remove = url(ws_a, f"{sales.id}/stages/{qualified}/delete")
    page = client.get(remove).get_data(as_text=True)
    assert "The stage has 2 deals." in page and f'<option value="{proposal}">Proposal</option>' in page
    assert f'value="{qualified}"' not in page and f'value="{sales.stages["Won"]}"' not in page
    # No stage chosen, or one that may not receive them: 422 next to the select, nothing moved.
    for target in ("", str(qualified), str(sales.stages["Won"]), str(make_pipeline(app, ws_a).open[0])):
        response = post(client, remove, {"target": target})
        assert response.status_code == 422, target
        assert 'id="target-error"' in response.get_data(as_text=True)
    assert names(app, ws_a, sales.id)[1] == "Qualified"
    response = post(client, remove, {"target": str(proposal)})
    assert response.status_code == 303
    assert names(app, ws_a, sales.id) == ["Lead in", "Proposal", "Negotiation", "Won", "Lost"]
    with app.app_context(), workspace_scope(ws_a.id):
        placed = {d.id: (d.stage_id, d.position) for d in db.session.scalars(sa.select(Deal))}
        changes = db.session.execute(
            sa.select(DealStageChange.deal_id, DealStageChange.from_stage_id, DealStageChange.to_stage_id).order_by(
                DealStageChange.id
            )
        ).all()
    # In their order in the removed column (Cups first, then Tea chests moved in), after those there.
    assert placed == {waiting: (proposal, 0), moved[1]: (proposal, 1), moved[0]: (proposal, 2)}
    # Each moved deal's history: created, (moved into Qualified: gone with the stage), into Proposal.
    for deal_id in moved:
        assert [(f, t) for d, f, t in changes if d == deal_id][-1] == (None, proposal)
    assert [(f, t) for d, f, t in changes if d == moved[0]] == [(None, lead), (None, proposal)]
    assert not any(qualified in (f, t) for _d, f, t in changes)
    assert actions(app, ws_a)[-3:] == ["deal.moved", "deal.moved", "stage.deleted"]


def test_won_lost_and_the_last_open_stage_are_not_removed(app, client, auth, ws_a):
    partners = make_pipeline(app, ws_a, "Partners", stages=(("Talk", 20),))
    auth.login(ws_a.email, ws_a.password)
    for stage_id in (partners.stages["Won"], partners.stages["Lost"]):
        response = post(client, url(ws_a, f"{partners.id}/stages/{stage_id}/delete"), {})
        assert response.status_code == 409
        assert "Won and Lost stages can be renamed but not removed." in response.get_data(as_text=True)
    response = post(client, url(ws_a, f"{partners.id}/stages/{partners.open[0]}/delete"), {})
    assert response.status_code == 409
    assert "A pipeline keeps at least one open stage." in response.get_data(as_text=True)
    assert names(app, ws_a, partners.id) == ["Talk", "Won", "Lost"]
    page = client.get(url(ws_a, str(partners.id))).get_data(as_text=True)
    assert ">Remove<" not in page


def test_manager_and_sales_get_403(app, client, auth, ws_a):
    sales = default_pipeline(app, ws_a)
    stage = sales.stages["Lead in"]
    for role in ("manager", "sales"):
        member = make_member(app, ws_a, f"{role}@alpha.example.com", role=role)
        auth.login(member.email, member.password)
        assert "/settings/pipelines/" not in client.get(f"/w/{ws_a.slug}/deals/").get_data(as_text=True)
        for path in ("", str(sales.id), f"{sales.id}/stages/{stage}", f"{sales.id}/stages/{stage}/delete"):
            assert client.get(url(ws_a, path)).status_code == 403, (role, path)
        for path, data in (("", {"name": "X"}), (str(sales.id), {"pipeline-name": "X"}),
                           (f"{sales.id}/delete", {}), (f"{sales.id}/stages/", {"stage-name": "X"}),
                           (f"{sales.id}/stages/{stage}", stage_data("X")),
                           (f"{sales.id}/stages/{stage}/move", {"direction": "down"}),
                           (f"{sales.id}/stages/{stage}/delete", {})):  # fmt: skip
            assert post(client, url(ws_a, path), data).status_code == 403, (role, path)
        auth.logout()
    assert pipelines_of(app, ws_a) == ["Sales"]
    assert names(app, ws_a, sales.id)[0] == "Lead in"


def test_other_workspaces_and_other_pipelines_ids_are_404(app, client, auth, ws_a, ws_b):
    theirs = default_pipeline(app, ws_b)
    sales = default_pipeline(app, ws_a)
    partners = make_pipeline(app, ws_a, "Partners")
    auth.login(ws_a.email, ws_a.password)
    their_stage = theirs.stages["Lead in"]
    for pipeline_id, stage_id in ((theirs.id, their_stage), (sales.id, their_stage), (sales.id, partners.open[0])):
        assert client.get(url(ws_a, f"{pipeline_id}/stages/{stage_id}")).status_code == 404
        for path, data in ((f"{pipeline_id}/stages/{stage_id}", stage_data("Stolen")),
                           (f"{pipeline_id}/stages/{stage_id}/move", {"direction": "up"}),
                           (f"{pipeline_id}/stages/{stage_id}/delete", {})):  # fmt: skip
            assert post(client, url(ws_a, path), data).status_code == 404, path
    assert client.get(url(ws_a, str(theirs.id))).status_code == 404
    assert post(client, url(ws_a, str(theirs.id)), {"pipeline-name": "Stolen"}).status_code == 404
    assert post(client, url(ws_a, f"{theirs.id}/delete"), {}).status_code == 404
    new_stage = {"stage-name": "X", "stage-probability": "5"}
    assert post(client, url(ws_a, f"{theirs.id}/stages/"), new_stage).status_code == 404
    # Another workspace's stage as the receiver of deals is refused like any unknown stage.
    make_deal(app, ws_a, "Cups", sales.stages["Qualified"])
    response = post(client, url(ws_a, f"{sales.id}/stages/{sales.stages['Qualified']}/delete"), {"target": their_stage})
    assert response.status_code == 422
    assert names(app, ws_b, theirs.id) == ["Lead in", "Qualified", "Proposal", "Negotiation", "Won", "Lost"]
    assert pipelines_of(app, ws_b) == ["Sales"]


def test_error_pages_stay_valid_html(app, client, auth, ws_a):
    from tests.test_pages import assert_valid_page

    sales = default_pipeline(app, ws_a)
    make_deal(app, ws_a, "Cups", sales.stages["Qualified"])
    auth.login(ws_a.email, ws_a.password)
    for path, data in ((f"{sales.id}/stages/", {"stage-name": "", "stage-probability": "120"}),
                       (f"{sales.id}/stages/{sales.stages['Qualified']}/delete", {"target": ""}),
                       (f"{sales.id}/stages/{sales.stages['Won']}/delete", {}),
                       (f"{sales.id}/delete", {}), ("", {"name": ""})):  # fmt: skip
        response = post(client, url(ws_a, path), data)
        assert response.status_code in (409, 422), path
        assert_valid_page(response.get_data(as_text=True), path)
