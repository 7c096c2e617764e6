"""Why an import did not take a row is kept untranslated (the message id and its values) and shown in
the language of whoever reads it, on the import's page and in the downloaded Error column, not in
that of the colleague who ran the check. Problems stored before keep showing as they were stored."""

import csv
import io

import sqlalchemy as sa

from crm.auth.models import User
from crm.extensions import db
from crm.i18n import lazy_gettext as _l
from crm.imports import runner
from crm.imports.models import ImportProblem
from crm.imports.reasons import lowered, shown, stored
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import make_member
from tests.query_counter import count_queries
from tests.test_imports import check, import_id_of, imports_url, upload

ROWS = (
    "姓名,邮箱,手机\n"
    "王小明,wang@example.com,\n"
    "Bad Mail,not-an-email,\n"
    ",nameless@example.com,\n"
    "Wang Again,wang@example.com,\n"
    "Bad Phone,bp@example.com,12\n"
)
ENGLISH = ("邮箱: not-an-email is not a valid email address.", "姓名: A name is needed.",
           "手机: 12 is not a valid phone number.")  # fmt: skip
CHINESE = ("邮箱: not-an-email 不是有效的电子邮件地址。", "姓名: 需要填写姓名。", "手机: 12 不是有效的电话号码。")


def set_locale(app, user_id: int, locale: str | None) -> None:
    with app.app_context():
        db.session.get(User, user_id).locale = locale
        db.session.commit()


def error_column(client, ws, import_id: int) -> list[str]:
    response = client.get(imports_url(ws, f"{import_id}/invalid-rows.csv"))
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    return [lines[0][-1]] + [line[-1] for line in lines[1:]]


def test_a_colleague_reads_the_reasons_of_a_chinese_check_in_english(app, client, auth, ws_a):
    colleague = make_member(app, ws_a, "admin@alpha.example.com", role="admin")
    set_locale(app, ws_a.user_id, "zh_Hans")
    set_locale(app, colleague.user_id, "en")
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, ROWS))
    check(client, app, ws_a, import_id)
    mine = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert "not-an-email 不是有效的电子邮件地址。" in mine and "邮箱与第 2 行相同。" in mine
    assert error_column(client, ws_a, import_id) == ["错误", *CHINESE]
    auth.logout()

    auth.login(colleague.email, colleague.password)
    page = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert "not-an-email is not a valid email address." in page and "A name is needed." in page
    assert "Same email address as row 2." in page and "12 is not a valid phone number." in page
    assert "不是有效" not in page and "需要填写姓名" not in page and "相同" not in page
    assert error_column(client, ws_a, import_id) == ["Error", *ENGLISH]
    # The htmx page of problems too.
    partial = client.get(imports_url(ws_a, str(import_id)), headers={"HX-Request": "true",
                                                                     "HX-Target": "import-problems"})  # fmt: skip
    assert "Same email address as row 2." in partial.get_data(as_text=True)
    with app.app_context(), workspace_scope(ws_a.id):  # the importer's language is kept as the stored text
        reasons = list(db.session.scalars(sa.select(ImportProblem.reason).order_by(ImportProblem.line)))
    assert "not-an-email 不是有效的电子邮件地址。" in reasons


def test_problems_stored_before_show_as_stored(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, ROWS))
    check(client, app, ws_a, import_id)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.execute(sa.update(ImportProblem).values(message=None, reason="旧的原因"))
        db.session.commit()
    page = client.get(imports_url(ws_a, str(import_id))).get_data(as_text=True)
    assert "旧的原因" in page and "not a valid email address" not in page
    assert error_column(client, ws_a, import_id)[1] == "邮箱: 旧的原因"


def test_a_large_check_writes_its_problems_a_batch_at_a_time(app, client, auth, ws_a, monkeypatch):
    monkeypatch.setattr(runner, "BATCH", 4)
    bad = "".join(f"P{n},bad-{n},\n" for n in range(10))
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, "Name,Email,Phone\n" + bad))
    with count_queries(app) as queries:
        check(client, app, ws_a, import_id)
    inserts = [q for q in queries if q.lstrip().upper().startswith("INSERT INTO IMPORT_PROBLEMS")]
    assert len(inserts) == 3  # 4 + 4 + 2 rows, one statement each
    with app.app_context(), workspace_scope(ws_a.id):
        messages = list(db.session.scalars(sa.select(ImportProblem.message).order_by(ImportProblem.line)))
    assert len(messages) == 10 and all(m["reason"]["msgid"] == "%(address)s is not a valid email address."
                                       for m in messages)  # fmt: skip
    assert messages[0]["reason"]["values"] == {"address": "bad-0"} and messages[0]["column"] is None


def test_a_reason_is_kept_as_its_message_and_shown_in_each_language(app):
    what = _l("Same %(what)s as row %(line)d.", what=_l("email address"), line=2)
    kept = stored(what)
    assert kept == {"msgid": "Same %(what)s as row %(line)d.",
                    "values": {"what": {"msgid": "email address", "values": {}}, "line": 2}}  # fmt: skip
    label = stored(lowered(_l("Email address")))
    assert label == {"msgid": "Email address", "values": {}, "lower": True}
    assert stored("a header of the file") is None
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert shown(kept, "as stored") == "Same email address as row 2."
        assert shown(label, "as stored") == "email address"
        assert shown(None, "as stored") == "as stored"
        assert shown({"msgid": "%(gone)s is bad.", "values": {"here": 1}}, "as stored") == "as stored"  # no format
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert shown(kept, "as stored") == "邮箱与第 2 行相同。"


def test_another_workspace_never_sees_the_reasons(app, client, auth, ws_a, ws_b):
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, ROWS))
    check(client, app, ws_a, import_id)
    auth.logout()
    auth.login(ws_b.email, ws_b.password)
    assert client.get(f"/w/{ws_b.slug}/imports/{import_id}").status_code == 404
    assert client.get(f"/w/{ws_b.slug}/imports/{import_id}/invalid-rows.csv").status_code == 404
    assert post(client, f"/w/{ws_b.slug}/imports/{import_id}/run", {}).status_code == 404
