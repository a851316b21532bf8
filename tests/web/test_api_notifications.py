"""/api/v1/notifications over real HTTP, fed by the real worker: a task notifies its post; one sees only one's own."""

from __future__ import annotations

from tests.web.conftest import Api, submit
from xietong.worker.loop import run_once


def _drain(api: Api) -> None:
    while run_once(api.app.state.engine)["deliver_outbox"]:
        pass


def test_a_new_shared_task_notifies_the_posts_holders_who_read_their_own(api: Api) -> None:
    applicant = api.login("finance.clerk.0")
    case_id = submit(applicant, api, title="申请通知测试")["id"]
    handler = api.login("staffing.clerk.0")
    assert handler.post(f"/api/v1/cases/{case_id}/accept").status_code == 200
    _drain(api)

    mine = [n for n in handler.get("/api/v1/notifications?limit=200").json()["items"] if n["case_id"] == case_id]
    assert len(mine) == 1 and mine[0]["kind"] == "task_opened" and "受理审查" in mine[0]["title"]
    colleague = api.login("staffing.clerk.1")
    theirs = [n for n in colleague.get("/api/v1/notifications?limit=200").json()["items"] if n["case_id"] == case_id]
    assert len(theirs) == 1 and theirs[0]["id"] != mine[0]["id"]
    assert [n for n in applicant.get("/api/v1/notifications").json()["items"] if n["case_id"] == case_id] == []

    unread = handler.get("/api/v1/notifications/unread-count").json()["unread"]
    assert unread >= 1
    assert applicant.post(f"/api/v1/notifications/{mine[0]['id']}/read").status_code == 404  # not theirs
    read = handler.post(f"/api/v1/notifications/{mine[0]['id']}/read")
    assert read.status_code == 200 and read.json()["read_at"] is not None
    assert handler.get("/api/v1/notifications/unread-count").json()["unread"] == unread - 1
    still = colleague.get("/api/v1/notifications?unread=true&limit=200").json()["items"]
    assert theirs[0]["id"] in {n["id"] for n in still}  # reading mine leaves the colleague's alone

    marked = colleague.post("/api/v1/notifications/read-all").json()["marked"]
    assert marked >= 1
    assert colleague.get("/api/v1/notifications/unread-count").json() == {"unread": 0}


def test_notifications_page_with_the_one_cursor_scheme(api: Api) -> None:
    handler = api.login("staffing.clerk.0")
    applicant = api.login("finance.clerk.0")
    for i in range(3):
        case_id = submit(applicant, api, title=f"分页{i}")["id"]
        assert handler.post(f"/api/v1/cases/{case_id}/accept").status_code == 200
    _drain(api)
    first = handler.get("/api/v1/notifications?limit=2").json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = handler.get(f"/api/v1/notifications?limit=2&cursor={first['next_cursor']}").json()
    ids = [n["id"] for n in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    bad = handler.get("/api/v1/notifications?cursor=nonsense")
    assert bad.status_code in (400, 422) and bad.json()["code"] == "bad_cursor"
    assert api.client().get("/api/v1/notifications").status_code == 401
