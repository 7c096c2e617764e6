"""Search ignores the accents of Latin letters, both ways: "muller" finds Müller and "müller" finds
Muller, in the contacts and companies lists, the header's search, a deal's customer picker, the
ticket queue, deal titles (board, list, header) and the product catalogue. German spellings of ä, ö,
ü count too: "mueller" finds Müller and "Müller" a stored Mueller. Chinese, Japanese and Korean are
searched as before (kana keep their dakuten), full-width letters and digits as the ASCII they stand
for, one and two letters still by the start of the name or a word, and another workspace's records
never show."""

import re

import pytest

from crm.search import fold, normalize, search_terms, searchable
from tests.factories import default_pipeline, make_company, make_contact, make_deal, make_product, make_ticket

RESULTS = {"HX-Request": "true", "HX-Target": "contact-results"}
COMPANY_RESULTS = {"HX-Request": "true", "HX-Target": "company-results"}
QUICK = {"HX-Request": "true", "HX-Target": "global-search-results"}
ABC = "\uff21\uff22\uff23"  # full-width, as a Chinese input method types them
PEOPLE = ("Jürgen Müller", "Hans Muller", "José Álvarez", "Élise Øster", "Elise Strand", "Łukasz Straße",
          "Zoë Nguyễn", "すがわら", "すかい", "김민수", "王小明", f"{ABC} Tanaka")  # fmt: skip


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Jürgen MÜLLER", "jurgen muller"),
        ("São  Paulo", "sao paulo"),
        ("Straße Œuvre Æbelø Þór", "strasse oeuvre aebelo thor"),
        ("Łódź Đặng Nguyễn ﬁne", "lodz dang nguyen fine"),
        ("Mu\u0308ller", "muller"),  # typed decomposed: a u and a combining diaeresis
        (f"{ABC} \uff11\uff12\uff13", "abc 123"),
        ("王小明 すがわら ガス 김민수", "王小明 すがわら ガス 김민수"),  # left as they are
        ("", ""),
    ],
)
def test_fold_drops_the_accents_of_latin_letters_only(text, folded):
    assert fold(text) == folded
    assert fold(normalize(text)) == folded  # a stored (normalised) text folds to the same


def test_contacts_are_found_with_or_without_accents(app, client, auth, ws_a, ws_b):
    for name in PEOPLE:
        make_contact(app, ws_a, name)
    make_contact(app, ws_a, "Ana Costa", emails=["ana@example.br"], phones=["+8613800138000"])
    make_contact(app, ws_b, "Maria Müller")
    auth.login(ws_a.email, ws_a.password)

    def found(q: str) -> set[str]:
        response = client.get(f"/w/{ws_a.slug}/contacts/", query_string={"q": q}, headers=RESULTS)
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        return {name for name in (*PEOPLE, "Ana Costa", "Maria Müller") if name in body}

    assert found("muller") == found("müller") == found("MÜLLER") == {"Jürgen Müller", "Hans Muller"}
    assert found("jurgen") == {"Jürgen Müller"}
    assert found("jose alvarez") == found("JOSÉ") == {"José Álvarez"}
    assert found("oster") == found("øster") == {"Élise Øster"}
    assert found("elise") == found("élise") == {"Élise Øster", "Elise Strand"}
    assert found("strasse") == found("straße") == {"Łukasz Straße"}
    assert found("lukasz") == {"Łukasz Straße"}
    assert found("nguyen") == found("nguyễn") == {"Zoë Nguyễn"}
    assert found("Mu\u0308ller") == {"Jürgen Müller", "Hans Muller"}  # typed decomposed
    # Short words: two letters are the start of a word, one the start of the name.
    assert found("mü") == found("mu") == {"Jürgen Müller", "Hans Muller"}
    assert found("e") == found("é") == found("É") == {"Élise Øster", "Elise Strand"}
    assert found("j") == {"Jürgen Müller", "José Álvarez"}
    assert found("l") == found("ł") == {"Łukasz Straße"}
    assert found("ø") == found("o") == set()  # no name starts with O
    assert found("ße") == found("sse") == {"Łukasz Straße"}  # three letters ("sse") match anywhere
    # Chinese, Japanese and Korean as before: kana keep their dakuten, hangul its syllables.
    assert found("王") == found("小明") == {"王小明"}
    assert found("すが") == {"すがわら"} and found("すか") == {"すかい"}
    assert found("김민수") == found("민수") == {"김민수"}
    # Full-width letters and digits are the ASCII they stand for; a phone number as digits.
    assert found("abc") == found(ABC) == {f"{ABC} Tanaka"}
    assert (
        found("\uff11\uff13\uff18 \uff10\uff10\uff11\uff13 \uff18\uff10\uff10\uff10")
        == found("138 0013 8000")
        == {"Ana Costa"}
    )
    # Odd input finds nothing rather than failing; LIKE wildcards stay literal.
    assert found("\u0301") == found("é%") == found("ü_") == set()


