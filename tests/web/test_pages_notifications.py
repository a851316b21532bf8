"""通知 page, fed by the real worker: the unread count in the layout, one's own list, marking read."""

from __future__ import annotations

import re

from tests.web.conftest import Api, submit
from tests.web.page_client import page_login
from xietong.worker.loop import run_once


def _drain(api: Api) -> None:
    while run_once(api.app.state.engine)["deliver_outbox"]:
        pass


def test_a_new_task_shows_in_the_list_with_the_unread_badge_and_can_be_marked_read(api: Api) -> None:
    case_id = submit(api.login("finance.clerk.0"), api, title="通知页面测试")["id"]
    api.login("staffing.clerk.0").post(f"/api/v1/cases/{case_id}/accept")
    _drain(api)
    client = page_login(api, "staffing.clerk.1")
    page = client.get("/notifications", headers={"HX-Request": ""})
    assert page.status_code == 200 and "待办：" in page.text and f'href="/cases/{case_id}"' in page.text
    badge = int(re.search(r'<span class="badge" aria-label="(\d+) 条未读">', page.text).group(1))  # type: ignore[union-attr]
    found = re.search(rf'id="n-(\d+)">\s*<a href="/cases/{case_id}"', page.text)
    assert found and badge >= 1
    read = client.post(f"/notifications/{found.group(1)}/read")
    assert read.status_code == 200 and "已读" in read.text and "标为已读" not in read.text
    after = client.get("/notifications", headers={"HX-Request": ""}).text
    assert f'aria-label="{badge - 1} 条未读"' in after or badge == 1
    outsider = page_login(api, "finance.clerk.0")
    assert outsider.post(f"/notifications/{found.group(1)}/read").status_code == 404  # not theirs
    assert client.post("/notifications/read-all", follow_redirects=False).status_code == 303
    assert 'class="badge"' not in client.get("/notifications", headers={"HX-Request": ""}).text


def test_the_incoming_tab_lists_applications_waiting_for_acceptance(api: Api) -> None:
    case_id = submit(api.login("finance.clerk.0"), api, title="待受理页面测试")["id"]
    waiting = page_login(api, "staffing.clerk.1", htmx=False).get("/workbench?tab=incoming").text
    assert f'href="/cases/{case_id}"' in waiting
    assert f'href="/cases/{case_id}"' not in page_login(api, "office.clerk.0", htmx=False).get(
        "/workbench?tab=incoming").text
