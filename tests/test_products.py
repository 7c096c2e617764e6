"""Products: the catalogue (Settings → Products: list, search, add, edit, deactivate), the line
items of a deal (from a product or free text, edited in place, the deal's value following them),
won deals recording one purchase per line, permissions, isolation, bad input and query counts."""

import re
from decimal import Decimal

import sqlalchemy as sa

from crm.audit.models import AuditEntry
from crm.contacts.models import Company, Contact
from crm.deals.models import Deal
from crm.extensions import db
from crm.products.models import DealItem, Product
from crm.purchases.models import Purchase
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import (
    assign_role,
    default_pipeline,
    make_company,
    make_contact,
    make_deal,
    make_deal_item,
    make_member,
    make_product,
    make_role,
)
from tests.query_counter import count_queries
from tests.test_pages import assert_valid_page

SECTION = {"HX-Request": "true", "HX-Target": "deal-items"}


def products_url(ws, rest: str = "") -> str:
    return f"/w/{ws.slug}/settings/products/{rest}"


def items_url(ws, deal_id: int, rest: str = "") -> str:
    return f"/w/{ws.slug}/deals/{deal_id}/items/{rest}"


def product_data(**changes) -> dict:
    return {"name": "Green tea", "sku": "GT-1", "unit_price": "12.50", "currency": "USD", "tax_rate": "8", **changes}


def new_line(**changes) -> dict:
    return {"item-product_id": "", "item-name": "", "item-quantity": "1", "item-unit_price": "",
            "item-discount_percent": "", "item-tax_rate": "", **changes}  # fmt: skip


def line(item_id: int, **changes) -> dict:
    values = {"name": "Green tea", "quantity": "1", "unit_price": "10.00", "discount_percent": "0", "tax_rate": "0",
              **changes}  # fmt: skip
    return {f"line-{item_id}-{key}": value for key, value in values.items()}


def products_of(app, ws) -> list[tuple]:
    with app.app_context(), workspace_scope(ws.id):
        rows = db.session.execute(
            sa.select(Product.name, Product.sku, Product.unit_price, Product.tax_rate, Product.active).order_by(
                Product.id
            )
        )
        return [tuple(row) for row in rows]


def lines_of(app, ws, deal_id: int) -> list[tuple]:
    with app.app_context(), workspace_scope(ws.id):
        items = db.session.scalars(sa.select(DealItem).where(DealItem.deal_id == deal_id).order_by(DealItem.position))
        return [(i.name, i.quantity, i.unit_price, i.discount_percent, i.tax_rate, i.product_id) for i in items]


def deal_value(app, ws, deal_id: int) -> Decimal:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.get(Deal, deal_id).value


def actions(app, ws, record_type: str, record_id: int) -> list[str]:
    with app.app_context(), workspace_scope(ws.id):
        return list(
            db.session.scalars(
                sa.select(AuditEntry.action)
                .where(AuditEntry.record_type == record_type, AuditEntry.record_id == record_id)
                .order_by(AuditEntry.id)
            )
        )


def test_the_net_amount_is_rounded_to_the_cent_and_taxed():
    item = DealItem(quantity=Decimal("3"), unit_price=Decimal("9.99"), discount_percent=Decimal("12.5"),
                    tax_rate=Decimal("7.5"))  # fmt: skip
    assert item.net_amount == Decimal("26.22")  # 26.22375
    assert item.net_unit_price == Decimal("8.74")
    assert item.tax_amount == Decimal("1.97")  # 1.9665
    assert item.gross_amount == Decimal("28.19")


