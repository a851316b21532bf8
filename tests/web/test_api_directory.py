"""The units and people library over HTTP: reads for everyone, writes for the scope's administrator."""

from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook

from tests.web.conftest import PASSWORD, Api
from xietong.db.session import unit_of_work
from xietong.directory.models import Person
from xietong.security.models import Credential, RoleGrant
from xietong.security.passwords import hash_password


def _sheet(header: list[str], rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_everyone_reads_the_tree_only_the_admin_writes(api: Api) -> None:
    region = api.city.region
    clerk, admin = api.login("office.clerk.0"), api.login(api.admin)
    tree = clerk.get("/api/v1/directory/units", params={"region_id": region.id}).json()
    assert {u["code"] for u in tree} == {u.code for u in api.city.units.values()}
    found = clerk.get("/api/v1/directory/units", params={"region_id": region.id, "keyword": "财政"}).json()
    assert [u["code"] for u in found] == [api.city.units["finance"].code]

    body = {"code": f"{region.code}.finance.budget", "name": "预算科", "region_code": region.code,
            "parent_code": api.city.units["finance"].code}
    assert clerk.post("/api/v1/directory/units", json=body).status_code == 403
    created = admin.post("/api/v1/directory/units", json=body)
    assert created.status_code == 201, created.text
    unit = created.json()
    assert unit["parent_id"] == api.city.units["finance"].id and unit["path"].endswith(f"/{unit['id']}/")
    duplicate = admin.post("/api/v1/directory/units", json=body)
    assert duplicate.status_code == 409 and duplicate.json()["detail"]
    renamed = admin.patch(f"/api/v1/directory/units/{unit['id']}", json={"name": "预算编审科"})
    assert renamed.json()["name"] == "预算编审科"
    # The other region's units are not this administrator's.
    other_unit = api.other.units["finance"].id
    assert admin.patch(f"/api/v1/directory/units/{other_unit}", json={"name": "改名"}).status_code == 403
    # Nor may one of this administrator's units be moved under one of them, or into another region.
    away = admin.patch(f"/api/v1/directory/units/{unit['id']}", json={"parent_id": other_unit})
    assert away.status_code == 403
    assert admin.patch(f"/api/v1/directory/units/{unit['id']}",
                       json={"parent_id": None, "region_code": api.other.region.code}).status_code == 403
    assert admin.get(f"/api/v1/directory/units/{unit['id']}").json()["parent_id"] == api.city.units["finance"].id
    assert admin.post("/api/v1/directory/regions", json={"code": "999999", "name": "新区", "level": "county"}
                      ).status_code == 403  # regions need an "all" scope


def test_people_are_created_with_memberships_and_validated_in_chinese(api: Api) -> None:
    admin = api.login(api.admin)
    unit = api.city.units["office"]
    body = {"employee_code": f"E-new-{unit.id}", "username": f"new_{unit.id}", "name": "新同事",
            "phone": "13800000000", "memberships": [{"unit_id": unit.id, "post_code": "clerk", "is_primary": True}]}
    created = admin.post("/api/v1/directory/people", json=body)
    assert created.status_code == 201, created.text
    person = created.json()
    assert [m["post_code"] for m in person["memberships"]] == ["clerk"]
    listed = admin.get(f"/api/v1/directory/units/{unit.id}/people", params={"post_code": "clerk"}).json()
    assert person["id"] in {p["id"] for p in listed}
    bad = admin.post("/api/v1/directory/people", json={**body, "username": "坏 名字", "phone": "12"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} >= {"body.username", "body.phone"}
    assert all(e["message"] for e in bad.json()["errors"])


def test_xlsx_export_downloads_and_a_bad_import_writes_nothing(api: Api) -> None:
    admin = api.login(api.root)
    exported = admin.get("/api/v1/directory/export/units")
    assert exported.status_code == 200
    assert exported.headers["content-disposition"].startswith("attachment")
    assert exported.headers["x-content-type-options"] == "nosniff"
    sheet = load_workbook(io.BytesIO(exported.content)).active
    header = [c.value for c in sheet[1]]
    assert "单位编码" in header

    not_xlsx = admin.post("/api/v1/directory/import/units", files={"file": ("units.xlsx", b"<html>", "text/html")})
    assert not_xlsx.status_code == 422 and not_xlsx.json()["code"] == "not_xlsx"

    region = api.city.region.code
    row = dict.fromkeys(header, "")
    good = {**row, "单位编码": f"{region}.imp.a", "单位名称": "导入甲", "行政区划代码": region}
    bad = {**row, "单位编码": f"{region}.imp.b", "单位名称": "", "行政区划代码": "no-such-region"}
    data = _sheet(header, [list(good.values()), list(bad.values())])
    response = admin.post("/api/v1/directory/import/units", files={"file": ("units.xlsx", data, "application/zip")})
    assert response.status_code == 422, response.text
    assert any("3" in e["field"] or "第 3 行" in e["message"] for e in response.json()["errors"])
    codes = {u["code"] for u in admin.get("/api/v1/directory/units", params={"keyword": "导入甲"}).json()}
    assert f"{region}.imp.a" not in codes  # all or nothing
    for outsider in (api.login("office.clerk.1"), api.login(api.admin)):  # imports span regions: "all" scope only
        files = {"file": ("u.xlsx", data, "application/zip")}
        assert outsider.post("/api/v1/directory/import/units", files=files).status_code == 403


def _subtree_admin(api: Api, unit_key: str) -> Person:
    """A system administrator over one unit's subtree, with a password."""
    with unit_of_work(api.app.state.engine) as session:
        unit = api.city.units[unit_key]
        person = Person(employee_code=f"E-sub-{unit.id}", username=f"sub_admin_{unit.id}", name="科室管理员")
        session.add(person)
        session.flush()
        session.add(RoleGrant(person_id=person.id, role="system_admin", scope_kind="unit_subtree",
                              scope_unit_id=unit.id))
        session.add(Credential(person_id=person.id, password_hash=hash_password(PASSWORD), must_change=False))
        session.expunge(person)
        return person


def test_an_administrator_of_some_of_a_persons_units_edits_only_those(api: Api) -> None:
    finance, office = api.city.units["finance"], api.city.units["office"]
    root = api.login(api.root)
    body = {"employee_code": f"E-two-{finance.id}", "username": f"two_{finance.id}", "name": "两处任职",
            "memberships": [{"unit_id": office.id, "post_code": "clerk", "is_primary": True},
                            {"unit_id": finance.id}]}
    person = root.post("/api/v1/directory/people", json=body).json()
    scoped = api.login(_subtree_admin(api, "finance"))
    path = f"/api/v1/directory/people/{person['id']}"

    saved = scoped.put(f"{path}/memberships", json=[{"unit_id": finance.id, "post_code": "section_chief"}])
    assert saved.status_code == 200, saved.text
    kept = {(m["unit_id"], m["post_code"], m["is_primary"]) for m in saved.json()["memberships"]}
    assert kept == {(office.id, "clerk", True), (finance.id, "section_chief", False)}  # office's row untouched
    assert scoped.put(f"{path}/memberships", json=[{"unit_id": office.id}]).status_code == 403
    assert scoped.patch(path, json={"phone": "13900000000"}).status_code == 200
    for change in ({"name": "改名"}, {"username": "renamed_two"}, {"active": False}):
        refused = scoped.patch(path, json=change)
        assert refused.status_code == 403 and refused.json()["code"] == "person_beyond_scope", change
        assert "不管理" in refused.json()["detail"]
    assert scoped.patch(path, json={"name": "两处任职"}).status_code == 200  # unchanged: no rename
    assert root.patch(path, json={"name": "改名"}).json()["name"] == "改名"
    cleared = scoped.put(f"{path}/memberships", json=[])
    assert [(m["unit_id"], m["is_primary"]) for m in cleared.json()["memberships"]] == [(office.id, True)]
