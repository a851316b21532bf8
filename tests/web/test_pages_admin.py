"""Administration pages over the real app: who sees the 管理 navigation and who gets the Chinese 403 page;
the unit tree with search and a unit's people; creating and editing a person with memberships; the directory
and calendar .xlsx imports with their row reports shown on the page; the calendar's year view and overrides;
the read-only system settings."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import delete, select

from tests.web.conftest import PASSWORD, Api
from tests.web.page_client import page_login
from xietong.db.session import read_only, unit_of_work
from xietong.directory.models import Membership, Person
from xietong.security.models import Credential, RoleGrant
from xietong.security.passwords import hash_password
from xietong.system.calendar import forget_calendars
from xietong.system.models import WorkdayOverride

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FAR = 2097  # committed overrides are shared with other tests: a year far from any due time


@pytest.fixture(autouse=True)
def no_far_overrides(api: Api) -> Iterator[None]:
    yield
    with unit_of_work(api.app.state.engine) as session:
        session.execute(delete(WorkdayOverride).where(WorkdayOverride.day.between(date(FAR, 1, 1), date(FAR, 12, 31))))
    forget_calendars()


def _sheet(header: list[str], *rows: list[object]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _token(client: TestClient, path: str = "/admin") -> str:
    found = CSRF.search(client.get(path).text)
    assert found
    return found.group(1)


def test_only_administrators_see_the_admin_navigation_and_pages(api: Api) -> None:
    clerk = page_login(api, "finance.clerk.0", htmx=False)
    assert 'href="/admin"' not in clerk.get("/workbench").text
    for path in ("/admin", "/admin/directory", "/admin/calendar", "/admin/settings", "/admin/directory/people/new"):
        refused = clerk.get(path)
        assert refused.status_code == 403 and "403 ·" in refused.text and "管理" in refused.text, path
    admin = page_login(api, api.admin, htmx=False)  # system administrator over the city's region
    index = admin.get("/admin").text
    assert 'href="/admin"' in admin.get("/workbench").text
    assert 'href="/admin/directory"' in index and 'href="/admin/settings"' in index
    assert 'href="/admin/calendar"' not in index  # the calendar is instance-wide: "all" scope only
    assert admin.get("/admin/calendar").status_code == 403
    root = page_login(api, api.root, htmx=False)
    assert 'href="/admin/calendar"' in root.get("/admin").text
    reform = page_login(api, api.reform, htmx=False)
    reform_index = reform.get("/admin").text
    assert 'href="/admin/matters"' in reform_index and 'href="/admin/directory"' not in reform_index
    assert reform.get("/admin/settings").status_code == 403


def test_the_unit_tree_search_and_a_units_people(api: Api) -> None:
    admin = page_login(api, api.admin, htmx=False)
    finance = api.city.units["finance"]
    page = admin.get("/admin/directory").text
    assert f'href="/admin/directory?unit={finance.id}"' in page
    assert f'href="/admin/directory?unit={api.other.units["finance"].id}"' not in page  # another region's
    found = admin.get("/admin/directory", params={"q": "财政"}).text
    assert "搜索结果" in found and finance.name in found and api.other.units["finance"].name not in found
    unit_page = admin.get(f"/admin/directory?unit={finance.id}").text
    clerk = api.city.people["finance.clerk.0"]
    assert clerk.name in unit_page and f"/admin/directory/people/{clerk.id}?unit={finance.id}" in unit_page
    assert "经办人" in unit_page  # the posts
    assert admin.get(f"/admin/directory?unit={api.other.units['finance'].id}").status_code == 403


def test_create_and_edit_a_person_with_memberships(api: Api) -> None:
    admin = page_login(api, api.admin, htmx=False)
    finance, office = api.city.units["finance"], api.city.units["office"]
    token = _token(admin)
    form = admin.get(f"/admin/directory/people/new?unit={finance.id}").text
    assert f'name="m-0-unit" value="{finance.id}" checked' in form and '<label for="username">' in form
    assert '<option value="clerk">' in form  # the chosen unit's posts fill the post select
    code = f"P{api.city.region.code}"
    bad = admin.post("/admin/directory/people", data={
        "csrf_token": token, "employee_code": code, "username": "页面 新人", "name": "", "phone": "123",
        "rows": "2", "m-0-unit": str(finance.id), "m-0-post": "clerk", "primary": "0", "unit": str(finance.id)})
    assert bad.status_code == 422 and 'aria-invalid="true" aria-describedby="err-username"' in bad.text
    assert 'value="页面 新人"' in bad.text  # nothing typed is lost
    assert f'name="m-0-unit" value="{finance.id}" checked' in bad.text
    username = f"page_new_{api.city.region.code}"
    created = admin.post("/admin/directory/people", follow_redirects=False, data={
        "csrf_token": token, "employee_code": code, "username": username, "name": "页面新人",
        "phone": "13800000000", "rows": "2", "m-0-unit": str(finance.id), "m-0-post": "clerk", "primary": "0",
        "unit": str(finance.id)})
    assert created.status_code == 303 and created.headers["location"] == f"/admin/directory?unit={finance.id}"
    assert "页面新人" in admin.get(f"/admin/directory?unit={finance.id}").text
    with read_only(api.app.state.engine) as session:
        person = session.scalars(select(Person).where(Person.username == username)).one()
        person_id = person.id
    again = admin.post("/admin/directory/people", data={
        "csrf_token": token, "employee_code": code, "username": username + "x", "name": "重复",
        "rows": "1", "m-0-unit": str(finance.id)})
    assert again.status_code == 409 and "工号" in again.text
    edited = admin.post(f"/admin/directory/people/{person_id}", follow_redirects=False, data={
        "csrf_token": token, "username": username, "name": "页面新人改", "phone": "", "active": "on", "rows": "3",
        "m-0-unit": str(finance.id), "m-0-post": "clerk", "m-1-q": office.code, "m-1-post": "section_chief",
        "primary": "1"})  # the second row: a unit code typed without JavaScript
    assert edited.status_code == 303
    with read_only(api.app.state.engine) as session:
        rows = session.scalars(select(Membership).where(Membership.person_id == person_id)).all()
        assert {(m.unit_id, m.is_primary) for m in rows} == {(finance.id, False), (office.id, True)}
        assert session.get(Person, person_id).name == "页面新人改"  # type: ignore[union-attr]
    unmatched = admin.post(f"/admin/directory/people/{person_id}", data={
        "csrf_token": token, "username": username, "name": "页面新人改", "active": "on", "rows": "2",
        "m-0-unit": str(finance.id), "m-1-q": "没有这个单位"})
    assert unmatched.status_code == 422 and 'id="err-m-1"' in unmatched.text
    assert 'value="没有这个单位"' in unmatched.text
    other_unit = api.other.units["finance"]
    outside = admin.post(f"/admin/directory/people/{person_id}", data={
        "csrf_token": token, "username": username, "name": "越权", "active": "on", "rows": "1",
        "m-0-unit": str(other_unit.id)})
    assert outside.status_code == 403
    with read_only(api.app.state.engine) as session:
        assert session.get(Person, person_id).name == "页面新人改"  # type: ignore[union-attr]


def test_the_unit_picker_searches_covered_units_and_fills_the_posts(api: Api) -> None:
    admin = page_login(api, api.admin)  # as htmx sends it
    finance = api.city.units["finance"]
    rows = admin.get("/admin/units/picker", params={"field": "m-0", "area": "directory", "posts": "1",
                                                    "m-0-q": "财政"})
    assert rows.status_code == 200 and f'name="m-0-unit" value="{finance.id}"' in rows.text
    assert f'{finance.name} <span class="meta">{finance.name} · {finance.code}</span>' in rows.text  # its path
    assert f'value="{api.other.units["finance"].id}"' not in rows.text  # another region's: not this admin's
    assert f'hx-get="/admin/units/{finance.id}/post-options"' in rows.text
    by_region = admin.get("/admin/units/picker", params={"field": "m-0", "area": "directory",
                                                         "m-0-region": str(api.city.region.id)})
    assert f'value="{finance.id}"' in by_region.text
    kept = admin.get("/admin/units/picker", params={"field": "m-0", "area": "directory", "m-0-q": "没有",
                                                    "m-0-unit": str(finance.id)})
    assert f'value="{finance.id}" checked' in kept.text  # the chosen unit stays while searching
    options = admin.get(f"/admin/units/{finance.id}/post-options", params={"selected": "clerk"})
    assert '<option value="clerk" selected>' in options.text and "单位成员" in options.text
    assert admin.get(f"/admin/units/{api.other.units['finance'].id}/post-options").status_code == 403
    assert admin.get("/admin/units/picker", params={"field": "<x>", "area": "directory"}).status_code == 422
    clerk = page_login(api, "finance.clerk.0")
    assert clerk.get("/admin/units/picker", params={"field": "m-0", "area": "directory"}).status_code == 403
    assert admin.get("/admin/units/picker", params={"field": "m-0", "area": "accounts"}).status_code == 403
    plain = page_login(api, api.admin, htmx=False)  # without JavaScript: 查找 posts the form back with the rows
    found = plain.post("/admin/directory/people", data={
        "csrf_token": _token(plain), "employee_code": "X", "username": "typed", "rows": "1", "m-0-q": "财政",
        "find": "m-0"})
    assert found.status_code == 200 and f'name="m-0-unit" value="{finance.id}"' in found.text
    assert 'value="typed"' in found.text
    with read_only(api.app.state.engine) as session:
        assert session.scalars(select(Person).where(Person.username == "typed")).first() is None


def test_a_bad_directory_import_lists_its_rows_and_writes_nothing(api: Api) -> None:
    root = page_login(api, api.root, htmx=False)
    token = _token(root)
    region = api.city.region.code
    header = ["单位编码", "单位名称", "简称", "上级单位编码", "行政区划代码", "职能", "统一社会信用代码", "排序"]
    blank = dict.fromkeys(header, "")
    good = {**blank, "单位编码": f"{region}.pg.a", "单位名称": "页面导入甲", "行政区划代码": region}
    bad = {**blank, "单位编码": f"{region}.pg.b", "单位名称": "", "行政区划代码": "no-such-region"}
    data = _sheet(header, list(good.values()), list(bad.values()))
    refused = root.post("/admin/directory/import", data={"csrf_token": token, "kind": "units"},
                        files={"file": ("units.xlsx", data, XLSX)})
    assert refused.status_code == 422 and 'id="import-report"' in refused.text and "第 3 行" in refused.text
    assert "页面导入甲" not in root.get("/admin/directory", params={"q": "页面导入甲"}).text.split("搜索结果")[1]
    done = root.post("/admin/directory/import", data={"csrf_token": token, "kind": "units"},
                     files={"file": ("units.xlsx", _sheet(header, list(good.values())), XLSX)})
    assert done.status_code == 200 and "新增 1 个" in done.text
    not_xlsx = root.post("/admin/directory/import", data={"csrf_token": token, "kind": "units"},
                         files={"file": ("u.xlsx", b"<html>", "text/html")})
    assert not_xlsx.status_code == 422 and "请上传 .xlsx" in not_xlsx.text
    regional = page_login(api, api.admin, htmx=False)
    assert 'action="/admin/directory/import"' not in regional.get("/admin/directory").text
    assert regional.post("/admin/directory/import", data={"csrf_token": _token(regional), "kind": "units"},
                         files={"file": ("units.xlsx", data, XLSX)}).status_code == 403
    assert root.get("/api/v1/directory/export/units").status_code == 200  # the page's export links


def test_the_calendar_year_view_overrides_and_import(api: Api) -> None:
    root = page_login(api, api.root, htmx=False)
    token = _token(root)
    year = root.get(f"/admin/calendar?year={FAR}").text
    assert f"工作日历 · {FAR} 年" in year and year.count('class="month"') == 12
    assert 'id="calendar-warning"' in year  # the package knows no holidays that far ahead
    day = f"{FAR}-03-02"
    panel = root.get(f"/admin/calendar?day={day}").text
    assert 'id="day-panel"' in panel and "仅按周末" in panel
    saved = root.post("/admin/calendar/days", follow_redirects=False,
                      data={"csrf_token": token, "day": day, "is_working": "0", "note": "地方假日"})
    assert saved.status_code == 303 and saved.headers["location"] == f"/admin/calendar?day={day}"
    after = root.get(f"/admin/calendar?day={day}").text
    assert "人工设置" in after and "地方假日" in after and "清除人工设置" in after
    assert root.get(f"/api/v1/calendar/days/{day}").json()["is_working"] is False
    cleared = root.post(f"/admin/calendar/days/{day}/clear", data={"csrf_token": token}, follow_redirects=False)
    assert cleared.status_code == 303 and root.get(f"/api/v1/calendar/days/{day}").json()["source"] != "override"
    missing = root.post(f"/admin/calendar/days/{day}/clear", data={"csrf_token": token})
    assert missing.status_code == 404 and "无需清除" in missing.text
    bad_day = root.post("/admin/calendar/days", data={"csrf_token": token, "day": "2097-13-01", "is_working": "1"})
    assert bad_day.status_code == 422
    header = ["日期", "是否工作日", "说明"]
    bad = _sheet(header, [f"{FAR}-03-03", "是", ""], [f"{FAR}-13-01", "否", ""])
    refused = root.post("/admin/calendar/import", data={"csrf_token": token, "year": str(FAR)},
                        files={"file": ("bad.xlsx", bad, XLSX)})
    assert refused.status_code == 422 and "第 3 行" in refused.text
    assert root.get(f"/api/v1/calendar/years/{FAR}").json()["overrides"] == 0
    good = _sheet(header, [f"{FAR}-03-03", "否", "导入"])
    imported = root.post("/admin/calendar/import", data={"csrf_token": token, "year": str(FAR)},
                         files={"file": ("good.xlsx", good, XLSX)})
    assert imported.status_code == 200 and "新增 1 天" in imported.text and f"{FAR}-03-03" in imported.text


def test_system_settings_are_shown_read_only(api: Api) -> None:
    page = page_login(api, api.admin, htmx=False).get("/admin/settings")
    assert page.status_code == 200
    text = page.text
    assert "口令最短长度" in text and "XIETONG_SESSION_IDLE_MINUTES" in text and "运行检查" in text
    assert "<input" not in text.split('id="main"')[1]  # nothing to change here


def test_a_person_page_shows_the_memberships_beyond_the_administrator_read_only_and_keeps_them(api: Api) -> None:
    finance, office = api.city.units["finance"], api.city.units["office"]
    with unit_of_work(api.app.state.engine) as session:
        person = Person(employee_code=f"E-pg2-{finance.id}", username=f"pg_two_{finance.id}", name="页面两处")
        admin = Person(employee_code=f"E-pgadm-{finance.id}", username=f"pg_sub_{finance.id}", name="财政管理员")
        session.add_all([person, admin])
        session.flush()
        session.add_all([Membership(person_id=person.id, unit_id=office.id, is_primary=True),
                         Membership(person_id=person.id, unit_id=finance.id, is_primary=False),
                         RoleGrant(person_id=admin.id, role="system_admin", scope_kind="unit_subtree",
                                   scope_unit_id=finance.id),
                         Credential(person_id=admin.id, password_hash=hash_password(PASSWORD), must_change=False)])
        session.flush()
        person_id = person.id
        session.expunge(admin)
    scoped = page_login(api, admin, htmx=False)
    page = scoped.get(f"/admin/directory/people/{person_id}").text
    fixed = page[page.index('class="membership-fixed"'):page.index('class="membership-row"')]
    assert office.name in fixed and "主任职" in fixed and finance.name not in fixed
    token = CSRF.search(page).group(1)  # type: ignore[union-attr]
    form = {"csrf_token": token, "username": f"pg_two_{finance.id}", "name": "页面两处", "active": "on",
            "rows": "1", "m-0-unit": str(finance.id), "m-0-post": "clerk"}
    assert scoped.post(f"/admin/directory/people/{person_id}", data=form, follow_redirects=False).status_code == 303
    with read_only(api.app.state.engine) as session:
        rows = session.scalars(select(Membership).where(Membership.person_id == person_id)).all()
        assert {(m.unit_id, m.post_id is not None, m.is_primary) for m in rows} == {(office.id, False, True),
                                                                                  (finance.id, True, False)}
    renamed = scoped.post(f"/admin/directory/people/{person_id}", data={**form, "name": "改名"})
    assert renamed.status_code == 403 and "不管理" in renamed.text
