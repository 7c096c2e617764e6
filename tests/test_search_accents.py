"""Search ignores the accents of Latin letters, both ways: "muller" finds Müller and "müller" finds
Muller, in the contacts and companies lists, the header's search, a deal's customer picker and the
ticket queue. German spellings of ä, ö, ü count too: "mueller" finds Müller and "Müller" a stored
Mueller. Chinese, Japanese and Korean are searched as before (kana keep their dakuten), full-width
letters and digits as the ASCII they stand for, one and two letters still by the start of the name or
a word, and another workspace's records never show."""

import pytest

from crm.search import fold, normalize, search_terms, searchable
from tests.factories import make_company, make_contact, make_ticket

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
        ("王小明 すがわら", "王小明 すがわら"),
        ("", ""),
    ],
)
def test_a_search_text_carries_the_german_spelling_of_umlauts(text, stored):
    assert searchable(text) == stored


def test_a_query_word_with_an_umlaut_also_matches_its_german_spelling():
    assert search_terms("Müller hans") == [("muller", "mueller"), ("hans",)]
    assert search_terms("mueller") == [("mueller",)]  # ue is no umlaut in Samuel or Manuel
    assert search_terms("mü") == [("mu", "mue")]
    assert search_terms("ü") == [("u",)]  # one letter: the start of a name, Ü or U
    assert search_terms("650 253-00") == [("65025300",)]


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
