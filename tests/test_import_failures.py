"""Why an import stopped (or was refused) is kept untranslated too, as its message id and values
(with the plural of a plan's limit), and shown in the language of whoever reads the import, not in
that of the colleague who ran it. Failures stored before (only their text) show as they were."""

import io

import sqlalchemy as sa
from flask_babel import force_locale
from openpyxl import Workbook

from crm.extensions import db
from crm.i18n import lazy_gettext as _l
from crm.i18n import lazy_ngettext, lazy_number
from crm.imports import runner, storage
from crm.imports.models import Import
from crm.imports.reasons import shown, stored
from crm.tenancy import workspace_scope
from tests.conftest import post
from tests.factories import make_contact, make_member
from tests.test_billing_limits import on_free, turn_billing_on
from tests.test_import_reasons import set_locale
from tests.test_imports import check, import_id_of, imports_url, upload

UNREADABLE = "This is not an XLSX file that can be read."
UNREADABLE_ZH = "这不是可读取的 XLSX 文件。"
STOPPED = "The check stopped unexpectedly. Try again, or upload the file again."
STOPPED_ZH = "检查意外中止。请重试，或重新上传文件。"


def xlsx_upload(client, ws):
    book = Workbook()
    book.active.append(["Name", "Email"])
    book.active.append(["Ann", "ann@example.com"])
    content = io.BytesIO()
    book.save(content)
    data = {"file": (io.BytesIO(content.getvalue()), "book.xlsx"), "entity": "contacts"}
    return post(client, imports_url(ws), data, content_type="multipart/form-data")


def spoil_the_file(app, ws, import_id: int) -> None:
    """The stored upload became unreadable after it was uploaded (a disk fault, a partial copy)."""
    with app.app_context(), workspace_scope(ws.id):
        storage.path_of(db.session.get(Import, import_id)).write_bytes(b"not a zip")


def stored_failure(app, ws, import_id: int) -> tuple[str, str | None, dict | None]:
    with app.app_context(), workspace_scope(ws.id):
        job = db.session.get(Import, import_id)
        return job.status, job.failure, job.failure_message


def page_of(client, ws, import_id: int, **headers) -> str:
    return client.get(imports_url(ws, str(import_id)), headers=headers).get_data(as_text=True)


def test_a_check_that_failed_in_english_reads_in_chinese_for_a_chinese_colleague(app, client, auth, ws_a):
    colleague = make_member(app, ws_a, "admin@alpha.example.com", role="admin")
    set_locale(app, ws_a.user_id, "en")
    set_locale(app, colleague.user_id, "zh_Hans")
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(xlsx_upload(client, ws_a))
    spoil_the_file(app, ws_a, import_id)
    check(client, app, ws_a, import_id)
    status, failure, message = stored_failure(app, ws_a, import_id)
    assert (status, failure) == ("uploaded", UNREADABLE)  # the text in the language of whoever ran it
    assert message == {"msgid": UNREADABLE, "values": {}}
    assert UNREADABLE in page_of(client, ws_a, import_id)
    auth.logout()

    auth.login(colleague.email, colleague.password)
    page = page_of(client, ws_a, import_id)
    assert UNREADABLE_ZH in page and UNREADABLE not in page


def test_a_check_that_failed_in_chinese_reads_in_the_browsers_english(app, client, auth, ws_a, monkeypatch):
    colleague = make_member(app, ws_a, "admin@alpha.example.com", role="admin")
    set_locale(app, ws_a.user_id, "zh_Hans")
    set_locale(app, colleague.user_id, None)  # no choice of their own: the browser's language

    def breaks(self, batch):
        raise LookupError("no such thing")

    monkeypatch.setattr(runner.Work, "parse", breaks)
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, "Name\nAnn\n"))
    check(client, app, ws_a, import_id)
    assert stored_failure(app, ws_a, import_id)[:2] == ("uploaded", STOPPED_ZH)
    assert STOPPED_ZH in page_of(client, ws_a, import_id)
    auth.logout()

    auth.login(colleague.email, colleague.password)
    english = page_of(client, ws_a, import_id, **{"Accept-Language": "en-US,en;q=0.9"})
    assert STOPPED in english and STOPPED_ZH not in english
    chinese = page_of(client, ws_a, import_id, **{"Accept-Language": "zh-CN,zh;q=0.9"})
    assert STOPPED_ZH in chinese and STOPPED not in chinese