def test_catalogue_add_search_edit_deactivate_and_activate(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    page = client.get(products_url(ws_a)).get_data(as_text=True)
    assert "No products yet" in page and 'href="/w/alpha-trading/settings/products/" aria-current="page"' in page
    assert post(client, products_url(ws_a), product_data()).status_code == 303
    assert post(client, products_url(ws_a), product_data(name="Oolong", sku="", unit_price="30")).status_code == 303
    assert products_of(app, ws_a) == [("Green tea", "GT-1", Decimal("12.50"), Decimal("8.00"), True),
                                      ("Oolong", None, Decimal("30.00"), Decimal("8.00"), True)]  # fmt: skip
    page = client.get(products_url(ws_a)).get_data(as_text=True)
    assert "Green tea" in page and "$12.50" in page and "8%" in page and "Oolong" in page
    results = client.get(products_url(ws_a, "?q=gt-"), headers={"HX-Request": "true", "HX-Target": "product-results"})
    text = results.get_data(as_text=True)
    assert text.startswith('<div id="product-results">') and "Green tea" in text and "Oolong" not in text
    assert "Oolong" in client.get(products_url(ws_a, "?q=OOL")).get_data(as_text=True)
    product_id = _id_of(app, ws_a, "Green tea")
    assert 'value="12.50"' in client.get(products_url(ws_a, str(product_id))).get_data(as_text=True)
    assert post(client, products_url(ws_a, str(product_id)), product_data(unit_price="14")).status_code == 303
    assert products_of(app, ws_a)[0][2] == Decimal("14.00")
    assert post(client, products_url(ws_a, f"{product_id}/deactivate"), {}).status_code == 303
    assert f'id="product-{product_id}"' not in client.get(products_url(ws_a)).get_data(as_text=True)
    assert f'id="product-{product_id}"' in client.get(products_url(ws_a, "?status=inactive")).get_data(as_text=True)
    every = client.get(products_url(ws_a, "?status=all")).get_data(as_text=True)
    assert f'id="product-{product_id}"' in every and '<option value="all" selected>' in every
    edit_page = client.get(products_url(ws_a, str(product_id))).get_data(as_text=True)
    assert "Offer it again" in edit_page
    assert_valid_page(edit_page, "a deactivated product")
    assert post(client, products_url(ws_a, f"{product_id}/activate"), {}).status_code == 303
    assert products_of(app, ws_a)[0][4] is True
    assert actions(app, ws_a, "product", product_id) == ["product.created", "product.updated", "product.deactivated",
                                                         "product.activated"]  # fmt: skip


def _id_of(app, ws, name: str) -> int:
    with app.app_context(), workspace_scope(ws.id):
        return db.session.scalar(sa.select(Product.id).where(Product.name == name))


def test_bad_product_input_is_422_with_the_reason_and_saves_nothing(app, client, auth, ws_a):
    make_product(app, ws_a, "Green tea", sku="GT-1")
    auth.login(ws_a.email, ws_a.password)
    for data, message in ((product_data(name=" "), "Give the product a name."),
                          (product_data(sku="GT-1"), "Another product has the SKU GT-1."),
                          (product_data(unit_price="-1"), "Enter an amount of 0 or more."),
                          (product_data(unit_price="NaN"), "Enter a number."),
                          (product_data(unit_price="lots"), "Not a valid decimal value"),
                          (product_data(tax_rate="120"), "Enter a percentage from 0 to 100."),
                          (product_data(currency="XXX"), "Not a valid choice"),
                          (product_data(name="x" * 201), "Field cannot be longer than 200 characters.")):  # fmt: skip
        response = post(client, products_url(ws_a), {**data, "sku": data["sku"] if data["sku"] == "GT-1" else "N"})
        page = response.get_data(as_text=True)
        assert response.status_code == 422 and message in page, (data, message)
        assert_valid_page(page, "product form")
    assert len(products_of(app, ws_a)) == 1
    other = make_product(app, ws_a, "Oolong", sku="OL-1")
    response = post(client, products_url(ws_a, str(other)), product_data(sku="GT-1"))
    assert response.status_code == 422 and "Another product has the SKU GT-1." in response.get_data(as_text=True)
    assert products_of(app, ws_a)[1][1] == "OL-1"


def test_the_catalogue_is_paginated_by_name(app, client, auth, ws_a):
    with app.app_context(), workspace_scope(ws_a.id):
        for number in range(55):
            db.session.add(Product(name=f"Tea {number:02d}", unit_price=Decimal(1), currency="USD", tax_rate=0))
        db.session.commit()
    auth.login(ws_a.email, ws_a.password)
    page = client.get(products_url(ws_a)).get_data(as_text=True)
    assert page.count('<tr id="product-') == 50 and "Tea 49" in page and "Tea 50" not in page
    more = (
        re.search(r'<a href="([^"]+)" data-hx-get', page.split('id="products-more"')[1]).group(1).replace("&amp;", "&")
    )
    rest = client.get(more, headers={"HX-Request": "true", "HX-Target": "products-more"}).get_data(as_text=True)
    assert rest.count('<tr id="product-') == 5 and "Tea 54" in rest and "products-more" not in rest


def test_only_settings_managers_see_and_change_the_catalogue(app, client, auth, ws_a):
    product_id = make_product(app, ws_a)
    seller = make_member(app, ws_a, "sam@alpha.example.com", role="sales")
    auth.login(seller.email, seller.password)
    assert client.get(products_url(ws_a)).status_code == 403
    assert client.get(products_url(ws_a, str(product_id))).status_code == 403
    assert post(client, products_url(ws_a), product_data(sku="NEW")).status_code == 403
    assert post(client, products_url(ws_a, str(product_id)), product_data(name="Stolen")).status_code == 403
    assert post(client, products_url(ws_a, f"{product_id}/deactivate"), {}).status_code == 403
    assert products_of(app, ws_a) == [("Green tea", None, Decimal("10.00"), Decimal("0.00"), True)]


def test_lines_from_a_product_and_free_text_set_the_deal_value(app, client, auth, ws_a):
    deal_id = make_deal(app, ws_a, "Tea for Acme", value=999)
    tea = make_product(app, ws_a, "Green tea", unit_price="10.00", tax_rate="8", sku="GT-1")
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/deals/{deal_id}").get_data(as_text=True)
    assert "No products on this deal yet." in page and "Green tea (GT-1) · $10.00" in page
    response = post(client, items_url(ws_a, deal_id),
                    new_line(**{"item-product_id": tea, "item-quantity": "3", "item-discount_percent": "10"}),
                    headers=SECTION)  # fmt: skip
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and text.startswith('<section id="deal-items"')
    assert '<span id="deal-value" data-hx-swap-oob="true">$27.00</span>' in text
    response = post(client, items_url(ws_a, deal_id),
                    new_line(**{"item-name": "Setup", "item-unit_price": "100"}))  # no JavaScript  # fmt: skip
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/deals/{deal_id}#deal-items")
    assert lines_of(app, ws_a, deal_id) == [
        ("Green tea", Decimal("3.000"), Decimal("10.00"), Decimal("10.00"), Decimal("8.00"), tea),
        ("Setup", Decimal("1.000"), Decimal("100.00"), Decimal("0.00"), Decimal("0.00"), None),
    ]
    assert deal_value(app, ws_a, deal_id) == Decimal("127.00")
    page = client.get(f"/w/{ws_a.slug}/deals/{deal_id}").get_data(as_text=True)
    assert_valid_page(page, "deal with lines")
    footer = page.split("<tfoot>")[1]
    assert "$127.00" in footer and "$2.16" in footer and "$129.16" in footer
    assert "Record each product line as a purchase of the customer" in page
    assert actions(app, ws_a, "deal", deal_id) == ["deal.created", "deal.item_added", "deal.item_added"]


def test_a_line_is_edited_in_place_and_removed(app, client, auth, ws_a):
    deal_id = make_deal(app, ws_a, "Tea", value=0)
    first = make_deal_item(app, ws_a, deal_id, name="Green tea", unit_price="10")
    second = make_deal_item(app, ws_a, deal_id, name="Cups", unit_price="5", quantity="2")
    auth.login(ws_a.email, ws_a.password)
    for changes, message in (({"quantity": "0"}, "Enter a quantity above 0."),
                             ({"unit_price": "-5"}, "Enter an amount of 0 or more."),
                             ({"discount_percent": "101"}, "Enter a percentage from 0 to 100."),
                             ({"name": ""}, "Name the line."),
                             ({"quantity": "999999", "unit_price": "9999999"}, "too large")):  # fmt: skip
        response = post(client, items_url(ws_a, deal_id, str(first)), line(first, **changes), headers=SECTION)
        text = response.get_data(as_text=True)
        assert response.status_code == 422 and message in text and text.startswith('<section id="deal-items"')
        assert f'id="line-{first}-' in text and 'aria-invalid="true"' in text
    assert deal_value(app, ws_a, deal_id) == Decimal("20.00")
    response = post(client, items_url(ws_a, deal_id, str(first)), line(first, quantity="4", discount_percent="25"),
                    headers=SECTION)  # fmt: skip
    assert response.status_code == 200 and "$30.00" in response.get_data(as_text=True)
    assert deal_value(app, ws_a, deal_id) == Decimal("40.00")  # 4 x 10 x 0.75 + 2 x 5
    assert post(client, items_url(ws_a, deal_id, f"{second}/delete"), {}, headers=SECTION).status_code == 200
    assert deal_value(app, ws_a, deal_id) == Decimal("30.00")
    assert post(client, items_url(ws_a, deal_id, f"{first}/delete"), {}).status_code == 303
    assert lines_of(app, ws_a, deal_id) == [] and deal_value(app, ws_a, deal_id) == Decimal("30.00")  # kept
    assert actions(app, ws_a, "deal", deal_id)[-3:] == ["deal.item_updated", "deal.item_removed", "deal.item_removed"]


def test_quantities_are_shown_without_trailing_zeros(app, client, auth, ws_a):
    deal_id = make_deal(app, ws_a, "Tea", value=0)
    one = make_deal_item(app, ws_a, deal_id, name="Green tea", unit_price="10")
    half = make_deal_item(app, ws_a, deal_id, name="Cups", unit_price="5", quantity="2.5")
    auth.login(ws_a.email, ws_a.password)
    page = client.get(f"/w/{ws_a.slug}/deals/{deal_id}").get_data(as_text=True)
    # "1.000" reads as a thousand where a point groups thousands.
    assert re.search(rf'id="line-{one}-quantity"[^>]* value="1"', page)
    assert re.search(rf'id="line-{half}-quantity"[^>]* value="2.5"', page)
    assert re.search(r'id="item-quantity"[^>]* value="1"', page)  # a new line's
    assert "1.000" not in page and "2.500" not in page
    refused = post(client, items_url(ws_a, deal_id, str(one)), line(one, quantity="3.50", name=""), headers=SECTION)
    assert refused.status_code == 422  # what was typed stays as typed
    assert re.search(rf'id="line-{one}-quantity"[^>]* value="3.50"', refused.get_data(as_text=True))


def test_a_product_in_another_currency_or_deactivated_is_refused(app, client, auth, ws_a):
    deal_id = make_deal(app, ws_a, "Tea", value=50)
    euros = make_product(app, ws_a, "Darjeeling", currency="EUR")
    retired = make_product(app, ws_a, "Old tea", active=False)
    auth.login(ws_a.email, ws_a.password)
    in_euros = "Darjeeling is priced in EUR and this deal is in USD"
    for data, message in ((new_line(**{"item-product_id": euros}), in_euros),
                          (new_line(**{"item-product_id": retired}), "Old tea is no longer offered."),
                          (new_line(), "Choose a product or name the line."),
                          (new_line(**{"item-name": "Setup"}), "Enter the unit price."),
                          (new_line(**{"item-name": "Setup", "item-unit_price": "1", "item-quantity": "-2"}),
                           "Enter a quantity above 0."),
                          (new_line(**{"item-product_id": "tea"}), "Invalid Choice: could not coerce.")):  # fmt: skip
        response = post(client, items_url(ws_a, deal_id), data, headers=SECTION)
        assert response.status_code == 422 and message in response.get_data(as_text=True), message
    response = post(client, items_url(ws_a, deal_id), new_line(), headers={})  # without JavaScript: the lines page
    assert response.status_code == 422
    assert_valid_page(response.get_data(as_text=True), "lines page")
    assert lines_of(app, ws_a, deal_id) == [] and deal_value(app, ws_a, deal_id) == Decimal("50.00")


def test_the_deal_form_leaves_value_and_currency_to_the_lines(app, client, auth, ws_a):
    deal_id = make_deal(app, ws_a, "Tea", value=0)
    make_deal_item(app, ws_a, deal_id, name="Green tea", unit_price="10")
    auth.login(ws_a.email, ws_a.password)
    form = client.get(f"/w/{ws_a.slug}/deals/{deal_id}/edit").get_data(as_text=True)
    assert "The value is the net total of the deal" in form and 'name="value"' not in form
    data = {"title": "More tea", "value": "5", "currency": "EUR", "contact_id": "", "company_id": "", "owner_id": "",
            "stage_id": default_pipeline(app, ws_a).stages["Lead in"]}  # fmt: skip
    assert post(client, f"/w/{ws_a.slug}/deals/{deal_id}", data).status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        deal = db.session.get(Deal, deal_id)
        assert (deal.title, deal.value, deal.currency) == ("More tea", Decimal("10.00"), "USD")


def test_a_closed_deals_lines_are_read_only(app, client, auth, ws_a):
    deal_id = make_deal(app, ws_a, "Tea", value=0)
    item = make_deal_item(app, ws_a, deal_id, name="Green tea", unit_price="10")
    auth.login(ws_a.email, ws_a.password)
    assert post(client, f"/w/{ws_a.slug}/deals/{deal_id}/won", {}).status_code == 303
    page = client.get(f"/w/{ws_a.slug}/deals/{deal_id}").get_data(as_text=True)
    assert "Green tea" in page and "Add a line" not in page and f"line-{item}-quantity" not in page
    assert "reopen it to change its products" in page
    response = post(client, items_url(ws_a, deal_id), new_line(**{"item-name": "X", "item-unit_price": "1"}),
                    headers=SECTION)  # fmt: skip
    assert response.status_code == 409 and "Reopen the deal first" in response.headers["HX-Trigger"]
    assert post(client, items_url(ws_a, deal_id, str(item)), line(item, quantity="9")).status_code == 409
    assert post(client, items_url(ws_a, deal_id, f"{item}/delete"), {}).status_code == 409
    assert lines_of(app, ws_a, deal_id)[0][1] == Decimal("1.000")


def test_won_with_lines_records_a_purchase_per_line_and_reclassifies_the_contact(app, client, auth, ws_a):
    ann = make_contact(app, ws_a, "Ann Lee")
    deal_id = make_deal(app, ws_a, "Tea chests", value=0, contact_id=ann)
    tea = make_product(app, ws_a, "Green tea", unit_price="2000.00", tax_rate="8")
    make_deal_item(app, ws_a, deal_id, tea, quantity="5", discount="10")  # 9,000.00
    make_deal_item(app, ws_a, deal_id, name="Delivery", unit_price="1500")
    before = actions(app, ws_a, "contact", ann).count("contact.reclassified")  # the open deal made her potential
    auth.login(ws_a.email, ws_a.password)
    assert post(client, f"/w/{ws_a.slug}/deals/{deal_id}/won", {"purchase": "y"}).status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        rows = db.session.execute(
            sa.select(
                Purchase.product, Purchase.quantity, Purchase.unit_price, Purchase.amount, Purchase.contact_id
            ).order_by(Purchase.id)
        ).all()
        contact = db.session.get(Contact, ann)
        assert (contact.lifetime_value, contact.tier) == (Decimal("10500.00"), "A")
        reclassified = db.session.scalar(
            sa.select(sa.func.count()).where(AuditEntry.action == "contact.reclassified", AuditEntry.record_id == ann)
        )
    assert [tuple(row) for row in rows] == [
        ("Green tea", Decimal("5.000"), Decimal("1800.00"), Decimal("9000.00"), ann),
        ("Delivery", Decimal("1.000"), Decimal("1500.00"), Decimal("1500.00"), ann),
    ]
    assert (before, reclassified) == (1, 2)  # winning: once for the deal, not once per line
    assert actions(app, ws_a, "contact", ann).count("purchase.created") == 2


def test_won_with_lines_for_a_company_records_its_own_purchases(app, client, auth, ws_a):
    acme = make_company(app, ws_a, "Acme Ltd")
    deal_id = make_deal(app, ws_a, "Office tea", value=0, company_id=acme)
    make_deal_item(app, ws_a, deal_id, name="Tea", unit_price="3", quantity="2.5")
    make_deal_item(app, ws_a, deal_id, name="Cups", unit_price="4")
    auth.login(ws_a.email, ws_a.password)
    assert post(client, f"/w/{ws_a.slug}/deals/{deal_id}/won", {"purchase": "y"}).status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        rows = db.session.execute(
            sa.select(Purchase.product, Purchase.amount, Purchase.contact_id, Purchase.company_id).order_by(Purchase.id)
        ).all()
        assert db.session.get(Company, acme) is not None
    assert [tuple(row) for row in rows] == [("Tea", Decimal("7.50"), None, acme), ("Cups", Decimal("4.00"), None, acme)]
    page = client.get(f"/w/{ws_a.slug}/companies/{acme}").get_data(as_text=True)
    assert "Cups" in page and "$11.50" in page


def test_won_with_lines_keeps_the_currency_check(app, client, auth, ws_a):
    eve = make_contact(app, ws_a, "Eve")
    deal_id = make_deal(app, ws_a, "In euros", value=0, contact_id=eve, currency="EUR")
    make_deal_item(app, ws_a, deal_id, make_product(app, ws_a, "Darjeeling", currency="EUR"))
    auth.login(ws_a.email, ws_a.password)
    response = post(client, f"/w/{ws_a.slug}/deals/{deal_id}/won", {"purchase": "y"})
    assert response.status_code == 422 and "Purchases are kept in USD" in response.get_data(as_text=True)
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.get(Deal, deal_id).status == "open"
        assert db.session.scalar(sa.select(sa.func.count(Purchase.id))) == 0


def test_viewers_read_lines_and_own_scope_reaches_only_own_deals(app, client, auth, ws_a):
    mine = make_deal(app, ws_a, "Alice's", value=0, owner_id=ws_a.membership_id)
    item = make_deal_item(app, ws_a, mine, name="Green tea", unit_price="10")
    viewer = make_member(app, ws_a, "vic@alpha.example.com", role="viewer")
    auth.login(viewer.email, viewer.password)
    page = client.get(f"/w/{ws_a.slug}/deals/{mine}").get_data(as_text=True)
    assert "Green tea" in page and "Add a line" not in page
    free_line = new_line(**{"item-name": "X", "item-unit_price": "1"})
    assert post(client, items_url(ws_a, mine), free_line).status_code == 403
    assert post(client, items_url(ws_a, mine, str(item)), line(item)).status_code == 403
    auth.logout()
    seller = make_member(app, ws_a, "sam@alpha.example.com", role="sales")
    assign_role(app, ws_a, seller.membership_id,
                make_role(app, ws_a, "Own deals", ("deals.read", "deals.write"), record_scope="own"))  # fmt: skip
    auth.login(seller.email, seller.password)
    assert client.get(items_url(ws_a, mine)).status_code == 404
    assert post(client, items_url(ws_a, mine), free_line).status_code == 404
    assert post(client, items_url(ws_a, mine, str(item)), line(item, quantity="7")).status_code == 404
    assert post(client, items_url(ws_a, mine, f"{item}/delete"), {}).status_code == 404
    assert lines_of(app, ws_a, mine) == [("Green tea", Decimal("1.000"), Decimal("10.00"), Decimal("0.00"),
                                          Decimal("0.00"), None)]  # fmt: skip


def test_another_workspaces_products_deals_and_lines_are_404(app, client, auth, ws_a, ws_b):
    their_product = make_product(app, ws_b, "Secret blend", sku="SB-1")
    their_deal = make_deal(app, ws_b, "Secret deal", value=0)
    their_item = make_deal_item(app, ws_b, their_deal, their_product)
    mine = make_deal(app, ws_a, "Mine", value=0)
    other_of_mine = make_deal(app, ws_a, "Other", value=0)
    item_of_other = make_deal_item(app, ws_a, other_of_mine, name="Cups", unit_price="1")
    auth.login(ws_a.email, ws_a.password)
    # Their product's id in my add-line form: 404, nothing added, nothing of theirs shown.
    response = post(client, items_url(ws_a, mine), new_line(**{"item-product_id": their_product}), headers=SECTION)
    assert response.status_code == 404 and "Secret blend" not in response.get_data(as_text=True)
    assert lines_of(app, ws_a, mine) == []
    assert "Secret blend" not in client.get(f"/w/{ws_a.slug}/deals/{mine}").get_data(as_text=True)
    assert "Secret blend" not in client.get(products_url(ws_a, "?status=")).get_data(as_text=True)
    for url in (products_url(ws_a, str(their_product)), items_url(ws_a, their_deal)):
        assert client.get(url).status_code == 404
    for url, data in ((products_url(ws_a, str(their_product)), product_data()),
                      (products_url(ws_a, f"{their_product}/deactivate"), {}),
                      (items_url(ws_a, their_deal), new_line(**{"item-name": "X", "item-unit_price": "1"})),
                      (items_url(ws_a, their_deal, str(their_item)), line(their_item)),
                      (items_url(ws_a, mine, str(their_item)), line(their_item)),
                      (items_url(ws_a, mine, f"{their_item}/delete"), {}),
                      (items_url(ws_a, mine, str(item_of_other)), line(item_of_other, quantity="9")),
                      (items_url(ws_a, mine, f"{item_of_other}/delete"), {})):  # fmt: skip
        assert post(client, url, data).status_code == 404, url
    assert products_of(app, ws_b) == [("Secret blend", "SB-1", Decimal("10.00"), Decimal("0.00"), True)]
    assert len(lines_of(app, ws_b, their_deal)) == 1 and len(lines_of(app, ws_a, other_of_mine)) == 1
    assert lines_of(app, ws_a, other_of_mine)[0][1] == Decimal("1.000")


def test_the_deal_page_costs_the_same_queries_whatever_the_number_of_lines(app, client, auth, ws_a):
    one = make_deal(app, ws_a, "One line", value=0)
    many = make_deal(app, ws_a, "Many lines", value=0)
    tea = make_product(app, ws_a, "Green tea")
    make_deal_item(app, ws_a, one, tea)
    for number in range(20):
        make_deal_item(app, ws_a, many, tea if number % 2 else None, name=None if number % 2 else f"Line {number}",
                       unit_price=None if number % 2 else "3")  # fmt: skip
    auth.login(ws_a.email, ws_a.password)
    client.get(f"/w/{ws_a.slug}/deals/{one}")  # process caches (slug, field definitions) filled
    counts = []
    for deal_id in (one, many):
        with count_queries(app) as statements:
            page = client.get(f"/w/{ws_a.slug}/deals/{deal_id}").get_data(as_text=True)
        counts.append(len(statements))
    assert page.count('<tr id="deal-item-') == 20
    assert counts[0] == counts[1], counts
    counts = []
    for deal_id in (one, many):  # adding a line re-renders the section: no query per line either
        with count_queries(app) as statements:
            response = post(client, items_url(ws_a, deal_id), new_line(**{"item-product_id": tea}), headers=SECTION)
        assert response.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


def test_a_product_name_and_sku_with_spaces_around_are_measured_as_saved_trimmed(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    name, sku = "G" * 200, "S" * 64
    assert post(client, products_url(ws_a), product_data(name=f" {name} ", sku=f"{sku} ")).status_code == 303
    assert [(stored_name, stored_sku) for stored_name, stored_sku, *_rest in products_of(app, ws_a)] == [(name, sku)]


def test_numbers_are_checked_as_they_will_be_stored(app, client, auth, ws_a):
    deal_id = make_deal(app, ws_a, "Tea", value=0)
    first = make_deal_item(app, ws_a, deal_id, name="Green tea", unit_price="10")
    auth.login(ws_a.email, ws_a.password)
    # A quantity that rounds to 0 (Numeric(12, 3)) is not "above 0"; a price that rounds past the
    # column's maximum is too large: both refused with the reason, not a server error.
    for changes, message in (({"quantity": "0.0004"}, "Enter a quantity above 0."),
                             ({"unit_price": "9999999999.999"}, "Enter an amount of 0 or more.")):  # fmt: skip
        response = post(client, items_url(ws_a, deal_id, str(first)), line(first, **changes), headers=SECTION)
        assert response.status_code == 422 and message in response.get_data(as_text=True)
        response = post(client, items_url(ws_a, deal_id),
                        new_line(**{"item-name": "Cups", "item-unit_price": "1", "item-quantity": "1",
                                    **{f"item-{key}": value for key, value in changes.items()}}),
                        headers=SECTION)  # fmt: skip
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    response = post(client, products_url(ws_a), product_data(unit_price="9999999999.995"))
    assert response.status_code == 422 and "Enter an amount of 0 or more." in response.get_data(as_text=True)
    assert lines_of(app, ws_a, deal_id) == [
        ("Green tea", Decimal("1.000"), Decimal("10.00"), Decimal("0.00"), Decimal("0.00"), None)
    ]
    # What rounds within the limits is kept as rounded.
    response = post(client, items_url(ws_a, deal_id, str(first)), line(first, quantity="0.0005"), headers=SECTION)
    assert response.status_code == 200
    assert lines_of(app, ws_a, deal_id)[0][1] == Decimal("0.001")


def test_the_history_names_a_lines_fields_in_the_readers_language(app, client, auth, ws_a):
    from crm.auth.models import User

    deal_id = make_deal(app, ws_a, "Tea", value=0)
    tea = make_product(app, ws_a, "Green tea", unit_price="10.00", tax_rate="8")
    auth.login(ws_a.email, ws_a.password)
    post(client, items_url(ws_a, deal_id), new_line(**{"item-product_id": tea, "item-discount_percent": "5"}))
    history = client.get(f"/w/{ws_a.slug}/deals/{deal_id}").get_data(as_text=True).split('id="history-title"')[1]
    assert "Discount (%)" in history and "Tax rate (%)" in history and "Product" in history
    assert "discount percent" not in history and "tax rate" not in history and "product id" not in history
    with app.app_context():
        db.session.scalar(sa.select(User).where(User.email == ws_a.email)).locale = "zh_Hans"
        db.session.commit()
    history = client.get(f"/w/{ws_a.slug}/deals/{deal_id}").get_data(as_text=True).split('id="history-title"')[1]
    assert "折扣（%）" in history and "税率（%）" in history
    assert not re.search(r"discount|tax rate|product id|deal item", history)


def test_a_deal_won_again_with_its_purchase_replaces_the_purchases_of_its_first_win(app, client, auth, ws_a):
    """Won with its purchase, reopened to correct a line, won again with its purchase: the customer
    has the corrected purchases once, not the sale twice; winning again without the purchase leaves
    them as they are."""
    ann = make_contact(app, ws_a, "Ann Lee")
    deal_id = make_deal(app, ws_a, "Tea chests", value=0, contact_id=ann)
    make_deal_item(app, ws_a, deal_id, name="Chests", unit_price="1000", quantity="3")
    auth.login(ws_a.email, ws_a.password)
    deal = f"/w/{ws_a.slug}/deals/{deal_id}"
    assert post(client, f"{deal}/won", {"purchase": "y"}).status_code == 303
    assert post(client, f"{deal}/reopen", {}).status_code == 303
    with app.app_context(), workspace_scope(ws_a.id):
        from crm.products.service import update_item

        item = db.session.scalars(sa.select(DealItem)).one()
        update_item(db.session.get(Deal, deal_id), item, {"quantity": Decimal("2")})
        db.session.commit()
    assert post(client, f"{deal}/won", {"purchase": "y"}).status_code == 303

    def bought() -> tuple:
        with app.app_context(), workspace_scope(ws_a.id):
            rows = db.session.execute(sa.select(Purchase.quantity, Purchase.amount, Purchase.deal_id)).all()
            return [tuple(row) for row in rows], db.session.get(Contact, ann).lifetime_value

    assert bought() == ([(Decimal("2.000"), Decimal("2000.00"), deal_id)], Decimal("2000.00"))
    assert actions(app, ws_a, "contact", ann).count("purchase.deleted") == 1  # the first win's, audited
    assert post(client, f"{deal}/reopen", {}).status_code == 303
    assert post(client, f"{deal}/won", {}).status_code == 303
    assert bought() == ([(Decimal("2.000"), Decimal("2000.00"), deal_id)], Decimal("2000.00"))