def test_companies_list_header_search_and_picker_fold_accents(app, client, auth, ws_a, ws_b):
    sao = make_company(app, ws_a, "São Paulo Têxtil")
    make_company(app, ws_a, "Muller Freres")
    make_contact(app, ws_a, "João Silva", company_id=sao)
    make_contact(app, ws_b, "Sao Paulo of Beta")
    make_company(app, ws_b, "São Paulo Beta Ltda")
    auth.login(ws_a.email, ws_a.password)

    def companies(q: str) -> str:
        response = client.get(f"/w/{ws_a.slug}/companies/", query_string={"q": q}, headers=COMPANY_RESULTS)
        assert response.status_code == 200
        return response.get_data(as_text=True)

    assert "São Paulo Têxtil" in companies("sao paulo textil") and "Muller Freres" not in companies("sao")
    assert "Muller Freres" in companies("müller frères") and "São Paulo" not in companies("müller")
    assert "Beta" not in companies("sao paulo")

    quick = client.get(f"/w/{ws_a.slug}/search/", query_string={"q": "sao paulo"}, headers=QUICK)
    html = quick.get_data(as_text=True)
    assert "João Silva" in html and "São Paulo Têxtil" in html  # the contact by its company's name
    assert "Beta" not in html
    full = client.get(f"/w/{ws_a.slug}/search/", query_string={"q": "joao"}).get_data(as_text=True)
    assert "João Silva" in full
    # A deal's customer picker searches the same way.
    picker = client.get(f"/w/{ws_a.slug}/deals/customers/", query_string={"field": "customer", "kind": "customer",
                                                                          "q": "sao paulo"})  # fmt: skip
    html = picker.get_data(as_text=True)
    assert 'data-label="João Silva"' in html and 'data-label="São Paulo Têxtil"' in html and "Beta" not in html


def test_the_ticket_queue_folds_accents(app, client, auth, ws_a):
    jose = make_contact(app, ws_a, "José Pérez")
    make_ticket(app, ws_a, jose, "Café frío", requester_name="José Pérez", requester_email="jose@example.mx")
    make_ticket(app, ws_a, jose, "Broken cup")
    auth.login(ws_a.email, ws_a.password)
    queue = client.get(f"/w/{ws_a.slug}/tickets/", query_string={"q": "cafe frio"}).get_data(as_text=True)
    assert "Café frío" in queue and "Broken cup" not in queue
    quick = client.get(f"/w/{ws_a.slug}/search/", query_string={"q": "perez"}, headers=QUICK).get_data(as_text=True)
    assert "Café frío" in quick and "José Pérez" in quick


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("Jürgen MÜLLER", "jurgen muller juergen mueller"),
        ("Mu\u0308ller", "muller mueller"),  # decomposed: a u and a combining diaeresis
        ("Bäckerei Größe", "backerei grosse baeckerei groesse"),
        ("Müller Müller", "muller muller mueller"),  # a spelling once
        ("jürgen@müller.de", "jurgen@muller.de juergen@mueller.de"),
        ("Goethe José", "goethe jose"),  # no ä, ö, ü: the plain fold
        ("", ""),
    ],
)
def test_a_search_text_carries_the_german_spelling_of_umlauts(text, stored):
    assert searchable(text) == stored


def test_a_search_text_carries_each_character_and_pair_of_its_chinese_japanese_and_korean_runs():
    """One or two characters are too short for a trigram index inside a word; as words of their own
    between bars they have trigrams ("  伟", " 伟 "), so the query's |伟| is found through the index."""
    assert searchable("王小明") == "王小明 |王| |小| |明| |王小| |小明|"
    assert searchable("すがわら Müller 김민") == (
        "すがわら muller 김민 mueller |す| |が| |わ| |ら| |すが| |がわ| |わら| |김| |민| |김민|"
    )
    assert searchable("明明") == "明明 |明| |明明|"  # each gram once
    assert searchable(searchable("王小明")) == searchable("王小明")  # kept, not added again
    assert search_terms("伟 小明 王小明 a王") == [("|伟|",), ("|小明|",), ("王小明",), ("a王",)]


