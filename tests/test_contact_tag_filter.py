"""The contacts list's tag filter on several tags: any or all of them, in the URL as repeated
``tag`` arguments (a single ``tag=x`` link still works), typed as one field with commas, and the
same selection for the filter count, the bulk bar's "all matching", the exports and saved views."""

import csv
import io
from urllib.parse import parse_qs

import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from crm.contacts.list_view import MAX_TAGS, ListState
from crm.contacts.models import Contact, SavedView
from crm.extensions import db
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import make_contact
from tests.query_counter import count_queries
from tests.test_pages import assert_valid_page

RESULTS = {"HX-Request": "true", "HX-Target": "contact-results"}
NAMES = ("Wendy Wholesale", "Ed Export", "Bea Both", "Vic Vip", "Nora None")


def contacts_url(ws, rest: str = "") -> str:
    return f"/w/{ws.slug}/contacts/{rest}"


def tagged_workspace(app, ws) -> dict[str, int]:
    tags = (["wholesale"], ["export"], ["wholesale", "export", "vip"], ["vip"], [])
    return {name: make_contact(app, ws, name, tags=these) for name, these in zip(NAMES, tags, strict=True)}


def listed(client, ws, args) -> set[str]:
    body = client.get(contacts_url(ws), query_string=args).get_data(as_text=True)
    return {name for name in NAMES if name in body}


def tags_of(app, ws, contact_id: int) -> set[str]:
    with app.app_context(), workspace_scope(ws.id):
        return {tag.name for tag in db.session.get(Contact, contact_id).tags}


def test_the_state_reads_repeated_and_comma_separated_tags_and_writes_them_back_repeated():
    state = ListState.from_args(MultiDict([("tag", "Wholesale,  Export "), ("tag", "wholesale"), ("tag", ",")]))
    assert state.tags == ("wholesale", "export") and state.tag_match == "any"
    assert state.as_args() == {"tag": ["wholesale", "export"]}
    every = ListState.from_args(MultiDict([("tag", "vip"), ("tag", "export"), ("tag_match", "all")]))
    assert every.as_args() == {"tag": ["vip", "export"], "tag_match": "all"} and every.filter_count == 1
    assert ListState.from_args(MultiDict([("tag", "vip")])).as_args() == {"tag": ["vip"]}  # an old link
    assert ListState.from_args(MultiDict([("tag_match", "all")])).as_args() == {}  # nothing to match
    assert not ListState.from_args(MultiDict([("tag_match", "all")])).active
    assert ListState.from_args(MultiDict([("tag_match", "some")])).tag_match == "any"
    many = ListState.from_args(MultiDict([("tag", ",".join(f"t{n}" for n in range(30)))]))
    assert len(many.tags) == MAX_TAGS + 1 and many.too_many_tags  # kept to say so, never cut to ten
    assert not ListState.from_args(MultiDict([("tag", ",".join(f"t{n}" for n in range(MAX_TAGS)))])).too_many_tags


def test_any_or_all_of_several_tags_in_the_url_and_the_form(app, client, auth, ws_a, ws_b):
    tagged_workspace(app, ws_a)
    make_contact(app, ws_b, "Beta Both", tags=["wholesale", "export"])
    auth.login(ws_a.email, ws_a.password)
    assert listed(client, ws_a, {"tag": "wholesale"}) == {"Wendy Wholesale", "Bea Both"}  # a saved link of one tag
    either = {"tag": ["wholesale", "export"]}
    assert listed(client, ws_a, either) == {"Wendy Wholesale", "Ed Export", "Bea Both"}
    assert listed(client, ws_a, {**either, "tag_match": "any"}) == {"Wendy Wholesale", "Ed Export", "Bea Both"}
    assert listed(client, ws_a, {**either, "tag_match": "all"}) == {"Bea Both"}
    assert listed(client, ws_a, {"tag": "Wholesale, EXPORT", "tag_match": "all"}) == {"Bea Both"}  # as typed
    assert listed(client, ws_a, {"tag": ["vip", "no such"], "tag_match": "any"}) == {"Bea Both", "Vic Vip"}
    nothing = client.get(contacts_url(ws_a), query_string={"tag": ["vip", "no such"], "tag_match": "all"})
    assert "No contact matches." in nothing.get_data(as_text=True)
    assert "Beta Both" not in client.get(contacts_url(ws_a), query_string=either).get_data(as_text=True)

    page = client.get(contacts_url(ws_a), query_string={**either, "tag_match": "all"}).get_data(as_text=True)
    assert_valid_page(page, "contacts filtered by two tags")
    assert 'name="tag" value="wholesale, export"' in page and 'aria-describedby="tag-hint"' in page
    assert "Separate tags with commas (at most 10)." in page
    assert '<option value="all" selected>All of these tags</option>' in page
    assert '<span id="contact-filters-summary">Filters (1 active)</span>' in page  # one field of the panel
    assert '<details class="more-filters" open>' in page
    export = page.split('id="export-links"')[1].split("</span>")[0]
    assert "export.csv?tag=wholesale&amp;tag=export&amp;tag_match=all" in export
    partial = client.get(contacts_url(ws_a), query_string={**either, "tag_match": "all"}, headers=RESULTS)
    body = partial.get_data(as_text=True)
    assert "Bea Both" in body and "Ed Export" not in body
    assert '<span id="contact-filters-summary" data-hx-swap-oob="innerHTML">Filters (1 active)</span>' in body
    assert "tag=wholesale&amp;tag=export&amp;tag_match=all" in body  # the export links, out of band
    # The bulk bar carries the filter as the list applied it.
    assert '<input type="hidden" name="tag" value="wholesale"><input type="hidden" name="tag" value="export">' in body
    assert '<input type="hidden" name="tag_match" value="all">' in body


