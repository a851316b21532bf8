"""工作台: the to-do with cards and working days left, done, counts on the tabs, keyset paging."""

from __future__ import annotations

import re

from tests.web.conftest import Api, submit
from tests.web.page_client import page_login


def _todo_cases(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<li class="item card-\w+">\s*<a href="/cases/(\d+)">', html)]


def test_the_to_do_lists_the_new_task_with_time_left_and_counts_it(api: Api) -> None:
    applicant = api.login("finance.clerk.0")
    case_id = submit(applicant, api, title="工作台里的申请")["id"]
    handler_api = api.login("staffing.clerk.0")
    assert handler_api.post(f"/api/v1/cases/{case_id}/accept").status_code == 200
    page = page_login(api, "staffing.clerk.0", htmx=False).get("/workbench")
    assert page.status_code == 200
    assert case_id in _todo_cases(page.text) and "工作台里的申请" in page.text
    assert re.search(r"剩余 \d+ 个工作日", page.text)
    total = handler_api.get("/api/v1/tasks/todo?with_total=true&limit=1").json()["total"]
    assert re.search(rf'aria-current="page">我的待办<span class="count">{total}</span>', page.text)
    mine = page_login(api, "finance.clerk.0", htmx=False).get("/workbench?tab=mine&keyword=工作台里的申请")
    assert f'href="/cases/{case_id}"' in mine.text and "已受理" in mine.text


def test_done_and_the_other_tabs_answer_and_an_unknown_tab_is_a_chinese_404(api: Api) -> None:
    client = page_login(api, "staffing.clerk.0", htmx=False)
    for tab in ("done", "copied", "mine", "orders"):
        assert client.get(f"/workbench?tab={tab}").status_code == 200
    missing = client.get("/workbench?tab=nothing")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    assert "没有这个栏目" in missing.text


def test_load_more_pages_with_the_keyset_cursor_without_repeats(api: Api) -> None:
    applicant = api.login("office.clerk.1")
    made = [submit(applicant, api, title=f"分页{i}", unit="office")["id"] for i in range(23)]
    client = page_login(api, "office.clerk.1", htmx=False)
    first = client.get("/workbench?tab=mine&keyword=分页")
    seen = re.findall(r'<a href="/cases/(\d+)">', first.text)
    more = re.search(r'hx-get="(/workbench\?[^"]+)"', first.text)
    assert len(seen) == 20 and more
    rest = client.get(more.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert "<html" not in rest.text  # a fragment: just the next rows
    seen += re.findall(r'<a href="/cases/(\d+)">', rest.text)
    assert sorted(int(s) for s in seen) == sorted(made) and "加载更多" not in rest.text


def test_the_to_do_sorts_by_due_time_when_asked(api: Api) -> None:
    for title in ("排序一", "排序二"):  # two accepted cases whose steps fall due one after the other
        case_id = submit(api.login("finance.clerk.0"), api, title=title, unit="finance")["id"]
        api.login("staffing.clerk.0").post(f"/api/v1/cases/{case_id}/accept")
    client = page_login(api, "staffing.clerk.0", htmx=False)
    by_due = client.get("/workbench?sort=due")
    assert by_due.status_code == 200 and '<option value="due" selected>' in by_due.text
    items = api.login("staffing.clerk.0").get("/api/v1/tasks/todo?limit=200").json()["items"]
    expected = [t["case_id"] for t in sorted(items, key=lambda t: (t["due_at"] is None, t["due_at"] or "", t["id"]))]
    assert _todo_cases(by_due.text) == expected[:20]


def test_supervision_orders_show_for_the_unit_addressed_and_for_the_supervisor_who_issued_them(api: Api) -> None:
    case_id = submit(api.login("finance.clerk.0"), api, title="督办测试")["id"]
    api.login("staffing.clerk.0").post(f"/api/v1/cases/{case_id}/accept")
    supervisor = page_login(api, api.reform)
    done = supervisor.post(f"/cases/{case_id}/actions/supervise", data={"content": "请加快办理", "days": "3"})
    assert done.status_code == 204, done.text
    issued = page_login(api, api.reform, htmx=False).get("/workbench?tab=orders&who=issued").text
    assert "督办：请加快办理" in issued and f'href="/cases/{case_id}"' in issued
    addressed = page_login(api, "staffing.clerk.1", htmx=False).get("/workbench?tab=orders").text
    assert "督办：请加快办理" in addressed and "待答复" in addressed


def test_an_order_is_answered_by_the_unit_and_closed_by_the_supervisor_on_the_case_page(api: Api) -> None:
    case_id = submit(api.login("finance.clerk.0"), api, title="督办答复")["id"]
    api.login("staffing.clerk.0").post(f"/api/v1/cases/{case_id}/accept")
    supervisor = page_login(api, api.reform)
    assert supervisor.post(f"/cases/{case_id}/actions/supervise", data={"content": "请说明进度", "days": "2"}
                           ).status_code == 204
    unit = page_login(api, "staffing.clerk.1")
    page = unit.get(f"/cases/{case_id}", headers={"HX-Request": ""}).text
    order = int(re.search(r'/actions/answer\?order=(\d+)"', page).group(1))  # type: ignore[union-attr]
    assert "close_order" not in page  # the unit answers; only the supervisor closes
    empty = unit.post(f"/cases/{case_id}/actions/answer?order={order}", data={"answer": ""})
    assert empty.status_code == 422 and 'id="err-answer"' in empty.text
    assert unit.post(f"/cases/{case_id}/actions/answer?order={order}", data={"answer": "本周内办结"}
                     ).status_code == 204
    seen = supervisor.get(f"/cases/{case_id}", headers={"HX-Request": ""}).text
    assert "答复：本周内办结" in seen and f"/actions/close_order?order={order}" in seen
    assert supervisor.post(f"/cases/{case_id}/actions/close_order?order={order}").status_code == 204
    assert "已办结" in supervisor.get(f"/cases/{case_id}", headers={"HX-Request": ""}).text
    assert unit.get(f"/cases/{case_id}/actions/answer?order={order}").status_code == 404  # closed: no longer offered


def _incoming_row(html: str, case_id: int) -> str:
    found = re.search(rf'<li class="item card-\w+">\s*<a href="/cases/{case_id}">(.*?)</li>', html, re.S)
    assert found, "the case is listed under 待受理"
    return found.group(1)


def test_incoming_applications_show_the_32_window_until_the_one_notice_is_given(api: Api) -> None:
    applicant = api.login("finance.clerk.0")
    case_id = submit(applicant, api, title="待受理的申请")["id"]
    page = page_login(api, "staffing.clerk.0", htmx=False)
    row = _incoming_row(page.get("/workbench?tab=incoming").text, case_id)
    assert re.search(r'class="cardtag yellow supplement-window">(补正告知剩 \d+ 个工作日|今日为补正告知最后期限)<', row)

    handler = api.login("staffing.clerk.0")
    asked = handler.post(f"/api/v1/cases/{case_id}/supplement",
                         json={"items": [{"field": "title", "note": "请写明理由"}], "reason": "材料不全"})
    assert asked.status_code == 201, asked.text
    again = applicant.post(f"/api/v1/cases/{case_id}/resubmit", json={"form": {"title": "待受理的申请（补正）"}})
    assert again.status_code == 200, again.text
    row = _incoming_row(page.get("/workbench?tab=incoming").text, case_id)  # waiting again, the window spent
    assert "supplement-window" not in row and "补正告知" not in row
