"""Application clients acting on tasks (``tasks:act``) and reading statistics (``stats:read``): a unit's business
system decides its unit's unclaimed steps as itself, and counts the cases its units handle — nothing else."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select

from tests.web.clients_helpers import oauth_client, register
from tests.web.conftest import Api, submit
from xietong.cases.models import Event
from xietong.cases.replay import load_events, replay_case, state_differences, stored_state, verify_chain
from xietong.db.base import utcnow
from xietong.db.session import unit_of_work
from xietong.engine.models import Task


def _at_reviews(api: Api) -> int:
    """A case whose acceptance step is done, so the three units' reviews are open."""
    case = submit(api.login("office.clerk.0"), api, unit="office")
    staffing = api.login("staffing.clerk.0")
    assert staffing.post(f"/api/v1/cases/{case['id']}/accept").status_code == 200
    [accept] = [t for t in staffing.get("/api/v1/tasks/todo").json()["items"] if t["case_id"] == case["id"]]
    assert staffing.post(f"/api/v1/tasks/{accept['id']}/complete", json={"decision": "approve"}).status_code == 200
    return int(case["id"])  # type: ignore[arg-type]


def test_a_client_decides_its_units_unclaimed_step_as_itself(api: Api) -> None:
    registered = register(api, units=("finance",), scopes=("cases:read", "tasks:act"), name="财政审批系统")
    client = oauth_client(api, registered)
    case_id = _at_reviews(api)
    todo = client.get("/api/v1/tasks/todo", params={"limit": 200})
    assert todo.status_code == 200, todo.text
    mine = [t for t in todo.json()["items"] if t["case_id"] == case_id]
    assert [t["node_id"] for t in mine] == ["review_finance"]  # not the other units' reviews

    with unit_of_work(api.app.state.engine) as session:
        others = session.scalars(select(Task.id).where(Task.case_id == case_id, Task.state == "open",
                                                       Task.node_id != "review_finance")).all()
    refused = client.post(f"/api/v1/tasks/{others[0]}/complete", json={"decision": "approve"})
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
    assert client.post(f"/api/v1/tasks/{others[0]}/claim").status_code == 403  # only deciding is open to clients

    done = client.post(f"/api/v1/tasks/{mine[0]['id']}/complete", json={"decision": "approve", "opinion": "经费已落实"})
    assert done.status_code == 200, done.text
    with unit_of_work(api.app.state.engine) as session:
        task = session.get(Task, mine[0]["id"])
        assert task is not None and (task.state, task.completed_by_id, task.assignee_id) == ("completed", None, None)
        event = session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.seq.desc())).first()
        assert event is not None and (event.type, event.actor_kind, event.actor_id) == (
            "task.completed", "client", registered["id"])
        assert verify_chain(load_events(session, case_id)) == []
        assert state_differences(replay_case(session, case_id), stored_state(session, case_id)) == []  # reducer


def test_a_client_without_tasks_act_cannot_decide(api: Api) -> None:
    client = oauth_client(api, register(api, units=("finance",), scopes=("cases:read",)))
    case_id = _at_reviews(api)
    with unit_of_work(api.app.state.engine) as session:
        task_id = session.scalar(select(Task.id).where(Task.case_id == case_id, Task.node_id == "review_finance"))
    answer = client.post(f"/api/v1/tasks/{task_id}/complete", json={"decision": "approve"})
    assert answer.status_code == 403 and answer.json()["code"] == "scope_missing"


def test_a_client_with_stats_read_counts_only_what_its_units_handle(api: Api) -> None:
    staffing = oauth_client(api, register(api, units=("staffing",), scopes=("stats:read",), name="编办统计"))
    finance = oauth_client(api, register(api, units=("finance",), scopes=("stats:read",), name="财政统计"))
    _at_reviews(api)
    period = {"period": str(utcnow().astimezone(ZoneInfo("Asia/Shanghai")).year)}
    mine = staffing.get("/api/v1/monitor/figures", params=period)
    assert mine.status_code == 200, mine.text
    theirs = finance.get("/api/v1/monitor/figures", params=period)
    assert theirs.status_code == 200, theirs.text
    def submitted(answer: object) -> int:
        return next(c["value"] for c in answer.json()["counts"] if c["key"] == "submitted")  # type: ignore[attr-defined]

    # The staffing office handles the test matter (this module's city is its own); finance handles none.
    assert submitted(mine) >= 1 and submitted(theirs) == 0
    reader = oauth_client(api, register(api, scopes=("cases:read",)))
    assert reader.get("/api/v1/monitor/figures", params=period).status_code == 403


def test_a_client_uploads_a_material_and_submits_with_it(api: Api) -> None:
    from tests.factories import joint_approval_process, publish_matter
    from xietong.cases.models import Attachment
    from xietong.demo.samples import pdf_bytes

    with unit_of_work(api.app.state.engine) as session:
        matter_id = publish_matter(session, api.city, joint_approval_process(), materials=[
            {"code": "M1", "name": "申请书", "required": True, "formats": ["pdf"]}]).id
    registered = register(api, units=("finance",), scopes=("cases:read", "cases:submit"), name="财政申报系统")
    client = oauth_client(api, registered)
    uploaded = client.post("/api/v1/attachments", files={"file": ("申请书.pdf", pdf_bytes("申请"), "application/pdf")},
                           data={"material_code": "M1"})
    assert uploaded.status_code == 201, uploaded.text
    attachment_id = uploaded.json()["id"]
    assert client.get(f"/api/v1/attachments/{attachment_id}").status_code == 200  # its own, not yet used

    person = api.login("finance.clerk.0")  # a person of the same unit cannot take the client's upload
    taken = person.post("/api/v1/cases", json={"local_matter_id": matter_id,
                                               "applicant_unit_id": api.city.units["finance"].id,
                                               "form": {"title": "借用"}, "materials": {"M1": [attachment_id]}})
    assert taken.status_code == 422 and "不存在或不可用" in taken.text

    submitted = client.post("/api/v1/cases", json={
        "local_matter_id": matter_id, "applicant_unit_id": api.city.units["finance"].id,
        "form": {"title": "系统申报"}, "materials": {"M1": [attachment_id]}, "channel": "api"})
    assert submitted.status_code == 201, submitted.text
    with unit_of_work(api.app.state.engine) as session:
        row = session.get(Attachment, attachment_id)
        assert row is not None and row.case_id == submitted.json()["id"]
        assert (row.uploaded_by_id, row.uploaded_by_client_id) == (None, registered["id"])