def test_an_import_stopped_by_the_plan_keeps_its_reason_with_the_plural_and_figures(app, client, auth, ws_a,
                                                                                     monkeypatch):  # fmt: skip
    """The plan's room shrank while the import ran (the job's first check passed): the batch is
    refused, the import fails, and the reason reads in each reader's language."""
    turn_billing_on(app, monkeypatch)
    on_free(app, ws_a)  # 3 contacts (tests' small plans)
    make_contact(app, ws_a, "Existing")
    colleague = make_member(app, ws_a, "admin@alpha.example.com", role="admin")
    set_locale(app, ws_a.user_id, "en")
    set_locale(app, colleague.user_id, "zh_Hans")
    auth.login(ws_a.email, ws_a.password)
    text = "Name,Email\n" + "".join(f"{name},{name.lower()}@example.com\n" for name in ("Ann", "Bo", "Cy", "Di"))
    import_id = import_id_of(upload(client, ws_a, text))
    check(client, app, ws_a, import_id)
    monkeypatch.setattr(runner, "_fits_the_plan", lambda job: True)
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Import, import_id).status = "importing"
        db.session.commit()
        runner.run(import_id)

    status, failure, message = stored_failure(app, ws_a, import_id)
    reason = "The Free plan allows 3 contacts and this workspace has 1: 2 more fit, not 4."
    assert status == "failed" and failure == f"{reason} The rows before it were kept; undo removes them."
    assert message == {
        "msgid": "%(reason)s The rows before it were kept; undo removes them.",
        "values": {"reason": {
            "msgid": "The %(plan)s plan allows %(count)s contact and this workspace has %(used)s: "
                     "%(room)s more fit, not %(adding)s.",
            "plural": "The %(plan)s plan allows %(count)s contacts and this workspace has %(used)s: "
                      "%(room)s more fit, not %(adding)s.",
            "n": 3,
            "values": {"plan": "Free", "count": {"number": 3}, "used": {"number": 1}, "room": {"number": 2},
                       "adding": {"number": 4}},
        }},
    }  # fmt: skip
    assert reason in page_of(client, ws_a, import_id)
    auth.logout()

    auth.login(colleague.email, colleague.password)
    page = page_of(client, ws_a, import_id)
    assert "Free 套餐最多 3 位联系人，本工作区已有 1 位：还能再添加 2 位，而不是 4 位。" in page
    assert reason not in page


def test_an_import_refused_by_the_plan_says_so_until_it_runs_again(app, client, auth, ws_a, monkeypatch):
    """The job refused (the room shrank after the dry run); with room made, the import runs and
    the refusal is no longer shown above its result."""
    turn_billing_on(app, monkeypatch)
    on_free(app, ws_a)
    auth.login(ws_a.email, ws_a.password)
    text = "Name,Email\n" + "".join(f"{name},{name.lower()}@example.com\n" for name in ("Ann", "Bo", "Cy"))
    import_id = import_id_of(upload(client, ws_a, text))
    check(client, app, ws_a, import_id)
    meanwhile = make_contact(app, ws_a, "Added meanwhile")
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.get(Import, import_id).status = "importing"
        db.session.commit()
        runner.run(import_id)
    status, failure, message = stored_failure(app, ws_a, import_id)
    assert status == "checked" and failure.endswith("Nothing was imported.")
    assert message["msgid"] == "%(reason)s Nothing was imported." and message["values"]["reason"]["n"] == 3

    post(client, f"/w/{ws_a.slug}/contacts/{meanwhile}/delete", {})  # room made again
    assert post(client, imports_url(ws_a, f"{import_id}/run"), {}).status_code == 303
    assert stored_failure(app, ws_a, import_id) == ("done", None, None)
    assert "Nothing was imported." not in page_of(client, ws_a, import_id)


def test_a_failure_stored_before_shows_as_it_was_stored(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, "Name\nAnn\n"))
    with app.app_context(), workspace_scope(ws_a.id):
        db.session.execute(sa.update(Import).values(status="failed", failure="导入意外中止（旧的）。",
                                                     failure_message=None))  # fmt: skip
        db.session.commit()
    assert "导入意外中止（旧的）。" in page_of(client, ws_a, import_id, **{"Accept-Language": "en"})
    # A message that does not format (a restored backup of another version): the stored text.
    with app.app_context(), workspace_scope(ws_a.id):
        spoiled = {"msgid": "%(gone)s stopped.", "values": {"here": 1}}
        db.session.execute(sa.update(Import).values(failure_message=spoiled))
        db.session.commit()
    assert "导入意外中止（旧的）。" in page_of(client, ws_a, import_id, **{"Accept-Language": "en"})