def test_a_query_word_with_an_umlaut_also_matches_its_german_spelling():
    assert search_terms("Müller hans") == [("muller", "mueller"), ("hans",)]
    assert search_terms("mueller") == [("mueller",)]  # ue is no umlaut in Samuel or Manuel
    assert search_terms("mü") == [("mu", "mue")]
    assert search_terms("ü") == [("u",)]  # one letter: the start of a name, Ü or U
    assert search_terms("650 253-00") == [("65025300",)]
    assert search_terms("2024-01 plan", phone_digits=False) == [("2024-01",), ("plan",)]


def test_german_spellings_find_contacts_companies_and_tickets(app, client, auth, ws_a, ws_b):
    people = ("Jürgen Müller", "Hans Muller", "Karl Mueller", "Samuel Blue", "Dörte Göbel", "王小明")
    ids = {name: make_contact(app, ws_a, name) for name in people}
    baecker = make_company(app, ws_a, "Bäckerei Schäfer")
    make_contact(app, ws_b, "Maria Müller")
    make_company(app, ws_b, "Bäckerei Beta")
    make_ticket(app, ws_a, ids["Jürgen Müller"], "Rückerstattung für Größe", requester_name="Jürgen Müller")
    make_ticket(app, ws_a, ids["Samuel Blue"], "Blue cups")
    auth.login(ws_a.email, ws_a.password)

    def found(q: str) -> set[str]:
        response = client.get(f"/w/{ws_a.slug}/contacts/", query_string={"q": q}, headers=RESULTS)
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        return {name for name in (*people, "Maria Müller") if name in body}

    assert found("mueller") == found("MUELLER") == {"Jürgen Müller", "Karl Mueller"}
    assert found("muller") == {"Jürgen Müller", "Hans Muller"}
    assert found("Müller") == found("mu\u0308ller") == {"Jürgen Müller", "Hans Muller", "Karl Mueller"}
    assert found("juergen mueller") == found("jurgen") == {"Jürgen Müller"}
    assert found("goebel") == found("gobel") == found("göbel") == {"Dörte Göbel"}
    assert found("doerte") == {"Dörte Göbel"}
    assert found("mü") == {"Jürgen Müller", "Hans Muller", "Karl Mueller"}  # mu or mue at a word's start
    assert found("samuel") == {"Samuel Blue"} and found("ue") == set()  # no word starts with ue
    assert found("小明") == {"王小明"}

    companies = client.get(f"/w/{ws_a.slug}/companies/", query_string={"q": "baeckerei"}, headers=COMPANY_RESULTS)
    html = companies.get_data(as_text=True)
    assert "Bäckerei Schäfer" in html and "Beta" not in html
    assert "Bäckerei Schäfer" in client.get(f"/w/{ws_a.slug}/companies/", query_string={"q": "schafer"}).get_data(
        as_text=True
    )
    queue = client.get(f"/w/{ws_a.slug}/tickets/", query_string={"q": "rueckerstattung groesse"}).get_data(as_text=True)
    assert "Rückerstattung für Größe" in queue and "Blue cups" not in queue
    quick = client.get(f"/w/{ws_a.slug}/search/", query_string={"q": "mueller"}, headers=QUICK).get_data(as_text=True)
    assert "Jürgen Müller" in quick and "Karl Mueller" in quick and "Rückerstattung" in quick
    assert "Maria" not in quick and "Hans Muller" not in quick
    picker = client.get(f"/w/{ws_a.slug}/deals/customers/", query_string={"field": "customer", "kind": "customer",
                                                                          "q": "baeckerei"})  # fmt: skip
    html = picker.get_data(as_text=True)
    assert f'value="company:{baecker}"' in html and "Beta" not in html


