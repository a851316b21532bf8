"""Units and posts over the real app's pages: creating a unit under a parent, editing it and moving its subtree,
every service refusal next to its field with what was typed kept, posts created, renamed and removed (and refused
while held), the 分管领导 chosen, deactivation only after its consequences were shown and confirmed; a clerk and
another region's administrator get the 403 page, and a post without the CSRF token is refused."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.conftest import Api
from tests.web.page_client import page_login
from xietong.db.session import read_only, unit_of_work
from xietong.directory.models import Membership, Post, Unit
from xietong.security.models import AuditRecord

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
USCC_OK = "91331100MA2AB3C4DA"  # a USCC whose check character is right


def _token(client: TestClient, path: str = "/admin") -> str:
    found = CSRF.search(client.get(path).text)
    assert found
    return found.group(1)


def _unit(api: Api, code: str) -> Unit:
    with read_only(api.app.state.engine) as session:
        unit = session.scalars(select(Unit).where(Unit.code == code)).one()
        session.expunge(unit)
    return unit


def _new_unit(client: TestClient, api: Api, token: str, **fields: str) -> tuple[int, str]:
    code = fields.pop("code", f"{api.city.region.code}.pg.{uuid.uuid4().hex[:6]}")
    data = {"csrf_token": token, "code": code, "name": "页面新建科", "region": str(api.city.region.id), **fields}
    response = client.post("/admin/directory/units", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text[-2000:]
    return int(response.headers["location"].rsplit("/", 1)[1]), code


def test_create_a_unit_under_a_parent_and_edit_it(api: Api) -> None:
    admin = page_login(api, api.admin, htmx=False)
    token = _token(admin)
    finance = api.city.units["finance"]
    form = admin.get(f"/admin/directory/units/new?parent={finance.id}").text
    assert f'name="parent-unit" value="{finance.id}" checked' in form and '<label for="uscc">' in form
    unit_id, code = _new_unit(admin, api, token, **{"parent-unit": str(finance.id), "short_name": "新建",
                                                    "function": "budget"})
    page = admin.get(f"/admin/directory/units/{unit_id}").text
    assert f"{finance.name} › 页面新建科" in page and 'id="posts"' in page
    unit = _unit(api, code)
    assert unit.parent_id == finance.id and unit.path == f"{finance.path}{unit.id}/" and unit.function == "budget"
    saved = admin.post(f"/admin/directory/units/{unit_id}", follow_redirects=False, data={
        "csrf_token": token, "name": "页面改名科", "short_name": "改名", "uscc": USCC_OK, "function": "budget",
        "region": str(api.city.region.id), "parent-unit": str(finance.id), "sort": "3"})
    assert saved.status_code == 303 and "saved=1" in saved.headers["location"]
    assert "单位信息已保存" in admin.get(saved.headers["location"]).text
    unit = _unit(api, code)
    assert (unit.name, unit.uscc, unit.sort) == ("页面改名科", USCC_OK, 3)
    trail = _audit(api, "unit", unit_id)
    assert trail == ["directory.unit_created", "directory.unit_updated"]


def _audit(api: Api, kind: str, target_id: int) -> list[str]:
    with read_only(api.app.state.engine) as session:
        return list(session.scalars(select(AuditRecord.action).where(AuditRecord.target_kind == kind,
                                                                     AuditRecord.target_id == str(target_id))
                                    .order_by(AuditRecord.id)))


def test_unit_errors_are_shown_next_to_their_fields_with_everything_kept(api: Api) -> None:
    admin = page_login(api, api.admin, htmx=False)
    token = _token(admin)
    finance = api.city.units["finance"]
    bad = admin.post("/admin/directory/units", data={
        "csrf_token": token, "code": f"{api.city.region.code}.pg.bad", "name": "坏代码科", "uscc": "12345",
        "region": str(api.city.region.id), "parent-unit": str(finance.id)})
    assert bad.status_code == 422 and 'aria-describedby="err-uscc"' in bad.text and "18 位" in bad.text
    assert 'value="坏代码科"' in bad.text and f'name="parent-unit" value="{finance.id}" checked' in bad.text
    taken = admin.post("/admin/directory/units", data={
        "csrf_token": token, "code": finance.code, "name": "重复科", "region": str(api.city.region.id), "top": "on"})
    assert taken.status_code == 409 and "单位编码已被占用" in taken.text and 'value="重复科"' in taken.text
    no_parent = admin.post("/admin/directory/units", data={
        "csrf_token": token, "code": "x", "name": "无上级", "region": str(api.city.region.id), "parent-q": "不存在"})
    assert no_parent.status_code == 422 and 'id="err-parent"' in no_parent.text and 'value="不存在"' in no_parent.text
    unit_id, _ = _new_unit(admin, api, token, **{"parent-unit": str(finance.id)})
    into_itself = admin.post(f"/admin/directory/units/{finance.id}", data={
        "csrf_token": token, "name": finance.name, "region": str(api.city.region.id), "parent-unit": str(unit_id)})
    assert into_itself.status_code == 422 and 'id="err-parent"' in into_itself.text
    assert "不能把单位" in into_itself.text and _unit(api, finance.code).parent_id is None


def test_moving_a_unit_moves_its_subtree(api: Api) -> None:
    admin = page_login(api, api.admin, htmx=False)
    token = _token(admin)
    finance, office = api.city.units["finance"], api.city.units["office"]
    middle, _ = _new_unit(admin, api, token, **{"parent-unit": str(finance.id)})
    leaf, leaf_code = _new_unit(admin, api, token, **{"parent-unit": str(middle)})
    moved = admin.post(f"/admin/directory/units/{middle}", follow_redirects=False, data={
        "csrf_token": token, "name": "页面新建科", "region": str(api.city.region.id), "parent-unit": str(office.id)})
    assert moved.status_code == 303
    assert _unit(api, leaf_code).path == f"{office.path}{middle}/{leaf}/"
    top = admin.post(f"/admin/directory/units/{middle}", follow_redirects=False, data={
        "csrf_token": token, "name": "页面新建科", "region": str(api.city.region.id), "top": "on"})
    assert top.status_code == 303 and _unit(api, leaf_code).path == f"/{middle}/{leaf}/"
    outside = admin.post(f"/admin/directory/units/{middle}", data={
        "csrf_token": token, "name": "页面新建科", "region": str(api.city.region.id),
        "parent-unit": str(api.other.units["office"].id)})
    assert outside.status_code == 403 and _unit(api, leaf_code).path == f"/{middle}/{leaf}/"


def test_posts_are_created_renamed_and_removed_with_their_holders_shown(api: Api) -> None:
    admin = page_login(api, api.admin, htmx=False)
    token = _token(admin)
    finance = api.city.units["finance"]
    page = admin.get(f"/admin/directory/units/{finance.id}").text
    assert api.city.person("finance", "clerk").name in page.split('id="posts"')[1]  # who holds each post
    code = f"pg{uuid.uuid4().hex[:6]}"
    made = admin.post(f"/admin/directory/units/{finance.id}/posts", follow_redirects=False,
                      data={"csrf_token": token, "code": code, "name": "页面岗"})
    assert made.status_code == 303 and made.headers["location"].endswith("#posts")
    with read_only(api.app.state.engine) as session:
        post_id = session.scalars(select(Post.id).where(Post.unit_id == finance.id, Post.code == code)).one()
    twice = admin.post(f"/admin/directory/units/{finance.id}/posts",
                       data={"csrf_token": token, "code": code, "name": "再来"})
    assert twice.status_code == 409 and 'id="err-post-new"' in twice.text and 'value="再来"' in twice.text
    blank = admin.post(f"/admin/directory/units/{finance.id}/posts/{post_id}", data={"csrf_token": token, "name": ""})
    assert blank.status_code == 422 and f'id="err-post-{post_id}"' in blank.text
    renamed = admin.post(f"/admin/directory/units/{finance.id}/posts/{post_id}", follow_redirects=False,
                         data={"csrf_token": token, "name": "页面岗改名"})
    assert renamed.status_code == 303 and "页面岗改名" in admin.get(f"/admin/directory/units/{finance.id}").text
    clerk_post = _post(api, finance.id, "clerk")
    held = admin.post(f"/admin/directory/units/{finance.id}/posts/{clerk_post}/remove", data={"csrf_token": token})
    assert held.status_code == 422 and "还有" in held.text and f'id="err-post-{clerk_post}"' in held.text
    removed = admin.post(f"/admin/directory/units/{finance.id}/posts/{post_id}/remove", follow_redirects=False,
                         data={"csrf_token": token})
    assert removed.status_code == 303 and "岗位已删除" in admin.get(removed.headers["location"]).text
    other = api.other.units["finance"]
    assert admin.post(f"/admin/directory/units/{finance.id}/posts/{_post(api, other.id, 'clerk')}",
                      data={"csrf_token": token, "name": "越界"}).status_code == 404
    assert _audit(api, "post", post_id) == [
        "directory.post_created", "directory.post_renamed", "directory.post_removed"]


def _post(api: Api, unit_id: int, code: str) -> int:
    with read_only(api.app.state.engine) as session:
        return session.scalars(select(Post.id).where(Post.unit_id == unit_id, Post.code == code)).one()


def test_the_leaders_are_chosen_among_the_units_members(api: Api) -> None:
    admin = page_login(api, api.admin, htmx=False)
    token = _token(admin)
    office = api.city.units["office"]
    clerk, chief = api.city.person("office", "clerk"), api.city.person("office", "section_chief")
    done = admin.post(f"/admin/directory/units/{office.id}/leaders", follow_redirects=False,
                      data={"csrf_token": token, "leader": [str(clerk.id), str(chief.id)]})
    assert done.status_code == 303
    leader_post = _post(api, office.id, "leader_in_charge")
    with read_only(api.app.state.engine) as session:
        holders = set(session.scalars(select(Membership.person_id).where(Membership.post_id == leader_post)))
    assert {clerk.id, chief.id} <= holders
    page = admin.get(f"/admin/directory/units/{office.id}").text.split('id="leaders"')[1]
    assert f'name="leader" value="{clerk.id}" checked' in page
    stranger = api.city.person("finance", "clerk")
    refused = admin.post(f"/admin/directory/units/{office.id}/leaders",
                         data={"csrf_token": token, "leader": [str(stranger.id)]})
    assert refused.status_code == 422 and "只能从本单位人员中选择" in refused.text
    others = [pid for pid in holders if pid not in (clerk.id, chief.id)]
    admin.post(f"/admin/directory/units/{office.id}/leaders", data={"csrf_token": token,
                                                                     "leader": [str(p) for p in others]})
    with read_only(api.app.state.engine) as session:
        kept = set(session.scalars(select(Membership.person_id).where(Membership.post_id == leader_post)))
        assert kept == set(others)
        assert session.scalars(select(Membership).where(Membership.person_id == clerk.id,
                                                        Membership.unit_id == office.id)).first() is not None


def test_deactivation_shows_its_consequences_and_needs_a_confirmation(api: Api) -> None:
    admin = page_login(api, api.admin, htmx=False)
    token = _token(admin)
    finance = api.city.units["finance"]
    shown = admin.get(f"/admin/directory/units/{finance.id}/deactivate").text
    assert 'id="impact"' in shown and "在职人员" in shown and "待办环节" in shown and "已发布事项" in shown
    people = len(re.findall(r"finance\.", " ".join(k for k in api.city.people if k.startswith("finance."))))
    assert f"<strong>{people}</strong> 人" in shown
    unit_id, code = _new_unit(admin, api, token, **{"parent-unit": str(finance.id)})
    _child, child_code = _new_unit(admin, api, token, **{"parent-unit": str(unit_id)})
    empty = admin.get(f"/admin/directory/units/{unit_id}/deactivate").text
    assert "<strong>2</strong> 个" in empty and "<strong>0</strong> 人" in empty
    unconfirmed = admin.post(f"/admin/directory/units/{unit_id}/deactivate", data={"csrf_token": token})
    assert unconfirmed.status_code == 422 and 'id="err-confirm"' in unconfirmed.text and _unit(api, code).active
    done = admin.post(f"/admin/directory/units/{unit_id}/deactivate", follow_redirects=False,
                      data={"csrf_token": token, "confirm": "on"})
    assert done.status_code == 303 and done.headers["location"] == f"/admin/directory?unit={finance.id}"
    assert not _unit(api, code).active and not _unit(api, child_code).active
    assert "撤销单位…" not in admin.get(f"/admin/directory/units/{unit_id}").text  # read-only now
    again = admin.post(f"/admin/directory/units/{unit_id}/deactivate", data={"csrf_token": token, "confirm": "on"})
    assert again.status_code == 409
    with unit_of_work(api.app.state.engine) as session:  # the worker's database is shared: leave no inactive unit
        for unit_code in (code, child_code):
            session.scalars(select(Unit).where(Unit.code == unit_code)).one().active = True


def test_only_the_units_administrators_reach_these_pages(api: Api) -> None:
    finance = api.city.units["finance"]
    clerk = page_login(api, "finance.clerk.0", htmx=False)
    for path in ("/admin/directory/units/new", f"/admin/directory/units/{finance.id}",
                 f"/admin/directory/units/{finance.id}/deactivate"):
        refused = clerk.get(path)
        assert refused.status_code == 403 and "403 ·" in refused.text, path
    assert clerk.post(f"/admin/directory/units/{finance.id}/posts", data={
        "csrf_token": _token(clerk, "/workbench"), "code": "x", "name": "x"}).status_code == 403
    admin = page_login(api, api.admin, htmx=False)
    other = api.other.units["finance"]
    assert admin.get(f"/admin/directory/units/{other.id}").status_code == 403
    assert admin.post("/admin/directory/units", data={
        "csrf_token": _token(admin), "code": "pg.other", "name": "越界", "region": str(api.other.region.id),
        "top": "on"}).status_code == 403
    assert admin.post(f"/admin/directory/units/{other.id}/deactivate", data={
        "csrf_token": _token(admin), "confirm": "on"}).status_code == 403
    assert _unit(api, other.code).active
    assert 'href="/admin/directory/units/new"' in admin.get("/admin/directory").text


def test_unit_forms_need_the_csrf_token(api: Api) -> None:
    admin = page_login(api, api.admin, htmx=False)
    finance = api.city.units["finance"]
    for path, data in ((f"/admin/directory/units/{finance.id}", {"name": "无令牌"}),
                       (f"/admin/directory/units/{finance.id}/posts", {"code": "nocsrf", "name": "无令牌"}),
                       (f"/admin/directory/units/{finance.id}/deactivate", {"confirm": "on"}),
                       ("/admin/directory/units", {"code": "nocsrf", "name": "无令牌"})):
        refused = admin.post(path, data=data)
        assert refused.status_code == 403, path
    assert _unit(api, finance.code).name != "无令牌" and _unit(api, finance.code).active