def test_a_plural_message_is_kept_with_its_number_and_shown_in_each_language(app):
    seats = lazy_ngettext("This workspace has %(count)s seat and it is taken.",
                          "This workspace has %(count)s seats and all are taken.",
                          1200, count=lazy_number(1200))  # fmt: skip
    kept = stored(_l("%(reason)s Nothing was imported.", reason=seats))
    assert kept["values"]["reason"] == {
        "msgid": "This workspace has %(count)s seat and it is taken.",
        "plural": "This workspace has %(count)s seats and all are taken.",
        "n": 1200,
        "values": {"count": {"number": 1200}},
    }
    one = stored(lazy_ngettext("%(num)d more deal", "%(num)d more deals", 1))
    assert str(lazy_ngettext("%(num)d more deal", "%(num)d more deals", 3)) == "3 more deals"  # outside any app
    assert one == {"msgid": "%(num)d more deal", "plural": "%(num)d more deals", "n": 1, "values": {}}
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert shown(kept, "as stored") == "This workspace has 1,200 seats and all are taken. Nothing was imported."
        assert shown(one, "as stored") == "1 more deal"
        assert shown({**one, "n": 4}, "as stored") == "4 more deals"
        assert shown({**one, "n": "many"}, "as stored") == "as stored"  # a spoiled backup
        assert shown({"number": "many"}, "as stored") == "as stored"
        with force_locale("zh_Hans"):
            assert shown(kept["values"]["reason"], "as stored") == "此工作区有 1,200 个席位，已全部占用。"
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert shown(kept["values"]["reason"], "as stored") == "此工作区有 1,200 个席位，已全部占用。"


def never_closed(row: int) -> str:
    return (f"Row {row} opens a quote that is never closed (a cell may hold at most 50 lines and 10,000 characters)."
            " Close or remove the quote and upload the file again.")  # fmt: skip


def people(count: int) -> str:
    return "".join(f"P{index},p{index}@example.com\n" for index in range(count))


def test_a_quote_never_closed_in_the_first_rows_refuses_the_upload(app, client, auth, ws_a):
    auth.login(ws_a.email, ws_a.password)
    response = upload(client, ws_a, f'Name,Email\n"Ann Lee,ann@example.com\n{people(1_000)}')
    assert response.status_code == 422
    assert never_closed(2) in response.get_data(as_text=True)
    with app.app_context(), workspace_scope(ws_a.id):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Import)) == 0


def test_a_quote_never_closed_further_down_stops_the_check_with_its_row(app, client, auth, ws_a):
    """Before, the rows after the quote were one cell of one row, and the dry run counted 5 rows of 1,005."""
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, f'Name,Email\n{people(4)}"Ann Lee,ann@example.com\n{people(1_000)}'))
    check(client, app, ws_a, import_id)
    assert stored_failure(app, ws_a, import_id)[:2] == ("uploaded", never_closed(6))
    page = page_of(client, ws_a, import_id)
    assert page.count(never_closed(6)) == 1 and STOPPED not in page


def test_an_upload_whose_stored_file_has_a_quote_never_closed_shows_why(app, client, auth, ws_a):
    """60,000 rows swallowed into one cell went past the csv module's field limit: a 500 on every
    visit of the import's page (its first rows are shown), and the check "stopped unexpectedly"."""
    auth.login(ws_a.email, ws_a.password)
    import_id = import_id_of(upload(client, ws_a, "Name,Email\nBo Chen,bo@example.com\n"))
    with app.app_context(), workspace_scope(ws_a.id):
        path = storage.path_of(db.session.get(Import, import_id))
    path.write_text(f'Name,Email\n"Ann Lee,ann@example.com\n{people(60_000)}', "utf-8")
    response = client.get(imports_url(ws_a, str(import_id)))
    assert response.status_code == 200 and never_closed(2) in response.get_data(as_text=True)
    check(client, app, ws_a, import_id)
    assert stored_failure(app, ws_a, import_id)[:2] == ("uploaded", never_closed(2))
    page = page_of(client, ws_a, import_id)
    assert page.count(never_closed(2)) == 1 and STOPPED not in page
