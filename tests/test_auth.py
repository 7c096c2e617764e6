from tests.conftest import post


def test_signup_creates_workspace_and_lands_in_it(client):
    response = post(
        client,
        "/signup",
        {
            "name": "Mei Lin",
            "email": "Mei@Shop.example.com",
            "password": "a long enough pass",
            "business_name": "Mei's Tea House",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/w/mei-s-tea-house/"
    home = client.get("/w/mei-s-tea-house/")
    assert home.status_code == 200
    assert "Your workspace is ready" in home.get_data(as_text=True)