def test_deal_titles_fold_accents_on_the_board_list_and_header(app, client, auth, ws_a, ws_b):
    sales = default_pipeline(app, ws_a)
    lead = sales.stages["Lead in"]
    cafe = make_deal(app, ws_a, "Café au lait supply", lead)
    mueller = make_deal(app, ws_a, "Müller GmbH renewal", lead)
    plain = make_deal(app, ws_a, "Tea for Acme", lead)
    chinese = make_deal(app, ws_a, "上海贸易 2024-01 订单", lead)
    make_deal(app, ws_b, "Café Beta")
    auth.login(ws_a.email, ws_a.password)
    board_url = f"/w/{ws_a.slug}/deals/pipelines/{sales.id}"

    def listed(q: str) -> set[int]:
        response = client.get(
            f"{board_url}/list", query_string={"q": q}, headers={"HX-Request": "true", "HX-Target": "deal-list-results"}
        )
        assert response.status_code == 200
        return {int(i) for i in re.findall(r'id="deal-row-(\d+)"', response.get_data(as_text=True))}

    assert listed("cafe") == listed("CAFÉ") == listed("café au lait") == {cafe}
    assert listed("supply cafe") == {cafe}  # words in any order
    assert listed("mueller") == listed("muller") == listed("Müller") == {mueller}
    assert listed("tea") == {plain} and listed("acme") == {plain}
    assert listed("贸易") == listed("上海") == {chinese}
    assert listed("2024-01") == {chinese}  # digits and dashes as typed, not read as a phone number
    assert listed("café%") == listed("beta") == set()
    board = client.get(board_url, query_string={"q": "cafe"}, headers={"HX-Request": "true",
                                                                        "HX-Target": "deal-board"})  # fmt: skip
    html = board.get_data(as_text=True)
    assert "Café au lait supply" in html and "Tea for Acme" not in html and "Beta" not in html
    quick = client.get(f"/w/{ws_a.slug}/search/", query_string={"q": "cafe"}, headers=QUICK).get_data(as_text=True)
    assert "Café au lait supply" in quick and "Beta" not in quick and "Müller GmbH" not in quick
    full = client.get(f"/w/{ws_a.slug}/search/", query_string={"q": "mueller gmbh"}).get_data(as_text=True)
    assert "Müller GmbH renewal" in full
    assert "Café au lait supply" not in client.get(f"/w/{ws_a.slug}/search/", query_string={"q": "beta"}).get_data(
        as_text=True
    )
    # An edited title is searched by its new words.
    with app.app_context():
        from crm.deals.models import Deal
        from crm.deals.service import update_deal
        from crm.extensions import db
        from crm.tenancy import workspace_scope

        with workspace_scope(ws_a.id):
            update_deal(db.session.get(Deal, plain), {"title": "Thé vert for Acme"}, None)
            db.session.commit()
    assert listed("the vert") == {plain} and listed("tea") == set()


def test_the_product_catalogue_folds_accents(app, client, auth, ws_a, ws_b):
    make_product(app, ws_a, "Café crème", sku="CC-1")
    make_product(app, ws_a, "Grüner Tee", sku="GT-2024-01")
    make_product(app, ws_a, "Oolong")
    make_product(app, ws_a, "乌龙茶")
    make_product(app, ws_b, "Café Beta")
    auth.login(ws_a.email, ws_a.password)

    def found(q: str) -> str:
        response = client.get(f"/w/{ws_a.slug}/settings/products/", query_string={"q": q},
                              headers={"HX-Request": "true", "HX-Target": "product-results"})  # fmt: skip
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        return {name for name in ("Café crème", "Grüner Tee", "Oolong", "乌龙茶", "Café Beta") if name in body}

    assert found("cafe creme") == found("CAFÉ") == found("cc-1") == {"Café crème"}
    assert found("gruener") == found("gruner") == found("grün") == {"Grüner Tee"}
    assert found("gt-2024-01") == found("2024") == {"Grüner Tee"}  # a SKU's digits as typed
    assert found("ool") == {"Oolong"} and found("乌龙") == {"乌龙茶"}
    assert found("beta") == set()


def test_an_apostrophe_finds_a_name_whichever_way_it_was_written(app, client, auth, ws_a):
    import html

    make_contact(app, ws_a, "Mary O\u2019Brien")  # as a phone or a word processor writes it
    make_contact(app, ws_a, "Luca D'Angelo")  # as a keyboard types it
    make_company(app, ws_a, "L\u2019Atelier Rouge")
    make_contact(app, ws_a, "Obrien Smith")
    auth.login(ws_a.email, ws_a.password)

    def found(q: str, url: str = "contacts/", headers=RESULTS) -> set[str]:
        response = client.get(f"/w/{ws_a.slug}/{url}", query_string={"q": q}, headers=headers)
        body = html.unescape(response.get_data(as_text=True))
        return {name for name in ("Mary O\u2019Brien", "Luca D'Angelo", "Obrien Smith", "L\u2019Atelier Rouge")
                if name in body}  # fmt: skip

    assert found("o'brien") == found("O'Bri") == {"Mary O\u2019Brien"}
    assert found("d\u2019angelo") == found("d\u02bcangelo") == {"Luca D'Angelo"}  # typed on a phone
    assert found("Luca D\u2019") == {"Luca D'Angelo"}
    assert found("l'atelier", "companies/", COMPANY_RESULTS) == {"L\u2019Atelier Rouge"}
    assert "L\u2019Atelier Rouge" in html.unescape(
        client.get(f"/w/{ws_a.slug}/search/", query_string={"q": "l'atel"}, headers=QUICK).get_data(as_text=True)
    )