def test_more_tags_than_a_filter_takes_match_nothing_and_say_why(app, client, auth, ws_a):
    tagged_workspace(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    ten = ["wholesale"] + [f"other {n}" for n in range(MAX_TAGS - 1)]
    assert listed(client, ws_a, {"tag": ten}) == {"Wendy Wholesale", "Bea Both"}
    response = client.get(contacts_url(ws_a), query_string={"tag": [*ten, "export"]})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Filter by at most 10 tags at once, so nothing matches. Remove some tags to see the list." in body
    assert not {name for name in NAMES if name in body}
    counted = client.get(contacts_url(ws_a, "bulk-count"), query_string={"scope": "all", "tag": [*ten, "export"]})
    assert "0 contacts match this list." in counted.get_data(as_text=True)


def test_all_matching_in_the_bulk_bar_and_the_exports_apply_the_same_tags(app, client, auth, ws_a):
    ids = tagged_workspace(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    both = {"tag": ["wholesale", "export"], "tag_match": "all"}
    counted = client.get(contacts_url(ws_a, "bulk-count"), query_string={"scope": "all", **both})
    assert "1 contact matches this list." in counted.get_data(as_text=True)
    response = post(client, contacts_url(ws_a, "bulk"), {"scope": "all", **both, "action": "add_tag",
                                                         "bulk_tag": "both markets"}, headers=RESULTS)  # fmt: skip
    assert response.status_code == 200
    assert [name for name, contact_id in ids.items() if "both markets" in tags_of(app, ws_a, contact_id)] == [
        "Bea Both"
    ]
    either = {"tag": ["wholesale", "export"]}
    post(client, contacts_url(ws_a, "bulk"), {"scope": "all", **either, "action": "add_tag", "bulk_tag": "trade"})
    traders = [name for name, contact_id in ids.items() if "trade" in tags_of(app, ws_a, contact_id)]
    assert traders == ["Wendy Wholesale", "Ed Export", "Bea Both"]

    exported = client.get(contacts_url(ws_a, "export.csv"), query_string=both).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(exported.lstrip("\ufeff"))))
    assert [row[0] for row in rows[1:]] == ["Bea Both"]
    workbook = client.get(contacts_url(ws_a, "export.xlsx"), query_string={"tag": "vip, export", "tag_match": "all"})
    assert workbook.status_code == 200
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(workbook.get_data())).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["Bea Both"]


def test_a_saved_view_keeps_several_tags_and_all_of_them(app, client, auth, ws_a):
    tagged_workspace(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    in_list = {"HX-Request": "true", "HX-Target": "saved-views-panel",
               "HX-Current-URL": f"http://localhost{contacts_url(ws_a)}"}  # fmt: skip
    # The panel sends the filter form as it is: the tags as typed in their field.
    panel = post(client, contacts_url(ws_a, "views/"), {"tag": "vip, Export", "tag_match": "all", "name": "VIP export"},
                 headers=in_list)  # fmt: skip
    assert panel.status_code == 200 and "VIP export" in panel.get_data(as_text=True)
    with app.app_context(), workspace_scope(ws_a.id):
        query = db.session.scalar(sa.select(SavedView.query).where(SavedView.name == "VIP export"))
    assert parse_qs(query) == {"tag": ["vip", "export"], "tag_match": ["all"]}
    assert listed(client, ws_a, query) == {"Bea Both"}
    own_page = client.get(contacts_url(ws_a, "views/"), query_string={"tag": ["vip", "export"], "tag_match": "all"})
    hidden = own_page.get_data(as_text=True)
    assert '<input type="hidden" name="tag" value="vip"><input type="hidden" name="tag" value="export">' in hidden
    assert '<input type="hidden" name="tag_match" value="all">' in hidden


def test_a_page_filtered_by_several_tags_makes_as_many_queries_as_by_one(app, client, auth, ws_a):
    for number in range(10):
        make_contact(app, ws_a, f"Tagged {number}", tags=["fair", "vip", "export"], owner_id=ws_a.membership_id)
    auth.login(ws_a.email, ws_a.password)
    client.get(contacts_url(ws_a), query_string={"tag": "fair"})
    for args in (
        {"tag": "fair"},
        {"tag": ["fair", "vip", "export"]},
        {"tag": ["fair", "vip", "export"], "tag_match": "all"},
    ):
        with count_queries(app) as queries:
            page = client.get(contacts_url(ws_a), query_string=args).get_data(as_text=True)
        assert page.count('<tr id="contact-') == 10, args
        assert len(queries) == 4, queries  # user with membership, the tags' ids, the page, members (owner filter)
